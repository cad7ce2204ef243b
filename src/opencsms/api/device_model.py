"""A 2.0.1 (or 2.1) station's device model through the API (docs/configuration-management.md):
``/api/v1/stations/{id}/device-model`` (browse what the CSMS stored, ask for a report),
``/variables/get`` and ``/variables/set`` (GetVariables / SetVariables, cut into as many CALLs as
the station's limits need) and ``/network-profile`` (SetNetworkProfile)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from opencsms.api.command_runner import COMMAND_RESPONSES, CommandOut, CommandRunner
from opencsms.api.recorded_calls import CommandFailed, failed_response, station_calls
from opencsms.api.responses import INVALID_BODY, UNKNOWN_STATION, errors
from opencsms.domain.desired_config import DesiredKind
from opencsms.domain.device_model import (
    ComponentSelector,
    InvalidPath,
    ReportKind,
    ReportRequest,
    VariableRef,
    VariableResult,
    VariableRow,
)
from opencsms.handlers.v201.device_model import DeviceModel201

if TYPE_CHECKING:
    from opencsms.app import Csms

__all__ = ["device_model_router"]

AttributeType = Literal["Actual", "Target", "MinSet", "MaxSet"]
"""2.0.1 AttributeEnumType (:data:`~opencsms.domain.device_model.ATTRIBUTE_TYPES`)."""

MAX_ITEMS = 1000
"""Items one API request may read or set (each CALL carries what the station allows)."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VariableIn(_Body):
    """One attribute: either ``path`` (``Component[inst]@evse/connector.Variable[inst]#Type``)
    or ``component`` and ``variable`` with the optional parts."""

    path: str | None = None
    component: str | None = Field(default=None, min_length=1, max_length=50)
    component_instance: str | None = Field(default=None, max_length=50)
    evse_id: int | None = Field(default=None, ge=0)
    connector_id: int | None = Field(default=None, ge=0)
    variable: str | None = Field(default=None, min_length=1, max_length=50)
    variable_instance: str | None = Field(default=None, max_length=50)
    attribute_type: AttributeType = "Actual"

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        if (self.path is None) == (self.component is None or self.variable is None):
            raise ValueError("give either path, or component and variable")
        self.ref()  # checks the path syntax / the parts' combination
        return self

    def ref(self) -> VariableRef:
        try:
            if self.path is not None:
                return VariableRef.parse(self.path)
            return VariableRef(
                component=self.component or "",
                variable=self.variable or "",
                component_instance=self.component_instance,
                evse_id=self.evse_id,
                connector_id=self.connector_id,
                variable_instance=self.variable_instance,
                attribute=self.attribute_type,
            )
        except InvalidPath as exc:
            raise ValueError(str(exc)) from None


class VariableSetIn(VariableIn):
    value: str = Field(max_length=1000, description="SetVariableData.attributeValue")


class GetVariablesIn(_Body):
    items: list[VariableIn] = Field(min_length=1, max_length=MAX_ITEMS)


class SetVariablesIn(_Body):
    items: list[VariableSetIn] = Field(min_length=1, max_length=MAX_ITEMS)
    desired: bool = Field(
        default=False, description="Also remember the values as desired for the station"
    )


class VariableResultOut(BaseModel):
    path: str
    status: str = Field(
        description="Accepted, Rejected, UnknownComponent, UnknownVariable, "
        "NotSupportedAttributeType; set: also RebootRequired"
    )
    value: str | None = Field(description="get: the value read; set: the value sent")
    reason: str | None = Field(description="attributeStatusInfo, when the station gave one")


class VariablesOut(BaseModel):
    results: list[VariableResultOut]
    commands: list[CommandOut] = Field(description="One per CALL (limits: ItemsPerMessage)")


class CharacteristicsOut(BaseModel):
    data_type: str
    supports_monitoring: bool
    unit: str | None
    min_limit: float | None
    max_limit: float | None
    values_list: str | None


class VariableOut(BaseModel):
    path: str
    component: str
    component_instance: str | None
    evse_id: int | None
    connector_id: int | None
    variable: str
    variable_instance: str | None
    attribute_type: str
    value: str | None
    mutability: str | None
    persistent: bool | None
    constant: bool | None
    characteristics: CharacteristicsOut | None
    report_id: int | None = Field(description="The report that last carried it (null: get/set)")
    updated_at: datetime


class DeviceModelPage(BaseModel):
    items: list[VariableOut]
    total: int
    offset: int
    limit: int


