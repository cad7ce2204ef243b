"""The audit log: every OCPP-J frame in and out, kept for a retention period."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.engine import Row

from opencsms.domain.model import FrameRecord

from ..statements import Statement, WriteOp
from ..tables import message_log
from .base import Repository, storage_errors

__all__ = ["PURGE_CHUNK_ROWS", "AuditRepository"]

PURGE_CHUNK_ROWS = 10_000
"""Rows deleted per transaction by a purge, so station traffic never waits long for the lock."""

_COLUMNS = ("station_id", "at", "direction", "message_type", "action", "message_id", "payload")

_APPEND = Statement(
    "message_log.insert",
    _COLUMNS,
    lambda _d: insert(message_log).values({name: bindparam(name) for name in _COLUMNS}),
)

_DELETE_RANGE = Statement(
    "message_log.delete_range",
    ("lo", "hi"),
    lambda _d: delete(message_log).where(
        message_log.c.id >= bindparam("lo"), message_log.c.id < bindparam("hi")
    ),
    counted=True,
)


def _from_row(row: Row[Any]) -> FrameRecord:
    m = row._mapping
    return FrameRecord(
        station_id=m["station_id"],
        at=m["at"],
        direction=m["direction"],
        message_type=m["message_type"],
        action=m["action"],
        message_id=m["message_id"],
        payload=m["payload"],
        id=m["id"],
    )


class AuditRepository(Repository):
    """Table ``message_log``."""

    def append(self, rec: FrameRecord) -> None:
        """Queue ``rec`` into the writer's next group commit without waiting.

        Submissions are committed in order, so a frame appended before a handler's awaited write
        is durable by the time that write returns.
        """
        self.append_frame(
            rec.station_id,
            rec.at,
            rec.direction,
            rec.message_type,
            rec.action,
            rec.message_id,
            rec.payload,
        )

    def append_frame(
        self,
        station_id: str,
        at: datetime,
        direction: str,
        message_type: int,
        action: str | None,
        message_id: str,
        payload: str,
    ) -> None:
        """:meth:`append` without building a :class:`FrameRecord`: the hot path (two frames per
        station message) takes the writer's cheapest queue."""
        self._writer.enqueue_row(
            _APPEND,
            (station_id, self._ts(at), direction, message_type, action, message_id, payload),
        )

    async def page(self, station_id: str, before_id: int | None, limit: int) -> list[FrameRecord]:
        """The station's frames newest first, strictly older than ``before_id`` when given.

        Keyset paging on the autoincrement id (index ``(station_id, id)``): pass the smallest id of
        one page as ``before_id`` to get the next.
        """
        c = message_log.c
        query = select(message_log).where(c.station_id == station_id)
        if before_id is not None:
            query = query.where(c.id < before_id)
        query = query.order_by(c.id.desc()).limit(limit)
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_from_row(row) for row in rows]

    async def purge_older_than(self, cutoff: datetime) -> int:
        """Delete frames recorded before ``cutoff``; return how many.

        Ids grow in commit order and ``at`` is stamped just before, so the frames to delete are an
        id prefix: find the first id at or after the cutoff (reading only the rows that go anyway)
        and delete below it in chunks of :data:`PURGE_CHUNK_ROWS` ids through the writer. A frame
        whose clock went backwards past the boundary waits for the next purge.
        """
        c = message_log.c
        with storage_errors():
            async with self._engine.connect() as conn:
                boundary = await conn.scalar(
                    select(c.id).where(c.at >= cutoff).order_by(c.id).limit(1)
                )
                if boundary is None:
                    boundary = await conn.scalar(select(func.max(c.id)))
                    boundary = None if boundary is None else boundary + 1
                lowest = await conn.scalar(select(func.min(c.id)))
        if boundary is None or lowest is None:
            return 0
        deleted = 0
        for lo in range(lowest, boundary, PURGE_CHUNK_ROWS):
            hi = min(lo + PURGE_CHUNK_ROWS, boundary)
            (count,) = await self._writer.execute_counted(WriteOp(_DELETE_RANGE, (lo, hi)))
            deleted += count
        return deleted
