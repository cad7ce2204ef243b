"""The SQLite side of group commit: one raw ``sqlite3`` connection in a child process (default) or
on one dedicated thread.

The child process is what lets a node use a second core: binding parameters and running SQLite
need the GIL in the server's process, and at 1,000 stations they cost a third of its one core
(measured: 1.6 MeterValues ~5,800 msg/s with the thread, ~7,900 with the child). The batch crosses
to the child pickled (C speed) through a pipe the event loop watches (:mod:`.sqlite_child`), and
only the commit result comes back. Batches are pipelined: :meth:`SqliteBatchConnection.send`
returns once the batch is handed over, and its outcome reaches a callback; the child commits the
batches waiting for it together, retries a failed one submission at a time, and answers in order
(:func:`.sqlite_worker.run_requests`).

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
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from . import sqlite_worker
from .sqlite_child import WriterProcess, WriterProcessDied
from .statements import CompiledStatement, Params

__all__ = [
    "OutcomeCallback",
    "SqliteBatchConnection",
    "SqliteTarget",
    "StatementGroup",
    "sqlite_target",
]

OutcomeCallback = Callable[[sqlite_worker.Outcome | sqlite3.Error], None]
"""Gets a batch's outcome, or the error that lost it (its writer process died)."""


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
    """The writer's ``sqlite3`` connection, in one child process or one dedicated thread.

    ``await open()`` connects, :meth:`run` commits a batch, ``await close()`` disconnects. Calls
    run one at a time in submission order (a close submitted while a batch is still running
    waits for it).
    """

    def __init__(
        self, target: SqliteTarget, *, process: bool = False, merge_ops: int = 0, nice: int = 0
    ) -> None:
        self._target = target
        self._child = (
            WriterProcess(target.database, target.uri, merge_ops=merge_ops, nice=nice)
            if process
            else None
        )
        self._thread = (
            None if process else ThreadPoolExecutor(1, thread_name_prefix="opencsms-writer")
        )

    @property
    def child_pid(self) -> int | None:
        """The writer process's id (process mode, once open)."""
        return self._child.pid if self._child is not None else None

    async def open(self) -> None:
        """Connect and apply the pool's pragmas (in the writer thread or process)."""
        if self._child is not None:
            try:
                opened = await self._child.request("ping")
            except BaseException:
                await self._child.close()
                raise
            if not opened:
                raise sqlite3.OperationalError("the writer process has no connection")
            return
        assert self._thread is not None
        try:
            await asyncio.get_running_loop().run_in_executor(
                self._thread,
                sqlite_worker.open_connection,
                self._target.database,
                self._target.uri,
            )
        except BaseException:
            self._thread.shutdown(wait=False)
            raise

    async def close(self) -> None:
        """Close the connection after any batch still running, and end the thread or process."""
        if self._child is not None:
            await self._child.close()
            return
        assert self._thread is not None
        try:
            await asyncio.get_running_loop().run_in_executor(
                self._thread, sqlite_worker.close_connection
            )
        finally:
            self._thread.shutdown(wait=True)

    async def written(self) -> None:
        """Return once every batch sent so far has been handed to the child."""
        if self._child is not None:
            await self._child.written()

    def send(
        self,
        groups: Sequence[StatementGroup],
        owners: Sequence[Sequence[int]],
        submissions: int,
        on_outcome: OutcomeCallback,
    ) -> None:
        """Hand a batch over to be committed; ``on_outcome`` later gets what became of it.

        ``owners`` gives, per group and row, the index of the submission the row belongs to (of
        ``submissions``): a batch that fails is retried one submission at a time. Batches are
        committed, and their outcomes delivered, in the order they were sent.
        """
        plan = [(g.compiled.sql, g.compiled.arrange(g.rows), g.counted) for g in groups]
        request: sqlite_worker.Request = (plan, owners, submissions)
        if self._child is not None:

            def on_answer(answer: tuple[bool, Any] | WriterProcessDied) -> None:
                if isinstance(answer, WriterProcessDied):
                    # The child died (killed, out of memory). This batch may or may not have
                    # committed; its callers get an error and, every write being idempotent,
                    # the station's resend is safe. The next batch starts a fresh child.
                    on_outcome(sqlite3.OperationalError(str(answer)))
                    return
                ok, value = answer
                on_outcome(value if ok else _as_sqlite_error(value))

            self._child.send_nowait("run", request, on_answer)
            return
        assert self._thread is not None
        loop = asyncio.get_running_loop()

        def on_done(done: Future[list[sqlite_worker.Outcome]]) -> None:
            try:
                [outcome] = done.result()
            except BaseException as error:  # not raised by run_requests; a broken thread
                loop.call_soon_threadsafe(on_outcome, _as_sqlite_error(error))
            else:
                loop.call_soon_threadsafe(on_outcome, outcome)

        self._thread.submit(sqlite_worker.run_requests, [request]).add_done_callback(on_done)


def _as_sqlite_error(error: BaseException) -> sqlite3.Error:
    """``error`` as the ``sqlite3.Error`` a whole batch fails with (it is never one in practice:
    run_requests reports a statement's failure in the outcome)."""
    if isinstance(error, sqlite3.Error):
        return error
    failure = sqlite3.OperationalError(f"{type(error).__name__}: {error}")
    failure.__cause__ = error
    return failure
