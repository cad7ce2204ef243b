"""OCPP 2.0.1 monitoring messages (functional block N) in domain terms: the payloads of
SetVariableMonitoring (N04), ClearVariableMonitoring (N06), SetMonitoringBase (N03),
SetMonitoringLevel (N05) and GetMonitoringReport (N02) built from domain values, their answers
read back, and the NotifyMonitoringReport handler (N02). 2.1 keeps these shapes (it adds
``eventNotificationType`` to the report, read here, and optional fields the CSMS does not send).
NotifyEvent (N07) is in :mod:`.reporting`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from opencsms.domain.monitoring_model import (
    ClearMonitorResult,
    ComponentRef,
    MonitoringQuery,
    MonitorSetting,
    MonitorSpec,
    SetMonitorResult,
    VariableRef,
)
from opencsms.handlers.common import parse_timestamp
from opencsms.handlers.router import CallContext, Payload, reply
from opencsms.ocpp.types import v201

__all__ = [
    "clear_variable_monitoring_request",
    "clear_variable_monitoring_results",
    "component_of",
    "component_payload",
    "get_monitoring_report_request",
    "notify_monitoring_report",
    "set_monitoring_base_request",
    "set_monitoring_level_request",
    "set_variable_monitoring_request",
    "set_variable_monitoring_results",
    "status_of",
    "variable_of",
]


# ---------------------------------------------------------------------- addressing


def component_payload(component: ComponentRef) -> v201.ComponentType:
    """ComponentType of ``component`` (the EVSE only when it names one)."""
    out: v201.ComponentType = {"name": component.name}
    if component.instance is not None:
        out["instance"] = component.instance
    if component.evse_id is not None:
        evse: v201.EVSEType = {"id": component.evse_id}
        if component.connector_id is not None:
            evse["connectorId"] = component.connector_id
        out["evse"] = evse
    return out


def _variable_payload(target: VariableRef) -> v201.VariableType:
    out: v201.VariableType = {"name": target.name}
    if target.instance is not None:
        out["instance"] = target.instance
    return out


def component_of(component: v201.ComponentType) -> ComponentRef:
    evse = component.get("evse")
    return ComponentRef(
        name=component["name"],
        instance=component.get("instance"),
        evse_id=evse["id"] if evse is not None else None,
        connector_id=evse.get("connectorId") if evse is not None else None,
    )


def variable_of(component: v201.ComponentType, variable: v201.VariableType) -> VariableRef:
    return VariableRef(component_of(component), variable["name"], variable.get("instance"))


# ---------------------------------------------------------------------- N04 / N06


def set_variable_monitoring_request(specs: Sequence[MonitorSpec]) -> Payload:
    """SetVariableMonitoringRequest, one setMonitoringData per spec in order (N04)."""
    items: list[v201.SetMonitoringDataType] = []
    for spec in specs:
        item: v201.SetMonitoringDataType = {
            "value": spec.value,
            "type": cast(v201.MonitorEnumType, spec.type),
            "severity": spec.severity,
            "component": component_payload(spec.target.component),
            "variable": _variable_payload(spec.target),
        }
        if spec.transaction:
            item["transaction"] = True
        if spec.id is not None:
            item["id"] = spec.id
        items.append(item)
    request: v201.SetVariableMonitoringRequest = {"setMonitoringData": items}
    return reply(request)


def set_variable_monitoring_results(response: Payload) -> list[SetMonitorResult]:
    answer = cast(v201.SetVariableMonitoringResponse, response)
    return [
        SetMonitorResult(
            status=r["status"],
            target=variable_of(r["component"], r["variable"]),
            type=r["type"],
            severity=r["severity"],
            id=r.get("id"),
            reason=_reason(r),
        )
        for r in answer["setMonitoringResult"]
    ]


def clear_variable_monitoring_request(ids: Sequence[int]) -> Payload:
    request: v201.ClearVariableMonitoringRequest = {"id": list(ids)}
    return reply(request)


def clear_variable_monitoring_results(response: Payload) -> list[ClearMonitorResult]:
    answer = cast(v201.ClearVariableMonitoringResponse, response)
    return [
        ClearMonitorResult(r["id"], r["status"], _reason(r))
        for r in answer["clearMonitoringResult"]
    ]


# ---------------------------------------------------------------------- N03 / N05 / N02


def set_monitoring_base_request(base: str) -> Payload:
    request: v201.SetMonitoringBaseRequest = {
        "monitoringBase": cast(v201.MonitoringBaseEnumType, base)
    }
    return reply(request)


def set_monitoring_level_request(severity: int) -> Payload:
    request: v201.SetMonitoringLevelRequest = {"severity": severity}
    return reply(request)


def get_monitoring_report_request(request_id: int, query: MonitoringQuery) -> Payload:
    """GetMonitoringReportRequest (N02): criteria and component/variables only when given (none:
    every monitor, N02.FR.11)."""
    request: v201.GetMonitoringReportRequest = {"requestId": request_id}
    if query.criteria:
        request["monitoringCriteria"] = [
            cast(v201.MonitoringCriterionEnumType, c) for c in query.criteria
        ]
    if query.targets:
        wanted: list[v201.ComponentVariableType] = []
        for target in query.targets:
            if isinstance(target, ComponentRef):
                wanted.append({"component": component_payload(target)})
            else:
                wanted.append(
                    {
                        "component": component_payload(target.component),
                        "variable": _variable_payload(target),
                    }
                )
        request["componentVariable"] = wanted
    return reply(request)


def status_of(response: Payload) -> str:
    """The ``status`` of a GenericStatus / GenericDeviceModelStatus answer."""
    return str(response["status"])


async def notify_monitoring_report(ctx: CallContext, payload: Payload) -> Payload:
    """N02 NotifyMonitoringReport: store the part and the monitors it lists before answering
    (a resent part changes nothing)."""
    request = cast(v201.NotifyMonitoringReportRequest, payload)
    settings = [
        MonitorSetting(
            id=monitor["id"],
            target=variable_of(data["component"], data["variable"]),
            type=monitor["type"],
            value=float(monitor["value"]),
            severity=monitor["severity"],
            transaction=monitor["transaction"],
            # 2.1 VariableMonitoringType carries it; a 2.0.1 report does not.
            kind=cast(dict[str, Any], monitor).get("eventNotificationType"),
        )
        for data in request.get("monitor", [])
        for monitor in data["variableMonitoring"]
    ]
    await ctx.services.monitoring.report_part(
        ctx.station_id,
        request["requestId"],
        request["seqNo"],
        request.get("tbc", False),
        parse_timestamp(request["generatedAt"]),
        settings,
        ctx.received_at,
    )
    response: v201.NotifyMonitoringReportResponse = {}
    return reply(response)


def _reason(result: Any) -> str | None:
    info = result.get("statusInfo")
    return None if info is None else str(info["reasonCode"])
