"""Security profiles and password rotation state per station (table ``station_security``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.engine import Row

from opencsms.domain.security_profiles import RotationStatus, StationSecurity

from ..statements import Statement, WriteOp
from ..tables import station_security
from .base import Repository, dialect_insert, storage_errors

__all__ = ["StationSecurityRepository"]

_COLUMNS = tuple(c.name for c in station_security.columns)


def _build_upsert(dialect: str) -> Any:
    insert = dialect_insert(dialect, station_security).values(
        {name: bindparam(name) for name in _COLUMNS}
    )
    return insert.on_conflict_do_update(
        index_elements=["station_id"],
        set_={name: insert.excluded[name] for name in _COLUMNS if name != "station_id"},
    )


_UPSERT = Statement("station_security.upsert", _COLUMNS, _build_upsert)
_DELETE = Statement(
    "station_security.delete",
    ("station_id",),
    lambda _d: delete(station_security).where(
        station_security.c.station_id == bindparam("station_id")
    ),
)


def _from_row(row: Row[Any]) -> StationSecurity:
    m = row._mapping
    status = m["rotation_status"]
    return StationSecurity(
        station_id=m["station_id"],
        security_profile=m["security_profile"],
        pending_security_profile=m["pending_security_profile"],
        pending_password_hash=m["pending_password_hash"],
        rotation_status=RotationStatus(status) if status is not None else None,
        rotation_requested_at=m["rotation_requested_at"],
        rotation_finished_at=m["rotation_finished_at"],
        password_rotated_at=m["password_rotated_at"],
        updated_at=m["updated_at"],
    )


class StationSecurityRepository(Repository):
    """Table ``station_security``; one row per station that has a state of its own."""

    async def upsert(self, state: StationSecurity) -> None:
        """Store the whole state of the station durably (insert or replace)."""
        assert state.updated_at is not None
        values = {
            "station_id": state.station_id,
            "security_profile": state.security_profile,
            "pending_security_profile": state.pending_security_profile,
            "pending_password_hash": state.pending_password_hash,
            "rotation_status": state.rotation_status.value if state.rotation_status else None,
            "rotation_requested_at": self._ts_or_none(state.rotation_requested_at),
            "rotation_finished_at": self._ts_or_none(state.rotation_finished_at),
            "password_rotated_at": self._ts_or_none(state.password_rotated_at),
            "updated_at": self._ts(state.updated_at),
        }
        await self._writer.execute(WriteOp(_UPSERT, tuple(values[c] for c in _COLUMNS)))

    async def get(self, station_id: str) -> StationSecurity | None:
        query = select(station_security).where(station_security.c.station_id == station_id)
        with storage_errors():
            async with self._engine.connect() as conn:
                row = (await conn.execute(query)).first()
        return _from_row(row) if row is not None else None

    async def list_all(self) -> list[StationSecurity]:
        """Every row (loaded once at start; one row per station with a state of its own)."""
        query = select(station_security).order_by(station_security.c.station_id)
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_from_row(row) for row in rows]

    async def delete(self, station_id: str) -> None:
        await self._writer.execute(WriteOp(_DELETE, (station_id,)))
