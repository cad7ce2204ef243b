"""Display messages: what each 2.0.1 station shows its drivers, as the CSMS knows it
(functional block O: O01 set, O02 set for a transaction, O03 get all, O04 get specific,
O05 clear, O06 replace).

The CSMS numbers the messages (``MessageInfoType.id``); the same id again replaces the message
(O06). The record changes only on what a station says:

* SetDisplayMessage ``Accepted`` stores the message as on the station. A refusal
  (NotSupportedMessageFormat, NotSupportedPriority, NotSupportedState, UnknownTransaction,
  Rejected) is kept as ``last_set_status``: for an id the station does not hold, the refused
  message is kept with ``on_station`` false (so the operator sees what was refused and why);
  for an id it holds, the message it holds stays, as a refused replacement changes nothing.
* ClearDisplayMessage ``Accepted`` removes it; ``Unknown`` removes it too (the station has none).
* GetDisplayMessages → NotifyDisplayMessages: the messages listed are stored as on the station
  (one report may come in parts, ``tbc``). When the last part arrived, messages the CSMS
  believed on the station, matching the request's filter (none: all, O03), that the report did
  not list and that did not change since the request, are removed: the report is the station's
  current list. An answer ``Unknown`` (no message matches) removes them the same way.

Messages bound to a transaction end with it on the station (O02), and expired ones
(``end_at`` passed) are dropped there; the record shows them until a report says otherwise
(``expired`` tells them apart by the CSMS's clock).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from opencsms.clock import Clock
from opencsms.domain.monitoring_model import ComponentRef
from opencsms.domain.report_requests import ReportKind, ReportRequest, ReportSignals

if TYPE_CHECKING:
    import asyncio

    from opencsms.storage.store import Storage

__all__ = [
    "DisplayMessage",
    "DisplayMessageService",
    "DisplayQuery",
    "MessageContent",
    "MessageSource",
    "StoredMessage",
]

_KIND = ReportKind.DISPLAY_MESSAGES


@dataclass(frozen=True, slots=True)
class MessageContent:
    """2.0.1 MessageContentType: ``format`` ASCII, HTML, URI or UTF8 (2.1 adds QRCODE)."""

    format: str
    content: str
    language: str | None = None


@dataclass(frozen=True, slots=True)
class DisplayMessage:
    """One message (2.0.1 MessageInfoType); ``extra`` is 2.1's messageExtra."""

    id: int
    priority: str
    message: MessageContent
    state: str | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    transaction_id: str | None = None
    display: ComponentRef | None = None
    extra: tuple[MessageContent, ...] = ()


