"""The public event feed: fleet events as the live stream (SSE) and webhooks show them.

One task reads the node's fleet events (domain/fleet_events.py), translates each into a
:class:`PublicEvent` — a stable, documented JSON shape (docs/alerts.md "Event types"), numbered
with a per-node sequence ``id`` — and hands it to every listener. Translation (meter values are
parsed here) runs in that task, never on the station's path. A listener has a bounded queue: one
that falls behind is *dropped* (``overflowed``) rather than buffering without bound or slowing
anyone else; the SSE endpoint then sends ``event: overflow`` and closes, and the client reconnects
with ``Last-Event-ID`` to replay what the feed still holds (:attr:`EventFeed.recent`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from opencsms.clock import Clock
from opencsms.domain.alert_model import Alert, AlertChange
from opencsms.domain.fleet_events import (
    AlertChanged,
    BootReported,
    FleetEvent,
    FleetEvents,
    JobChanged,
    LocalListSyncChanged,
    MeterValuesStored,
    MonitorEventsStored,
    SecurityEventStored,
    StationConnected,
    StationDisconnected,
    StatusChanged,
    Subscription,
    TransactionChanged,
)
from opencsms.domain.fleet_state import latest_readings
from opencsms.domain.transaction_model import Transaction

__all__ = [
    "STREAM_EVENT_TYPES",
    "EventFeed",
    "FeedListener",
    "PublicEvent",
    "alert_json",
    "public_event",
    "transaction_json",
]

METER_VALUES = "meter.values"

STREAM_EVENT_TYPES = frozenset(
    {
        "station.connected",
        "station.disconnected",
        "station.boot",
        "connector.status",
        "session.started",
        "session.updated",
        "session.ended",
        "meter.values",
        "alert.raised",
        "alert.repeated",
        "alert.acknowledged",
        "alert.resolved",
        "job.updated",
        "security.event",
        "monitor.event",
        "local_list.sync",
    }
)


@dataclass(frozen=True, slots=True)
class PublicEvent:
    """One event of the feed: ``{"id", "type", "at", "station_id", "data"}`` as JSON."""

    id: int
    type: str
    at: datetime
    station_id: str | None
    data: dict[str, Any]
    local: bool = True
    """Whether it happened on this node (not part of the JSON): in a cluster, work done once
    per event (webhooks) takes local events only, so each is taken on exactly one node."""

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "at": self.at.isoformat(),
            "station_id": self.station_id,
            "data": self.data,
        }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def alert_json(alert: Alert) -> dict[str, Any]:
    """An alert as the API, the stream and webhooks show it."""
    return {
        "id": alert.id,
        "type": alert.type.value,
        "station_id": alert.station_id,
        "key": alert.key,
        "severity": alert.severity.value,
        "status": alert.status.value,
        "summary": alert.summary,
        "details": alert.details,
        "count": alert.count,
        "first_seen": alert.first_seen.isoformat(),
        "last_seen": alert.last_seen.isoformat(),
        "acknowledged_at": _iso(alert.acknowledged_at),
        "acknowledged_by": alert.acknowledged_by,
        "resolved_at": _iso(alert.resolved_at),
        "resolution": alert.resolution,
    }


def transaction_json(tx: Transaction) -> dict[str, Any]:
    return {
        "id": tx.id,
        "transaction_id": tx.transaction_id,
        "status": tx.status.value,
        "evse_id": tx.evse_id,
        "connector_id": tx.connector_id,
        "id_token": tx.id_token,
        "started_at": _iso(tx.started_at),
        "stopped_at": _iso(tx.stopped_at),
        "stop_reason": tx.stop_reason,
        "meter_start_wh": tx.meter_start_wh,
        "meter_stop_wh": tx.meter_stop_wh,
        "energy_wh": tx.energy_wh,
        "charging_state": tx.charging_state,
    }


def public_event(event: FleetEvent, seq: int, now: datetime) -> PublicEvent | None:
    """``event`` in its public shape, or ``None`` for events the feed does not show."""
    if isinstance(event, StationConnected):
        return PublicEvent(
            seq,
            "station.connected",
            event.at,
            event.station_id,
            {"ocpp_version": event.ocpp_version},
        )
    if isinstance(event, StationDisconnected):
        return PublicEvent(seq, "station.disconnected", event.at, event.station_id, {})
    if isinstance(event, BootReported):
        return PublicEvent(
            seq, "station.boot", event.at, event.station_id, {"status": event.status}
        )
    if isinstance(event, StatusChanged):
        s = event.status
        return PublicEvent(
            seq,
            "connector.status",
            s.received_at,
            s.station_id,
            {
                "evse_id": s.evse_id,
                "connector_id": s.connector_id,
                "status": s.status,
                "error_code": s.error_code,
                "info": s.info,
                "vendor_error_code": s.vendor_error_code,
                "reported_at": _iso(s.reported_at),
            },
        )
    if isinstance(event, TransactionChanged):
        tx = event.transaction
        kind = "started" if event.started else ("updated" if tx.open else "ended")
        return PublicEvent(
            seq, f"session.{kind}", tx.updated_at, tx.station_id, transaction_json(tx)
        )
    if isinstance(event, MeterValuesStored):
        readings = latest_readings(event.records)
        last = event.records[-1]
        return PublicEvent(
            seq,
            METER_VALUES,
            last.received_at,
            event.station_id,
            {
                "evse_id": last.evse_id,
                "connector_id": last.connector_id,
                "transaction_id": last.transaction_id,
                "timestamp": last.timestamp.isoformat(),
                "power_w": readings.power_w,
                "energy_wh": readings.energy_wh,
            },
        )
    if isinstance(event, AlertChanged):
        alert = event.alert
        at = {
            AlertChange.RESOLVED: alert.resolved_at,
            AlertChange.ACKNOWLEDGED: alert.acknowledged_at,
        }.get(event.change) or alert.last_seen
        return PublicEvent(
            seq, f"alert.{event.change.value}", at, alert.station_id, alert_json(alert)
        )
    if isinstance(event, JobChanged):
        job = event.job
        return PublicEvent(
            seq,
            "job.updated",
            job.updated_at,
            job.station_id,
            {
                "job_id": job.id,
                "kind": job.kind.value,
                "state": job.state.value,
                "station_status": job.station_status,
                "error": job.error,
            },
        )
    if isinstance(event, SecurityEventStored):
        sec = event.event
        return PublicEvent(
            seq,
            "security.event",
            sec.received_at,
            sec.station_id,
            {
                "type": sec.type,
                "critical": sec.critical,
                "timestamp": sec.timestamp.isoformat(),
                "tech_info": sec.tech_info,
            },
        )
    if isinstance(event, MonitorEventsStored):
        return PublicEvent(
            seq,
            "monitor.event",
            event.events[-1].received_at if event.events else now,
            event.station_id,
            {
                "events": [
                    {
                        "event_id": e.event_id,
                        "trigger": e.trigger,
                        "actual_value": e.actual_value,
                        "cleared": e.cleared,
                        "variable_monitoring_id": e.variable_monitoring_id,
                        "timestamp": e.timestamp.isoformat(),
                    }
                    for e in event.events
                ]
            },
        )
    if isinstance(event, LocalListSyncChanged):
        return PublicEvent(
            seq,
            "local_list.sync",
            event.at or now,
            event.station_id,
            {
                "managed": event.managed,
                "in_sync": event.in_sync,
                "last_result": event.last_result,
                "last_error": event.last_error,
            },
        )
    return None


@dataclass(slots=True)  # not frozen: one per stored meter value, and a frozen init costs 4x
class _Untranslated:
    """A held meter-values event that no listener wanted when it happened (never modified)."""

    id: int
    event: MeterValuesStored
    at: datetime
    local: bool


def _translated(held: PublicEvent | _Untranslated) -> PublicEvent:
    if isinstance(held, PublicEvent):
        return held
    public = public_event(held.event, held.id, held.at)
    assert public is not None  # every MeterValuesStored has a public form
    return public if held.local else replace(public, local=False)


class FeedListener:
    """One consumer of the feed (an SSE client, the webhook dispatcher)."""

    def __init__(
        self,
        feed: EventFeed,
        types: frozenset[str] | None,
        station_id: str | None,
        size: int,
        local_only: bool = False,
    ) -> None:
        self._feed = feed
        self.types = types
        self.station_id = station_id
        self.local_only = local_only
        self._queue: asyncio.Queue[PublicEvent | None] = asyncio.Queue(size + 1)
        self._size = size
        self.overflowed = False
        """Set when the listener fell more than its queue size behind and was dropped."""

    def wants(self, event: PublicEvent) -> bool:
        return self.may_want(event.type, event.station_id, event.local)

    def may_want(self, event_type: str, station_id: str | None, local: bool) -> bool:
        """Whether an event of this type, station and origin passes the listener's filters."""
        if self.local_only and not local:
            return False
        if self.types is not None and event_type not in self.types:
            return False
        return self.station_id is None or station_id == self.station_id

    def offer(self, event: PublicEvent) -> None:
        if self.overflowed or not self.wants(event):
            return
        if self._queue.qsize() >= self._size:
            self.overflowed = True
            self._queue.put_nowait(None)  # wakes the reader, who sees it was dropped
            self._feed.remove(self)
            return
        self._queue.put_nowait(event)

    @property
    def backlog(self) -> int:
        """Events offered and not yet taken."""
        return self._queue.qsize()

    async def get(self) -> PublicEvent | None:
        """The next event; ``None`` once the listener overflowed or the feed closed."""
        return await self._queue.get()

    def close(self) -> None:
        """End the listener: a waiting :meth:`get` returns ``None``."""
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)
        self._feed.remove(self)


