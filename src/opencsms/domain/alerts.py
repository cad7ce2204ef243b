"""The alert service: raises, deduplicates and resolves alerts from what happens in the fleet.

It reads the node's fleet events in its own task and applies the rules of
:mod:`opencsms.domain.alert_rules`; a second task, the watchdog, checks every
``check_interval`` seconds what no event announces: a station connected but silent (no frame and
no pong within ``offline_after_seconds``; a station quiet for half of that is pinged first), a
session without a message for ``stuck_transaction_after`` seconds, a station whose reconnects
stopped for a whole window, and, once after start, the stations that have not come back.

Every change is stored before it is published (``AlertChanged``) and alerts are reloaded at
start, so they survive a restart. At most one alert per dedup key is open (domain/alert_model.py;
the store enforces it too). Operators acknowledge (seen, still open) or resolve (closed) alerts
through the API (docs/alerts.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from opencsms.clock import Clock
from opencsms.domain.alert_model import (
    Alert,
    AlertChange,
    AlertSeverity,
    AlertType,
    Occurrence,
    dedup_key,
    repeated,
    resolved,
)
from opencsms.domain.alert_rules import (
    Clear,
    Raise,
    ReconnectCounter,
    Rule,
    certificate_occurrence,
    rules_for,
)
from opencsms.domain.fleet_events import (
    AlertChanged,
    CertificateRenewed,
    FleetEvent,
    FleetEvents,
    MeterValuesStored,
    StationConnected,
    StationDisconnected,
    Subscription,
    TransactionChanged,
)
from opencsms.domain.model import RegistrationStatus
from opencsms.domain.transaction_model import TransactionStatus
from opencsms.errors import NotFoundError

if TYPE_CHECKING:
    from opencsms.storage.store import Storage

__all__ = ["AlertService", "AlertSettings", "LiveLink"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """The thresholds of the rules (config.py; docs/alerts.md "Configuration")."""

    offline_after: float = 60.0
    reconnect_count: int = 5
    reconnect_window: float = 300.0
    stuck_after: float = 14_400.0
    check_interval: float = 5.0


class LiveLink(Protocol):
    """What the watchdog needs of a live station connection (transport/connection.py)."""

    @property
    def station_id(self) -> str: ...

    def last_heard(self) -> datetime:
        """The later of the last frame received and the last pong received."""
        ...

    async def probe(self, within: float) -> bool:
        """Ping the station; True (and ``last_heard`` updated) when it answered in time."""
        ...


def _tx_key(transaction_id: str) -> str:
    return f"transaction:{transaction_id}"


METER_RESUMED = "meter values received"
"""Resolution of a stuck-session alert when the session's meter values resume."""


