"""What happens in the fleet, as domain events other services react to.

Services publish an event only after what it describes is durably stored, so a subscriber never
acts on something that could still be lost. Publishing is synchronous and cheap (a loop over the
subscribers, nothing at all without one): the station hot path pays for it only when someone
listens. Each subscriber reads from its own bounded queue in its own task; a subscriber that falls
behind loses its oldest events (counted in :attr:`Subscription.dropped`) instead of slowing the
stations down or growing memory without bound. Subscribers that must not miss anything (billing,
alerts) re-read the store for the state an event points to.

Events are this node's; in a cluster the bus (``cluster/``) forwards each local event to the
other nodes, which hand it to their ``remote``/``all`` subscribers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from opencsms.domain.alert_model import Alert, AlertChange
from opencsms.domain.ev_charging_model import EvChargingNeeds, EvChargingSchedule, ExternalLimit
from opencsms.domain.job_model import Job
from opencsms.domain.model import ConnectorStatus, MeterValueRecord, StationEvent
from opencsms.domain.security_events import SecurityEvent
from opencsms.domain.transaction_model import Transaction
from opencsms.value_class import value_class

__all__ = [
    "AlertChanged",
    "BootReported",
    "CertificateExpiring",
    "ChargingLimitReported",
    "ConfigChanged",
    "EvChargingNeedsReported",
    "EvChargingScheduleReported",
    "FleetEvent",
    "FleetEvents",
    "JobChanged",
    "LocalListSyncChanged",
    "MeterValuesStored",
    "MonitorEventsStored",
    "SecurityEventStored",
    "StationConnected",
    "StationDisconnected",
    "StatusChanged",
    "Subscription",
    "TransactionChanged",
]

DEFAULT_QUEUE_SIZE = 10_000

Scope = Literal["local", "remote", "all"]


@dataclass(frozen=True, slots=True)
class StationConnected:
    """A station's WebSocket connection was accepted (and recorded)."""

    station_id: str
    ocpp_version: str
    at: datetime
    registration: str | None = None
    """The registration status the connection starts with (a cluster's other nodes need it)."""


@dataclass(frozen=True, slots=True)
class ConfigChanged:
    """An operator changed what nodes keep in memory: ``kind`` is ``"station"`` (``key`` its
    id: access data and security state), ``"tokens"``, ``"webhooks"``, ``"desired"`` (``key``
    the station whose desired configuration the node holding it applies, ``"*"`` a profile) or
    ``"load"`` (load groups, members, signals). In a cluster the
    other nodes drop or reload their copy (cluster/config_sync.py); the feed does not show it."""

    kind: str
    key: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class StationDisconnected:
    """A station's connection closed (and its last-seen time was recorded)."""

    station_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class BootReported:
    """A BootNotification was answered with ``status`` (Accepted / Pending / Rejected)."""

    station_id: str
    status: str
    at: datetime


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """A connector (or the station, EVSE 0) reported its status (1.6 §4.9, 2.0.1 G01)."""

    status: ConnectorStatus


@dataclass(frozen=True, slots=True)
class TransactionChanged:
    """A session was created, updated or closed; ``transaction`` is the stored record.

    ``started`` is true for the event that created the record, ``transaction.open`` false once it
    is closed (by the station or inferred by the CSMS).
    """

    transaction: Transaction
    started: bool


@value_class
class MeterValuesStored:
    """Meter values were stored (MeterValues, or those inside a TransactionEvent/StopTransaction).

    All records of one event belong to one station; ``samples_json`` is the verbatim
    ``sampledValue`` list (parse with :mod:`opencsms.domain.metering`).
    """

    station_id: str
    records: Sequence[MeterValueRecord]


@dataclass(frozen=True, slots=True)
class EvChargingNeedsReported:
    """An EV's charging needs were stored (2.0.1 K15 NotifyEVChargingNeeds, answered Accepted)."""

    needs: EvChargingNeeds


@dataclass(frozen=True, slots=True)
class ChargingLimitReported:
    """An external limit was set or cleared on a station (2.0.1 K12 / K13)."""

    limit: ExternalLimit


