"""Reports a 2.0.1 station sends in parts because the CSMS asked: the monitoring report (N02
GetMonitoringReport → NotifyMonitoringReport), the display messages (O03/O04 GetDisplayMessages →
NotifyDisplayMessages) and customer information (N09/N10 CustomerInformation →
NotifyCustomerInformation).

Each request is numbered by the CSMS (the ``requestId``; OpenCSMS uses the command's id, so the
command log and the report share a number) and recorded *before* the CALL goes out: a station
sends its first part right after its answer, possibly before the operator's side has processed
that answer. A part for a request the CSMS never made (another system asked, or a station sends
unsolicited) is stored under a request row created on the fly.

Parts are stored by ``(station, kind, requestId, seqNo)`` with ``ON CONFLICT DO NOTHING``, so a
resent part (the station did not see the answer) changes nothing (ARCHITECTURE rule 7). A report
is complete once the part without ``tbc`` arrived and every ``seqNo`` before it is stored.

:class:`ReportSignals` lets an operator request wait (bounded) until its report is complete; it
is set after the part that completed it was committed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "ReportKind",
    "ReportPart",
    "ReportRequest",
    "ReportSignals",
    "is_complete",
    "missing_parts",
    "wait_for",
]


class ReportKind(StrEnum):
    """Which report a request asks for."""

    MONITORING = "monitoring"
    """N02 GetMonitoringReport → NotifyMonitoringReport."""
    DISPLAY_MESSAGES = "display_messages"
    """O03/O04 GetDisplayMessages → NotifyDisplayMessages (no ``seqNo``: parts are not kept)."""
    CUSTOMER_INFORMATION = "customer_information"
    """N09/N10 CustomerInformation → NotifyCustomerInformation."""


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """One request for a report, and how it went.

    ``parameters`` are the request in domain terms (JSON-able; ``None`` for a report nobody here
    asked for). ``full`` says the request had no filter, so the report replaces what the CSMS
    knew (a monitoring report without criteria, all display messages). ``requested_at`` is
    ``None`` for an unsolicited report; ``status`` is the station's answer to the request
    (``None``: not answered, see the command of the same id); ``completed_at`` when the last
    part arrived with every part before it.
    """

    station_id: str
    kind: ReportKind
    request_id: int
    parameters: dict[str, Any] | None
    full: bool
    requested_at: datetime | None
    status: str | None
    completed_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ReportPart:
    """One part of a report as the station sent it; ``data`` is the part's content as text
    (the customer data string; the monitors of a monitoring report as JSON)."""

    station_id: str
    kind: ReportKind
    request_id: int
    seq_no: int
    tbc: bool
    data: str
    generated_at: datetime | None
    received_at: datetime


def is_complete(parts: Iterable[ReportPart]) -> bool:
    """The last part (``tbc`` false) arrived and so did every ``seqNo`` before it."""
    seen = {p.seq_no: p for p in parts}
    last = [p.seq_no for p in seen.values() if not p.tbc]
    return bool(last) and set(seen) >= set(range(min(last) + 1))


def missing_parts(parts: Iterable[ReportPart]) -> list[int]:
    """The ``seqNo`` values below the highest one received that are not stored."""
    seen = {p.seq_no for p in parts}
    return [n for n in range(max(seen, default=-1)) if n not in seen]


Key = tuple[str, ReportKind, int]


class ReportSignals:
    """Wakes operator requests waiting for a report to complete (one node's view: the parts
    arrive on the node that holds the station's socket, which is the one that sent the
    request)."""

    def __init__(self) -> None:
        self._waiting: dict[Key, list[asyncio.Event]] = {}

    @contextlib.contextmanager
    def watch(self, station_id: str, kind: ReportKind, request_id: int) -> Iterator[asyncio.Event]:
        """An event set when the report completes; register it *before* sending the request
        so a completion in between is not missed."""
        key = (station_id, kind, request_id)
        event = asyncio.Event()
        self._waiting.setdefault(key, []).append(event)
        try:
            yield event
        finally:
            events = self._waiting.get(key, [])
            if event in events:
                events.remove(event)
            if not events:
                self._waiting.pop(key, None)

    def completed(self, station_id: str, kind: ReportKind, request_id: int) -> None:
        """The report is complete and stored: wake its waiters."""
        for event in self._waiting.get((station_id, kind, request_id), []):
            event.set()


async def wait_for(event: asyncio.Event, seconds: float) -> bool:
    """Wait up to ``seconds`` for ``event``; whether it was set."""
    if event.is_set():
        return True
    if seconds <= 0:
        return False
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    return event.is_set()
