"""Connector status: the current state of every connector and the history of every report.

Addressing convention (documented in :mod:`opencsms.domain.model`): 2.0.1/2.1 evseId/connectorId as
sent; a 1.6 connectorId c > 0 is EVSE c connector 1, 1.6 connectorId 0 is EVSE 0 connector 0.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.engine import Row

from opencsms.domain.model import ConnectorStatus

from ..statements import Statement, WriteOp
from ..tables import connector_status, status_history
from .base import Repository, dialect_insert, storage_errors

__all__ = ["StatusRepository"]

_COLUMNS = (
    "station_id",
    "evse_id",
    "connector_id",
    "status",
    "error_code",
    "info",
    "vendor_id",
    "vendor_error_code",
    "reported_at",
    "received_at",
)
_KEY = ["station_id", "evse_id", "connector_id"]


def _build_upsert_current(dialect: str) -> Any:
    insert = dialect_insert(dialect, connector_status).values(
        {name: bindparam(name) for name in _COLUMNS}
    )
    current = connector_status.c
    # A station replaying its offline queue may deliver an older report after a newer one: the
    # current state only moves forward in station time. Reports without a timestamp (allowed in
    # 1.6) always win, as does anything replacing a row that has none.
    newer = or_(
        insert.excluded.reported_at.is_(None),
        current.reported_at.is_(None),
        insert.excluded.reported_at >= current.reported_at,
    )
    return insert.on_conflict_do_update(
        index_elements=_KEY,
        set_={name: insert.excluded[name] for name in _COLUMNS if name not in _KEY},
        where=newer,
    )


_UPSERT_CURRENT = Statement("connector_status.upsert", _COLUMNS, _build_upsert_current)

_APPEND_HISTORY = Statement(
    "status_history.insert",
    _COLUMNS,
    lambda d: (
        dialect_insert(d, status_history)
        .values({name: bindparam(name) for name in _COLUMNS})
        .on_conflict_do_nothing(
            index_elements=["station_id", "evse_id", "connector_id", "reported_at", "status"]
        )
    ),
)


def _from_row(row: Row[Any]) -> ConnectorStatus:
    m = row._mapping
    return ConnectorStatus(
        station_id=m["station_id"],
        evse_id=m["evse_id"],
        connector_id=m["connector_id"],
        status=m["status"],
        error_code=m["error_code"],
        info=m["info"],
        vendor_id=m["vendor_id"],
        vendor_error_code=m["vendor_error_code"],
        reported_at=m["reported_at"],
        received_at=m["received_at"],
    )


class StatusRepository(Repository):
    """Tables ``connector_status`` (current) and ``status_history`` (append-only, idempotent)."""

    async def record(self, status: ConnectorStatus) -> None:
        """Store one status report (1.6 §4.9 StatusNotification, 2.0.1 G01) durably.

        Current state and history are written in the same group commit. The same report
        delivered twice (same connector, station timestamp and status) is one history row.
        """
        params = (
            status.station_id,
            status.evse_id,
            status.connector_id,
            status.status,
            status.error_code,
            status.info,
            status.vendor_id,
            status.vendor_error_code,
            self._ts_or_none(status.reported_at),
            self._ts(status.received_at),
        )
        await self._writer.execute(
            WriteOp(_UPSERT_CURRENT, params), WriteOp(_APPEND_HISTORY, params)
        )

    async def for_station(self, station_id: str) -> list[ConnectorStatus]:
        """Current status of every connector of the station, ordered by EVSE and connector."""
        c = connector_status.c
        query = (
            select(connector_status)
            .where(c.station_id == station_id)
            .order_by(c.evse_id, c.connector_id)
        )
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_from_row(row) for row in rows]

    async def all_current(self) -> list[ConnectorStatus]:
        """Current status of every connector of the fleet (seeds the live fleet state)."""
        c = connector_status.c
        query = select(connector_status).order_by(c.station_id, c.evse_id, c.connector_id)
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_from_row(row) for row in rows]

    async def history(self, station_id: str, limit: int = 100) -> list[ConnectorStatus]:
        """The station's most recent status reports, newest received first."""
        h = status_history.c
        query = (
            select(status_history)
            .where(h.station_id == station_id)
            .order_by(h.received_at.desc())
            .limit(limit)
        )
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_from_row(row) for row in rows]
