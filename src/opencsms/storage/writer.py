"""Group commit: many concurrent writers, few transactions.

A station's message is answered only after what it reported is durable (ARCHITECTURE.md: "is
stored, and only then is answered"). One fsync per message would cap SQLite at a few hundred
messages per second, so :class:`GroupCommitWriter` runs a single background task that commits in
batches: while one commit is in flight, new ops accumulate, and the next transaction takes all of
them (up to ``max_batch_ops``). Within a transaction the ops are grouped per statement into one
driver-level executemany each (see :mod:`.statements`).

Ordering: ops of one statement run in submission order. Statement groups run in the order their
statement first appeared in the batch, so ops of *different* statements submitted in the same batch
must not depend on each other; the repositories only submit independent ones (upserts keyed on
different tables, or updates of different columns).

Failure isolation: if a batch fails, it is rolled back and its submissions are retried one caller
at a time, each in its own transaction, so one bad op fails only the caller that sent it.

Backends: on PostgreSQL (asyncpg is natively async) a batch runs on an engine connection, one
batch at a time. On a SQLite file the writer owns a raw ``sqlite3`` connection in a child process
or on a dedicated thread (:mod:`.sqlite_batch`), opened by :meth:`GroupCommitWriter.start` and
closed by :meth:`GroupCommitWriter.aclose`; there batches are pipelined: the writer hands the next
batch over as soon as it has one, without waiting for the last commit, and the other side commits
them in order (several at once when they have piled up), retries a failed one submission at a
time before running the next, and reports each outcome, which settles the batch's callers at
once. An in-memory SQLite database (which a second connection cannot see) uses the engine like
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections import deque
from dataclasses import dataclass
from functools import partial

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from opencsms.errors import StorageError

from .fencing import Fence, StaleLeaseError, check_fences, current_fence
from .sqlite_batch import SqliteBatchConnection, StatementGroup, sqlite_target
from .sqlite_worker import WRITER_NICE, Outcome
from .statements import CompiledStatement, Params, Statement, WriteOp

__all__ = ["GroupCommitWriter", "WriterStats"]

log = logging.getLogger(__name__)

DEFAULT_MAX_BATCH_OPS = 2_000

RowCounts = list[int]
"""Per op of one submission: the affected row count for counted statements, -1 for the others."""


@dataclass(slots=True)
class WriterStats:
    """Counters the writer keeps (read them; do not write them)."""

    commits: int = 0
    """Transactions committed, batches and single retries alike."""
    batches: int = 0
    """Batches attempted."""
    ops: int = 0
    """Ops committed."""
    failed_batches: int = 0
    """Batches rolled back and retried one submission at a time."""
    failed_submissions: int = 0
    """Submissions that failed on their own retry (their caller got a StorageError)."""
    dropped_ops: int = 0
    """Ops of ``enqueue`` submissions that failed on retry; there is no caller to tell, so they
    are logged and counted here."""
    max_batch_ops: int = 0
    """The largest batch committed so far."""


@dataclass(slots=True)
class _SentBatch:
    """A batch handed to the SQLite connection whose outcome has not come back yet."""

    batch: list[_Submission]
    statements: list[Statement]
    """The batch's statement groups, in the order they were sent."""
    slots: dict[Statement, list[tuple[int, int]]]
    """Per counted statement, where each row's count goes (submission index, op index)."""


@dataclass(slots=True)
class _Submission:
    ops: tuple[WriteOp, ...]
    future: asyncio.Future[RowCounts] | None
    wants_counts: bool = False
    """Whether the caller reads the counts; if not, no per-op list is built for it."""
    fence: Fence | None = None
    """Cluster mode: the station lease the submitting task writes under (storage/fencing.py)."""


