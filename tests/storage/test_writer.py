"""Group commit: batching, failure isolation, flush on close, ordering, compiled statements."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import asyncpg as pg_asyncpg

from opencsms.domain.model import ConnectorStatus, MeterValueRecord, TransactionEventRecord
from opencsms.errors import StorageError
from opencsms.storage import GroupCommitWriter, Storage, sqlite_worker
from opencsms.storage.db import create_engine
from opencsms.storage.repositories import meter, transactions
from opencsms.storage.sqlite_batch import SqliteBatchConnection, sqlite_target
from opencsms.storage.statements import Statement, WriteOp
from opencsms.storage.tables import meter_values, stations, transaction_events

from .conftest import T0

# Omits NOT NULL columns: every execution fails with an integrity error.
BAD = Statement("test.bad", ("id",), lambda _d: insert(stations).values(id=bindparam("id")))


def reading(n: int, station_id: str = "CP-1") -> MeterValueRecord:
    return MeterValueRecord(
        station_id=station_id,
        evse_id=1,
        connector_id=1,
        transaction_id="t",
        timestamp=T0 + timedelta(seconds=n),
        samples_json="[]",
        context=None,
        received_at=T0,
    )


async def test_concurrent_executes_share_few_transactions(storage: Storage) -> None:
    before = storage.writer.commits
    await asyncio.gather(
        *(
            storage.status.record(ConnectorStatus(f"CP-{n}", 1, 1, "Available", received_at=T0))
            for n in range(300)
        )
    )
    commits = storage.writer.commits - before
    assert 1 <= commits <= 3, commits
    assert storage.writer.stats.max_batch_ops >= 200
    assert len(await storage.status.history("CP-299")) == 1


async def test_batches_respect_the_cap(db_url: str) -> None:
    store = await Storage.open(db_url, max_batch_ops=10)
    try:
        base = store.writer.commits
        await asyncio.gather(*(store.meter.add([reading(n, f"cap-{n}")]) for n in range(35)))
        assert store.writer.commits - base >= 4
        assert store.writer.stats.max_batch_ops <= 10
        # A submission bigger than the cap is not split: it is one transaction of its own.
        await store.meter.add([reading(n, "big") for n in range(25)])
        assert store.writer.stats.max_batch_ops == 25
        assert len(await store.meter.for_station("big", limit=100)) == 25
    finally:
        await store.aclose()


async def test_one_bad_op_fails_only_its_caller(storage: Storage) -> None:
    async def good(n: int) -> None:
        await storage.meter.add([reading(n)])

    results = await asyncio.gather(
        *(good(n) for n in range(20)),
        storage.writer.execute(WriteOp(BAD, ("x",))),
        *(good(n) for n in range(20, 40)),
        return_exceptions=True,
    )
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1
    assert isinstance(errors[0], StorageError)
    assert "test.bad" in str(errors[0])
    assert results[20] is errors[0]
    assert storage.writer.stats.failed_batches == 1
    assert storage.writer.stats.failed_submissions == 1
    assert len(await storage.meter.for_station("CP-1", limit=100)) == 40


async def test_failed_enqueued_op_is_dropped_and_counted(storage: Storage) -> None:
    storage.writer.enqueue(WriteOp(BAD, ("y",)))
    await storage.meter.add([reading(1)])
    assert storage.writer.stats.dropped_ops == 1
    assert len(await storage.meter.for_station("CP-1", limit=10)) == 1


async def test_a_callers_ops_commit_together_or_not_at_all(storage: Storage) -> None:
    meter_op = _meter_op(storage, reading(5))
    with pytest.raises(StorageError):
        await storage.writer.execute(meter_op, WriteOp(BAD, ("z",)))
    assert await storage.meter.for_station("CP-1", limit=10) == []


def _meter_op(storage: Storage, record: MeterValueRecord) -> WriteOp:
    """The op MeterRepository.add builds, for tests that drive the writer directly."""
    [op] = storage.meter.ops([record])
    assert op.statement is meter._INSERT
    return op


async def test_execute_before_start_and_after_close(storage: Storage) -> None:
    idle = GroupCommitWriter(storage.engine)
    with pytest.raises(StorageError):
        await idle.execute(_meter_op(storage, reading(1)))
    await idle.start()
    await idle.execute(_meter_op(storage, reading(1)))
    await idle.aclose()
    await idle.aclose()  # twice is fine
    with pytest.raises(StorageError):
        idle.enqueue(_meter_op(storage, reading(2)))
    assert idle.commits == 1


async def test_cancelled_caller_still_gets_its_write(storage: Storage) -> None:
    task = asyncio.create_task(storage.meter.add([reading(7)]))
    await asyncio.sleep(0)  # let the task submit (a scheduling step, not a timing wait)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await storage.writer.aclose()
    async with storage.engine.connect() as conn:
        rows = (await conn.execute(select(meter_values.c.station_id))).all()
    assert len(rows) == 1


def test_statement_compiles_per_dialect_with_reordered_params() -> None:
    swapped = Statement(
        "test.swapped",
        ("b", "a"),
        lambda _d: insert(stations).values(id=bindparam("a"), password_hash=bindparam("b")),
    )
    lite = swapped.compile(sqlite.dialect(paramstyle="qmark"))
    assert "?" in lite.sql
    assert lite.arrange([("B", "A")]) == [("A", "B")]
    pg_dialect = pg_asyncpg.dialect()  # type: ignore[no-untyped-call]
    pg = swapped.compile(pg_dialect)
    assert "$1" in pg.sql
    assert pg.arrange([("B", "A")]) == [("A", "B")]


def tx_event(seq_no: int, station_id: str = "CP-1") -> TransactionEventRecord:
    return TransactionEventRecord(
        station_id=station_id,
        transaction_id="tx-1",
        seq_no=seq_no,
        event_type="Updated",
        trigger_reason="MeterValuePeriodic",
        timestamp=T0 + timedelta(seconds=seq_no),
        offline=False,
        payload_json="{}",
        received_at=T0,
    )


async def test_many_counted_ops_commit_in_one_transaction(storage: Storage) -> None:
    for seq_no in range(10):  # already stored before the batch
        assert await storage.transactions.add_event(tx_event(seq_no))
    before = storage.writer.commits
    # 0-9 are resends of stored events, 10-49 new, then 40-59: 40-49 resent within the batch.
    seq_nos = [*range(50), *range(40, 60)]
    inserted = await asyncio.gather(*(storage.transactions.add_event(tx_event(n)) for n in seq_nos))
    assert storage.writer.commits - before == 1
    assert inserted == [n >= 10 for n in range(50)] + [n >= 50 for n in range(40, 60)]
    async with storage.engine.connect() as conn:
        rows: list[int] = list(
            (await conn.execute(select(transaction_events.c.seq_no))).scalars().all()
        )
    assert sorted(rows) == list(range(60))


def _tx_op(storage: Storage, record: TransactionEventRecord) -> WriteOp:
    ts = storage.transactions._ts
    return WriteOp(
        transactions._INSERT,
        (
            record.station_id,
            record.transaction_id,
            record.seq_no,
            record.event_type,
            record.trigger_reason,
            ts(record.timestamp),
            record.offline,
            record.payload_json,
            ts(record.received_at),
        ),
    )


async def test_counts_per_op_within_one_submission(storage: Storage) -> None:
    counts = await storage.writer.execute_counted(
        _tx_op(storage, tx_event(1)),
        _meter_op(storage, reading(1)),
        _tx_op(storage, tx_event(1)),  # the same event twice in one transaction
        _tx_op(storage, tx_event(2)),
    )
    assert counts == [1, -1, 0, 1]
    assert await storage.writer.execute_counted(_meter_op(storage, reading(2))) == [-1]


# SQLAlchemy warns that it picks StaticPool for mode=memory by itself; that is not under test.
@pytest.mark.filterwarnings("ignore:Selection of the StaticPool")
@pytest.mark.parametrize(
    ("url", "file_backed"),
    [
        ("sqlite:///x.db", True),
        ("sqlite:///file:x.db?uri=true", True),
        ("sqlite://", False),
        ("sqlite:///:memory:", False),
        ("sqlite:///file:mem?mode=memory&uri=true", False),
        ("postgresql://u@h/db", False),
    ],
)
async def test_which_urls_get_a_writer_connection_of_their_own(url: str, file_backed: bool) -> None:
    engine = create_engine(url)
    try:
        assert (sqlite_target(engine) is not None) is file_backed
    finally:
        await engine.dispose()


async def test_in_memory_sqlite_falls_back_to_the_engine() -> None:
    store = await Storage.open("sqlite://")
    try:
        await store.meter.add([reading(1)])
        assert await store.transactions.add_event(tx_event(1))
        assert not await store.transactions.add_event(tx_event(1))
        assert len(await store.meter.for_station("CP-1", limit=10)) == 1
        assert store.writer.commits == 3
    finally:
        await store.aclose()


async def test_killed_writer_process_fails_its_batch_then_recovers(tmp_path: Path) -> None:
    """A SQLite child killed while it holds batches fails their callers (they may resend: writes
    are idempotent) and a fresh child takes the next batch; nothing committed before is lost."""
    store = await Storage.open(f"sqlite:///{tmp_path / 'kill.db'}")
    try:
        connection, child = await _writing_child(store)
        os.kill(child, signal.SIGSTOP)  # the batch reaches the pipe, the child never answers
        # two batches in flight: the child holds one, the other waits in its socket
        pending = [await _handed_over(store, store.meter.add([_meter_record(s)])) for s in (1, 2)]
        os.kill(child, signal.SIGKILL)
        for lost in pending:
            with pytest.raises(StorageError):
                await lost
        await store.meter.add([_meter_record(1)])  # the resend succeeds on the new child
        assert connection.child_pid not in (None, child)
        await store.meter.add([_meter_record(2)])
        stored = await store.meter.for_station("CS-K", 10)
        assert sorted(r.timestamp.second for r in stored) == [0, 1, 2]
    finally:
        await store.aclose()


async def test_writer_process_killed_while_idle_is_replaced_without_a_failure(
    tmp_path: Path,
) -> None:
    """A child that dies between batches held nothing: the next batch starts a fresh one."""
    store = await Storage.open(f"sqlite:///{tmp_path / 'idle.db'}")
    try:
        connection, child = await _writing_child(store)
        os.kill(child, signal.SIGKILL)
        await _exited(child)
        await store.meter.add([_meter_record(1)])
        assert connection.child_pid not in (None, child)
        stored = await store.meter.for_station("CS-K", 10)
        assert sorted(r.timestamp.second for r in stored) == [0, 1]
    finally:
        await store.aclose()


async def test_batches_that_pile_up_in_the_child_commit_together(tmp_path: Path) -> None:
    """The writer hands each batch over without waiting for the last commit; batches waiting in
    the child when it is free are one transaction (one fsync), and each caller is answered."""
    store = await Storage.open(f"sqlite:///{tmp_path / 'merge.db'}")
    try:
        _, child = await _writing_child(store)
        commits, batches = store.writer.commits, store.writer.stats.batches
        os.kill(child, signal.SIGSTOP)
        try:
            adds = [
                await _handed_over(store, store.meter.add([_meter_record(s)])) for s in (1, 2, 3)
            ]
        finally:
            os.kill(child, signal.SIGCONT)
        await asyncio.gather(*adds)
        assert store.writer.stats.batches - batches == 3
        assert store.writer.commits - commits == 1
        stored = await store.meter.for_station("CS-K", 10)
        assert sorted(r.timestamp.second for r in stored) == [0, 1, 2, 3]
    finally:
        await store.aclose()


async def test_a_failed_batch_is_retried_before_the_batches_sent_after_it(tmp_path: Path) -> None:
    """A batch that fails is retried one submission at a time in the child, before any batch
    sent after it runs: the bad op fails alone, and a later write of the same row still wins
    (a retry after it would put the older value back)."""
    store = await Storage.open(f"sqlite:///{tmp_path / 'order.db'}")
    try:
        _, child = await _writing_child(store)
        os.kill(child, signal.SIGSTOP)
        try:
            charging = store.status.record(
                ConnectorStatus("CS-O", 1, 1, "Charging", received_at=T0)
            )
            bad = asyncio.ensure_future(store.writer.execute(WriteOp(BAD, ("x",))))
            first = await _handed_over(store, charging)
            available = store.status.record(
                ConnectorStatus("CS-O", 1, 1, "Available", received_at=T0)
            )
            second = await _handed_over(store, available)
        finally:
            os.kill(child, signal.SIGCONT)
        await first
        await second
        with pytest.raises(StorageError, match=r"test\.bad"):
            await bad
        [current] = await store.status.for_station("CS-O")
        assert current.status == "Available"
        assert store.writer.stats.failed_batches == 1
        assert store.writer.stats.failed_submissions == 1
    finally:
        await store.aclose()


async def test_a_value_that_cannot_reach_the_writer_process_fails_only_its_caller(
    tmp_path: Path,
) -> None:
    """A batch that cannot be handed to the child (a value that does not pickle: a bug in one
    caller) is handed over again one submission at a time; the writer keeps running."""
    store = await Storage.open(f"sqlite:///{tmp_path / 'pickle.db'}")
    try:
        await _writing_child(store)
        [op] = store.meter.ops([_meter_record(9)])
        # in place of the samples (on SQLite the digest's slot is not sent: the insert computes it)
        unpicklable = WriteOp(op.statement, (*op.params[:5], lambda: None, *op.params[6:]))
        results = await asyncio.gather(
            store.meter.add([_meter_record(1)]),
            store.writer.execute(unpicklable),
            store.meter.add([_meter_record(2)]),
            return_exceptions=True,
        )
        assert results[0] is None
        assert results[2] is None
        assert isinstance(results[1], StorageError)
        assert "meter_values.insert" in str(results[1])
        await store.meter.add([_meter_record(3)])
        stored = await store.meter.for_station("CS-K", 10)
        assert sorted(r.timestamp.second for r in stored) == [0, 1, 2, 3]
        assert store.writer.stats.failed_submissions == 1
    finally:
        await store.aclose()


async def _handed_over(store: Storage, write: Awaitable[None]) -> asyncio.Future[None]:
    """Start ``write`` and return it once the writer has sent its batch to the child."""
    connection = store.writer._sqlite
    assert connection is not None
    assert connection._child is not None
    before = connection._child.in_flight
    started = asyncio.ensure_future(write)
    for _ in range(100):
        if connection._child.in_flight > before:
            return started
        await asyncio.sleep(0)
    raise AssertionError("the writer did not send the batch")


async def _writing_child(store: Storage) -> tuple[SqliteBatchConnection, int]:
    """Commit a first record (second 0) and return the writer's connection and child pid."""
    await store.meter.add([_meter_record(0)])
    connection = store.writer._sqlite
    assert connection is not None
    child = connection.child_pid
    assert child is not None
    return connection, child


