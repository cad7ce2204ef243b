"""The monitoring service: keeps the CSMS's record of each 2.0.1 station's monitors from what the
stations answer and report, and links NotifyEvent records to their monitors (functional block N;
the record and its rules are in :mod:`opencsms.domain.monitoring_model`).

Operator commands (SetVariableMonitoring, ClearVariableMonitoring, SetMonitoringBase,
SetMonitoringLevel, GetMonitoringReport) are sent by the API through the command runner; the
station's answers are handed to ``record_*`` here. Reports arrive as NotifyMonitoringReport
parts (:meth:`MonitoringService.report_part`), each stored before it is acknowledged; once the
last part of a report without filters arrived, the report replaces the record: monitors it did
not list, unchanged since the report was asked for, are removed (N02).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import asdict, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from opencsms.clock import Clock
from opencsms.domain.monitoring_model import (
    CUSTOM_MONITOR,
    BaseChange,
    ClearMonitorResult,
    ComponentRef,
    LinkedEvent,
    Monitor,
    MonitoringQuery,
    MonitoringSettings,
    MonitorOrigin,
    MonitorSetting,
    MonitorSpec,
    SetMonitorResult,
    VariableRef,
    base_change,
    pair_results,
)
from opencsms.domain.report_requests import (
    ReportKind,
    ReportPart,
    ReportRequest,
    ReportSignals,
    is_complete,
)

if TYPE_CHECKING:
    import asyncio

    from opencsms.storage.store import Storage

__all__ = ["MonitoringService"]

log = logging.getLogger("opencsms.monitoring")

_KIND = ReportKind.MONITORING


class MonitoringService:
    """Keeps the monitors of every station (one instance per node)."""

    def __init__(self, storage: Storage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock
        self.signals = ReportSignals()

    async def monitors(self, station_id: str) -> list[Monitor]:
        """The station's monitors as the CSMS knows them, by id."""
        return await self._storage.monitors.for_station(station_id)

    async def monitor(self, station_id: str, monitor_id: int) -> Monitor | None:
        return await self._storage.monitors.get(station_id, monitor_id)

    async def settings(self, station_id: str) -> MonitoringSettings:
        found = await self._storage.monitors.settings(station_id)
        return found if found is not None else MonitoringSettings(station_id)

    # ------------------------------------------------------------------ N04 / N06

    async def record_set(
        self, station_id: str, specs: Sequence[MonitorSpec], results: Sequence[SetMonitorResult]
    ) -> list[Monitor]:
        """N04: store the monitors the station Accepted (with the id it assigned); the others
        change nothing. A replaced monitor (``id`` given) keeps its kind and first sighting."""
        now = self._clock.now()
        known = {m.id: m for m in await self.monitors(station_id)}
        stored: list[Monitor] = []
        for spec, result in pair_results(specs, results):
            if result.status != "Accepted" or result.id is None:
                continue
            before = known.get(result.id)
            kind = CUSTOM_MONITOR if spec.id is None else (before.kind if before else None)
            stored.append(
                Monitor(
                    station_id=station_id,
                    id=result.id,
                    target=spec.target,
                    type=spec.type,
                    value=spec.value,
                    severity=spec.severity,
                    transaction=spec.transaction,
                    origin=MonitorOrigin.CSMS,
                    kind=kind,
                    report_id=None,
                    stale=False,
                    created_at=before.created_at if before else now,
                    updated_at=now,
                )
            )
        await self._storage.monitors.save(stored)
        return stored

    async def record_cleared(
        self, station_id: str, results: Sequence[ClearMonitorResult]
    ) -> list[int]:
        """N06: Accepted removes the monitor; NotFound too (the station has none of that id);
        Rejected (a hard-wired monitor) keeps it. Returns the ids removed from the record."""
        known = {m.id for m in await self.monitors(station_id)}
        removed = [r.id for r in results if r.status in ("Accepted", "NotFound") and r.id in known]
        await self._storage.monitors.remove(station_id, removed)
        return removed

    # ------------------------------------------------------------------ N03 / N05

    async def record_base(self, station_id: str, base: str, status: str) -> BaseChange:
        """N03: an Accepted base is stored and applied to the record (see
        :func:`~opencsms.domain.monitoring_model.base_change`)."""
        if status != "Accepted":
            return BaseChange((), ())
        now = self._clock.now()
        change = base_change(base, await self.monitors(station_id))
        await self._storage.monitors.remove(station_id, change.removed)
        await self._storage.monitors.mark_stale(station_id, change.stale, now)
        await self._storage.monitors.set_base(station_id, base, now)
        return change

    async def record_level(self, station_id: str, severity: int, status: str) -> None:
        """N05: an Accepted level is stored (events of a higher severity number stop)."""
        if status == "Accepted":
            await self._storage.monitors.set_level(station_id, severity, self._clock.now())

    # ------------------------------------------------------------------ N02 reports

    @contextlib.contextmanager
    def watch(self, station_id: str, request_id: int) -> Iterator[asyncio.Event]:
        """Set once the report ``request_id`` is complete and applied."""
        with self.signals.watch(station_id, _KIND, request_id) as event:
            yield event

    async def report_requested(
        self, station_id: str, request_id: int, query: MonitoringQuery
    ) -> ReportRequest:
        """Record a GetMonitoringReport before it is sent (its parts may arrive before the
        operator's side has seen the answer)."""
        now = self._clock.now()
        parameters = {
            "criteria": list(query.criteria),
            "targets": [_target_json(t) for t in query.targets],
        }
        request = ReportRequest(
            station_id, _KIND, request_id, parameters, query.full, now, None, None, now
        )
        await self._storage.requested_reports.create(request)
        return request

    async def report_withdrawn(self, station_id: str, request_id: int) -> None:
        """Nothing was sent (refused before sending): forget the request."""
        await self._storage.requested_reports.delete(station_id, _KIND, request_id)

    async def report_answered(self, station_id: str, request_id: int, status: str) -> None:
        """N02: Accepted (parts follow), Rejected, NotSupported, or EmptyResultSet: no monitor
        matches, so a full report finds none and the record is emptied."""
        reports = self._storage.requested_reports
        await reports.set_status(station_id, _KIND, request_id, status)
        if status == "EmptyResultSet":
            request = await reports.get(station_id, _KIND, request_id)
            if request is not None and request.full:
                await self._replace(request)
            await reports.set_completed(station_id, _KIND, request_id, self._clock.now())
            self.signals.completed(station_id, _KIND, request_id)

    async def report(self, station_id: str, request_id: int) -> ReportRequest | None:
        return await self._storage.requested_reports.get(station_id, _KIND, request_id)

    async def reports(self, station_id: str, limit: int = 20) -> list[ReportRequest]:
        return await self._storage.requested_reports.list(station_id, _KIND, limit)

    async def report_parts(self, station_id: str, request_id: int) -> list[ReportPart]:
        return await self._storage.requested_reports.parts(station_id, _KIND, request_id)

    async def report_part(
        self,
        station_id: str,
        request_id: int,
        seq_no: int,
        tbc: bool,
        generated_at: datetime | None,
        settings: Sequence[MonitorSetting],
        received_at: datetime,
    ) -> None:
        """N02 NotifyMonitoringReport: store the part and its monitors in one commit; when it
        completes a full report, remove what the report did not list. Idempotent: a resent part
        is ignored and its monitors rewritten as they were (ARCHITECTURE rule 7)."""
        monitors = [
            Monitor(
                station_id=station_id,
                id=s.id,
                target=s.target,
                type=s.type,
                value=s.value,
                severity=s.severity,
                transaction=s.transaction,
                origin=MonitorOrigin.REPORT,
                kind=s.kind,
                report_id=request_id,
                stale=False,
                created_at=received_at,  # kept for a monitor stored before (upsert)
                updated_at=received_at,
            )
            for s in settings
        ]
        data = orjson.dumps([_setting_json(s) for s in settings]).decode()
        part = ReportPart(
            station_id, _KIND, request_id, seq_no, tbc, data, generated_at, received_at
        )
        await self._storage.monitors.store_report_part(
            self._storage.requested_reports, part, monitors
        )
        await self._complete_if_done(station_id, request_id, received_at)

    async def _complete_if_done(self, station_id: str, request_id: int, at: datetime) -> None:
        reports = self._storage.requested_reports
        if not is_complete(await reports.parts(station_id, _KIND, request_id)):
            return
        request = await reports.get(station_id, _KIND, request_id)
        if request is None or request.completed_at is not None:
            return
        if request.full:
            await self._replace(request)
        await reports.set_completed(station_id, _KIND, request_id, at)
        self.signals.completed(station_id, _KIND, request_id)

    async def _replace(self, request: ReportRequest) -> None:
        """A complete full report is the station's list: drop monitors it did not list that
        did not change since it was asked for (a monitor set meanwhile is newer than the
        request and stays)."""
        cutoff = request.requested_at or request.created_at
        gone = [
            m.id
            for m in await self.monitors(request.station_id)
            if m.report_id != request.request_id and m.updated_at < cutoff
        ]
        if gone:
            log.info(
                "station %s: monitoring report %s no longer lists monitors %s",
                request.station_id,
                request.request_id,
                gone,
            )
        await self._storage.monitors.remove(request.station_id, gone)

    # ------------------------------------------------------------------ N07 events

    async def events(
        self, station_id: str, monitor_id: int | None = None, limit: int = 100
    ) -> list[LinkedEvent]:
        """NotifyEvent records, newest first, each with the monitor that raised it when the
        CSMS knows it. A monitor id the station reused for another variable (ids of removed
        monitors may be reused, 2.0.1 SetMonitoringResultType.id) is not linked: the event's
        component and variable must be the monitor's."""
        linked = await self._storage.monitors.events(station_id, monitor_id, limit)
        return [
            replace(item, monitor=None)
            if item.monitor is not None and not _raised_by(item, item.monitor)
            else item
            for item in linked
        ]


def _raised_by(item: LinkedEvent, monitor: Monitor) -> bool:
    try:
        component = orjson.loads(item.event.component_json)
        variable = orjson.loads(item.event.variable_json)
        reported = VariableRef(ComponentRef(component["name"]), variable["name"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return False
    return reported.same_names(monitor.target)


def _target_json(target: ComponentRef | VariableRef) -> dict[str, Any]:
    if isinstance(target, ComponentRef):
        return {"component": asdict(target)}
    return {
        "component": asdict(target.component),
        "variable": {"name": target.name, "instance": target.instance},
    }


def _setting_json(setting: MonitorSetting) -> dict[str, Any]:
    return {
        "id": setting.id,
        **_target_json(setting.target),
        "type": setting.type,
        "value": setting.value,
        "severity": setting.severity,
        "transaction": setting.transaction,
        "kind": setting.kind,
    }
