"""The code that runs where the group-commit writer's SQLite connection lives.

Standard library only: with the ``process`` writer mode this module is imported by a fresh child
interpreter (:func:`serve` is its main function), which should start fast and share nothing with
the server but the database file. One connection per interpreter (thread or child process), kept
in a module global that the thread mode's executor and :func:`serve` both use.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import socket
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from opencsms.storage.digests import SAMPLES_DIGEST_SQL_FUNCTION, samples_digest

__all__ = [
    "Outcome",
    "Plan",
    "Request",
    "checkpoint_pages",
    "close_connection",
    "configure_sqlite_connection",
    "init_child",
    "open_connection",
    "run_plan",
    "run_requests",
    "serve",
]

SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long a writer waits for another writer's lock before failing (PRAGMA busy_timeout)."""

# Distinct write statements the server uses, with room to spare: the sqlite3 module keeps this
# many prepared statements, so a statement is parsed once per connection, not once per batch.
_STATEMENT_CACHE = 256

Plan = Sequence[tuple[str, Sequence[tuple[Any, ...]], bool]]
"""A batch: per statement group its driver SQL, its rows in bind order, and whether counted."""

Request = tuple[Plan, Sequence[Sequence[int]], int]
"""One batch of the group-commit writer: its plan; per group, per row, the index of the
submission the row belongs to; and the number of submissions. The owners are what lets a batch
that fails be retried here one submission at a time, in order, before any later batch runs."""

Outcome = tuple[list[list[int]], dict[int, BaseException], int, int, BaseException | None]
"""What became of one :data:`Request`: per group, the row count of each row of a counted group
(empty for the others; 0 for rows of failed submissions); the submissions that failed, by index,
with their errors; the transactions committed for it (0 when it shared the transaction of the
request before it); the ops of the largest of them; and, if the batch as a whole failed and was
retried one submission at a time, the error that failed it."""

_PARENT_CHECK_SECONDS = 0.5

_conn: sqlite3.Connection | None = None
_checkpoint_pages = 0
"""The connection's current ``wal_autocheckpoint`` (set again only when a batch changes it)."""

WAL_CHECKPOINT_PAGES = 250
"""The fewest WAL pages (~1 MB) after which the committing writer copies the WAL into the database
file (SQLite's default is 1,000).

The commit that crosses the limit does the checkpoint (a write and an fsync of the database
file), and every acknowledgement waiting for that commit waits for it too. At 2,000 msg/s,
SQLite's 1,000 pages made those stalls the tail of everything (a command round trip's p99 32 ms,
p90 16-18 ms); 250 gave p99 22-28 ms, p90 12.5 ms. A separate checkpoint thread was no better:
the checkpoint's writes then slowed the WAL's own fsyncs (bench/README.md)."""

WAL_CHECKPOINT_PAGES_PER_OP = 8
"""The checkpoint limit grows with the batch: at least this many WAL pages per op of the batch
being committed.

Every station's rows sit in their own leaf pages of the station-keyed indexes, so a batch from
500 stations dirties ~2,000 pages, and the next batch dirties most of the same ones again. A
checkpoint every 250 pages copied each of them once per batch (and read it back from the WAL);
one every few batches copies the latest version once: in a model of that write pattern the
writer's time per message fell by a third, and 1.6 MeterValues at 1,000 stations went from 8.2k
to 8.9k msg/s (bench/README.md). The stall a checkpoint adds stays proportional to the batches
around it, so small batches keep small checkpoints."""


def checkpoint_pages(ops: int) -> int:
    """The WAL size (pages) at which the commit of a batch of ``ops`` ops checkpoints."""
    return max(WAL_CHECKPOINT_PAGES, WAL_CHECKPOINT_PAGES_PER_OP * ops)


WRITER_NICE = -5
"""The writer process's niceness relative to the server's (``sqlite_writer_nice``): every
acknowledgement waits for its commits, so it should get a core as soon as it has work.

It uses a fraction of a core and blocks on fsync and on the next batch, so it cannot starve the
event loop; but at equal priority it waited for a core behind the event loop and any other busy
process a fifth of the time it ran, and every station's round trip waited with it (1.6 MeterValues
at 1,000 stations on 2 cores shared with the load generator: ~7,800 msg/s at equal priority,
~9,100-9,400 at -3 to -10; bench/README.md). Lowering a niceness needs root or CAP_SYS_NICE;
without it the child stays at the server's (the server logs which it got)."""

WRITER_CACHE_KIB = 65_536
"""Page cache of the writer connection (SQLite's default is 2 MiB)."""


