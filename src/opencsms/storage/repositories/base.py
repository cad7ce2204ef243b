"""What every repository shares: the engine for reads, the writer for writes, value encoders."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Table, bindparam, func, literal, select, update
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from opencsms.errors import StorageError

from ..statements import Statement
from ..tables import id_blocks
from ..types import timestamp_encoder
from ..writer import GroupCommitWriter

__all__ = ["Repository", "dialect_insert", "insert_or_ignore", "storage_errors"]


def dialect_insert(dialect_name: str, table: Table) -> PgInsert | SqliteInsert:
    """An INSERT that supports ``ON CONFLICT`` on ``dialect_name`` (sqlite or postgresql)."""
    if dialect_name == "sqlite":
        return sqlite_insert(table)
    if dialect_name == "postgresql":
        return pg_insert(table)
    raise ValueError(f"unsupported dialect {dialect_name!r}")


def insert_or_ignore(name: str, table: Table, columns: tuple[str, ...] | None = None) -> Statement:
    """A counted INSERT of ``columns`` (default: all of ``table``'s) that becomes a no-op on any
    unique conflict (a taken id, a row already stored): the count tells the caller which."""
    names = columns if columns is not None else tuple(c.name for c in table.columns)
    return Statement(
        name,
        names,
        lambda d: (
            dialect_insert(d, table)
            .values({c: bindparam(c) for c in names})
            .on_conflict_do_nothing()
        ),
        counted=True,
    )


@contextmanager
def storage_errors() -> Iterator[None]:
    """Translate SQLAlchemy exceptions into :class:`~opencsms.errors.StorageError`.

    Exceptions are translated at this one boundary so callers never import SQLAlchemy.
    """
    try:
        yield
    except SQLAlchemyError as exc:
        raise StorageError(f"database access failed: {exc}") from exc


class Repository:
    """Base of the repositories: reads go through the engine's pool, writes through the writer."""

    def __init__(self, engine: AsyncEngine, writer: GroupCommitWriter) -> None:
        self._engine = engine
        self._writer = writer
        self._dialect = engine.dialect.name
        self._ts: Callable[[datetime], Any] = timestamp_encoder(self._dialect)

    def _ts_or_none(self, value: datetime | None) -> Any:
        return None if value is None else self._ts(value)


ID_BLOCK = 100
"""Numbers a node takes at once from ``id_blocks`` (PostgreSQL)."""


class IdAllocator:
    """Numbers new rows of a table without a read-modify-write per insert.

    SQLite (one node): the counter starts after ``max(id)`` (read once, under a lock) and counts
    up in memory. PostgreSQL (possibly several nodes of a cluster): each node takes blocks of
    :data:`ID_BLOCK` numbers from the shared ``id_blocks`` row of the table, one ``UPDATE ...
    RETURNING`` per block, so no two nodes ever hand out the same number (a node's unused numbers
    are gaps). An insert that still finds its number taken (rows written by other means) calls
    :meth:`reseed`, and the next block starts after the table's ``max(id)``.
    """

    def __init__(self, engine: AsyncEngine, id_column: Column[Any]) -> None:
        self._engine = engine
        self._column = id_column
        self._next: int | None = None
        self._end = 0
        self._lock = asyncio.Lock()
        self._blocks = engine.dialect.name == "postgresql"
        self._seeded = False

    async def next(self) -> int:
        """A number no earlier allocation (of any node, on PostgreSQL) returned."""
        if self._next is None or (self._blocks and self._next >= self._end):
            async with self._lock:
                if self._next is None or (self._blocks and self._next >= self._end):
                    with storage_errors():
                        if self._blocks:
                            self._next = await self._take_block()
                            self._end = self._next + ID_BLOCK
                        else:
                            async with self._engine.connect() as conn:
                                top = await conn.scalar(select(func.max(self._column)))
                            self._next = int(top or 0) + 1
        allocated = self._next
        self._next += 1
        return allocated

    async def _take_block(self) -> int:
        name = self._column.table.name
        table = self._column.table
        async with self._engine.begin() as conn:
            if not self._seeded:
                # The first block of a table starts after its rows (an upgraded database).
                top = select(
                    literal(name), func.coalesce(func.max(self._column), 0) + 1
                ).select_from(table)
                seed = pg_insert(id_blocks).from_select(["name", "next_id"], top)
                await conn.execute(
                    seed.on_conflict_do_update(
                        index_elements=[id_blocks.c.name],
                        set_={"next_id": func.greatest(id_blocks.c.next_id, seed.excluded.next_id)},
                    )
                )
                self._seeded = True
            start = await conn.scalar(
                update(id_blocks)
                .where(id_blocks.c.name == name)
                .values(next_id=id_blocks.c.next_id + ID_BLOCK)
                .returning(id_blocks.c.next_id - ID_BLOCK)
            )
        return int(start)

    def reseed(self) -> None:
        """Forget the counter: the next number is read from the table again."""
        self._next = None
        self._seeded = False
