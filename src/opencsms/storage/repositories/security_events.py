"""Security events (SecurityEventNotification, 1.6 security whitepaper §4 / 2.0.1 A04): one
row per (station, station timestamp, type), listed newest first with keyset paging."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.engine import Row

from opencsms.domain.security_events import SecurityEvent

from ..statements import Statement, WriteOp
from ..tables import security_events
from .base import Repository, dialect_insert, storage_errors

__all__ = ["SecurityEventCursor", "SecurityEventRepository"]

_COLUMNS = ("station_id", "timestamp", "type", "tech_info", "critical", "received_at")

_INSERT = Statement(
    "security_events.insert",
    _COLUMNS,
    lambda d: (
        dialect_insert(d, security_events)
        .values({name: bindparam(name) for name in _COLUMNS})
        .on_conflict_do_nothing(index_elements=["station_id", "timestamp", "type"])
    ),
)

SecurityEventCursor = tuple[datetime, str, str]
"""Where a page ended: (timestamp, station id, type) of its last event, newest-first order."""


def _from_row(row: Row[Any]) -> SecurityEvent:
    m = row._mapping
    return SecurityEvent(
        station_id=m["station_id"],
        type=m["type"],
        timestamp=m["timestamp"],
        tech_info=m["tech_info"],
        critical=m["critical"],
        received_at=m["received_at"],
    )


class SecurityEventRepository(Repository):
    """Table ``security_events``; primary key (station, timestamp, type)."""

    async def add(self, event: SecurityEvent) -> None:
        """Store the event durably; one already stored (a resent notification) is ignored."""
        ts = self._ts
        params = (
            event.station_id,
            ts(event.timestamp),
            event.type,
            event.tech_info,
            event.critical,
            ts(event.received_at),
        )
        await self._writer.execute(WriteOp(_INSERT, params))

    async def list(
        self,
        *,
        station_id: str | None = None,
        critical: bool | None = None,
        after: SecurityEventCursor | None = None,
        limit: int = 100,
    ) -> list[SecurityEvent]:
        """Events newest station timestamp first (ties by station id, then type), of one station
        or the fleet, optionally only (non-)critical ones, continuing after ``after``."""
        c = security_events.c
        query = select(security_events)
        if station_id is not None:
            query = query.where(c.station_id == station_id)
        if critical is not None:
            query = query.where(c.critical.is_(critical))
        if after is not None:
            at_value, station, kind = after  # UtcDateTime encodes it in a Core query
            query = query.where(
                or_(
                    c.timestamp < at_value,
                    and_(c.timestamp == at_value, c.station_id > station),
                    and_(c.timestamp == at_value, c.station_id == station, c.type > kind),
                )
            )
        query = query.order_by(c.timestamp.desc(), c.station_id, c.type).limit(limit)
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_from_row(row) for row in rows]