def configure_sqlite_connection(dbapi_connection: Any) -> None:
    """Apply OpenCSMS's SQLite settings to a DB-API (``sqlite3``-like) connection.

    WAL, ``synchronous=FULL`` (a station's message is acknowledged only once it is durable),
    :data:`SQLITE_BUSY_TIMEOUT_MS`, foreign keys, and the SQL function the meter-value insert
    computes its identity digest with (``digests.SAMPLES_DIGEST_SQL_FUNCTION``). Used for every
    pooled connection and for the group-commit writer's own connection.
    """
    # journal_mode persists in the file, the rest is per-connection state.
    dbapi_connection.create_function(
        SAMPLES_DIGEST_SQL_FUNCTION, 1, samples_digest, deterministic=True
    )
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def open_connection(database: str, uri: bool) -> None:
    """Open this interpreter's writer connection (isolation_level=None: we issue BEGIN/COMMIT)."""
    global _conn, _checkpoint_pages
    conn = sqlite3.connect(
        database,
        uri=uri,
        timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,
        cached_statements=_STATEMENT_CACHE,
        check_same_thread=False,
    )
    try:
        configure_sqlite_connection(conn)
        conn.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        conn.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
    except BaseException:
        conn.close()
        raise
    _conn, _checkpoint_pages = conn, WAL_CHECKPOINT_PAGES


def init_child(database: str, uri: bool, parent_pid: int, nice: int = 0) -> None:
    """Initializer of the writer's child process: survive the parent's signals, die with it.

    A terminal's Ctrl-C (and a service manager's SIGTERM to the control group) reaches every process
    of the group; the child must not die before its parent has committed the last batch, so it
    ignores both and is ended by the parent closing it. If the parent itself dies (SIGKILL, crash),
    nothing would close the child: a watchdog thread notices the re-parenting and exits.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if nice:
        # an unprivileged server may not raise it: the child keeps its niceness (the parent logs it)
        with contextlib.suppress(PermissionError):
            os.nice(nice)
    threading.Thread(
        target=_exit_with_parent, args=(parent_pid,), name="parent-watchdog", daemon=True
    ).start()
    open_connection(database, uri)


def _exit_with_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(_PARENT_CHECK_SECONDS)
    os._exit(0)


HEADER = 8
"""Bytes of the big-endian length that precedes every pickled message on the writer socket."""


def frame(message: Any) -> bytes:
    """``message`` pickled, behind its length: what crosses the writer's socket."""
    body = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    return len(body).to_bytes(HEADER) + body


def _receive(sock: socket.socket) -> Any:
    """The next message from ``sock``; ``EOFError`` when the parent has closed it."""
    size = int.from_bytes(_read_exact(sock, HEADER))
    return pickle.loads(_read_exact(sock, size))


