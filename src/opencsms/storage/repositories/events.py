"""Station events: 2.0.1 NotifyEvent (N07), one row per EventData element."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Row

from opencsms.domain.model import StationEvent

from ..statements import Statement, WriteOp
from ..tables import station_events
from .base import Repository, dialect_insert, storage_errors

__all__ = ["EventRepository", "event_from_mapping"]

_COLUMNS = (
    "station_id",
    "event_id",
    "timestamp",
    "trigger",
    "event_type",
    "component",
    "variable",
    "actual_value",
    "tech_code",
    "tech_info",
    "cleared",
    "transaction_id",
    "variable_monitoring_id",
    "received_at",
)

_INSERT = Statement(
    "station_events.insert",
    _COLUMNS,
    lambda d: (
        dialect_insert(d, station_events)
        .values({name: bindparam(name) for name in _COLUMNS})
        .on_conflict_do_nothing(index_elements=["station_id", "timestamp", "event_id"])
    ),
)


def _from_row(row: Row[Any]) -> StationEvent:
    return event_from_mapping(row._mapping)


def event_from_mapping(m: Any) -> StationEvent:
    """A ``station_events`` row (or a join that selects its columns by name) as a record."""
    return StationEvent(
        station_id=m["station_id"],
        event_id=m["event_id"],
        timestamp=m["timestamp"],
        trigger=m["trigger"],
        event_type=m["event_type"],
        component_json=m["component"],
        variable_json=m["variable"],
        actual_value=m["actual_value"],
        tech_code=m["tech_code"],
        tech_info=m["tech_info"],
        cleared=m["cleared"],
        transaction_id=m["transaction_id"],
        variable_monitoring_id=m["variable_monitoring_id"],
        received_at=m["received_at"],
    )


class EventRepository(Repository):
    """Table ``station_events``; unique on (station, eventId, timestamp)."""

    async def add(self, records: Iterable[StationEvent]) -> None:
        """Store the events durably, ignoring any already stored (a resent NotifyEvent part)."""
        ts = self._ts
        ops = [
            WriteOp(
                _INSERT,
                (
                    r.station_id,
                    r.event_id,
                    ts(r.timestamp),
                    r.trigger,
                    r.event_type,
                    r.component_json,
                    r.variable_json,
                    r.actual_value,
                    r.tech_code,
                    r.tech_info,
                    r.cleared,
                    r.transaction_id,
                    r.variable_monitoring_id,
                    ts(r.received_at),
                ),
            )
            for r in records
        ]
        if ops:
            await self._writer.execute(*ops)

    async def for_station(self, station_id: str, limit: int = 100) -> list[StationEvent]:
        """The station's most recent events, newest station timestamp first."""
        c = station_events.c
        query = (
            select(station_events)
            .where(c.station_id == station_id)
            .order_by(c.timestamp.desc(), c.event_id.desc())
            .limit(limit)
        )
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_from_row(row) for row in rows]