class SelectorIn(_Body):
    component: str = Field(min_length=1, max_length=50)
    component_instance: str | None = Field(default=None, max_length=50)
    evse_id: int | None = Field(default=None, ge=0)
    connector_id: int | None = Field(default=None, ge=0)
    variable: str | None = Field(default=None, max_length=50, description="absent: every one")
    variable_instance: str | None = Field(default=None, max_length=50)


class ReportIn(_Body):
    """A base report (``report_base``, B07) or a custom one (``criteria`` and/or
    ``component_variables``, B08)."""

    report_base: Literal["FullInventory", "ConfigurationInventory", "SummaryInventory"] | None = (
        None
    )
    criteria: list[Literal["Active", "Available", "Enabled", "Problem"]] = Field(
        default_factory=list
    )
    component_variables: list[SelectorIn] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        custom = bool(self.criteria or self.component_variables)
        if (self.report_base is None) != custom:
            raise ValueError("give either report_base, or criteria and/or component_variables")
        return self


class ReportOut(BaseModel):
    request_id: int = Field(description="The requestId (also the command's id)")
    kind: str = Field(
        description="FullInventory, ConfigurationInventory, SummaryInventory, "
        "GetReport or Unsolicited"
    )
    status: str | None = Field(
        description="The station's answer: Accepted, Rejected, "
        "NotSupported, EmptyResultSet; Failed: no answer"
    )
    parts: int = Field(description="NotifyReport parts stored")
    complete: bool = Field(description="Every part arrived (the stored model reflects it)")
    requested_at: datetime
    completed_at: datetime | None


class ReportCommandOut(ReportOut):
    command: CommandOut


class NetworkProfileIn(_Body):
    configuration_slot: int = Field(description="SetNetworkProfile configurationSlot")
    connection_data: dict[str, Any] = Field(
        description="An OCPP NetworkConnectionProfileType, sent as is (checked by its schema)"
    )


def _variable_out(row: VariableRow) -> VariableOut:
    ref, ch = row.ref, row.characteristics
    return VariableOut(
        path=ref.path,
        component=ref.component,
        component_instance=ref.component_instance,
        evse_id=ref.evse_id,
        connector_id=ref.connector_id,
        variable=ref.variable,
        variable_instance=ref.variable_instance,
        attribute_type=ref.attribute,
        value=row.value,
        mutability=row.mutability,
        persistent=row.persistent,
        constant=row.constant,
        characteristics=None
        if ch is None
        else CharacteristicsOut(
            data_type=ch.data_type,
            supports_monitoring=ch.supports_monitoring,
            unit=ch.unit,
            min_limit=ch.min_limit,
            max_limit=ch.max_limit,
            values_list=ch.values_list,
        ),
        report_id=row.report_id,
        updated_at=row.updated_at,
    )


def _report_out(report: ReportRequest) -> ReportOut:
    return ReportOut(
        request_id=report.request_id,
        kind=report.kind.value,
        status=report.status,
        parts=report.parts,
        complete=report.complete,
        requested_at=report.requested_at,
        completed_at=report.completed_at,
    )


def _results_out(results: list[VariableResult]) -> list[VariableResultOut]:
    return [
        VariableResultOut(path=r.ref.path, status=r.status, value=r.value, reason=r.reason)
        for r in results
    ]