class AlertService:
    """Alerts of one node (one instance per node)."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        events: FleetEvents,
        settings: AlertSettings,
        *,
        links: Callable[[], Iterable[LiveLink]] = list,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._events = events
        self.settings = settings
        self._links = links
        self._open: dict[str, Alert] = {}
        self._lock = asyncio.Lock()
        self._reconnects = ReconnectCounter(settings.reconnect_count, settings.reconnect_window)
        self._activity: dict[tuple[str, str], datetime] = {}
        """Open sessions' last message: (station id, transaction id) → time."""
        self._stopping = False
        self._started_at = clock.now()
        self._startup_checked = False
        self.is_leader: Callable[[], bool] = lambda: True
        """Cluster mode: whether this node runs the checks that must run once (stuck sessions,
        stations absent after a start); a single node always does."""
        self.elsewhere: Callable[[], set[str]] = set
        """Cluster mode: the stations connected to other nodes (not absent)."""

    # ------------------------------------------------------------------ lifecycle

    async def load(self) -> None:
        """Load the open alerts and the open sessions from the store (at start)."""
        for alert in await self._storage.alerts.open_alerts():
            self._open[alert.dedup_key] = alert
        active = await self._storage.transactions.list(
            status=TransactionStatus.ACTIVE.value, limit=1_000_000
        )
        for tx in active:
            self._activity[(tx.station_id, tx.transaction_id)] = tx.updated_at

    async def run(self) -> None:
        """Apply fleet events and run the watchdog until cancelled (owned by the node)."""
        subscription = self._events.subscribe(lambda e: not isinstance(e, AlertChanged))
        remote = self._events.subscribe(_remote_interest, scope="remote")
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._watchdog())
                tasks.create_task(self._follow_remote(remote))
                while True:
                    for event in await subscription.batch():
                        if type(event) is MeterValuesStored and not self._open:
                            # most events of a busy node, and nothing to clear: no coroutine
                            self._track(event)
                            continue
                        try:
                            await self.observe(event)
                        except Exception:  # any error (a PostgreSQL outage is the driver's
                            # own exception): log it and go on; a dead task stops every alert
                            log.exception("alerts: could not apply %s", type(event).__name__)
        finally:
            subscription.close()
            remote.close()

    async def _follow_remote(self, remote: Subscription) -> None:
        """Cluster mode: the other nodes' alerts (so this node can clear one that a station
        raised there, e.g. offline there and back here) and sessions (for the leader's stuck
        check). No rule runs on them: the node where an event happened applies its rules."""
        async for event in remote:
            if isinstance(event, AlertChanged):
                alert = event.alert
                if alert.open:
                    self._open[alert.dedup_key] = alert
                else:
                    self._open.pop(alert.dedup_key, None)
            else:
                self._track(event)

    def _track(self, event: FleetEvent) -> list[tuple[str, str]]:
        """Follow the open sessions' activity; the sessions that meter values just moved on."""
        moved: list[tuple[str, str]] = []
        if isinstance(event, TransactionChanged):
            tx = event.transaction
            if tx.open:
                self._activity[(tx.station_id, tx.transaction_id)] = tx.updated_at
            else:
                self._activity.pop((tx.station_id, tx.transaction_id), None)
        elif isinstance(event, MeterValuesStored):
            for record in event.records:
                key = (event.station_id, record.transaction_id or "")
                if key in self._activity:
                    self._activity[key] = record.received_at
                    moved.append(key)
        return moved

    def node_stopping(self) -> None:
        """The node is shutting down: the disconnects that follow are not outages."""
        self._stopping = True

    # ------------------------------------------------------------------ events

    async def observe(self, event: FleetEvent) -> None:
        """Apply one fleet event (the task of :meth:`run` calls this in order)."""
        if type(event) is MeterValuesStored:  # most events of a busy node: one rule only
            moved = self._track(event)
            if self._open:  # no open alert (the usual case): nothing to resolve, no await
                for station_id, transaction_id in moved:
                    key = _tx_key(transaction_id)
                    await self.clear(AlertType.TRANSACTION_STUCK, station_id, key, METER_RESUMED)
            return
        if isinstance(event, StationDisconnected) and self._stopping:
            return
        rules: list[Rule] = rules_for(event)
        if isinstance(event, StationConnected):
            burst = self._reconnects.connected(event.station_id, event.at)
            if burst is not None:
                rules.append(burst)
        elif isinstance(event, CertificateRenewed):
            rules.extend(self._superseded_certificates(event))
        for station_id, transaction_id in self._track(event):
            rules.append(
                Clear(
                    AlertType.TRANSACTION_STUCK, station_id, _tx_key(transaction_id), METER_RESUMED
                )
            )
        for rule in rules:
            await self.apply(rule)

    def _superseded_certificates(self, event: CertificateRenewed) -> list[Rule]:
        """The open ``certificate_expiring`` alerts of the station's other certificates of this
        use: the renewed one replaces them (the per-serial keys are found among open alerts)."""
        return [
            Clear(
                AlertType.CERTIFICATE_EXPIRING,
                alert.station_id,
                alert.key,
                f"replaced by certificate {event.serial} (ends {event.not_after.date()})",
            )
            for alert in list(self._open.values())
            if alert.type is AlertType.CERTIFICATE_EXPIRING
            and alert.station_id == event.station_id
            and alert.details.get("use") == event.use
            and alert.details.get("serial") != event.serial
        ]

    async def apply(self, rule: Rule) -> Alert | None:
        """Raise or clear as ``rule`` says; the stored alert, or None when nothing changed."""
        if isinstance(rule, Raise):
            return await self.raise_alert(rule.occurrence)
        return await self.clear(rule.type, rule.station_id, rule.key, rule.resolution)

    async def raise_alert(self, occurrence: Occurrence) -> Alert:
        """Open an alert for ``occurrence``, or count it on the one already open."""
        now = self._clock.now()
        key = dedup_key(occurrence.type, occurrence.station_id, occurrence.key)
        async with self._lock:
            current = self._open.get(key)
            if current is not None:
                alert = repeated(current, occurrence, now)
                await self._storage.alerts.save(alert)
                change = AlertChange.REPEATED
            else:
                draft = Alert.raised(await self._storage.alerts.allocate(), occurrence, now)
                alert = await self._storage.alerts.create(draft)
                change = AlertChange.RAISED if alert is draft else AlertChange.REPEATED
            self._open[key] = alert
        log.info("alert %s %s: %s", alert.id, change.value, alert.summary)
        self._events.publish(AlertChanged(alert, change))
        return alert

    async def clear(
        self, alert_type: AlertType, station_id: str, key: str, resolution: str
    ) -> Alert | None:
        """Resolve the open alert of this key, if there is one."""
        dkey = dedup_key(alert_type, station_id, key)
        if dkey not in self._open:  # the common case (every status report): no await at all
            return None
        async with self._lock:
            current = self._open.get(dkey)
            if current is None:
                return None
            alert = resolved(current, self._clock.now(), resolution)
            await self._storage.alerts.save(alert)
            del self._open[dkey]
        log.info("alert %s resolved: %s", alert.id, resolution)
        self._events.publish(AlertChanged(alert, AlertChange.RESOLVED))
        return alert

    # ------------------------------------------------------------------ operators

    async def get(self, alert_id: int) -> Alert:
        alert = await self._storage.alerts.get(alert_id)
        if alert is None:
            raise NotFoundError(f"alert {alert_id} not found")
        return alert

    async def acknowledge(self, alert_id: int, by: str) -> Alert:
        """Note that an operator has seen the alert; it stays open (NotFoundError if unknown,
        a resolved alert is returned unchanged)."""
        async with self._lock:
            alert = await self.get(alert_id)
            if not alert.open:
                return alert
            alert = replace(alert, acknowledged_at=self._clock.now(), acknowledged_by=by)
            await self._storage.alerts.save(alert)
            self._open[alert.dedup_key] = alert
        self._events.publish(AlertChanged(alert, AlertChange.ACKNOWLEDGED))
        return alert

    async def resolve(self, alert_id: int, by: str, note: str | None = None) -> Alert:
        """Close the alert by hand (security events and failed jobs are closed this way)."""
        async with self._lock:
            alert = await self.get(alert_id)
            if not alert.open:
                return alert
            text = f"manual: {by}" + (f": {note}" if note else "")
            alert = resolved(alert, self._clock.now(), text)
            await self._storage.alerts.save(alert)
            self._open.pop(alert.dedup_key, None)
        self._events.publish(AlertChanged(alert, AlertChange.RESOLVED))
        return alert

    def open_alerts(self) -> list[Alert]:
        """The open alerts, from memory (metrics, dashboards)."""
        return list(self._open.values())

    async def list(
        self,
        *,
        status: str | None = None,
        type: str | None = None,
        station_id: str | None = None,
        severity: str | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> list[Alert]:
        return await self._storage.alerts.list(
            status=status,
            type=type,
            station_id=station_id,
            severity=severity,
            before=before,
            limit=limit,
        )

    # ------------------------------------------------------------------ watchdog

    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(self.settings.check_interval)
            try:
                await self.check()
            except Exception:  # as above: the next round tries again
                log.exception("alerts: watchdog check failed")

    async def check(self) -> None:
        """One round of the time-based rules (the watchdog runs it periodically)."""
        now = self._clock.now()
        await self._check_liveness(now)
        for rule in self._reconnects.quiet(now):
            await self.apply(rule)
        if self.is_leader():  # once in a cluster
            await self._check_sessions(now)
        await self._check_certificates(now)
        if not self._startup_checked and now - self._started_at >= timedelta(
            seconds=self.settings.offline_after
        ):
            self._startup_checked = True
            if self.is_leader():
                await self._check_absent(now)

    async def _check_certificates(self, now: datetime) -> None:
        """Raise the severity of open ``certificate_expiring`` alerts as their end comes closer
        (the expiry check announces each certificate once)."""
        for alert in list(self._open.values()):
            if alert.type is not AlertType.CERTIFICATE_EXPIRING:
                continue
            try:
                not_after = datetime.fromisoformat(str(alert.details["not_after"]))
            except (KeyError, ValueError):
                continue
            details = alert.details
            occurrence = certificate_occurrence(
                alert.station_id,
                str(details.get("use")),
                str(details.get("serial")),
                not_after,
                now,
            )
            if _more_severe(occurrence.severity, alert.severity):
                await self.raise_alert(occurrence)

    async def _check_liveness(self, now: datetime) -> None:
        window = timedelta(seconds=self.settings.offline_after)
        if window <= timedelta(0):
            return
        silent: list[LiveLink] = []
        quiet: list[LiveLink] = []
        for link in self._links():
            gap = now - link.last_heard()
            if gap > window:
                silent.append(link)
            elif gap > window / 2:
                quiet.append(link)
            elif dedup_key(AlertType.STATION_OFFLINE, link.station_id, "") in self._open:
                await self.clear(
                    AlertType.STATION_OFFLINE, link.station_id, "", "station heard from again"
                )
        if quiet:
            # Ask before judging: a station may send nothing for minutes yet answer pings.
            timeout = max(0.1, min(self.settings.check_interval, window.total_seconds() / 2))
            async with asyncio.TaskGroup() as probes:
                for link in quiet:
                    probes.create_task(link.probe(timeout))
        for link in silent:
            occurrence = Occurrence(
                AlertType.STATION_OFFLINE,
                link.station_id,
                "",
                AlertSeverity.MAJOR,
                f"station {link.station_id} connected but silent",
                {"reason": "unresponsive", "last_heard": link.last_heard().isoformat()},
            )
            if occurrence_key(occurrence) not in self._open:
                await self.raise_alert(occurrence)

    async def _check_sessions(self, now: datetime) -> None:
        limit = timedelta(seconds=self.settings.stuck_after)
        for (station_id, transaction_id), last in list(self._activity.items()):
            if now - last <= limit:
                continue
            occurrence = Occurrence(
                AlertType.TRANSACTION_STUCK,
                station_id,
                _tx_key(transaction_id),
                AlertSeverity.WARNING,
                f"station {station_id}: session {transaction_id} silent since {last:%H:%M} UTC",
                {"transaction_id": transaction_id, "last_message_at": last.isoformat()},
            )
            if occurrence_key(occurrence) not in self._open:
                await self.raise_alert(occurrence)

    async def _check_absent(self, now: datetime) -> None:
        """Once after start: accepted stations that were connected before but have not come back
        (a CSMS restart publishes no disconnect for them)."""
        connected = {link.station_id for link in self._links()} | self.elsewhere()
        offset = 0
        while True:
            page = await self._storage.stations.list(offset=offset, limit=1000)
            for station in page:
                if (
                    station.id in connected
                    or station.last_connected_at is None
                    or station.registration is not RegistrationStatus.ACCEPTED
                ):
                    continue
                occurrence = Occurrence(
                    AlertType.STATION_OFFLINE,
                    station.id,
                    "",
                    AlertSeverity.MAJOR,
                    f"station {station.id} has not reconnected",
                    {
                        "reason": "not reconnected",
                        "since": (station.last_seen_at or station.last_connected_at).isoformat(),
                    },
                )
                if occurrence_key(occurrence) not in self._open:
                    await self.raise_alert(occurrence)
            if len(page) < 1000:
                return
            offset += 1000


def occurrence_key(occurrence: Occurrence) -> str:
    return dedup_key(occurrence.type, occurrence.station_id, occurrence.key)


def _more_severe(a: AlertSeverity, b: AlertSeverity) -> bool:
    order = list(AlertSeverity)  # declared from critical down to info
    return order.index(a) < order.index(b)


def _remote_interest(event: FleetEvent) -> bool:
    return isinstance(event, AlertChanged | TransactionChanged | MeterValuesStored)
