"""Reservations (table ``reservations``).

Reservation ids are allocated by the CSMS like transaction numbers: an in-memory counter seeded
with ``max(id)`` on first use; a row is inserted with ``ON CONFLICT DO NOTHING`` and, if another
node took the number, the counter is re-seeded and the insert retried.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from opencsms.domain.reservation_model import Reservation, ReservationStatus
from opencsms.errors import StorageError

from ..statements import Statement, WriteOp
from ..tables import reservations
from ..writer import GroupCommitWriter
from .base import IdAllocator, Repository, dialect_insert, storage_errors

__all__ = ["ReservationRepository"]

_COLUMNS = tuple(c.name for c in reservations.columns)
_DATETIMES = frozenset(("expires_at", "created_at", "updated_at"))
_MAX_ID_ATTEMPTS = 5
_OPEN = (ReservationStatus.REQUESTED.value, ReservationStatus.ACTIVE.value)

_INSERT = Statement(
    "reservations.insert",
    _COLUMNS,
    lambda d: (
        dialect_insert(d, reservations)
        .values({name: bindparam(name) for name in _COLUMNS})
        .on_conflict_do_nothing(index_elements=["id"])
    ),
    counted=True,
)


def _build_upsert(dialect: str) -> Any:
    insert = dialect_insert(dialect, reservations).values(
        {name: bindparam(name) for name in _COLUMNS}
    )
    return insert.on_conflict_do_update(
        index_elements=["id"],
        set_={name: insert.excluded[name] for name in _COLUMNS if name not in ("id", "created_at")},
    )


_UPSERT = Statement("reservations.upsert", _COLUMNS, _build_upsert)


def _from_row(row: Row[Any]) -> Reservation:
    m = row._mapping
    values = {name: m[name] for name in _COLUMNS if name != "token_key"}  # derived from id_token
    values["status"] = ReservationStatus(values["status"])
    return Reservation(**values)


class ReservationRepository(Repository):
    """Table ``reservations``."""

    def __init__(self, engine: AsyncEngine, writer: GroupCommitWriter) -> None:
        super().__init__(engine, writer)
        self._ids = IdAllocator(engine, reservations.c.id)

    def _params(self, reservation: Reservation) -> tuple[Any, ...]:
        out = []
        for name in _COLUMNS:
            value = getattr(reservation, name)
            if name in _DATETIMES:
                value = self._ts(value)
            elif name == "status":
                value = str(value)
            out.append(value)
        return tuple(out)

    async def create(self, build: Callable[[int], Reservation]) -> Reservation:
        """Insert the reservation ``build(new_id)`` makes, with a fresh id."""
        for _ in range(_MAX_ID_ATTEMPTS):
            reservation = build(await self._ids.next())
            (inserted,) = await self._writer.execute_counted(
                WriteOp(_INSERT, self._params(reservation))
            )
            if inserted > 0:
                return reservation
            self._ids.reseed()  # another node used the number: re-seed from the table
        raise StorageError("could not allocate a reservation id")

    async def save(self, *items: Reservation) -> None:
        """Create or replace ``items`` (by id), in one commit."""
        if items:
            await self._writer.execute(*(WriteOp(_UPSERT, self._params(r)) for r in items))

    async def get(self, reservation_id: int) -> Reservation | None:
        query = select(reservations).where(reservations.c.id == reservation_id)
        with storage_errors():
            async with self._engine.connect() as conn:
                row = (await conn.execute(query)).first()
        return None if row is None else _from_row(row)

    def _filtered(self, query: Any, station_id: str | None, status: str | None) -> Any:
        if station_id is not None:
            query = query.where(reservations.c.station_id == station_id)
        if status is not None:
            query = query.where(reservations.c.status == status)
        return query

    async def list(
        self,
        *,
        station_id: str | None = None,
        status: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> builtins.list[Reservation]:
        """Reservations, newest first, optionally of one station and status."""
        query = self._filtered(select(reservations), station_id, status)
        query = query.order_by(reservations.c.id.desc()).offset(offset).limit(limit)
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_from_row(row) for row in rows]

    async def count(self, *, station_id: str | None = None, status: str | None = None) -> int:
        query = self._filtered(select(func.count()).select_from(reservations), station_id, status)
        with storage_errors():
            async with self._engine.connect() as conn:
                value = await conn.scalar(query)
        return int(value or 0)

    async def open(self) -> builtins.list[Reservation]:
        """Every Requested or Active reservation (expired ones included), oldest first."""
        query = (
            select(reservations).where(reservations.c.status.in_(_OPEN)).order_by(reservations.c.id)
        )
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_from_row(row) for row in rows]

    async def due(self, now: datetime) -> builtins.list[Reservation]:
        """Requested or Active reservations whose ``expires_at`` is not after ``now``."""
        c = reservations.c
        query = select(reservations).where(c.status.in_(_OPEN), c.expires_at <= now).order_by(c.id)
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_from_row(row) for row in rows]
