"""OCPP 2.0.1 device model (functional block B): NotifyReport from the station (B07/B08), and the
CSMS's GetVariables (B06), SetVariables (B05), GetBaseReport (B07) and GetReport (B08).

:func:`notify_report` stores each part before answering it; :class:`DeviceModel201` implements
:class:`opencsms.domain.device_model_service.VariablesPort` for 2.0.1 (and 2.1, whose messages
keep these shapes).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

import orjson

from opencsms.domain.device_model import (
    ComponentSelector,
    ReportKind,
    ReportPart,
    VariableCharacteristics,
    VariableRef,
    VariableResult,
    VariableRow,
)
from opencsms.handlers.common import StationCall, parse_timestamp
from opencsms.handlers.router import CallContext, Payload
from opencsms.ocpp.types import v201

__all__ = [
    "DeviceModel201",
    "component_of",
    "get_variable_data",
    "notify_report",
    "ref_of",
    "report_part",
    "set_variable_data",
]


# ------------------------------------------------------------------ translations


def component_of(ref: VariableRef | ComponentSelector) -> v201.ComponentType:
    component: v201.ComponentType = {"name": ref.component}
    if ref.component_instance is not None:
        component["instance"] = ref.component_instance
    if ref.evse_id is not None:
        evse: v201.EVSEType = {"id": ref.evse_id}
        if ref.connector_id is not None:
            evse["connectorId"] = ref.connector_id
        component["evse"] = evse
    return component


def variable_of(name: str, instance: str | None) -> v201.VariableType:
    variable: v201.VariableType = {"name": name}
    if instance is not None:
        variable["instance"] = instance
    return variable


def ref_of(
    component: v201.ComponentType, variable: v201.VariableType, attribute: str | None
) -> VariableRef:
    """The domain reference of a component / variable / attribute type (default Actual)."""
    evse = component.get("evse")
    return VariableRef(
        component=component["name"],
        variable=variable["name"],
        component_instance=component.get("instance"),
        evse_id=evse["id"] if evse is not None else None,
        connector_id=evse.get("connectorId") if evse is not None else None,
        variable_instance=variable.get("instance"),
        attribute=attribute or "Actual",
    )


def get_variable_data(ref: VariableRef) -> v201.GetVariableDataType:
    item: v201.GetVariableDataType = {
        "component": component_of(ref),
        "variable": variable_of(ref.variable, ref.variable_instance),
    }
    if ref.attribute != "Actual":  # absent means Actual (B06)
        item["attributeType"] = cast(v201.AttributeEnumType, ref.attribute)
    return item


def set_variable_data(ref: VariableRef, value: str) -> v201.SetVariableDataType:
    item: v201.SetVariableDataType = {
        "attributeValue": value,
        "component": component_of(ref),
        "variable": variable_of(ref.variable, ref.variable_instance),
    }
    if ref.attribute != "Actual":
        item["attributeType"] = cast(v201.AttributeEnumType, ref.attribute)
    return item


def _reason(info: v201.StatusInfoType | None) -> str | None:
    if info is None:
        return None
    extra = info.get("additionalInfo")
    return f"{info['reasonCode']}: {extra}" if extra else info["reasonCode"]


def _characteristics(data: v201.ReportDataType) -> VariableCharacteristics | None:
    found = data.get("variableCharacteristics")
    if found is None:
        return None
    return VariableCharacteristics(
        data_type=found["dataType"],
        supports_monitoring=found["supportsMonitoring"],
        unit=found.get("unit"),
        min_limit=found.get("minLimit"),
        max_limit=found.get("maxLimit"),
        values_list=found.get("valuesList"),
    )


def report_part(
    station_id: str, request: v201.NotifyReportRequest, received_at: datetime
) -> ReportPart:
    """A NotifyReport as a domain part: one row per reported attribute, the variable's
    characteristics on each."""
    rows = []
    for data in request.get("reportData", []):
        characteristics = _characteristics(data)
        for attribute in data["variableAttribute"]:
            rows.append(
                VariableRow(
                    station_id=station_id,
                    ref=ref_of(data["component"], data["variable"], attribute.get("type")),
                    value=attribute.get("value"),
                    updated_at=received_at,
                    mutability=attribute.get("mutability"),
                    persistent=attribute.get("persistent"),
                    constant=attribute.get("constant"),
                    characteristics=characteristics,
                )
            )
    return ReportPart(
        station_id=station_id,
        request_id=request["requestId"],
        seq_no=request["seqNo"],
        tbc=request.get("tbc", False),  # absent: false (the last part)
        generated_at=parse_timestamp(request["generatedAt"]),
        rows=tuple(rows),
        received_at=received_at,
    )


# ------------------------------------------------------------------ station → CSMS


async def notify_report(ctx: CallContext, payload: Payload) -> Payload:
    """B07/B08 NotifyReport: the part is stored (idempotently) before it is answered; the
    report is assembled across parts by ``requestId`` / ``seqNo`` / ``tbc``."""
    part = report_part(ctx.station_id, cast(v201.NotifyReportRequest, payload), ctx.received_at)
    await ctx.services.device_model.receive_part(part)
    return {}


# ------------------------------------------------------------------ CSMS → station


class DeviceModel201:
    """Device-model commands to one 2.0.1 (or 2.1) station."""

    def __init__(self, call: StationCall, ocpp_version: str = "2.0.1") -> None:
        self._call = call
        self._version = ocpp_version

    @property
    def ocpp_version(self) -> str:
        return self._version

    async def get_variables(self, refs: Sequence[VariableRef]) -> list[VariableResult]:
        request: v201.GetVariablesRequest = {
            "getVariableData": [get_variable_data(r) for r in refs]
        }
        response = cast(
            v201.GetVariablesResponse,
            await self._call("GetVariables", cast(dict[str, Any], request)),
        )
        return [
            VariableResult(
                ref=ref_of(item["component"], item["variable"], item.get("attributeType")),
                status=item["attributeStatus"],
                value=item.get("attributeValue") if item["attributeStatus"] == "Accepted" else None,
                reason=_reason(item.get("attributeStatusInfo")),
            )
            for item in response["getVariableResult"]
        ]

    async def set_variables(self, items: Sequence[tuple[VariableRef, str]]) -> list[VariableResult]:
        request: v201.SetVariablesRequest = {
            "setVariableData": [set_variable_data(ref, value) for ref, value in items]
        }
        response = cast(
            v201.SetVariablesResponse,
            await self._call("SetVariables", cast(dict[str, Any], request)),
        )
        return [
            VariableResult(
                ref=ref_of(item["component"], item["variable"], item.get("attributeType")),
                status=item["attributeStatus"],
                reason=_reason(item.get("attributeStatusInfo")),
            )
            for item in response["setVariableResult"]
        ]

    async def get_base_report(self, request_id: int, kind: ReportKind) -> str:
        request: v201.GetBaseReportRequest = {
            "requestId": request_id,
            "reportBase": cast(v201.ReportBaseEnumType, kind.value),
        }
        response = await self._call("GetBaseReport", cast(dict[str, Any], request))
        return cast(v201.GetBaseReportResponse, response)["status"]

    async def get_report(
        self, request_id: int, criteria: Sequence[str], selectors: Sequence[ComponentSelector]
    ) -> str:
        request: v201.GetReportRequest = {"requestId": request_id}
        if criteria:
            request["componentCriteria"] = [
                cast(v201.ComponentCriterionEnumType, c) for c in criteria
            ]
        if selectors:
            wanted: list[v201.ComponentVariableType] = []
            for selector in selectors:
                item: v201.ComponentVariableType = {"component": component_of(selector)}
                if selector.variable is not None:
                    item["variable"] = variable_of(selector.variable, selector.variable_instance)
                wanted.append(item)
            request["componentVariable"] = wanted
        response = await self._call("GetReport", cast(dict[str, Any], request))
        return cast(v201.GetReportResponse, response)["status"]

    def get_size(self, ref: VariableRef) -> int:
        return len(orjson.dumps(get_variable_data(ref)))

    def set_size(self, item: tuple[VariableRef, str]) -> int:
        return len(orjson.dumps(set_variable_data(*item)))
