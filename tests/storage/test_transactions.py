"""Contract tests of transactions: id allocation, resends, upserts, queries (both backends)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from opencsms.domain.model import MeterValueRecord, TransactionEventRecord
from opencsms.domain.transaction_model import StopSource, Transaction, TransactionStatus
from opencsms.storage import Storage

from .conftest import T0


def session(pk: int, origin: str, **fields: object) -> Transaction:
    values: dict[str, object] = {
        "id": pk,
        "station_id": "CP-1",
        "ocpp_version": "1.6",
        "transaction_id": str(pk),
        "origin_key": origin,
        "evse_id": 1,
        "connector_id": 1,
        "id_token": "Tag",
        "token_key": "tag",
        "auth_status": "Accepted",
        "started_at": T0,
        "meter_start_wh": 100.0,
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(fields)
    return Transaction(**values)  # type: ignore[arg-type]


def sample(tx: str, minutes: int, samples: str = '[{"value": "1"}]') -> MeterValueRecord:
    return MeterValueRecord("CP-1", 1, 1, tx, T0 + timedelta(minutes=minutes), samples, None, T0)


async def test_ids_are_allocated_in_order_and_a_resend_finds_its_row(storage: Storage) -> None:
    first, fresh = await storage.transactions.create(lambda pk: session(pk, "start-a"))
    second, _ = await storage.transactions.create(lambda pk: session(pk, "start-b"))
    again, fresh_again = await storage.transactions.create(lambda pk: session(pk, "start-a"))
    assert (first.id, second.id, fresh) == (1, 2, True)
    assert (again, fresh_again) == (first, False)
    assert await storage.transactions.get(1) == first


async def test_an_id_taken_elsewhere_is_skipped(storage: Storage) -> None:
    await storage.transactions.create(lambda pk: session(pk, "mine"))
    # Another node (same database) took number 2 meanwhile.
    await storage.transactions.save(session(2, "theirs", station_id="CP-9"))
    created, fresh = await storage.transactions.create(lambda pk: session(pk, "next"))
    assert fresh
    assert created.id > 2  # 3 on SQLite; on PostgreSQL the start of a fresh id block


async def test_counter_continues_after_a_restart(storage: Storage) -> None:
    await storage.transactions.save(session(41, "old"))
    storage.transactions.reseed()
    created, _ = await storage.transactions.create(lambda pk: session(pk, "new"))
    assert created.id == 42


async def test_save_upserts_and_reports_resent_events(storage: Storage) -> None:
    tx = session(7, "tx|A", ocpp_version="2.0.1", transaction_id="A")
    event = TransactionEventRecord("CP-1", "A", 0, "Started", "Authorized", T0, False, "{}", T0)
    assert await storage.transactions.save(tx, event=event, meter_values=[sample("A", 0)])
    assert not await storage.transactions.save(tx, event=event, meter_values=[sample("A", 0)])
    done = replace(
        tx,
        status=TransactionStatus.COMPLETED,
        stop_source=StopSource.STATION,
        stopped_at=T0 + timedelta(hours=1),
        energy_wh=12.5,
        offline=True,
    )
    await storage.transactions.save(done)
    assert await storage.transactions.get(7) == done
    assert len(await storage.meter.for_transaction("CP-1", "A")) == 1
    assert [e.seq_no for e in await storage.transactions.events_for("CP-1", "A")] == [0]


async def test_queries(storage: Storage) -> None:
    await storage.transactions.save(
        session(1, "a"),
        session(2, "b", evse_id=2),
        session(3, "c", auth_status="Invalid"),
        session(4, "d", status=TransactionStatus.COMPLETED),
        session(5, "e", station_id="CP-2"),
    )
    assert [t.id for t in await storage.transactions.open_for_station("CP-1")] == [1, 2, 3]
    assert await storage.transactions.stations_with_open() == {"CP-1", "CP-2"}
    assert await storage.transactions.count_open_for_token("tag", exclude_id=None) == 3
    assert await storage.transactions.count_open_for_token("tag", exclude_id=2) == 2
    assert await storage.transactions.count(status="Active") == 4
    assert await storage.transactions.count(station_id="CP-1", status="Completed") == 1
    newest = await storage.transactions.list(newest_first=True, limit=2)
    assert [t.id for t in newest] == [5, 4]
    every = [t.id async for t in storage.transactions.iterate(station_id="CP-1", page=2)]
    assert every == [1, 2, 3, 4]


async def test_samples_of_one_transaction_in_time_order(storage: Storage) -> None:
    await storage.meter.add([sample("9", 5), sample("9", 1), sample("8", 3), sample("", 2)])
    found = await storage.meter.for_transaction("CP-1", "9")
    assert [r.timestamp for r in found] == [T0 + timedelta(minutes=1), T0 + timedelta(minutes=5)]