def device_model_router(csms: Csms) -> APIRouter:
    """Build the router bound to one CSMS node."""
    router = APIRouter(prefix="/stations", tags=["device model"])
    runner = CommandRunner(csms)
    not_found = errors({404: "Unknown station or report"})
    sends = COMMAND_RESPONSES | INVALID_BODY

    @router.get(
        "/{station_id}/device-model", response_model=DeviceModelPage, responses=UNKNOWN_STATION
    )
    async def browse(
        station_id: str,
        component: Annotated[str | None, Query(description="Component name")] = None,
        variable: Annotated[str | None, Query(description="Variable name")] = None,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> DeviceModelPage:
        """The station's device model as the CSMS stored it: one item per attribute, in
        address order, filtered by component and/or variable name (case-insensitive)."""
        await runner.load(station_id)
        rows, total = await csms.device_model.rows(
            station_id, component=component, variable=variable, offset=offset, limit=limit
        )
        return DeviceModelPage(
            items=[_variable_out(r) for r in rows], total=total, offset=offset, limit=limit
        )

    @router.post(
        "/{station_id}/device-model/report",
        response_model=ReportCommandOut,
        responses=sends,
    )
    async def request_report(station_id: str, body: ReportIn) -> ReportCommandOut | JSONResponse:
        """Ask for a report (GetBaseReport / GetReport). The station answers, then sends the
        report in NotifyReport parts, stored as they arrive; follow it at
        ``/device-model/reports/{request_id}``."""
        calls = await station_calls(runner, station_id, v16=False)
        request_id = calls.next_id = await csms.commands.allocate_id()  # command id = requestId
        kind = ReportKind(body.report_base) if body.report_base else ReportKind.CUSTOM
        selectors = [ComponentSelector(**s.model_dump()) for s in body.component_variables]
        try:
            report = await csms.device_model.request_report(
                station_id,
                DeviceModel201(calls, calls.version.value),
                request_id,
                kind,
                criteria=body.criteria,
                selectors=selectors,
            )
        except CommandFailed as exc:
            return failed_response(exc)
        stored = await csms.device_model.report(station_id, request_id) or report
        return ReportCommandOut(**_report_out(stored).model_dump(), command=calls.commands[-1])

    @router.get(
        "/{station_id}/device-model/reports",
        response_model=list[ReportOut],
        responses=UNKNOWN_STATION,
    )
    async def list_reports(
        station_id: str, limit: Annotated[int, Query(ge=1, le=100)] = 20
    ) -> list[ReportOut]:
        """The station's latest reports, newest first."""
        await runner.load(station_id)
        return [_report_out(r) for r in await csms.device_model.reports(station_id, limit)]

    @router.get(
        "/{station_id}/device-model/reports/{request_id}",
        response_model=ReportOut,
        responses=not_found,
    )
    async def get_report(
        station_id: str,
        request_id: int,
        wait: Annotated[
            float,
            Query(ge=0, le=60, description="Seconds to wait for the report to complete"),
        ] = 0,
    ) -> ReportOut:
        """How far one report arrived; with ``?wait=`` the answer comes once the report is
        complete (or refused), or when the time is up."""
        await runner.load(station_id)
        if wait > 0:
            report = await csms.device_model.wait_for_report(station_id, request_id, wait)
        else:
            report = await csms.device_model.report(station_id, request_id)
        if report is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no report {request_id}")
        return _report_out(report)

    @router.post("/{station_id}/variables/get", response_model=VariablesOut, responses=sends)
    async def get_variables(station_id: str, body: GetVariablesIn) -> VariablesOut | JSONResponse:
        """Read attributes (GetVariables, B06) in as many CALLs as the station's
        ItemsPerMessage / BytesPerMessage allow; Accepted values are stored."""
        calls = await station_calls(runner, station_id, v16=False)
        port = DeviceModel201(calls, calls.version.value)
        try:
            results = await csms.device_model.get_variables(
                station_id, port, [i.ref() for i in body.items]
            )
        except CommandFailed as exc:
            return failed_response(exc)
        return VariablesOut(results=_results_out(results), commands=calls.commands)

    @router.post("/{station_id}/variables/set", response_model=VariablesOut, responses=sends)
    async def set_variables(station_id: str, body: SetVariablesIn) -> VariablesOut | JSONResponse:
        """Set attributes (SetVariables, B05) in as many CALLs as the station's limits allow;
        Accepted values are stored. With ``desired`` they are also remembered as desired for
        the station, whatever it answered, and its answers recorded for the drift."""
        calls = await station_calls(runner, station_id, v16=False)
        port = DeviceModel201(calls, calls.version.value)
        items = [(i.ref(), i.value) for i in body.items]
        try:
            results = await csms.device_model.set_variables(station_id, port, items)
        except CommandFailed as exc:
            return failed_response(exc)
        if body.desired:
            answers = {r.ref.path: r.status for r in results}
            await csms.desired_config.set_station_values(
                station_id,
                DesiredKind.VARIABLE,
                {ref.path: value for ref, value in items},
                answers=answers,
            )
        return VariablesOut(results=_results_out(results), commands=calls.commands)

    @router.post("/{station_id}/network-profile", response_model=CommandOut, responses=sends)
    async def set_network_profile(
        station_id: str, body: NetworkProfileIn
    ) -> CommandOut | JSONResponse:
        """Store a connection profile in a configuration slot (SetNetworkProfile, B09). The
        payload passes through the action's schema; the station's ``status`` (Accepted,
        Rejected, Failed) and ``statusInfo`` are in the command's response."""
        calls = await station_calls(runner, station_id, v16=False)
        payload = {
            "configurationSlot": body.configuration_slot,
            "connectionData": body.connection_data,
        }
        try:
            await calls("SetNetworkProfile", payload)
        except CommandFailed as exc:
            return exc.response
        return calls.commands[-1]

    return router