class GroupCommitWriter:
    """The single writer task behind every durable write.

    Use ``await start()`` once, then :meth:`execute` (wait for durability) or :meth:`enqueue` (fire
    and forget, e.g. the audit log), and ``await aclose()`` to flush everything pending and stop.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        max_batch_ops: int = DEFAULT_MAX_BATCH_OPS,
        sqlite_process: bool = True,
        sqlite_nice: int = WRITER_NICE,
    ) -> None:
        self._sqlite_process = sqlite_process
        self._sqlite_nice = sqlite_nice
        if max_batch_ops < 1:
            raise ValueError("max_batch_ops must be at least 1")
        self._engine = engine
        self._max_batch_ops = max_batch_ops
        self._queue: deque[_Submission] = deque()
        self._queued_ops = 0
        self._rows: list[WriteOp] = []
        self._idle: asyncio.Future[None] | None = None
        """The writer task's wait for work, when it has none (woken by :meth:`_wake`)."""
        self._inflight: list[_Submission] = []
        """The batch the engine path is committing."""
        self._sent: deque[_SentBatch] = deque()
        """Batches handed to the SQLite connection, oldest first, until their outcome is in."""
        self._drained: asyncio.Future[None] | None = None
        """The writer task's wait, when closing, for the outcomes of the batches sent."""
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._compiled: dict[Statement, CompiledStatement] = {}
        self._sqlite: SqliteBatchConnection | None = None
        self.stats = WriterStats()

    @property
    def commits(self) -> int:
        """Number of transactions committed so far (the group-commit counter)."""
        return self.stats.commits

    @property
    def child_pid(self) -> int | None:
        """The process id of the SQLite writer's child (a SQLite file in process mode), else
        ``None``: what to watch for the writer's CPU and I/O."""
        return self._sqlite.child_pid if self._sqlite is not None else None

    @property
    def pending_ops(self) -> int:
        """Ops queued and not yet taken into a batch."""
        return self._queued_ops + len(self._rows)

    @property
    def running(self) -> bool:
        """Whether the writer accepts work."""
        return self._task is not None and not self._closing

    async def start(self) -> None:
        """Start the writer task (and, on a SQLite file, open its own connection in a child process
        or, with ``sqlite_process=False``, a thread).

        The writer owns both; :meth:`aclose` ends them. Raises
        :class:`~opencsms.errors.StorageError` if the SQLite file cannot be opened.
        """
        if self._task is not None:
            raise RuntimeError("writer already started")
        target = sqlite_target(self._engine)
        if target is not None:
            connection = SqliteBatchConnection(
                target,
                process=self._sqlite_process,
                merge_ops=self._max_batch_ops,
                nice=self._sqlite_nice,
            )
            try:
                await connection.open()
            except sqlite3.Error as exc:
                raise StorageError(f"cannot open the SQLite writer connection: {exc}") from exc
            self._sqlite = connection
            _log_writer_priority(connection.child_pid, self._sqlite_nice)
        self._task = asyncio.create_task(self._run(), name="opencsms-group-commit")

    async def aclose(self) -> None:
        """Commit everything submitted so far, then stop. Safe to call twice."""
        self._closing = True
        self._wake()
        try:
            if self._task is not None:
                await self._task
        finally:
            connection, self._sqlite = self._sqlite, None
            if connection is not None:
                await connection.close()

    async def execute(self, *ops: WriteOp) -> None:
        """Return once a transaction containing ``ops`` has committed.

        Raises :class:`~opencsms.errors.StorageError` if they could not be committed. If the caller
        is cancelled the ops are still written: cancellation only stops the waiting.
        """
        if ops:
            await self.submit(*ops)

    def submit(self, *ops: WriteOp) -> asyncio.Future[RowCounts]:
        """:meth:`execute` as a future to await: the same commit, one coroutine less where it
        is awaited directly (every stored meter value). Cancelling the wait does not stop the
        write."""
        future: asyncio.Future[RowCounts] = asyncio.get_running_loop().create_future()
        if ops:
            self._submit(_Submission(ops, future))
        else:
            future.set_result(_UNREAD)
        return future

    async def execute_counted(self, *ops: WriteOp) -> RowCounts:
        """Like :meth:`execute`, and return per op the affected row count of counted statements.

        Ops of non-counted statements report -1 (executemany has no portable per-row count).
        """
        if not ops:
            return []
        future: asyncio.Future[RowCounts] = asyncio.get_running_loop().create_future()
        self._submit(_Submission(ops, future, wants_counts=True))
        return await future

    async def flush(self) -> None:
        """Return once everything submitted before this call has been committed (or has failed).

        The queue is FIFO and a batch commits all it took, so an empty submission is a barrier.
        Readers use it for read-your-writes on data written through :meth:`enqueue`.
        """
        future: asyncio.Future[RowCounts] = asyncio.get_running_loop().create_future()
        self._submit(_Submission((), future))
        await future

    def enqueue(self, *ops: WriteOp) -> None:
        """Put ``ops`` into the next batch without waiting for it (failures are logged only)."""
        if ops:
            self._submit(_Submission(ops, None))

    def enqueue_row(self, statement: Statement, params: Params) -> None:
        """:meth:`enqueue` of one op at a fraction of the cost, for very frequent rows (the audit
        log writes two per station message).

        Rows are collected in a plain list that the next batch takes whole, ahead of the queued
        submissions; so a row is committed no later than anything submitted after it, the same
        guarantee as :meth:`enqueue`.
        """
        if self._closing or self._task is None:
            raise StorageError("the storage writer is not running")
        self._rows.append(WriteOp(statement, params))
        self._wake()

    def _submit(self, submission: _Submission) -> None:
        if self._closing or self._task is None:
            raise StorageError("the storage writer is not running")
        submission.fence = current_fence.get()
        self._queue.append(submission)
        self._queued_ops += len(submission.ops)
        self._wake()

    def _wake(self) -> None:
        idle = self._idle
        if idle is not None and not idle.done():
            idle.set_result(None)

    async def _run(self) -> None:
        try:
            while True:
                if not self._queue and not self._rows:
                    if self._closing:
                        await self._outcomes_in()
                        return
                    self._idle = asyncio.get_running_loop().create_future()
                    try:
                        await self._idle
                    finally:
                        self._idle = None
                    continue
                batch = self._take_batch()
                if self._sqlite is not None:
                    self._hand_over(self._sqlite, batch)
                    await self._sqlite.written()
                else:
                    self._inflight = batch
                    await self._commit_batch(batch)
                    self._inflight = []
        except BaseException as exc:
            # A bug or a cancellation must not leave callers waiting forever.
            self._closing = True
            self._fail_all(exc)
            raise

    async def _outcomes_in(self) -> None:
        """Wait until every batch sent to the SQLite connection has its outcome."""
        if self._sent:
            self._drained = asyncio.get_running_loop().create_future()
            try:
                await self._drained
            finally:
                self._drained = None

    def _take_batch(self) -> list[_Submission]:
        # Submissions are never split: a caller's ops share one transaction, so a submission
        # larger than the cap becomes a batch of its own.
        if self._rows:
            rows, self._rows = tuple(self._rows), []
            batch = [_Submission(rows, None)]
            size = (
                0  # side rows do not count against the cap: they can be neither split nor delayed
            )
        else:
            batch = [self._queue.popleft()]
            size = len(batch[0].ops)
        while self._queue and size + len(self._queue[0].ops) <= self._max_batch_ops:
            submission = self._queue.popleft()
            size += len(submission.ops)
            batch.append(submission)
        self._queued_ops -= size
        return batch

    async def _commit_batch(self, batch: list[_Submission]) -> None:
        self.stats.batches += 1
        try:
            results = await self._transaction(batch)
        except Exception as exc:
            if len(batch) == 1:
                self._settle_failure(batch[0], exc)
                return
            self.stats.failed_batches += 1
            log.warning(
                "group commit of %d submissions failed (%s); retrying one by one", len(batch), exc
            )
            for submission in batch:
                try:
                    single = await self._transaction([submission])
                except Exception as single_exc:
                    self._settle_failure(submission, single_exc)
                else:
                    self._settle(submission, single[0])
            return
        for submission, counts in zip(batch, results, strict=True):
            self._settle(submission, counts)

    def _hand_over(self, connection: SqliteBatchConnection, batch: list[_Submission]) -> None:
        """Send ``batch`` to the SQLite connection; :meth:`_on_outcome` settles it later."""
        self.stats.batches += 1
        groups, owners, slots = _group(batch)
        plan = [
            StatementGroup(self._compile(statement), rows, statement.counted)
            for statement, rows in groups.items()
        ]
        sent = _SentBatch(batch, list(groups), slots)
        self._sent.append(sent)
        try:
            connection.send(
                plan, list(owners.values()), len(batch), partial(self._on_outcome, sent)
            )
        except Exception as exc:
            # Not handed over, so never answered: no child could be started (OSError), or a
            # value does not pickle (a bug in one submission: sent alone, the others still go).
            self._sent.remove(sent)
            if len(batch) > 1 and not isinstance(exc, OSError):
                self.stats.failed_batches += 1
                for submission in batch:
                    self._hand_over(connection, [submission])
                return
            for submission in batch:
                self._settle_failure(submission, exc)

    def _on_outcome(self, sent: _SentBatch, outcome: Outcome | sqlite3.Error) -> None:
        """Settle the callers of a batch the SQLite connection has committed (or failed)."""
        try:
            self._sent.remove(sent)  # the oldest: outcomes come back in the order batches went
        except ValueError:
            return  # the writer stopped and failed it already
        if not self._sent and self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        batch = sent.batch
        if isinstance(outcome, sqlite3.Error):
            # Lost with its writer process: it may or may not have committed (every write is
            # idempotent, so the station's resend is safe).
            for submission in batch:
                self._settle_failure(submission, outcome)
            return
        counts, failures, commits, largest, batch_error = outcome
        self.stats.commits += commits
        self.stats.max_batch_ops = max(self.stats.max_batch_ops, largest)
        if batch_error is not None:
            self.stats.failed_batches += 1
            log.warning(
                "group commit of %d submissions failed (%s); retried one by one",
                len(batch),
                batch_error,
            )
        results: list[RowCounts | None] = [None] * len(batch)
        for statement, group_counts in zip(sent.statements, counts, strict=True):
            for (s_index, o_index), count in zip(
                sent.slots.get(statement, ()), group_counts, strict=True
            ):
                _store_count(results, batch, s_index, o_index, count)
        for s_index, (submission, result) in enumerate(zip(batch, results, strict=True)):
            error = failures.get(s_index)
            if error is None:
                self.stats.ops += len(submission.ops)
                self._settle(submission, result)
            else:
                self._settle_failure(submission, error)

    async def _transaction(self, batch: list[_Submission]) -> list[RowCounts | None]:
        """Run ``batch`` in one engine transaction; return the row counts per submission.

        ``None`` stands for "all -1": most submissions have no counted op, and not building a
        list for each of them keeps the event loop's share of a batch (and GC pressure) small.
        """
        results: list[RowCounts | None] = [None] * len(batch)
        groups, _, slots = _group(batch)
        total = sum(len(submission.ops) for submission in batch)
        async with self._engine.begin() as conn:
            fences = {f for f in (b.fence for b in batch) if f is not None}
            if fences:  # a stale one fails the batch; the one-by-one retry isolates it
                await check_fences(conn, fences)
            for statement, rows in groups.items():
                compiled = self._compile(statement)
                if statement.counted:
                    for (s_index, o_index), params in zip(
                        slots[statement], compiled.arrange(rows), strict=True
                    ):
                        result = await conn.exec_driver_sql(compiled.sql, params)
                        _store_count(results, batch, s_index, o_index, result.rowcount)
                elif len(rows) == 1:
                    await conn.exec_driver_sql(compiled.sql, compiled.arrange(rows)[0])
                else:
                    await conn.exec_driver_sql(compiled.sql, compiled.arrange(rows))
        self.stats.commits += 1
        self.stats.ops += total
        self.stats.max_batch_ops = max(self.stats.max_batch_ops, total)
        return results

    def _compile(self, statement: Statement) -> CompiledStatement:
        compiled = self._compiled.get(statement)
        if compiled is None:
            compiled = statement.compile(self._engine.dialect)
            self._compiled[statement] = compiled
        return compiled

    def _settle(self, submission: _Submission, counts: RowCounts | None) -> None:
        future = submission.future
        if future is not None and not future.done():
            if counts is None:
                counts = [-1] * len(submission.ops) if submission.wants_counts else _UNREAD
            future.set_result(counts)

    def _settle_failure(self, submission: _Submission, exc: BaseException) -> None:
        self.stats.failed_submissions += 1
        names = sorted({op.statement.name for op in submission.ops})
        if submission.future is None:
            self.stats.dropped_ops += len(submission.ops)
            log.error("dropped %d enqueued ops (%s): %s", len(submission.ops), names, exc)
            return
        if not submission.future.done():
            error: StorageError
            if isinstance(exc, StaleLeaseError):  # the caller tells a lost station by its type
                error = StaleLeaseError(f"write refused ({', '.join(names)}): {exc}")
            else:
                error = StorageError(f"write failed ({', '.join(names)}): {_describe(exc)}")
            error.__cause__ = exc
            submission.future.set_exception(error)

    def _fail_all(self, exc: BaseException) -> None:
        # Submissions of an interrupted batch may or may not have committed; their callers get
        # an error either way, which is safe because every write is idempotent (rule 7).
        stranded = [*self._inflight, *(s for sent in self._sent for s in sent.batch), *self._queue]
        self._inflight = []
        self._sent.clear()
        self._queue.clear()
        self._rows = []
        for submission in stranded:
            if submission.future is not None and not submission.future.done():
                error = StorageError("the storage writer stopped")
                error.__cause__ = exc
                submission.future.set_exception(error)
        self._queued_ops = 0


