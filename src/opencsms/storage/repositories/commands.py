"""The command log (table ``commands``).

Rows older than the retention period are deleted by :meth:`CommandRepository.purge_older_than`
(``command_retention_days``).

Command ids are allocated by the CSMS when an operator asks (a 2.0.1 RequestStartTransaction
carries one as its ``remoteStartId``), like reservation numbers: an in-memory counter seeded with
``max(id)`` on first use. The row is inserted with ``ON CONFLICT DO NOTHING`` once the command
ended; if another node took the number meanwhile, the counter is re-seeded and the record gets the
next free id.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import and_, bindparam, delete, or_, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from opencsms.domain.commands import CommandRecord, CommandStatus
from opencsms.errors import StorageError

from ..statements import Statement, WriteOp
from ..tables import commands
from ..writer import GroupCommitWriter
from .base import IdAllocator, Repository, dialect_insert, storage_errors

__all__ = ["PURGE_CHUNK_ROWS", "CommandRepository"]

_COLUMNS = tuple(c.name for c in commands.columns)
_MAX_ID_ATTEMPTS = 5

PURGE_CHUNK_ROWS = 5_000
"""Rows deleted per transaction by a purge, so other writes never wait long behind it."""

_INSERT = Statement(
    "commands.insert",
    _COLUMNS,
    lambda d: (
        dialect_insert(d, commands)
        .values({name: bindparam(name) for name in _COLUMNS})
        .on_conflict_do_nothing(index_elements=["id"])
    ),
    counted=True,
)


# Ids follow the request order only roughly (a slow command is stored after a fast one, and
# several nodes allocate), so the rows to purge are chosen by time, a chunk at a time.
_PURGE_CHUNK = Statement(
    "commands.purge_chunk",
    ("cutoff", "chunk", "skip"),
    lambda _d: delete(commands).where(
        commands.c.id.in_(
            select(commands.c.id)
            .where(commands.c.requested_at < bindparam("cutoff"))
            .limit(bindparam("chunk"))
            .offset(bindparam("skip"))  # always 0; SQLite's LIMIT would add a literal one
        )
    ),
    counted=True,
)


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _from_row(row: Row[Any]) -> CommandRecord:
    m = row._mapping
    return CommandRecord(
        id=m["id"],
        station_id=m["station_id"],
        ocpp_version=m["ocpp_version"],
        action=m["action"],
        payload=orjson.loads(m["payload"]),
        requested_by=m["requested_by"],
        user_id=m["user_id"],
        requested_at=m["requested_at"],
        status=CommandStatus(m["status"]),
        response=None if m["response"] is None else orjson.loads(m["response"]),
        error_code=m["error_code"],
        error_description=m["error_description"],
        duration_ms=m["duration_ms"],
    )


class CommandRepository(Repository):
    """Table ``commands``."""

    def __init__(self, engine: AsyncEngine, writer: GroupCommitWriter) -> None:
        super().__init__(engine, writer)
        self._ids = IdAllocator(engine, commands.c.id)

    async def allocate(self) -> int:
        """A command id no earlier allocation of this node returned."""
        return await self._ids.next()

    def _params(self, record: CommandRecord) -> tuple[Any, ...]:
        values = {
            "id": record.id,
            "station_id": record.station_id,
            "ocpp_version": record.ocpp_version,
            "action": record.action,
            "payload": _json(record.payload),
            "requested_by": record.requested_by,
            "user_id": record.user_id,
            "requested_at": self._ts(record.requested_at),
            "status": record.status.value,
            "response": _json(record.response),
            "error_code": record.error_code,
            "error_description": record.error_description,
            "duration_ms": record.duration_ms,
        }
        return tuple(values[name] for name in _COLUMNS)

    async def add(self, record: CommandRecord) -> CommandRecord:
        """Store ``record`` in one commit; returns it with the id it was stored under."""
        for _ in range(_MAX_ID_ATTEMPTS):
            (inserted,) = await self._writer.execute_counted(WriteOp(_INSERT, self._params(record)))
            if inserted > 0:
                return record
            self._ids.reseed()  # another node used the number: re-seed from the table
            record = replace(record, id=await self.allocate())
        raise StorageError("could not allocate a command id")

    async def get(self, command_id: int) -> CommandRecord | None:
        query = select(commands).where(commands.c.id == command_id)
        with storage_errors():
            async with self._engine.connect() as conn:
                row = (await conn.execute(query)).first()
        return None if row is None else _from_row(row)

    async def page(self, station_id: str, before_id: int | None, limit: int) -> list[CommandRecord]:
        """The station's commands newest request first, strictly after command ``before_id`` in
        that order (keyset on ``(requested_at, id)``, index ``(station_id, requested_at)``).

        Pass the last id of one page as ``before_id`` to get the next; an id of another station
        or an unknown id gives an empty page.
        """
        c = commands.c
        query = select(commands).where(c.station_id == station_id)
        with storage_errors():
            async with self._engine.connect() as conn:
                if before_id is not None:
                    cursor = (
                        await conn.execute(
                            select(c.requested_at).where(
                                c.id == before_id, c.station_id == station_id
                            )
                        )
                    ).first()
                    if cursor is None:
                        return []
                    at = cursor[0]
                    query = query.where(
                        or_(c.requested_at < at, and_(c.requested_at == at, c.id < before_id))
                    )
                query = query.order_by(c.requested_at.desc(), c.id.desc()).limit(limit)
                rows = (await conn.execute(query)).all()
        return [_from_row(row) for row in rows]

    async def purge_older_than(self, cutoff: datetime) -> int:
        """Delete the commands requested before ``cutoff``, in chunks of
        :data:`PURGE_CHUNK_ROWS`; return how many."""
        deleted = 0
        while True:
            op = WriteOp(_PURGE_CHUNK, (self._ts(cutoff), PURGE_CHUNK_ROWS, 0))
            (count,) = await self._writer.execute_counted(op)
            deleted += count
            if count < PURGE_CHUNK_ROWS:
                return deleted