def _started(sock: socket.socket) -> bool:
    """Whether the parent has begun writing another message (without waiting for one)."""
    try:
        return bool(sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except BlockingIOError:
        return False


def _read_exact(sock: socket.socket, size: int) -> bytes:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        count = sock.recv_into(view[got:])
        if count == 0:
            raise EOFError("the server closed the writer socket")
        got += count
    return bytes(buffer)


def serve(
    sock: socket.socket,
    database: str,
    uri: bool,
    parent_pid: int,
    merge_ops: int = 0,
    nice: int = 0,
) -> None:
    """Main function of the writer's child process (``sqlite_child.WriterProcess``): answer
    requests from ``sock`` in order until ``close`` or the parent closes its end.

    A request is the framed ``(operation, argument)``; the answer ``(True, result)`` or
    ``(False, exception)``, one per request, in request order. An open that failed is reported
    to every request but ``close``.

    The parent sends the next batch without waiting for the answer to the last one. Batches that
    are already here when a commit ends are committed together (up to ``merge_ops`` ops, and at
    least one batch): the child never waits for the parent between commits, and several batches
    cost one fsync (:func:`run_requests`).
    """
    open_error: BaseException | None = None
    try:
        init_child(database, uri, parent_pid, nice)
    except Exception as exc:
        open_error = exc
    sock.setblocking(True)
    waiting: deque[tuple[str, Any]] = deque()
    with sock:
        while True:
            try:
                if not waiting:
                    waiting.append(_receive(sock))
                while _started(sock):
                    waiting.append(_receive(sock))
            except (EOFError, OSError):
                return
            operation, argument = waiting.popleft()
            if operation == "run" and open_error is None:
                requests = [argument]
                ops = _plan_ops(argument[0])
                while waiting and waiting[0][0] == "run":
                    size = _plan_ops(waiting[0][1][0])
                    if ops + size > merge_ops:
                        break
                    requests.append(waiting.popleft()[1])
                    ops += size
                answer = b"".join(map(_framed_outcome, run_requests(requests)))
            else:
                answer = _answer(operation, argument, open_error)
            sock.sendall(answer)
            if operation == "close":
                return


def _plan_ops(plan: Plan) -> int:
    return sum(len(rows) for _, rows, _ in plan)


def _answer(operation: str, argument: Any, open_error: BaseException | None) -> bytes:
    try:
        if operation == "close":
            close_connection()
            result: Any = None
        elif open_error is not None:
            raise sqlite3.OperationalError(
                f"the writer process could not open the database: {open_error}"
            )
        elif operation == "ping":
            result = ping()
        else:
            raise ValueError(f"unknown writer operation {operation!r}")
        return frame((True, result))
    except BaseException as exc:
        return _framed_failure(exc)


def _framed_outcome(outcome: Outcome) -> bytes:
    try:
        return frame((True, outcome))
    except Exception:  # an error that does not pickle still reaches the parent, as text
        counts, failures, commits, largest, batch_error = outcome
        return frame(
            (
                True,
                (
                    counts,
                    {index: _portable(exc) for index, exc in failures.items()},
                    commits,
                    largest,
                    None if batch_error is None else _portable(batch_error),
                ),
            )
        )


def _portable(exc: BaseException) -> BaseException:
    try:
        pickle.dumps(exc)
    except Exception:
        return sqlite3.OperationalError(repr(exc))
    return exc


def _framed_failure(exc: BaseException) -> bytes:
    try:
        return frame((False, exc))
    except Exception:  # an exception that does not pickle still reaches the parent, as text
        return frame((False, sqlite3.OperationalError(repr(exc))))


def close_connection() -> None:
    global _conn
    conn, _conn = _conn, None
    if conn is not None:
        conn.close()


def ping() -> bool:
    """Round trip used to make a child process start (and report a failed open) eagerly."""
    return _conn is not None


def run_requests(requests: Sequence[Request]) -> list[Outcome]:
    """Commit ``requests`` in one transaction, each request's groups in turn; their outcomes.

    If that fails, each request runs in a transaction of its own, and a request that fails alone
    is retried one submission at a time, each in its own transaction: one bad op fails only its
    own submission. Everything happens here, in request order, before the next request runs, so
    a retried submission never lands after a write submitted later.
    """
    if len(requests) > 1:
        plan = [group for request in requests for group in request[0]]
        try:
            counts = run_plan(plan)
        except Exception:
            pass  # some request fails: find it by running them one at a time
        else:
            outcomes: list[Outcome] = []
            largest = _plan_ops(plan)
            start = 0
            for index, (request_plan, _, _) in enumerate(requests):
                end = start + len(request_plan)
                # the first request carries the shared transaction in the statistics
                shared = (1, largest) if index == 0 else (0, 0)
                outcomes.append((counts[start:end], {}, *shared, None))
                start = end
            return outcomes
    return [_run_request(request) for request in requests]


def _run_request(request: Request) -> Outcome:
    plan, owners, submissions = request
    try:
        return run_plan(plan), {}, 1, _plan_ops(plan), None
    except Exception as exc:
        if submissions <= 1:
            return [[] for _ in plan], {0: exc}, 0, 0, None
        batch_error = exc
    counts: list[list[int]] = [[0] * len(rows) if counted else [] for _, rows, counted in plan]
    failures: dict[int, BaseException] = {}
    commits = largest = 0
    # per submission: for each group it has rows in (in group order), where they sit in it
    places: list[dict[int, list[int]]] = [{} for _ in range(submissions)]
    for group, group_owners in enumerate(owners):
        for row, owner in enumerate(group_owners):
            places[owner].setdefault(group, []).append(row)
    for submission, own in enumerate(places):
        if not own:
            continue  # nothing to write (a flush barrier)
        own_plan = [
            (plan[group][0], [plan[group][1][row] for row in at], plan[group][2])
            for group, at in own.items()
        ]
        try:
            own_counts = run_plan(own_plan)
        except Exception as exc:
            failures[submission] = exc
            continue
        commits += 1
        largest = max(largest, _plan_ops(own_plan))
        for (group, at), group_counts in zip(own.items(), own_counts, strict=True):
            for row, count in zip(at, group_counts, strict=False):  # counted groups only
                counts[group][row] = count
    return counts, failures, commits, largest, batch_error


def run_plan(plan: Plan) -> list[list[int]]:
    """Commit ``plan`` in one ``BEGIN IMMEDIATE`` … ``COMMIT``; on error roll back and re-raise.

    Returns, per group, the row count of each op of a counted group (empty for the others).
    """
    global _checkpoint_pages
    conn = _conn
    if conn is None:
        raise sqlite3.ProgrammingError("the writer connection is closed")
    cursor = conn.cursor()
    try:
        pages = checkpoint_pages(_plan_ops(plan))
        if pages != _checkpoint_pages:
            cursor.execute(f"PRAGMA wal_autocheckpoint={pages}")
            _checkpoint_pages = pages
        cursor.execute("BEGIN IMMEDIATE")
        counts: list[list[int]] = []
        for sql, rows, counted in plan:
            if counted:
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