@dataclass(frozen=True, slots=True)
class JobChanged:
    """A firmware or log job was stored in a new state (domain/jobs.py); ``job.state`` tells
    whether it is still open, succeeded or failed."""

    job: Job


@dataclass(frozen=True, slots=True)
class SecurityEventStored:
    """A SecurityEventNotification was stored (1.6 security whitepaper §4, 2.0.1 A04)."""

    event: SecurityEvent


@dataclass(frozen=True, slots=True)
class MonitorEventsStored:
    """NotifyEvent records were stored (2.0.1 N07); all of one station."""

    station_id: str
    events: Sequence[StationEvent]


@dataclass(frozen=True, slots=True)
class LocalListSyncChanged:
    """A station's local list record was stored (domain/local_lists.py): ``managed`` once the
    CSMS ever sent it a list, ``in_sync`` whether the station holds what the CSMS sent,
    ``last_result`` the last sync's outcome (``None`` before any)."""

    station_id: str
    managed: bool
    in_sync: bool
    last_result: str | None
    last_error: str | None
    at: datetime | None


@dataclass(frozen=True, slots=True)
class AlertChanged:
    """An alert was stored raised, repeated, acknowledged or resolved (domain/alerts.py)."""

    alert: Alert
    change: AlertChange


@dataclass(frozen=True, slots=True)
class EvChargingScheduleReported:
    """An EV's schedule was stored (K15.FR.10 NotifyEVChargingSchedule); when it exceeds the
    TxProfile (``schedule.within_limits`` false) the CSMS renegotiates (K15.FR.13, K16)."""

    schedule: EvChargingSchedule


@dataclass(frozen=True, slots=True)
class CertificateExpiring:
    """A certificate the CSMS signed for a station, and the station uses, ends within the warning
    period (``certificate_expiry_warning_days``; domain/certificates.py): published once per
    certificate. ``use`` is ChargingStationCertificate or V2GCertificate."""

    station_id: str
    use: str
    serial: str
    not_after: datetime
    at: datetime


@dataclass(frozen=True, slots=True)
class CertificateRenewed:
    """A station accepted (CertificateSigned, A02.FR.17) a certificate the CSMS signed for it,
    stored as delivered: earlier certificates of the same ``use`` are superseded (the
    ``certificate_expiring`` alerts of those resolve)."""

    station_id: str
    use: str
    serial: str
    not_after: datetime
    at: datetime


FleetEvent = (
    StationConnected
    | StationDisconnected
    | BootReported
    | StatusChanged
    | TransactionChanged
    | MeterValuesStored
    | EvChargingNeedsReported
    | ChargingLimitReported
    | EvChargingScheduleReported
    | JobChanged
    | SecurityEventStored
    | MonitorEventsStored
    | LocalListSyncChanged
    | AlertChanged
    | CertificateExpiring
    | CertificateRenewed
    | ConfigChanged
)


