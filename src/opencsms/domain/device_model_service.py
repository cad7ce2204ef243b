"""The stations' 2.0.1 device models as the CSMS keeps them: reports asked for and received
(GetBaseReport B07, GetReport B08, NotifyReport), and variables read and set (GetVariables B06,
SetVariables B05) in as many messages as the station's limits require
(docs/configuration-management.md).

**Reports.** The CSMS records a report request (durably) before it sends GetBaseReport /
GetReport, so the parts that follow know what they belong to. Each NotifyReport part is stored
before it is answered: the part's number, and every attribute it carries as a row tagged with
the report's ``requestId``. A resent part stores nothing twice (rows are upserts, the part number
is a key). Once every part ``0..n`` is there (``tbc`` false on part ``n``) the report is complete,
and:

* a **FullInventory** replaces the stored model: rows the report did not carry are removed;
* a **ConfigurationInventory**, **SummaryInventory**, **GetReport** or a report the CSMS never
  asked for updates the rows it carries and keeps the rest.

**Variables.** GetVariables / SetVariables items are cut into messages of at most
``DeviceDataCtrlr.ItemsPerMessage[GetVariables|SetVariables]`` items and
``BytesPerMessage[...]`` bytes, read from the stored model (:func:`~.device_model.limits_of`).
Accepted values are stored on their rows (read: the value seen; set: the value set);
``RebootRequired`` leaves the stored value as it was.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from opencsms.clock import Clock
from opencsms.domain.device_model import (
    ComponentSelector,
    MessageLimits,
    ReportKind,
    ReportPart,
    ReportRequest,
    VariableRef,
    VariableResult,
    VariableRow,
    chunk,
    limits_of,
    report_complete,
)

if TYPE_CHECKING:
    from opencsms.storage.store import Storage

__all__ = ["DeviceModelService", "VariablesPort"]

SetItem = tuple[VariableRef, str]


class VariablesPort(Protocol):
    """A connected 2.0.1 (or 2.1) station's device-model commands in domain terms
    (handlers/v201/device_model.py)."""

    @property
    def ocpp_version(self) -> str: ...

    async def get_variables(self, refs: Sequence[VariableRef]) -> list[VariableResult]:
        """One GetVariables with ``refs``; one result per item."""
        ...

    async def set_variables(self, items: Sequence[SetItem]) -> list[VariableResult]:
        """One SetVariables with ``items``; one result per item."""
        ...

    async def get_base_report(self, request_id: int, kind: ReportKind) -> str:
        """GetBaseReport; the station's status."""
        ...

    async def get_report(
        self, request_id: int, criteria: Sequence[str], selectors: Sequence[ComponentSelector]
    ) -> str:
        """GetReport; the station's status."""
        ...

    def get_size(self, ref: VariableRef) -> int:
        """Bytes ``ref`` takes in a GetVariables request."""
        ...

    def set_size(self, item: SetItem) -> int:
        """Bytes ``item`` takes in a SetVariables request."""
        ...


