"""Stations: provisioning records plus what the CSMS last learned about each station."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from opencsms.clock import Clock
from opencsms.domain.model import BootInfo, RegistrationStatus, Station, Strictness
from opencsms.errors import AlreadyExistsError, NotFoundError

from ..statements import Statement, WriteOp
from ..tables import connector_status, stations
from ..writer import GroupCommitWriter
from .base import Repository, dialect_insert, storage_errors

__all__ = ["StationRepository"]

_BOOT_COLUMNS: dict[str, str] = {
    "vendor": "vendor",
    "model": "model",
    "serial_number": "serial_number",
    "charge_box_serial_number": "charge_box_serial_number",
    "firmware_version": "firmware_version",
    "iccid": "iccid",
    "imsi": "imsi",
    "meter_type": "meter_type",
    "meter_serial_number": "meter_serial_number",
    "reason": "boot_reason",
}
"""BootInfo field → stations column."""

_ALL_COLUMNS = tuple(c.name for c in stations.columns)
_DATETIME_COLUMNS = frozenset(
    (
        "booted_at",
        "last_connected_at",
        "last_disconnected_at",
        "last_seen_at",
        "created_at",
        "updated_at",
    )
)
_UPDATABLE = frozenset(
    (
        "password_hash",
        "registration",
        "strictness",
        "heartbeat_interval",
        "ocpp_version",
        "boot",
        "booted_at",
        "last_connected_at",
        "last_disconnected_at",
        "last_seen_at",
        "updated_at",
    )
)
"""Fields of :class:`Station` that :meth:`StationRepository.update` accepts."""

_INSERT = Statement(
    "stations.insert",
    _ALL_COLUMNS,
    lambda d: (
        dialect_insert(d, stations)
        .values({name: bindparam(name) for name in _ALL_COLUMNS})
        .on_conflict_do_nothing(index_elements=["id"])
    ),
    counted=True,
)

_BOOT_PARAMS = (*_BOOT_COLUMNS.values(), "booted_at", "ocpp_version", "updated_at")
_RECORD_BOOT = Statement(
    "stations.record_boot",
    (*_BOOT_PARAMS, "b_id"),
    lambda _d: (
        update(stations)
        .where(stations.c.id == bindparam("b_id"))
        .values({name: bindparam(name) for name in _BOOT_PARAMS})
    ),
    counted=True,
)

_RECORD_CONNECTED = Statement(
    "stations.record_connected",
    ("ocpp_version", "at", "b_id"),
    lambda _d: (
        update(stations)
        .where(stations.c.id == bindparam("b_id"))
        .values(
            ocpp_version=bindparam("ocpp_version"),
            last_connected_at=bindparam("at"),
            last_seen_at=bindparam("at"),
        )
    ),
)

_RECORD_DISCONNECTED = Statement(
    "stations.record_disconnected",
    ("at", "b_id"),
    lambda _d: (
        update(stations)
        .where(stations.c.id == bindparam("b_id"))
        .values(last_disconnected_at=bindparam("at"))
    ),
)

_TOUCH = Statement(
    "stations.touch_last_seen",
    ("at", "b_id"),
    # Never move last_seen_at backwards: a flush may race a connect that recorded a later time.
    lambda _d: (
        update(stations)
        .where(
            stations.c.id == bindparam("b_id"),
            or_(stations.c.last_seen_at.is_(None), stations.c.last_seen_at < bindparam("at")),
        )
        .values(last_seen_at=bindparam("at"))
    ),
)

_DELETE_STATUS = Statement(
    "stations.delete_status",
    ("b_id",),
    lambda _d: delete(connector_status).where(connector_status.c.station_id == bindparam("b_id")),
)
_DELETE = Statement(
    "stations.delete",
    ("b_id",),
    lambda _d: delete(stations).where(stations.c.id == bindparam("b_id")),
    counted=True,
)


def _update_statement(columns: tuple[str, ...]) -> Statement:
    return Statement(
        f"stations.update({','.join(columns)})",
        (*columns, "b_id"),
        lambda _d: (
            update(stations)
            .where(stations.c.id == bindparam("b_id"))
            .values({name: bindparam(name) for name in columns})
        ),
        counted=True,
    )


def _station_from_row(row: Row[Any]) -> Station:
    m = row._mapping
    boot = None
    if m["vendor"] is not None or m["model"] is not None:
        boot = BootInfo(**{field: m[column] for field, column in _BOOT_COLUMNS.items()})
    return Station(
        id=m["id"],
        password_hash=m["password_hash"],
        registration=RegistrationStatus(m["registration"]),
        strictness=Strictness(m["strictness"]),
        heartbeat_interval=m["heartbeat_interval"],
        ocpp_version=m["ocpp_version"],
        boot=boot,
        booted_at=m["booted_at"],
        last_connected_at=m["last_connected_at"],
        last_disconnected_at=m["last_disconnected_at"],
        last_seen_at=m["last_seen_at"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


class StationRepository(Repository):
    """Stations (table ``stations``).

    Every write goes through the group-commit writer, so on SQLite there is one writer connection
    and no ``database is locked`` contention between API edits and station traffic.
    ``updated_at`` tracks changes to the station's record (operator edits, boots); connection
    bookkeeping (``last_*``) does not bump it.
    """

    def __init__(self, engine: AsyncEngine, writer: GroupCommitWriter, clock: Clock) -> None:
        super().__init__(engine, writer)
        self._clock = clock
        self._update_statements: dict[tuple[str, ...], Statement] = {}

    async def get(self, station_id: str) -> Station | None:
        """The station, or ``None``."""
        with storage_errors():
            async with self._engine.connect() as conn:
                result = await conn.execute(select(stations).where(stations.c.id == station_id))
                row = result.first()
        return None if row is None else _station_from_row(row)

    async def list(self, offset: int = 0, limit: int = 100) -> builtins.list[Station]:
        """Stations ordered by id."""
        query = select(stations).order_by(stations.c.id).offset(offset).limit(limit)
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_station_from_row(row) for row in rows]

    async def count(self) -> int:
        """How many stations are provisioned."""
        with storage_errors():
            async with self._engine.connect() as conn:
                value = await conn.scalar(select(func.count()).select_from(stations))
        return int(value or 0)

    async def create(self, station: Station) -> None:
        """Insert ``station``; raise :class:`~opencsms.errors.AlreadyExistsError` if taken."""
        values = self._row_values(station)
        (inserted,) = await self._writer.execute_counted(
            WriteOp(_INSERT, tuple(values[name] for name in _ALL_COLUMNS))
        )
        if inserted == 0:
            raise AlreadyExistsError(f"station {station.id!r} already exists")

    async def update(self, station_id: str, **fields: Any) -> Station:
        """Change the given :class:`Station` fields and return the result.

        ``boot`` takes a :class:`BootInfo` or ``None``. ``updated_at`` defaults to the clock's now.
        Raises :class:`~opencsms.errors.NotFoundError` if there is no such station.
        """
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise TypeError(f"cannot update station fields {sorted(unknown)}")
        fields.setdefault("updated_at", self._clock.now())
        values: dict[str, Any] = {}
        for name, value in fields.items():
            if name == "boot":
                values.update(self._boot_values(value))
            elif name in _DATETIME_COLUMNS:
                values[name] = self._ts_or_none(value)
            elif isinstance(value, StrEnum):  # asyncpg wants plain str for text parameters
                values[name] = str(value)
            else:
                values[name] = value
        columns = tuple(sorted(values))
        statement = self._update_statements.get(columns)
        if statement is None:
            statement = self._update_statements[columns] = _update_statement(columns)
        params = (*(values[name] for name in columns), station_id)
        (changed,) = await self._writer.execute_counted(WriteOp(statement, params))
        if changed == 0:
            raise NotFoundError(f"station {station_id!r} not found")
        station = await self.get(station_id)
        if station is None:  # deleted between the update and the read
            raise NotFoundError(f"station {station_id!r} not found")
        return station

    async def delete(self, station_id: str) -> bool:
        """Delete the station and its current connector status; ``False`` if it did not exist.

        History, meter values, events and the audit log stay: they are records of what happened.
        """
        _, deleted = await self._writer.execute_counted(
            WriteOp(_DELETE_STATUS, (station_id,)), WriteOp(_DELETE, (station_id,))
        )
        return deleted > 0

    async def record_boot(
        self, station_id: str, boot: BootInfo, at: datetime, ocpp_version: str
    ) -> None:
        """Store what a BootNotification reported (1.6 §4.2, 2.0.1 B01.FR.01), durably.

        Raises :class:`~opencsms.errors.NotFoundError` if there is no such station.
        """
        ts = self._ts(at)
        values = self._boot_values(boot)
        params = (*(values[c] for c in _BOOT_COLUMNS.values()), ts, ocpp_version, ts, station_id)
        (changed,) = await self._writer.execute_counted(WriteOp(_RECORD_BOOT, params))
        if changed == 0:
            raise NotFoundError(f"station {station_id!r} not found")

    async def record_connected(self, station_id: str, version: str, at: datetime) -> None:
        """Note a new connection and its negotiated OCPP version (no-op for an unknown id)."""
        await self._writer.execute(WriteOp(_RECORD_CONNECTED, (version, self._ts(at), station_id)))

    async def record_disconnected(self, station_id: str, at: datetime) -> None:
        """Note the end of a connection (no-op for an unknown id)."""
        await self._writer.execute(WriteOp(_RECORD_DISCONNECTED, (self._ts(at), station_id)))

    async def touch_last_seen(self, seen: Mapping[str, datetime]) -> None:
        """Advance ``last_seen_at`` of many stations in one batched write (never backwards)."""
        if seen:
            ts = self._ts
            await self._writer.execute(
                *(WriteOp(_TOUCH, (ts(at), station_id)) for station_id, at in seen.items())
            )

    def _boot_values(self, boot: BootInfo | None) -> dict[str, Any]:
        return {
            column: None if boot is None else getattr(boot, field)
            for field, column in _BOOT_COLUMNS.items()
        }

    def _row_values(self, station: Station) -> dict[str, Any]:
        values: dict[str, Any] = {
            "id": station.id,
            "password_hash": station.password_hash,
            "registration": str(station.registration),
            "strictness": str(station.strictness),
            "heartbeat_interval": station.heartbeat_interval,
            "ocpp_version": station.ocpp_version,
        }
        values.update(self._boot_values(station.boot))
        for name in _DATETIME_COLUMNS:
            values[name] = self._ts_or_none(getattr(station, name))
        return values