async def _exited(pid: int) -> None:
    """Wait until process ``pid`` has ended (a pidfd turns readable; Linux)."""
    pidfd = os.pidfd_open(pid)
    loop = asyncio.get_running_loop()
    ended = loop.create_future()
    loop.add_reader(pidfd, lambda: ended.done() or ended.set_result(None))
    try:
        async with asyncio.timeout(10):
            await ended
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)


def _meter_record(second: int) -> MeterValueRecord:
    return MeterValueRecord(
        station_id="CS-K",
        evse_id=1,
        connector_id=1,
        transaction_id=None,
        timestamp=T0.replace(second=second),
        samples_json="[]",
        context=None,
        received_at=T0,
    )


def test_the_checkpoint_limit_follows_the_batch_size(tmp_path: Path) -> None:
    """Small batches checkpoint every WAL_CHECKPOINT_PAGES pages (a checkpoint stalls every
    acknowledgement waiting on its commit); a big batch raises the limit to a few batches' worth
    of pages, so index pages rewritten by consecutive batches are copied once, and a small batch
    after it brings the limit back down."""
    sqlite_worker.open_connection(str(tmp_path / "wal.db"), False)
    try:
        connection = sqlite_worker._conn
        assert connection is not None
        connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        insert_row = "INSERT INTO t (v) VALUES (?)"

        def limit_after(rows: int) -> int:
            sqlite_worker.run_plan([(insert_row, [("x",)] * rows, False)])
            [(pages,)] = connection.execute("PRAGMA wal_autocheckpoint").fetchall()
            return int(pages)

        assert limit_after(3) == sqlite_worker.WAL_CHECKPOINT_PAGES == 250
        assert limit_after(1_500) == 1_500 * sqlite_worker.WAL_CHECKPOINT_PAGES_PER_OP
        assert limit_after(10) == 250
        [(count,)] = connection.execute("SELECT count(*) FROM t").fetchall()
        assert count == 1_513
    finally:
        sqlite_worker.close_connection()