class DeviceModelService:
    """Keeps the stations' device models (one instance per node)."""

    def __init__(self, storage: Storage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        self._stored = asyncio.Condition()
        """Notified after each stored part (:meth:`wait_for_report`)."""

    def _lock(self, station_id: str) -> asyncio.Lock:
        lock = self._locks.get(station_id)
        if lock is None:
            lock = self._locks[station_id] = asyncio.Lock()
        return lock

    # ------------------------------------------------------------------ reports

    async def request_report(
        self,
        station_id: str,
        port: VariablesPort,
        request_id: int,
        kind: ReportKind,
        *,
        criteria: Sequence[str] = (),
        selectors: Sequence[ComponentSelector] = (),
    ) -> ReportRequest:
        """Record the request, send GetBaseReport (``kind`` a base) or GetReport (``CUSTOM``),
        record the station's answer. A failed call is recorded as status ``Failed`` and
        propagates."""
        request = ReportRequest(station_id, request_id, kind, requested_at=self._clock.now())
        await self._storage.device_model.add_report(request)
        try:
            if kind is ReportKind.CUSTOM:
                status = await port.get_report(request_id, criteria, selectors)
            else:
                status = await port.get_base_report(request_id, kind)
        except Exception:
            await self._storage.device_model.set_report_status(
                station_id, request_id, "Failed", self._clock.now()
            )
            raise
        await self._storage.device_model.set_report_status(
            station_id, request_id, status, self._clock.now()
        )
        return replace(request, status=status, updated_at=self._clock.now())

    async def receive_part(self, part: ReportPart) -> ReportRequest:
        """Store one NotifyReport part; return the report's progress. Returns only once the
        part is durable (the handler answers afterwards); idempotent for a resent part."""
        station_id, request_id = part.station_id, part.request_id
        repo = self._storage.device_model
        async with self._lock(station_id):
            request = await repo.report(station_id, request_id)
            if request is None:  # not asked by this CSMS (or asked before its record existed)
                request = ReportRequest(
                    station_id, request_id, ReportKind.UNSOLICITED, requested_at=part.received_at
                )
            rows = tuple(replace(row, report_id=request_id) for row in part.rows)
            await repo.store_part(replace(part, rows=rows), request)
            seq_nos, last_seq_no = await repo.part_numbers(station_id, request_id)
            complete = request.complete or report_complete(seq_nos, last_seq_no)
            now = self._clock.now()
            progress = replace(
                request,
                parts=len(seq_nos),
                last_seq_no=last_seq_no,
                completed_at=request.completed_at or (now if complete else None),
                updated_at=now,
            )
            # Replace only when the report completes now: a part resent after completion must
            # not remove what the CSMS learned since.
            replaces = complete and not request.complete and request.kind.replaces
            await repo.update_progress(progress, replace_model=replaces)
        async with self._stored:
            self._stored.notify_all()
        return progress

    async def report(self, station_id: str, request_id: int) -> ReportRequest | None:
        return await self._storage.device_model.report(station_id, request_id)

    async def wait_for_report(
        self, station_id: str, request_id: int, seconds: float
    ) -> ReportRequest | None:
        """The report once complete, or as it stands after ``seconds`` (``None``: no
        such report). Parts stored by another node are seen when this node stores one or the
        time is up."""
        try:
            async with asyncio.timeout(seconds):
                while True:
                    async with self._stored:
                        report = await self.report(station_id, request_id)
                        refused = report is not None and report.status not in (None, "Accepted")
                        if report is None or report.complete or refused:
                            return report
                        await self._stored.wait()
        except TimeoutError:
            return await self.report(station_id, request_id)

    async def reports(self, station_id: str, limit: int = 20) -> list[ReportRequest]:
        """The station's latest reports, newest first."""
        return await self._storage.device_model.reports(station_id, limit)

    # ------------------------------------------------------------------ the stored model

    async def rows(
        self,
        station_id: str,
        *,
        component: str | None = None,
        variable: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[list[VariableRow], int]:
        """A page of the station's stored attributes (filtered by component / variable name,
        case-insensitive) and how many match."""
        return await self._storage.device_model.rows(
            station_id, component=component, variable=variable, offset=offset, limit=limit
        )

    async def known(
        self, station_id: str, refs: Sequence[VariableRef]
    ) -> dict[VariableRef, str | None]:
        """The stored values of those ``refs`` the CSMS knows (``None``: the station reported
        the attribute without its value)."""
        return await self._storage.device_model.values(station_id, refs)

    async def limits(
        self, station_id: str, message: str, component: str = "DeviceDataCtrlr"
    ) -> MessageLimits:
        """The station's limits for ``message`` (GetVariables / SetVariables: DeviceDataCtrlr;
        SetVariableMonitoring / ClearVariableMonitoring: MonitoringCtrlr), from its stored
        ``component`` variables, else the defaults."""
        rows, _ = await self._storage.device_model.rows(
            station_id, component=component, offset=0, limit=1000
        )
        return limits_of(rows, message, component)

    # ------------------------------------------------------------------ variables

    async def get_variables(
        self, station_id: str, port: VariablesPort, refs: Sequence[VariableRef]
    ) -> list[VariableResult]:
        """B06: read ``refs`` in as many GetVariables as the limits need; Accepted values are
        stored message by message. A failed call propagates (what came before is stored)."""
        limits = await self.limits(station_id, "GetVariables")
        results: list[VariableResult] = []
        for batch in chunk(list(refs), limits, port.get_size):
            answered = await port.get_variables(batch)
            await self._store_values(station_id, answered)
            results += answered
        return results

    async def set_variables(
        self, station_id: str, port: VariablesPort, items: Sequence[SetItem]
    ) -> list[VariableResult]:
        """B05: set ``items`` in as many SetVariables as the limits need; Accepted values are
        stored message by message. A failed call propagates (what came before is stored)."""
        limits = await self.limits(station_id, "SetVariables")
        results: list[VariableResult] = []
        for batch in chunk(list(items), limits, port.set_size):
            answered = await port.set_variables(batch)
            values = dict(batch)
            answered = [
                replace(r, value=values.get(r.ref)) if r.value is None else r for r in answered
            ]
            await self._store_values(station_id, answered)
            results += answered
        return results

    async def _store_values(self, station_id: str, results: Sequence[VariableResult]) -> None:
        now = self._clock.now()
        rows = [
            VariableRow(station_id, r.ref, r.value, now)
            for r in results
            if r.status == "Accepted" and r.value is not None
        ]
        if rows:
            await self._storage.device_model.put_values(rows)