class MessageSource(StrEnum):
    """How the CSMS first learned of a message."""

    CSMS = "csms"
    REPORT = "report"


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message as the CSMS keeps it for one station (see the module docstring)."""

    station_id: str
    message: DisplayMessage
    on_station: bool
    last_set_status: str | None
    source: str
    report_id: int | None = None
    created_at: datetime = field(kw_only=True)
    updated_at: datetime = field(kw_only=True)

    def expired(self, now: datetime) -> bool:
        return self.message.end_at is not None and self.message.end_at <= now


@dataclass(frozen=True, slots=True)
class DisplayQuery:
    """What a GetDisplayMessages asks for (O03/O04): every filter given must match, ``ids``
    any of them; none given: all messages (O03)."""

    ids: tuple[int, ...] = ()
    priority: str | None = None
    state: str | None = None

    @property
    def full(self) -> bool:
        return not self.ids and self.priority is None and self.state is None

    def matches(self, message: DisplayMessage) -> bool:
        return (
            (not self.ids or message.id in self.ids)
            and (self.priority is None or message.priority == self.priority)
            and (self.state is None or message.state == self.state)
        )

    def parameters(self) -> dict[str, Any]:
        return {"ids": list(self.ids), "priority": self.priority, "state": self.state}

    @classmethod
    def of(cls, parameters: dict[str, Any] | None) -> DisplayQuery:
        if parameters is None:
            return cls()
        return cls(tuple(parameters.get("ids") or ()), parameters["priority"], parameters["state"])


class DisplayMessageService:
    """Keeps each station's display messages (one instance per node)."""

    def __init__(self, storage: Storage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock
        self.signals = ReportSignals()

    @property
    def clock(self) -> Clock:
        return self._clock

    async def messages(self, station_id: str) -> list[StoredMessage]:
        """The station's messages, by id."""
        return await self._storage.display_messages.for_station(station_id)

    async def get(self, station_id: str, message_id: int) -> StoredMessage | None:
        return await self._storage.display_messages.get(station_id, message_id)

    # ------------------------------------------------------------------ O01/O02/O06, O05

    async def record_set(
        self, station_id: str, message: DisplayMessage, status: str
    ) -> StoredMessage:
        """The station answered SetDisplayMessage for ``message`` with ``status``."""
        now = self._clock.now()
        held = await self.get(station_id, message.id)
        if status != "Accepted" and held is not None and held.on_station:
            stored = replace(held, last_set_status=status, updated_at=now)
        else:
            stored = StoredMessage(
                station_id=station_id,
                message=message,
                on_station=status == "Accepted",
                last_set_status=status,
                source=held.source if held is not None else MessageSource.CSMS,
                report_id=None,
                created_at=held.created_at if held is not None else now,
                updated_at=now,
            )
        await self._storage.display_messages.save([stored])
        return stored

    async def record_cleared(self, station_id: str, message_id: int, status: str) -> bool:
        """O05: the station answered ClearDisplayMessage; whether a record was removed."""
        if status not in ("Accepted", "Unknown") or await self.get(station_id, message_id) is None:
            return False
        await self._storage.display_messages.remove(station_id, [message_id])
        return True

    # ------------------------------------------------------------------ O03/O04 reports

    @contextlib.contextmanager
    def watch(self, station_id: str, request_id: int) -> Iterator[asyncio.Event]:
        with self.signals.watch(station_id, _KIND, request_id) as event:
            yield event

    async def report_requested(
        self, station_id: str, request_id: int, query: DisplayQuery
    ) -> ReportRequest:
        """Record a GetDisplayMessages before it is sent."""
        now = self._clock.now()
        request = ReportRequest(
            station_id, _KIND, request_id, query.parameters(), query.full, now, None, None, now
        )
        await self._storage.requested_reports.create(request)
        return request

    async def report_withdrawn(self, station_id: str, request_id: int) -> None:
        """Nothing was sent: forget the request."""
        await self._storage.requested_reports.delete(station_id, _KIND, request_id)

    async def report_answered(self, station_id: str, request_id: int, status: str) -> None:
        """O03/O04: Accepted (parts follow) or Unknown (no message matches: the matching
        messages the CSMS knew are not on the station)."""
        reports = self._storage.requested_reports
        await reports.set_status(station_id, _KIND, request_id, status)
        if status == "Unknown":
            request = await reports.get(station_id, _KIND, request_id)
            if request is not None:
                await self._drop_unlisted(request)
                await reports.set_completed(station_id, _KIND, request_id, self._clock.now())
            self.signals.completed(station_id, _KIND, request_id)

    async def report(self, station_id: str, request_id: int) -> ReportRequest | None:
        return await self._storage.requested_reports.get(station_id, _KIND, request_id)

    async def report_part(
        self,
        station_id: str,
        request_id: int,
        tbc: bool,
        messages: Sequence[DisplayMessage],
        received_at: datetime,
    ) -> None:
        """NotifyDisplayMessages (O03/O04): store the listed messages; after the last part,
        drop those the report shows gone. A resend rewrites the same (ARCHITECTURE rule 7)."""
        held = {m.message.id: m for m in await self.messages(station_id)}
        stored = [
            StoredMessage(
                station_id=station_id,
                message=message,
                on_station=True,
                last_set_status=held[message.id].last_set_status if message.id in held else None,
                source=held[message.id].source if message.id in held else MessageSource.REPORT,
                report_id=request_id,
                created_at=held[message.id].created_at if message.id in held else received_at,
                updated_at=received_at,
            )
            for message in messages
        ]
        await self._storage.display_messages.store_report_part(
            self._storage.requested_reports, station_id, request_id, stored, received_at
        )
        if tbc:
            return
        request = await self.report(station_id, request_id)
        if request is not None and request.requested_at is not None:
            await self._drop_unlisted(request)
        await self._storage.requested_reports.set_completed(
            station_id, _KIND, request_id, received_at
        )
        self.signals.completed(station_id, _KIND, request_id)

    async def _drop_unlisted(self, request: ReportRequest) -> None:
        """Remove the messages the report shows gone: on the station by the CSMS's record,
        matching the request, not listed by this report, unchanged since it was asked for."""
        assert request.requested_at is not None
        query = DisplayQuery.of(request.parameters)
        gone = [
            m.message.id
            for m in await self.messages(request.station_id)
            if m.on_station
            and query.matches(m.message)
            and m.report_id != request.request_id
            and m.updated_at < request.requested_at
        ]
        await self._storage.display_messages.remove(request.station_id, gone)