_Slots = dict[Statement, list[tuple[int, int]]]
"""Per counted statement, where each row's count goes (submission index, op index)."""


def _group(
    batch: list[_Submission],
) -> tuple[dict[Statement, list[Params]], dict[Statement, list[int]], _Slots]:
    """Per statement, in first-appearance order: its rows, the submission index of each row,
    and, for counted statements, where each row's count goes (submission index, op index)."""
    groups: dict[Statement, list[Params]] = {}
    owners: dict[Statement, list[int]] = {}
    slots: dict[Statement, list[tuple[int, int]]] = {}
    for s_index, submission in enumerate(batch):
        for o_index, (statement, params) in enumerate(submission.ops):
            rows = groups.get(statement)
            if rows is None:
                rows = groups[statement] = []
                owners[statement] = []
            rows.append(params)
            owners[statement].append(s_index)
            if statement.counted:
                slots.setdefault(statement, []).append((s_index, o_index))
    return groups, owners, slots


_UNREAD: RowCounts = []
"""The result of submissions whose caller does not read counts (``execute``, ``flush``)."""


def _store_count(
    results: list[RowCounts | None],
    batch: list[_Submission],
    s_index: int,
    o_index: int,
    count: int,
) -> None:
    counts = results[s_index]
    if counts is None:
        counts = results[s_index] = [-1] * len(batch[s_index].ops)
    counts[o_index] = count


def _log_writer_priority(child_pid: int | None, wanted: int) -> None:
    """Say at which niceness the SQLite writer process runs (raising it may have been refused)."""
    if child_pid is None:
        return
    try:
        nice = os.getpriority(os.PRIO_PROCESS, child_pid)
        own = os.getpriority(os.PRIO_PROCESS, 0)
    except OSError:  # gone already: the next batch starts another
        return
    if wanted < 0 and nice >= own:
        log.info(
            "SQLite writer process %d runs at nice %d, the server's own: raising its priority "
            "(sqlite_writer_nice = %d) needs root or CAP_SYS_NICE",
            child_pid,
            nice,
            wanted,
        )
    else:
        log.info("SQLite writer process %d runs at nice %d", child_pid, nice)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SQLAlchemyError) and getattr(exc, "orig", None) is not None:
        return f"{type(exc.orig).__name__}: {exc.orig}"  # type: ignore[attr-defined]
    return f"{type(exc).__name__}: {exc}"
