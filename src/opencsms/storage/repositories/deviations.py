"""Tolerant-mode findings, aggregated per (station, action, kind, path)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, select
from sqlalchemy.engine import Row

from opencsms.domain.model import DeviationRecord

from ..statements import Statement, WriteOp
from ..tables import station_deviations
from .base import Repository, dialect_insert, storage_errors

__all__ = ["DeviationRepository"]

_COLUMNS = ("station_id", "action", "kind", "path", "detail", "first_seen", "last_seen", "count")


def _build_upsert(dialect: str) -> Any:
    insert = dialect_insert(dialect, station_deviations).values(
        {name: bindparam(name) for name in _COLUMNS}
    )
    current = station_deviations.c
    later = insert.excluded.last_seen > current.last_seen
    return insert.on_conflict_do_update(
        index_elements=["station_id", "action", "kind", "path"],
        set_={
            "count": current.count + insert.excluded["count"],
            # Keep the latest detail and time; a late-committed older batch must not roll back.
            "last_seen": case((later, insert.excluded.last_seen), else_=current.last_seen),
            "detail": case((later, insert.excluded.detail), else_=current.detail),
        },
    )


_UPSERT = Statement("station_deviations.upsert", _COLUMNS, _build_upsert)


def _from_row(row: Row[Any]) -> DeviationRecord:
    m = row._mapping
    return DeviationRecord(
        station_id=m["station_id"],
        action=m["action"],
        kind=m["kind"],
        path=m["path"],
        detail=m["detail"],
        first_seen=m["first_seen"],
        last_seen=m["last_seen"],
        count=m["count"],
    )


class DeviationRepository(Repository):
    """Table ``station_deviations``."""

    async def record(
        self,
        station_id: str,
        action: str,
        deviations: Iterable[tuple[str, str, str]],
        at: datetime,
    ) -> None:
        """Count each ``(kind, path, detail)`` finding of one message, durably.

        The same (kind, path) twice in one message counts twice; the last detail wins.
        """
        merged: dict[tuple[str, str], tuple[str, int]] = {}
        for kind, path, detail in deviations:
            _, seen = merged.get((kind, path), ("", 0))
            merged[(kind, path)] = (detail, seen + 1)
        if not merged:
            return
        ts = self._ts(at)
        await self._writer.execute(
            *(
                WriteOp(_UPSERT, (station_id, action, kind, path, detail, ts, ts, count))
                for (kind, path), (detail, count) in merged.items()
            )
        )

    async def for_station(self, station_id: str) -> list[DeviationRecord]:
        """The station's findings, most recently seen first."""
        c = station_deviations.c
        query = (
            select(station_deviations)
            .where(c.station_id == station_id)
            .order_by(c.last_seen.desc(), c.action, c.kind, c.path)
        )
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_from_row(row) for row in rows]
