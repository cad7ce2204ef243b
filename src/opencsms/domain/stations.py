"""Operator-side management of stations: create, change, delete, seed from the provisioning file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opencsms.clock import Clock
from opencsms.domain.model import RegistrationStatus, Station, Strictness
from opencsms.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, hash_password
from opencsms.storage.store import Storage

MAX_STATION_ID_LENGTH = 48


class InvalidStationError(ValueError):
    """A station definition breaks a rule; the message says which (the API answers 422)."""


@dataclass(frozen=True, slots=True)
class StationSpec:
    """What an operator says about a station."""

    id: str
    password: str | None = None
    registration: RegistrationStatus = RegistrationStatus.ACCEPTED
    strictness: Strictness = Strictness.STRICT
    heartbeat_interval: int | None = None


def validate_station_id(station_id: str) -> None:
    """OCPP-J: identity ≤ 48 characters, no ':' (it is the Basic-auth user name), printable."""
    if not station_id or len(station_id) > MAX_STATION_ID_LENGTH:
        raise InvalidStationError(f"station id must be 1-{MAX_STATION_ID_LENGTH} characters")
    if ":" in station_id or "/" in station_id or any(ord(c) < 0x20 for c in station_id):
        raise InvalidStationError("station id must not contain ':', '/' or control characters")


def validate_password(password: str) -> None:
    """Security profile 1 passwords: 16-40 characters (1.6 security whitepaper §3.1, A00.FR.204)."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidStationError(
            f"password must be {MIN_PASSWORD_LENGTH}-{MAX_PASSWORD_LENGTH} characters"
        )


def validate_interval(interval: int) -> None:
    if not 1 <= interval <= 86_400:
        raise InvalidStationError("heartbeat_interval must be 1-86400 seconds")


@dataclass(frozen=True, slots=True)
class StationAccess:
    """What admission and boot need: who may connect, how, with what policy and interval."""

    id: str
    password_hash: str | None
    registration: RegistrationStatus
    strictness: Strictness
    heartbeat_interval: int

    @classmethod
    def of(cls, station: Station) -> StationAccess:
        return cls(
            station.id,
            station.password_hash,
            station.registration,
            station.strictness,
            station.heartbeat_interval,
        )


class StationAdmin:
    """Creates and changes stations on the operator's behalf.

    It also keeps the access data of every station in memory (:meth:`access`), loaded at start
    and changed with every create/update/delete here: a reconnect storm of 10,000 stations then
    admits each one without a database read. A database read per handshake serialised the storm
    behind the single SQLite reader (about 500 admissions/s). Station changes made by another
    node are not seen until this one restarts or the cluster layer invalidates the entry.
    """

    def __init__(self, storage: Storage, clock: Clock, *, default_heartbeat_interval: int) -> None:
        self._storage = storage
        self._clock = clock
        self._default_interval = default_heartbeat_interval
        self._access: dict[str, StationAccess] = {}
        self.on_change: Callable[[str], None] = lambda _station_id: None
        """Called with the station's id after each change (a cluster tells the other nodes)."""

    async def load_access(self, page: int = 1000) -> int:
        """Read every station's access data into memory; returns how many."""
        offset = 0
        while True:
            stations = await self._storage.stations.list(offset, page)
            for station in stations:
                self._access[station.id] = StationAccess.of(station)
            if len(stations) < page:
                return len(self._access)
            offset += page

    async def access(self, station_id: str) -> StationAccess | None:
        """The station's access data (memory first, then the database), or None if unknown."""
        known = self._access.get(station_id)
        if known is not None:
            return known
        station = await self._storage.stations.get(station_id)
        if station is None:
            return None
        entry = self._access[station_id] = StationAccess.of(station)
        return entry

    def _remember(self, station: Station) -> Station:
        self._access[station.id] = StationAccess.of(station)
        self.on_change(station.id)
        return station

    def forget(self, station_id: str) -> None:
        """Drop the cached access data (another node changed the station): the next
        admission reads it from the database."""
        self._access.pop(station_id, None)

    async def create(self, spec: StationSpec) -> Station:
        """Create a station (raises ``AlreadyExistsError`` or :class:`InvalidStationError`)."""
        validate_station_id(spec.id)
        if spec.password is not None:
            validate_password(spec.password)
        interval = spec.heartbeat_interval or self._default_interval
        validate_interval(interval)
        now = self._clock.now()
        station = Station(
            id=spec.id,
            password_hash=hash_password(spec.password) if spec.password is not None else None,
            registration=spec.registration,
            strictness=spec.strictness,
            heartbeat_interval=interval,
            created_at=now,
            updated_at=now,
        )
        await self._storage.stations.create(station)
        return self._remember(station)

    async def update(self, station_id: str, changes: dict[str, Any]) -> Station:
        """Apply operator changes; ``password`` is hashed, ``None`` removes it (NotFoundError)."""
        fields: dict[str, Any] = {}
        for key, value in changes.items():
            if key == "password":
                if value is not None:
                    validate_password(value)
                fields["password_hash"] = hash_password(value) if value is not None else None
            elif key == "heartbeat_interval":
                validate_interval(value)
                fields[key] = value
            elif key in ("registration", "strictness"):
                fields[key] = value
            else:
                raise InvalidStationError(f"{key} cannot be changed")
        fields["updated_at"] = self._clock.now()
        return self._remember(await self._storage.stations.update(station_id, **fields))

    async def replace_password_hash(self, station_id: str, password_hash: str) -> Station:
        """Make an already hashed password current (a settled rotation, domain/basic_auth.py)."""
        return self._remember(
            await self._storage.stations.update(
                station_id, password_hash=password_hash, updated_at=self._clock.now()
            )
        )

    async def delete(self, station_id: str) -> bool:
        self._access.pop(station_id, None)
        deleted = await self._storage.stations.delete(station_id)
        self.on_change(station_id)
        return deleted

    async def seed(self, spec: StationSpec) -> Station:
        """Make the provisioning file true: create the station or update what the file names."""
        existing = await self._storage.stations.get(spec.id)
        if existing is None:
            return await self.create(spec)
        changes: dict[str, Any] = {
            "registration": spec.registration,
            "strictness": spec.strictness,
        }
        if spec.heartbeat_interval is not None:
            changes["heartbeat_interval"] = spec.heartbeat_interval
        if spec.password is not None:
            changes["password"] = spec.password
        return await self.update(spec.id, changes)

    async def auto_register(self, station_id: str, registration: RegistrationStatus) -> Station:
        """Register an unknown station that connected, per the unknown-station policy."""
        return await self.create(StationSpec(id=station_id, registration=registration))
