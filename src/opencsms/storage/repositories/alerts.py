"""Alerts (table ``alerts``, domain/alert_model.py).

Ids are allocated like job ids (an in-memory counter seeded with ``max(id)``). ``open_key`` holds
the dedup key while the alert is open and NULL afterwards; its unique index makes "one open alert
per key" a database rule, so a second node raising the same alert cannot create a duplicate: its
insert is ignored and :meth:`AlertRepository.create` returns the alert already open.
"""

from __future__ import annotations

import builtins
from dataclasses import replace
from typing import Any

import orjson
from sqlalchemy import bindparam, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from opencsms.domain.alert_model import Alert, AlertSeverity, AlertStatus, AlertType
from opencsms.errors import StorageError

from ..statements import Statement, WriteOp
from ..tables import alerts
from ..writer import GroupCommitWriter
from .base import IdAllocator, Repository, dialect_insert, insert_or_ignore, storage_errors

__all__ = ["AlertRepository"]

_COLUMNS = tuple(c.name for c in alerts.columns)
_DATETIMES = frozenset(("first_seen", "last_seen", "acknowledged_at", "resolved_at"))
_MAX_ID_ATTEMPTS = 5

# no conflict target: a taken id or an open_key already open both make it a no-op (count 0)
_INSERT = insert_or_ignore("alerts.insert", alerts, _COLUMNS)


def _build_update(dialect: str) -> Any:
    insert = dialect_insert(dialect, alerts).values({name: bindparam(name) for name in _COLUMNS})
    return insert.on_conflict_do_update(
        index_elements=["id"],
        set_={name: insert.excluded[name] for name in _COLUMNS if name != "id"},
    )


_UPDATE = Statement("alerts.update", _COLUMNS, _build_update)


def _alert(row: Row[Any]) -> Alert:
    m = row._mapping
    return Alert(
        id=m["id"],
        type=AlertType(m["type"]),
        station_id=m["station_id"],
        key=m["key"],
        severity=AlertSeverity(m["severity"]),
        summary=m["summary"],
        details=orjson.loads(m["details"]),
        status=AlertStatus(m["status"]),
        count=m["count"],
        first_seen=m["first_seen"],
        last_seen=m["last_seen"],
        acknowledged_at=m["acknowledged_at"],
        acknowledged_by=m["acknowledged_by"],
        resolved_at=m["resolved_at"],
        resolution=m["resolution"],
    )


class AlertRepository(Repository):
    """Table ``alerts``."""

    def __init__(self, engine: AsyncEngine, writer: GroupCommitWriter) -> None:
        super().__init__(engine, writer)
        self._ids = IdAllocator(engine, alerts.c.id)

    def _params(self, alert: Alert) -> tuple[Any, ...]:
        values: dict[str, Any] = {}
        for name in _COLUMNS:
            if name == "open_key":
                values[name] = alert.dedup_key if alert.open else None
            elif name == "details":
                values[name] = orjson.dumps(alert.details).decode()
            elif name in _DATETIMES:
                values[name] = self._ts_or_none(getattr(alert, name))
            elif name in ("type", "severity", "status"):
                values[name] = str(getattr(alert, name))
            else:
                values[name] = getattr(alert, name)
        return tuple(values[name] for name in _COLUMNS)

    async def allocate(self) -> int:
        return await self._ids.next()

    async def create(self, alert: Alert) -> Alert:
        """Insert a new open alert; if one with its dedup key is open already (raised by
        another node), return that one instead. ``alert.id`` is replaced when it is taken."""
        for _ in range(_MAX_ID_ATTEMPTS):
            (inserted,) = await self._writer.execute_counted(WriteOp(_INSERT, self._params(alert)))
            if inserted > 0:
                return alert
            existing = await self.open_by_key(alert.dedup_key)
            if existing is not None:
                return existing
            self._ids.reseed()  # the id was taken by another node
            alert = replace(alert, id=await self._ids.next())
        raise StorageError("could not allocate an alert id")

    async def save(self, alert: Alert) -> None:
        """Store a changed alert (by id)."""
        await self._writer.execute(WriteOp(_UPDATE, self._params(alert)))

    async def _all(self, query: Any) -> builtins.list[Alert]:
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_alert(row) for row in rows]

    async def get(self, alert_id: int) -> Alert | None:
        found = await self._all(select(alerts).where(alerts.c.id == alert_id))
        return found[0] if found else None

    async def open_by_key(self, key: str) -> Alert | None:
        found = await self._all(select(alerts).where(alerts.c.open_key == key))
        return found[0] if found else None

    async def open_alerts(self) -> builtins.list[Alert]:
        """Every open alert, oldest first (loaded once at start)."""
        c = alerts.c
        return await self._all(select(alerts).where(c.status == "open").order_by(c.id))

    async def list(
        self,
        *,
        status: str | None = None,
        type: str | None = None,
        station_id: str | None = None,
        severity: str | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> builtins.list[Alert]:
        """Alerts newest first (by id), filtered, continuing below id ``before``."""
        c = alerts.c
        query = select(alerts)
        if status is not None:
            query = query.where(c.status == status)
        if type is not None:
            query = query.where(c.type == type)
        if station_id is not None:
            query = query.where(c.station_id == station_id)
        if severity is not None:
            query = query.where(c.severity == severity)
        if before is not None:
            query = query.where(c.id < before)
        return await self._all(query.order_by(c.id.desc()).limit(limit))
