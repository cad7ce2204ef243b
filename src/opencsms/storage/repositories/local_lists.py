"""Local authorization list state per station (table ``local_lists``)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import bindparam, select
from sqlalchemy.engine import Row

from opencsms.domain.local_list_model import HeldEntry, LocalListState

from ..statements import Statement, WriteOp
from ..tables import local_lists
from .base import Repository, dialect_insert, storage_errors

__all__ = ["LocalListRepository"]

_COLUMNS = tuple(c.name for c in local_lists.columns)
_DATETIMES = frozenset(
    ("station_version_at", "last_attempt_at", "synced_at", "created_at", "updated_at")
)


def _build_upsert(dialect: str) -> Any:
    insert = dialect_insert(dialect, local_lists).values(
        {name: bindparam(name) for name in _COLUMNS}
    )
    return insert.on_conflict_do_update(
        index_elements=["station_id"],
        set_={
            name: insert.excluded[name]
            for name in _COLUMNS
            if name not in ("station_id", "created_at")
        },
    )


_UPSERT = Statement("local_lists.upsert", _COLUMNS, _build_upsert)


def _from_row(row: Row[Any]) -> LocalListState:
    m = row._mapping
    raw: dict[str, list[str]] = orjson.loads(m["entries"])
    return LocalListState(
        station_id=m["station_id"],
        ocpp_version=m["ocpp_version"],
        version=m["version"],
        sent_version=m["sent_version"],
        entries={key: HeldEntry(spelling, digest) for key, (spelling, digest) in raw.items()},
        in_sync=bool(m["in_sync"]),
        max_items=m["max_items"],
        station_version=m["station_version"],
        station_version_at=m["station_version_at"],
        last_result=m["last_result"],
        last_error=m["last_error"],
        last_attempt_at=m["last_attempt_at"],
        synced_at=m["synced_at"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


class LocalListRepository(Repository):
    """Table ``local_lists``: what the CSMS believes each managed station's list holds."""

    def _params(self, state: LocalListState) -> tuple[Any, ...]:
        if state.created_at is None or state.updated_at is None:
            raise ValueError("a stored local list state needs created_at and updated_at")
        values: dict[str, Any] = {
            name: getattr(state, name) for name in _COLUMNS if name != "entries"
        }
        values["entries"] = orjson.dumps(
            {key: [e.id_token, e.digest] for key, e in state.entries.items()}
        ).decode()
        for name in _DATETIMES:
            values[name] = self._ts_or_none(values[name])
        return tuple(values[name] for name in _COLUMNS)

    async def get(self, station_id: str) -> LocalListState | None:
        """The station's state, or ``None`` when the CSMS does not manage its list."""
        query = select(local_lists).where(local_lists.c.station_id == station_id)
        with storage_errors():
            async with self._engine.connect() as conn:
                row = (await conn.execute(query)).first()
        return None if row is None else _from_row(row)

    async def put(self, state: LocalListState) -> None:
        """Create or replace the station's state (``created_at`` of an existing row is kept)."""
        await self._writer.execute(WriteOp(_UPSERT, self._params(state)))

    async def managed(self) -> set[str]:
        """Ids of the stations whose list the CSMS manages: it has sent them a list
        (``sent_version > 0``; a row made by a version query alone does not count)."""
        query = select(local_lists.c.station_id).where(local_lists.c.sent_version > 0)
        with storage_errors():
            async with self._engine.connect() as conn:
                return set((await conn.scalars(query)).all())