class EventFeed:
    """Translates the node's fleet events and fans them out to listeners."""

    def __init__(self, events: FleetEvents, clock: Clock, *, replay: int = 1000) -> None:
        self._events = events
        self._clock = clock
        self._listeners: list[FeedListener] = []
        self._seq = 0
        self.recent: deque[PublicEvent | _Untranslated] = deque(maxlen=replay)
        """The latest events, for a client resuming with ``Last-Event-ID``."""
        self.epoch = clock.now()
        """When this feed started numbering; ids restart at 1 on every node start."""
        self.closed = False
        """Set at shutdown: listeners end and no new one gets an event."""

    async def run(self) -> None:
        """Read the hub until cancelled (owned by the node's task group): this node's events
        and, in a cluster, those the other nodes fanned out."""
        local = self._events.subscribe()
        remote = self._events.subscribe(scope="remote")
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._read(local, local=True))
                tasks.create_task(self._read(remote, local=False))
        finally:
            local.close()
            remote.close()
            for listener in list(self._listeners):
                listener.close()

    async def _read(self, subscription: Subscription, *, local: bool) -> None:
        clock = self._clock
        while True:
            events = await subscription.batch()
            now = clock.now()  # one reading for the batch: they arrived within one loop turn
            for event in events:
                self.publish(event, local=local, at=now)

    def publish(self, event: FleetEvent, *, local: bool = True, at: datetime | None = None) -> None:
        """Number, hold and fan out one event; ``at``: when the feed saw it (default: now)."""
        now = self._clock.now() if at is None else at
        if type(event) is MeterValuesStored and not self._wanted(event.station_id, local):
            # Most of a busy node's events, and usually nobody listening for them: numbered and
            # held for a replay as they are, translated only if a resuming client asks for them.
            self._seq += 1
            self.recent.append(_Untranslated(self._seq, event, now, local))
            return
        public = public_event(event, self._seq + 1, now)
        if public is None:
            return
        if not local:
            public = replace(public, local=False)
        self._seq += 1
        self.recent.append(public)
        for listener in list(self._listeners):
            listener.offer(public)

    def _wanted(self, station_id: str, local: bool) -> bool:
        # A plain loop: with nobody listening (the usual case) it costs one check per message.
        for listener in self._listeners:
            if listener.may_want(METER_VALUES, station_id, local):
                return True
        return False

    def listen(
        self,
        *,
        types: frozenset[str] | None = None,
        station_id: str | None = None,
        size: int = 1000,
        after: int | None = None,
        local_only: bool = False,
    ) -> FeedListener:
        """A new listener; ``after``: first replay the held events with a greater id;
        ``local_only``: only events that happened on this node (webhooks in a cluster)."""
        backlog: list[PublicEvent] = []
        if after is not None and after <= self._seq:  # a larger id is from before a restart
            backlog = [_translated(e) for e in self.recent if e.id > after]
        # the replay does not count against the client's allowance
        listener = FeedListener(self, types, station_id, size + len(backlog), local_only)
        if self.closed:
            listener.close()
            return listener
        for event in backlog:
            listener.offer(event)
        self._listeners.append(listener)
        return listener

    @contextlib.contextmanager
    def listening(self, **kwargs: Any) -> Iterator[FeedListener]:
        listener = self.listen(**kwargs)
        try:
            yield listener
        finally:
            listener.close()

    def remove(self, listener: FeedListener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def close_all(self) -> None:
        """End every listener (node shutdown: SSE responses finish)."""
        self.closed = True
        for listener in list(self._listeners):
            listener.close()

    @property
    def listeners(self) -> int:
        return len(self._listeners)
