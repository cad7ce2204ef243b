"""The station side's record of every transaction message: when it was first put on the wire,
on which connection, and the CSMS's acknowledgement.

:meth:`Recorder.observe` wraps a :class:`SimulatedStation`'s ``enqueue`` on the instance (the
simulator's code is unchanged): each queued message gets a ``prepare`` hook — the outbox calls it
exactly once, right before the message's first send — and an ``on_answer`` hook, called when the
CALLRESULT arrives. Both hand on to the simulator's own hooks, so behaviour is unchanged (a 1.6
transactionId learnt meanwhile is still filled in). A message acknowledged on a later connection
than the one it was first sent on was necessarily sent again: that is a resend.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opencsms.ocpp.version import OcppVersion
from opencsms.simulator.outbox import QueuedMessage
from opencsms.simulator.station import SimulatedStation

Payload = dict[str, Any]
Prepare = Callable[[Payload], Payload]
OnAnswer = Callable[[Payload | None], None]


@dataclass(slots=True)
class Record:
    """One transaction message of one station."""

    station: SimulatedStation
    action: str
    enqueued_at: float
    message: QueuedMessage | None = None
    first_sent_at: float | None = None
    first_sent_connection: int | None = None
    first_sent_seq: int | None = None
    acked_at: float | None = None
    acked_connection: int | None = None
    acked_seq: int | None = None
    answer: Payload | None = None
    refused: bool = False

    @property
    def station_id(self) -> str:
        return self.station.config.id

    @property
    def version(self) -> OcppVersion:
        return self.station.version

    @property
    def payload(self) -> Payload:
        """The payload as sent (after the simulator's own ``prepare``)."""
        assert self.message is not None
        return self.message.payload

    @property
    def acked(self) -> bool:
        return self.acked_at is not None

    @property
    def resent(self) -> bool:
        """Acknowledged on a later connection than its first send attempt: it went out again.

        (An attempt on a link that had just died without the station knowing yet counts too;
        the test's proof of a mid-flight kill is the snapshot taken at the signal.)"""
        return (
            self.acked_connection is not None
            and self.first_sent_connection is not None
            and self.acked_connection > self.first_sent_connection
        )

    @property
    def periodic_evse(self) -> int | None:
        """The EVSE of a periodic meter message of a transaction (1.6 MeterValues with context
        Sample.Periodic, 2.0.1 Updated with MeterValuePeriodic); None for anything else."""
        payload = self.message.payload if self.message is not None else {}
        if self.action == "MeterValues" and self.version is OcppVersion.V16:
            context = payload["meterValue"][0]["sampledValue"][0].get("context")
            return int(payload["connectorId"]) if context == "Sample.Periodic" else None
        if (
            self.action == "TransactionEvent"
            and payload.get("triggerReason") == "MeterValuePeriodic"
        ):
            return int(payload["evse"]["id"])
        return None


class Recorder:
    """Every transaction message of the observed stations, oldest first."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.seq = 0
        """Counts every first send and acknowledgement: their order, across stations."""
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self._meters: Counter[tuple[str, int]] = Counter()
        self._last_meter: dict[tuple[str, int], float] = {}

    def now(self) -> float:
        return self._loop.time()

    def observe(self, station: SimulatedStation) -> None:
        """Record every message ``station`` queues from now on."""
        original = station.enqueue

        async def enqueue(
            action: str,
            payload: Payload,
            *,
            prepare: Prepare | None = None,
            on_answer: OnAnswer | None = None,
        ) -> QueuedMessage:
            record = Record(station, action, self.now())
            self.records.append(record)

            def first_send(body: Payload) -> Payload:
                record.first_sent_at = self.now()
                record.first_sent_connection = station.connections
                record.first_sent_seq = self._next()
                self._changed.set()
                return prepare(body) if prepare is not None else body

            def answered(answer: Payload | None) -> None:
                record.acked_at = self.now()
                record.acked_connection = station.connections
                record.acked_seq = self._next()
                record.answer = answer
                record.refused = answer is None
                self._changed.set()
                if on_answer is not None:
                    on_answer(answer)

            message = await original(action, payload, prepare=first_send, on_answer=answered)
            record.message = message
            evse = record.periodic_evse
            if evse is not None:
                key = (station.config.id, evse)
                self._meters[key] += 1
                self._last_meter[key] = record.enqueued_at
            self._changed.set()
            return message

        station.enqueue = enqueue  # type: ignore[method-assign]

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    # ------------------------------------------------------------------ queries

    def meters_queued(self, station: SimulatedStation, evse: int) -> int:
        """Periodic meter messages queued so far for ``evse`` of ``station``."""
        return self._meters[(station.config.id, evse)]

    def since_last_meter(self, station: SimulatedStation, evse: int) -> float:
        """Seconds since the last periodic meter message of ``evse`` was queued (inf: none).

        The station's next periodic sample comes at least one interval after that one."""
        last = self._last_meter.get((station.config.id, evse))
        return float("inf") if last is None else self.now() - last

    def record_of(self, message: QueuedMessage) -> Record:
        return next(r for r in self.records if r.message is message)

    def acked(self, action: str | None = None) -> list[Record]:
        return [r for r in self.records if r.acked and (action is None or r.action == action)]

    def sent_after(self, seq: int) -> list[Record]:
        """Messages whose first send came after event ``seq``."""
        return [r for r in self.records if r.first_sent_seq is not None and r.first_sent_seq > seq]

    def in_flight(self) -> list[Record]:
        """Sent at least once and not acknowledged yet."""
        return [r for r in self.records if r.first_sent_at is not None and not r.acked]

    def session_ends_acked_after(self, moment: float) -> int:
        """1.6 StopTransaction / 2.0.1 Ended messages first sent after ``moment`` and acked."""
        return sum(
            1
            for r in self.records
            if r.acked
            and r.message is not None
            and r.first_sent_at is not None
            and r.first_sent_at > moment
            and (
                r.action == "StopTransaction"
                or (r.action == "TransactionEvent" and r.payload["eventType"] == "Ended")
            )
        )

    async def wait(self, predicate: Callable[[], bool], timeout: float) -> None:  # noqa: ASYNC109
        """Return once ``predicate()`` holds; re-checked whenever a message is queued or acked."""
        async with asyncio.timeout(timeout):
            while True:
                self._changed.clear()
                if predicate():
                    return
                await self._changed.wait()
