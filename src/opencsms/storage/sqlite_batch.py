"""The SQLite side of group commit: one raw ``sqlite3`` connection on one dedicated thread.

Through SQLAlchemy's AsyncConnection and aiosqlite every statement is a round trip to aiosqlite's
thread plus a greenlet switch, and a counted statement (whose caller needs its row count) costs one
such round trip per op: a batch of 1,000 TransactionEvents was 1,000 thread hops. Here a whole
batch is ONE call into the writer's thread, which runs a plain function: ``BEGIN IMMEDIATE``, every
statement group (``executemany``, or per-op ``execute`` + ``rowcount`` for counted statements, which
is C speed in that thread), ``COMMIT``; on any error ``ROLLBACK`` and re-raise.

The connection is opened on the same file with the same settings as the engine's pool
(:func:`~.db.configure_sqlite_connection`: WAL, ``synchronous=FULL``, busy timeout, foreign keys).
WAL lets the engine's readers run while this connection writes. ``BEGIN IMMEDIATE`` takes the
write lock up front, so another writer on the same file (a second
:class:`~.writer.GroupCommitWriter`, a migration, the ``sqlite3`` shell) makes it wait up to the
busy timeout instead of failing halfway through a batch. The SQL text and parameter order are the
engine dialect's :class:`~.statements.CompiledStatement` (``?`` placeholders), so both paths run
identical SQL.

An in-memory database (``:memory:``, ``mode=memory`` URIs, the empty name) cannot be opened by a
second connection; :func:`sqlite_target` returns ``None`` for it and the writer keeps the engine.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from .db import SQLITE_BUSY_TIMEOUT_MS, configure_sqlite_connection
from .statements import CompiledStatement, Params

__all__ = ["SqliteBatchConnection", "SqliteTarget", "StatementGroup", "sqlite_target"]

# Distinct write statements the server uses, with room to spare: the sqlite3 module keeps this
# many prepared statements, so a statement is parsed once per connection, not once per batch.
_STATEMENT_CACHE = 256


@dataclass(frozen=True, slots=True)
class SqliteTarget:
    """Where the writer's own connection goes: the arguments ``sqlite3.connect`` needs."""

    database: str
    uri: bool


@dataclass(frozen=True, slots=True)
class StatementGroup:
    """The ops of one statement within a batch, values in ``statement.params`` order."""

    compiled: CompiledStatement
    rows: Sequence[Params]
    counted: bool


def sqlite_target(engine: AsyncEngine) -> SqliteTarget | None:
    """The file ``engine`` writes to, or ``None`` if a second connection cannot open it.

    ``None`` for other backends and for in-memory databases, which are private to the connection
    that created them. The filename comes from the dialect itself (``create_connect_args``), so
    relative paths and ``?uri=true`` URLs resolve exactly as they do for the pool.
    """
    if engine.dialect.name != "sqlite":
        return None
    args, kwargs = engine.dialect.create_connect_args(engine.url)
    database = str(args[0]) if args else str(kwargs.get("database", ""))
    uri = bool(kwargs.get("uri", False))
    if database in ("", ":memory:"):
        return None
    if uri:
        path, _, query = database.removeprefix("file:").partition("?")
        if path in ("", ":memory:") or "mode=memory" in query:
            return None
    return SqliteTarget(database, uri)


class SqliteBatchConnection:
    """A ``sqlite3`` connection that lives on, and is only ever used from, one thread.

    ``await open()`` connects, :meth:`run` commits a batch, ``await close()`` disconnects. Every
    call goes through the same single-worker executor, so they run one at a time in submission
    order (a close submitted while a batch is still running waits for it).
    """

    def __init__(self, target: SqliteTarget) -> None:
        self._target = target
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opencsms-writer")
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        """Connect and apply the pool's pragmas (in the writer thread)."""
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._open)
        except BaseException:
            self._executor.shutdown(wait=False)
            raise

    async def close(self) -> None:
        """Close the connection after any batch still running, and end the thread."""
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        finally:
            self._executor.shutdown(wait=False)

    async def run(self, groups: Sequence[StatementGroup]) -> list[list[int]]:
        """Commit ``groups`` in one transaction; per group, the row count of each counted op.

        Non-counted groups report an empty list. Raises the ``sqlite3`` error after rolling back.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._transaction, groups)

    # Everything below runs in the writer thread.

    def _open(self) -> None:
        # isolation_level=None: the sqlite3 module issues no implicit BEGIN/COMMIT, we do.
        conn = sqlite3.connect(
            self._target.database,
            uri=self._target.uri,
            timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            cached_statements=_STATEMENT_CACHE,
        )
        try:
            configure_sqlite_connection(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _transaction(self, groups: Sequence[StatementGroup]) -> list[list[int]]:
        conn = self._conn
        if conn is None:
            raise sqlite3.ProgrammingError("the writer connection is closed")
        cursor = conn.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
            counts: list[list[int]] = []
            for group in groups:
                sql = group.compiled.sql
                rows = group.compiled.arrange(group.rows)
                if group.counted:
                    group_counts: list[int] = []
                    for params in rows:
                        cursor.execute(sql, params)
                        group_counts.append(cursor.rowcount)
                    counts.append(group_counts)
                else:
                    if len(rows) == 1:
                        cursor.execute(sql, rows[0])
                    else:
                        cursor.executemany(sql, rows)
                    counts.append([])
            cursor.execute("COMMIT")
            return counts
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            cursor.close()
