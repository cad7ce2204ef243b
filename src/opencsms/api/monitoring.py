"""``/api/v1/stations/{id}/monitors``, ``/monitoring/...`` and ``/events``: a 2.0.1 station's
variable monitors, its monitoring base and level, monitoring reports, and the events its monitors
raised, each linked to its monitor (docs/monitoring.md).

Every command goes through :class:`~opencsms.api.command_runner.CommandRunner` (schema check,
409 offline, registration gate, send, command log, 502/504); the station's answer is then handed
to :class:`~opencsms.domain.monitoring.MonitoringService`, which changes the record only on what
the station accepted or reported. A 1.6 station has no monitoring: 400.

SetVariableMonitoring and ClearVariableMonitoring are split into as many CALLs as the station's
MonitoringCtrlr ItemsPerMessage / BytesPerMessage (stored device model) require, each recorded
in the command log; the results are joined in one answer (``commands`` lists every CALL).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import orjson
from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import JSONResponse

from opencsms.api.command_runner import COMMAND_RESPONSES, CommandOut, CommandRunner
from opencsms.api.monitoring_models import (
    BaseIn,
    BaseOut,
    ClearMonitorsIn,
    ClearMonitorsOut,
    ClearResultOut,
    EventsOut,
    LevelIn,
    LevelOut,
    MonitorDetailOut,
    MonitorsOut,
    ReportIn,
    ReportOut,
    SetMonitorsIn,
    SetMonitorsOut,
    SetResultOut,
    VariableOut,
    component_out,
    event_out,
    monitor_out,
)
from opencsms.api.recorded_calls import CommandFailed, RecordedCalls, failed_response
from opencsms.api.responses import INVALID_BODY, UNKNOWN_STATION, errors
from opencsms.domain.device_model import chunk
from opencsms.domain.monitoring_model import (
    MONITORING_BASES,
    ClearMonitorResult,
    ComponentRef,
    Monitor,
    MonitoringQuery,
    MonitorSpec,
    SetMonitorResult,
    VariableRef,
)
from opencsms.domain.report_requests import ReportRequest, wait_for
from opencsms.handlers.v201 import monitoring as messages
from opencsms.ocpp.version import OcppVersion

if TYPE_CHECKING:
    from opencsms.app import Csms
    from opencsms.domain.model import Station

__all__ = ["monitoring_router", "nothing_sent", "require_2x"]


async def require_2x(runner: CommandRunner, station_id: str) -> tuple[Station, OcppVersion]:
    """The station and its OCPP version: 404 unknown, 409 never connected, 400 on 1.6 (these
    functional blocks N and O exist from 2.0.1 on)."""
    station = await runner.load(station_id)
    version = runner.version_of(station)
    if version is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"station {station_id!r} is not connected")
    if version is OcppVersion.V16:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"station {station_id!r} speaks OCPP 1.6: monitoring, display messages and customer "
            "information are not in OCPP 1.6 (they are 2.0.1 functional blocks N and O)",
        )
    return station, version


def nothing_sent(answer: JSONResponse) -> bool:
    """Whether a refused command never reached the station (recorded without a duration)."""
    command = orjson.loads(answer.body).get("command")
    return command is None or command.get("duration_ms") is None


SEND_RESPONSES = COMMAND_RESPONSES | INVALID_BODY

_LIMITS = "MonitoringCtrlr"
"""Where a 2.0.1 station announces ItemsPerMessage / BytesPerMessage for SetVariableMonitoring
and ClearVariableMonitoring (part 2 appendix 3.1.11); without them the device model defaults
apply (:data:`~opencsms.domain.device_model.DEFAULT_ITEMS_PER_MESSAGE`)."""


def _set_size(spec: MonitorSpec) -> int:
    """Bytes one monitor adds to a SetVariableMonitoring request (counted against
    BytesPerMessage)."""
    return len(orjson.dumps(messages.set_variable_monitoring_request([spec])))


def _clear_size(monitor_id: int) -> int:
    return len(str(monitor_id))


READ_RESPONSES = UNKNOWN_STATION


def monitoring_router(csms: Csms) -> APIRouter:
    """Build the router bound to one CSMS node."""
    router = APIRouter(prefix="/stations", tags=["monitoring"])
    runner = CommandRunner(csms)

    async def report_out(report: ReportRequest, command: CommandOut | None = None) -> ReportOut:
        station_id, request_id = report.station_id, report.request_id
        listed = [
            m for m in await csms.monitoring.monitors(station_id) if m.report_id == request_id
        ]
        return ReportOut(
            request_id=request_id,
            status=report.status,
            full=report.full,
            parameters=report.parameters,
            requested_at=report.requested_at,
            complete=report.completed_at is not None,
            completed_at=report.completed_at,
            parts=len(await csms.monitoring.report_parts(station_id, request_id)),
            monitors=[monitor_out(m) for m in listed],
            command=command,
        )

    @router.get("/{station_id}/monitors", response_model=MonitorsOut, responses=READ_RESPONSES)
    async def list_monitors(station_id: str) -> MonitorsOut:
        """The station's monitors as the CSMS knows them (from accepted SetVariableMonitoring
        results and monitoring reports), with the accepted base and level."""
        await runner.load(station_id)
        settings = await csms.monitoring.settings(station_id)
        return MonitorsOut(
            station_id=station_id,
            monitoring_base=settings.base,
            monitoring_level=settings.level,
            monitors=[monitor_out(m) for m in await csms.monitoring.monitors(station_id)],
        )

    @router.get(
        "/{station_id}/monitors/{monitor_id}",
        response_model=MonitorDetailOut,
        responses=errors({404: "Unknown station or monitor"}),
    )
    async def get_monitor(
        station_id: str,
        monitor_id: int,
        events: Annotated[int, Query(ge=0, le=1000, description="Recent events to include")] = 20,
    ) -> MonitorDetailOut:
        """One monitor and the events it raised most recently (NotifyEvent, N07)."""
        await runner.load(station_id)
        monitor = await csms.monitoring.monitor(station_id, monitor_id)
        if monitor is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"station {station_id!r} has no monitor {monitor_id}"
            )
        linked = await csms.monitoring.events(station_id, monitor_id, events) if events else []
        return MonitorDetailOut(
            monitor=monitor_out(monitor),
            events=[event_out(e) for e in linked if e.monitor is not None],
        )

    @router.post("/{station_id}/monitors", response_model=SetMonitorsOut, responses=SEND_RESPONSES)
    async def set_monitors(station_id: str, body: SetMonitorsIn) -> SetMonitorsOut | JSONResponse:
        """Install or replace monitors (SetVariableMonitoring, N04): one result per monitor;
        the Accepted ones are stored with the id the station assigned. Several CALLs when the
        station's MonitoringCtrlr limits require; a CALL that fails ends the operation with
        its error and the ``commands`` sent before (their accepted monitors stay recorded)."""
        station, version = await require_2x(runner, station_id)
        specs = [m.spec() for m in body.monitors]
        calls = RecordedCalls(runner, station, version)
        limits = await csms.device_model.limits(station_id, "SetVariableMonitoring", _LIMITS)
        results: list[SetMonitorResult] = []
        stored: list[Monitor] = []
        try:
            for batch in chunk(specs, limits, _set_size):
                payload = messages.set_variable_monitoring_request(batch)
                response = await calls("SetVariableMonitoring", payload)
                answered = messages.set_variable_monitoring_results(response)
                # Recorded per CALL: what a station accepted stays known if a later CALL fails.
                stored += await csms.monitoring.record_set(station_id, batch, answered)
                results += answered
        except CommandFailed as exc:
            return failed_response(exc)
        return SetMonitorsOut(
            results=[
                SetResultOut(
                    status=r.status,
                    id=r.id,
                    component=component_out(r.target.component),
                    variable=VariableOut(name=r.target.name, instance=r.target.instance),
                    type=r.type,
                    severity=r.severity,
                    reason=r.reason,
                )
                for r in results
            ],
            monitors=[monitor_out(m) for m in stored],
            command=calls.commands[-1],
            commands=calls.commands,
        )

    async def clear(station_id: str, ids: list[int]) -> ClearMonitorsOut | JSONResponse:
        station, version = await require_2x(runner, station_id)
        calls = RecordedCalls(runner, station, version)
        limits = await csms.device_model.limits(station_id, "ClearVariableMonitoring", _LIMITS)
        results: list[ClearMonitorResult] = []
        removed: list[int] = []
        try:
            for batch in chunk(ids, limits, _clear_size):
                payload = messages.clear_variable_monitoring_request(batch)
                response = await calls("ClearVariableMonitoring", payload)
                answered = messages.clear_variable_monitoring_results(response)
                removed += await csms.monitoring.record_cleared(station_id, answered)
                results += answered
        except CommandFailed as exc:
            return failed_response(exc)
        return ClearMonitorsOut(
            results=[ClearResultOut(id=r.id, status=r.status, reason=r.reason) for r in results],
            removed=removed,
            command=calls.commands[-1],
            commands=calls.commands,
        )

    @router.post(
        "/{station_id}/monitors/clear", response_model=ClearMonitorsOut, responses=SEND_RESPONSES
    )
    async def clear_monitors(
        station_id: str, body: ClearMonitorsIn
    ) -> ClearMonitorsOut | JSONResponse:
        """Clear monitors (ClearVariableMonitoring, N06): Accepted and NotFound leave the
        record, Rejected (a hard-wired monitor) stays."""
        return await clear(station_id, body.ids)

    @router.delete(
        "/{station_id}/monitors/{monitor_id}",
        response_model=ClearMonitorsOut,
        responses=COMMAND_RESPONSES,
    )
    async def clear_monitor(station_id: str, monitor_id: int) -> ClearMonitorsOut | JSONResponse:
        """Clear one monitor (ClearVariableMonitoring, N06); the station's answer is in
        ``results``."""
        return await clear(station_id, [monitor_id])

    @router.post("/{station_id}/monitoring/base", response_model=BaseOut, responses=SEND_RESPONSES)
    async def set_base(station_id: str, body: BaseIn) -> BaseOut | JSONResponse:
        """Set the monitoring base (SetMonitoringBase, N03). Accepted FactoryDefault and
        HardWiredOnly remove the custom monitors from the record and mark the others stale."""
        assert body.base in MONITORING_BASES
        station, version = await require_2x(runner, station_id)
        payload = messages.set_monitoring_base_request(body.base)
        outcome = await runner.run(station, version, "SetMonitoringBase", payload)
        if isinstance(outcome, JSONResponse):
            return outcome
        assert outcome.response is not None
        answer = messages.status_of(outcome.response)
        change = await csms.monitoring.record_base(station_id, body.base, answer)
        return BaseOut(
            status=answer,
            base=body.base,
            removed=list(change.removed),
            stale=list(change.stale),
            command=outcome,
        )

    @router.post(
        "/{station_id}/monitoring/level", response_model=LevelOut, responses=SEND_RESPONSES
    )
    async def set_level(station_id: str, body: LevelIn) -> LevelOut | JSONResponse:
        """Set the monitoring level (SetMonitoringLevel, N05): the station reports events of
        this severity or lower (0 Danger … 9 Debug)."""
        station, version = await require_2x(runner, station_id)
        payload = messages.set_monitoring_level_request(body.severity)
        outcome = await runner.run(station, version, "SetMonitoringLevel", payload)
        if isinstance(outcome, JSONResponse):
            return outcome
        assert outcome.response is not None
        answer = messages.status_of(outcome.response)
        await csms.monitoring.record_level(station_id, body.severity, answer)
        return LevelOut(status=answer, severity=body.severity, command=outcome)

    @router.post(
        "/{station_id}/monitoring/report", response_model=ReportOut, responses=SEND_RESPONSES
    )
    async def request_report(station_id: str, body: ReportIn) -> ReportOut | JSONResponse:
        """Ask for the station's monitors (GetMonitoringReport, N02); the station sends them in
        NotifyMonitoringReport parts. Without criteria and targets the complete report replaces
        the record. ``wait`` > 0 answers once the report is complete (or the time is up)."""
        station, version = await require_2x(runner, station_id)
        targets: list[ComponentRef | VariableRef] = [
            t.component.ref()
            if t.variable is None
            else VariableRef(t.component.ref(), t.variable.name, t.variable.instance)
            for t in body.targets
        ]
        query = MonitoringQuery(tuple(body.criteria), tuple(targets))
        request_id = await csms.commands.allocate_id()
        payload = messages.get_monitoring_report_request(request_id, query)
        await csms.monitoring.report_requested(station_id, request_id, query)
        with csms.monitoring.watch(station_id, request_id) as done:
            outcome = await runner.run(
                station, version, "GetMonitoringReport", payload, command_id=request_id
            )
            if isinstance(outcome, JSONResponse):
                if nothing_sent(outcome):
                    await csms.monitoring.report_withdrawn(station_id, request_id)
                return outcome
            assert outcome.response is not None
            answer = messages.status_of(outcome.response)
            await csms.monitoring.report_answered(station_id, request_id, answer)
            if answer == "Accepted":
                await wait_for(done, body.wait)
        report = await csms.monitoring.report(station_id, request_id)
        assert report is not None
        return await report_out(report, outcome)

    @router.get(
        "/{station_id}/monitoring/reports", response_model=list[ReportOut], responses=READ_RESPONSES
    )
    async def list_reports(
        station_id: str, limit: Annotated[int, Query(ge=1, le=100)] = 20
    ) -> list[ReportOut]:
        """The station's monitoring reports, newest first."""
        await runner.load(station_id)
        return [await report_out(r) for r in await csms.monitoring.reports(station_id, limit)]

    @router.get(
        "/{station_id}/monitoring/reports/{request_id}",
        response_model=ReportOut,
        responses=errors({404: "Unknown station or report"}),
    )
    async def get_report(station_id: str, request_id: int) -> ReportOut:
        """One monitoring report: its answer, how many parts arrived, whether it is complete."""
        await runner.load(station_id)
        report = await csms.monitoring.report(station_id, request_id)
        if report is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"station {station_id!r} has no report {request_id}"
            )
        return await report_out(report)

    @router.get("/{station_id}/events", response_model=EventsOut, responses=READ_RESPONSES)
    async def list_events(
        station_id: str,
        monitor_id: Annotated[
            int | None, Query(description="Only the events of this monitor")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> EventsOut:
        """The station's NotifyEvent records (N07), newest station timestamp first, each with
        the monitor that raised it when the CSMS knows that monitor."""
        await runner.load(station_id)
        linked = await csms.monitoring.events(station_id, monitor_id, limit)
        return EventsOut(items=[event_out(e) for e in linked])

    return router