class Subscription:
    """One subscriber's bounded queue of events (iterate it with ``async for``).

    A deque and one waiter, not an ``asyncio.Queue``: every stored meter value passes through
    half a dozen subscriptions, and the queue's general machinery (getter lists, size checks on
    both sides) cost more than the subscribers' own work on them."""

    def __init__(
        self,
        hub: FleetEvents,
        accepts: Callable[[FleetEvent], bool] | None,
        size: int,
        types: frozenset[type] | None = None,
    ) -> None:
        self._hub = hub
        self._accepts = accepts
        self.types = types
        """The event types it hears (``None``: all); the hub offers it no other."""
        self._size = size
        self._events: deque[FleetEvent] = deque(maxlen=size)
        self._waiter: asyncio.Future[None] | None = None
        self.dropped = 0
        """Events lost because the subscriber fell behind (oldest first)."""

    async def get(self) -> FleetEvent:
        events = self._events
        if not events:
            await self._arrival()
        return events.popleft()

    async def batch(self) -> list[FleetEvent]:
        """Every queued event, oldest first, once there is at least one: a busy subscriber
        takes what accumulated in one step instead of one ``get`` per event."""
        if not self._events:
            await self._arrival()
        return self.pending()

    async def _arrival(self) -> None:
        """Return once an event is queued."""
        events = self._events
        while not events:
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None

    def pending(self) -> list[FleetEvent]:
        """Take every queued event without waiting (for batching subscribers)."""
        taken = list(self._events)
        self._events.clear()
        return taken

    def close(self) -> None:
        self._hub.unsubscribe(self)

    def __aiter__(self) -> AsyncIterator[FleetEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[FleetEvent]:
        while True:
            yield await self.get()


def _offer(subscriptions: Iterable[Subscription], event: FleetEvent) -> None:
    """Queue ``event`` on each subscription that accepts it, waking its reader.

    One loop over the subscriptions rather than a method per subscription: each stored meter value
    reaches half a dozen of them, and the call per subscription was a fifth of the fan-out's cost.
    """
    for subscription in subscriptions:
        accepts = subscription._accepts
        if accepts is not None and not accepts(event):
            continue
        events = subscription._events
        if len(events) == subscription._size:
            subscription.dropped += 1  # the deque's maxlen drops the oldest
        events.append(event)
        waiter = subscription._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class FleetEvents:
    """The node's event hub: services publish, subscribers read from their own queues."""

    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []
        self._remote: list[Subscription] = []
        self._routes: dict[type, list[Subscription]] = {}
        """Per event type, the local subscriptions that hear it (rebuilt on every change)."""
        self.forward: Callable[[FleetEvent], None] | None = None
        """Cluster mode: hands each local event to the bus for the other nodes (cluster/)."""

    def subscribe(
        self,
        accepts: Callable[[FleetEvent], bool] | None = None,
        *,
        size: int = DEFAULT_QUEUE_SIZE,
        scope: Scope = "local",
        types: Iterable[type] | None = None,
    ) -> Subscription:
        """A new subscription receiving the events ``accepts`` keeps, from now on.

        ``types`` narrows it to events of exactly those types (no subclasses) before ``accepts``
        is asked (if given):
        each stored meter value is published once per station message, and a subscriber that
        never wants one then costs it nothing.

        ``scope``: ``"local"`` (the default) hears what happened on this node, ``"remote"``
        what other nodes of a cluster fanned out, ``"all"`` both. Work that must happen once
        per event (alerts, webhooks, billing) listens locally, on the node where the event
        happened; views of the whole fleet (the live stream, fleet state, the load allocator)
        listen to all."""
        heard = frozenset(types) if types is not None else None
        subscription = Subscription(self, accepts, size, heard)
        if scope in ("local", "all"):
            self._subscriptions.append(subscription)
            self._routes = {}
        if scope in ("remote", "all"):
            self._remote.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        for subscriptions in (self._subscriptions, self._remote):
            with contextlib.suppress(ValueError):
                subscriptions.remove(subscription)
        self._routes = {}

    def _route(self, kind: type) -> list[Subscription]:
        route = [s for s in self._subscriptions if s.types is None or kind in s.types]
        self._routes[kind] = route
        return route

    @contextlib.contextmanager
    def subscription(
        self, accepts: Callable[[FleetEvent], bool] | None = None, *, size: int = 1000
    ) -> Iterator[Subscription]:
        """``with hub.subscription(...) as events:`` unsubscribes on exit (SSE clients)."""
        subscription = self.subscribe(accepts, size=size)
        try:
            yield subscription
        finally:
            subscription.close()

    def publish(self, event: FleetEvent) -> None:
        """Hand ``event`` to every subscriber; call only after it is durably stored."""
        route = self._routes.get(type(event))
        if route is None:
            route = self._route(type(event))
        _offer(route, event)
        if self.forward is not None:
            self.forward(event)

    def publish_remote(self, event: FleetEvent) -> None:
        """Hand an event another node of the cluster published to the ``remote``/``all``
        subscribers (it is not forwarded again)."""
        kind = type(event)
        _offer((s for s in self._remote if s.types is None or kind in s.types), event)

    @property
    def listening(self) -> bool:
        """Whether anyone subscribes (lets publishers skip building costly events)."""
        return bool(self._subscriptions) or self.forward is not None
