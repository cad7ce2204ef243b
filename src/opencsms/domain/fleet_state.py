"""The live state of the fleet, in memory: which stations are connected, every connector's
status, the active sessions with their current power and energy, and the energy of today.

Seeded from the store when the node starts and then kept up to date by the fleet events
(domain/fleet_events.py) in its own task, so the dashboard's reads (``/api/v1/fleet/*``) cost no
database query. Being fed by events published after storage, it never shows something the store
could still lose; it may lag the store by the events still queued.

"Today" is the UTC day. Energy today is the energy of the sessions that ended today plus the
energy so far of the active sessions (a session that began yesterday counts whole).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

from opencsms.clock import Clock
from opencsms.domain.fleet_events import (
    BootReported,
    FleetEvent,
    FleetEvents,
    MeterValuesStored,
    StationConnected,
    StationDisconnected,
    StatusChanged,
    TransactionChanged,
)
from opencsms.domain.metering import record_power_energy
from opencsms.domain.model import ConnectorStatus, MeterValueRecord
from opencsms.domain.transaction_model import Transaction, TransactionStatus

if TYPE_CHECKING:
    from opencsms.storage.store import Storage

__all__ = [
    "ConnectorLive",
    "FleetState",
    "Readings",
    "SessionLive",
    "StationLive",
    "latest_readings",
]

_SEED_PAGE = 1000


@dataclass(frozen=True, slots=True)
class Readings:
    """The latest total active power (W) and import register (Wh) of some meter values."""

    power_w: float | None
    energy_wh: float | None


def latest_readings(records: Sequence[MeterValueRecord]) -> Readings:
    """Power and energy register of the latest sample that has them (outlet side, not the EV's;
    per-phase values summed when no total is sent)."""
    power: float | None = None
    energy: float | None = None
    ordered = records if len(records) == 1 else sorted(records, key=lambda r: r.timestamp)
    for record in ordered:
        record_power, record_energy = record_power_energy(record)
        if record_power is not None:
            power = record_power
        if record_energy is not None:
            energy = record_energy
    return Readings(power, energy)


@dataclass(slots=True)
class ConnectorLive:
    evse_id: int
    connector_id: int
    status: str
    error_code: str | None
    since: datetime


@dataclass(slots=True)
class SessionLive:
    id: int
    transaction_id: str
    evse_id: int | None
    connector_id: int | None
    id_token: str | None
    started_at: datetime | None
    meter_start_wh: float | None
    energy_wh: float
    power_w: float | None = None
    updated_at: datetime | None = None


@dataclass(slots=True)
class StationLive:
    id: str
    connected: bool = False
    ocpp_version: str | None = None
    boot_status: str | None = None
    last_connected_at: datetime | None = None
    last_disconnected_at: datetime | None = None
    last_seen: datetime | None = None
    connectors: dict[tuple[int, int], ConnectorLive] = field(default_factory=dict)
    sessions: dict[int, SessionLive] = field(default_factory=dict)

    @property
    def power_w(self) -> float:
        return sum(s.power_w or 0.0 for s in self.sessions.values())


class FleetState:
    """The node's in-memory view of the fleet (one instance per node)."""

    def __init__(
        self,
        events: FleetEvents,
        clock: Clock,
        *,
        live_seen: Callable[[str], datetime | None] = lambda _id: None,
    ) -> None:
        self._events = events
        self._clock = clock
        self._live_seen = live_seen
        self.stations: dict[str, StationLive] = {}
        self._day: date = clock.now().date()
        self._ended_today_wh = 0.0
        self.energy_total_wh = 0.0
        """Energy of the sessions that ended since this node started (a Prometheus counter)."""

    async def seed(self, storage: Storage) -> None:
        """Load stations, connector status, active sessions and today's energy from the store."""
        offset = 0
        while True:
            page = await storage.stations.list(offset=offset, limit=_SEED_PAGE)
            for station in page:
                live = self._station(station.id)
                live.ocpp_version = station.ocpp_version
                live.last_connected_at = station.last_connected_at
                live.last_disconnected_at = station.last_disconnected_at
                live.last_seen = station.last_seen_at
            if len(page) < _SEED_PAGE:
                break
            offset += _SEED_PAGE
        for status in await storage.status.all_current():
            self._status(status)
        active = await storage.transactions.list(
            status=TransactionStatus.ACTIVE.value, limit=1_000_000
        )
        for tx in active:
            self._transaction(tx)
        midnight = datetime.combine(self._clock.now().date(), time(), tzinfo=UTC)
        self._ended_today_wh = await storage.transactions.energy_ended_since(midnight)

    async def run(self) -> None:
        """Apply the fleet events until cancelled (owned by the node's task group)."""
        subscription = self._events.subscribe(scope="all")  # the whole cluster's fleet
        try:
            while True:
                for event in await subscription.batch():
                    self.apply(event)
        finally:
            subscription.close()

    def _station(self, station_id: str) -> StationLive:
        live = self.stations.get(station_id)
        if live is None:
            live = self.stations[station_id] = StationLive(station_id)
        return live

    def apply(self, event: FleetEvent) -> None:
        if type(event) is MeterValuesStored:  # most events of a busy node: asked first
            self._meter(event)
        elif isinstance(event, StationConnected):
            live = self._station(event.station_id)
            live.connected = True
            live.ocpp_version = event.ocpp_version
            live.last_connected_at = event.at
            live.last_seen = event.at
        elif isinstance(event, StationDisconnected):
            live = self._station(event.station_id)
            live.connected = False
            live.last_disconnected_at = event.at
            live.last_seen = max(live.last_seen or event.at, event.at)
        elif isinstance(event, BootReported):
            self._station(event.station_id).boot_status = event.status
        elif isinstance(event, StatusChanged):
            self._status(event.status)
        elif isinstance(event, TransactionChanged):
            self._transaction(event.transaction)

    def _status(self, status: ConnectorStatus) -> None:
        live = self._station(status.station_id)
        key = (status.evse_id, status.connector_id)
        current = live.connectors.get(key)
        if current is not None and current.status == status.status:
            current.error_code = status.error_code
            return
        live.connectors[key] = ConnectorLive(
            status.evse_id,
            status.connector_id,
            status.status,
            status.error_code,
            status.received_at,
        )

    def _transaction(self, tx: Transaction) -> None:
        live = self._station(tx.station_id)
        if not tx.open:
            gone = live.sessions.pop(tx.id, None)
            if gone is None and not tx.energy_wh:
                return
            energy = tx.energy_wh if tx.energy_wh is not None else (gone.energy_wh if gone else 0)
            self.energy_total_wh += energy
            self._roll_day()
            # by the session's stop time, like the seed query (a station's offline queue may
            # deliver yesterday's sessions today)
            if tx.stopped_at is None or tx.stopped_at.date() == self._day:
                self._ended_today_wh += energy
            return
        session = live.sessions.get(tx.id)
        if session is None:
            live.sessions[tx.id] = SessionLive(
                id=tx.id,
                transaction_id=tx.transaction_id,
                evse_id=tx.evse_id,
                connector_id=tx.connector_id,
                id_token=tx.id_token,
                started_at=tx.started_at,
                meter_start_wh=tx.meter_start_wh,
                energy_wh=tx.energy_wh or 0.0,
                updated_at=tx.updated_at,
            )
            return
        session.evse_id = tx.evse_id if tx.evse_id is not None else session.evse_id
        session.connector_id = tx.connector_id or session.connector_id
        session.id_token = tx.id_token or session.id_token
        if tx.meter_start_wh is not None:
            session.meter_start_wh = tx.meter_start_wh
        if tx.energy_wh is not None:
            session.energy_wh = tx.energy_wh
        session.updated_at = tx.updated_at

    def _meter(self, event: MeterValuesStored) -> None:
        live = self._station(event.station_id)
        records = event.records
        if len(records) == 1:  # one meterValue element per message, nearly always
            record = records[0]
            transaction_id = record.transaction_id
            if transaction_id is None:
                return
            for session in live.sessions.values():
                if session.transaction_id == transaction_id:
                    power_w, energy_wh = record_power_energy(record)
                    self._apply(session, power_w, energy_wh, record.received_at)
            return
        by_tx: dict[str, list[MeterValueRecord]] = {}
        for record in records:
            if record.transaction_id is not None:
                by_tx.setdefault(record.transaction_id, []).append(record)
        if not by_tx:
            return
        for session in live.sessions.values():
            own = by_tx.get(session.transaction_id)
            if not own:
                continue
            readings = latest_readings(own)
            self._apply(session, readings.power_w, readings.energy_wh, own[-1].received_at)

    @staticmethod
    def _apply(
        session: SessionLive, power_w: float | None, energy_wh: float | None, at: datetime
    ) -> None:
        """Apply the latest power (W) and register (Wh) at the outlet to a session."""
        if power_w is not None:
            session.power_w = power_w
        if energy_wh is not None:
            if session.meter_start_wh is None:
                session.meter_start_wh = energy_wh
            session.energy_wh = max(0.0, energy_wh - session.meter_start_wh)
        session.updated_at = at

    def _roll_day(self) -> None:
        today = self._clock.now().date()
        if today != self._day:
            self._day = today
            self._ended_today_wh = 0.0

    # ------------------------------------------------------------------ reads

    def last_seen(self, station: StationLive) -> datetime | None:
        """The live connection's last frame when connected, else the stored last-seen time."""
        if station.connected:
            return self._live_seen(station.id) or station.last_seen
        return station.last_seen

    @property
    def active_sessions(self) -> int:
        return sum(len(s.sessions) for s in self.stations.values())

    @property
    def power_w(self) -> float:
        return sum(s.power_w for s in self.stations.values())

    @property
    def energy_today_wh(self) -> float:
        self._roll_day()
        active = sum(x.energy_wh for s in self.stations.values() for x in s.sessions.values())
        return self._ended_today_wh + active
