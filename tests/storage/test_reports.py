"""Contract tests of status, meter values, events, transaction events and deviations."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import text

from opencsms.domain.model import (
    ConnectorStatus,
    MeterValueRecord,
    StationEvent,
    TransactionEventRecord,
)
from opencsms.storage import Storage
from opencsms.storage.digests import samples_digest

from .conftest import T0


def status(
    state: str, *, minutes: int | None, evse: int = 1, connector: int = 1, received: int = 0
) -> ConnectorStatus:
    reported = None if minutes is None else T0 + timedelta(minutes=minutes)
    return ConnectorStatus(
        "CP-1",
        evse,
        connector,
        state,
        error_code="NoError",
        reported_at=reported,
        received_at=T0 + timedelta(seconds=received),
    )


async def test_status_current_and_idempotent_history(storage: Storage) -> None:
    await storage.status.record(status("Available", minutes=0))
    await storage.status.record(status("Available", minutes=0))  # resent: same report
    await storage.status.record(status("Charging", minutes=1, received=1))
    await storage.status.record(status("Faulted", minutes=0, evse=0, connector=0, received=2))
    current = await storage.status.for_station("CP-1")
    assert [(s.evse_id, s.connector_id, s.status) for s in current] == [
        (0, 0, "Faulted"),
        (1, 1, "Charging"),
    ]
    history = await storage.status.history("CP-1")
    assert [s.status for s in history] == ["Faulted", "Charging", "Available"]
    assert history[-1] == status("Available", minutes=0)


async def test_older_report_does_not_replace_current_state(storage: Storage) -> None:
    await storage.status.record(status("Charging", minutes=5))
    await storage.status.record(status("Available", minutes=1, received=9))  # offline replay
    (current,) = await storage.status.for_station("CP-1")
    assert current.status == "Charging"
    assert len(await storage.status.history("CP-1")) == 2
    await storage.status.record(status("Finishing", minutes=None, received=10))  # 1.6, no time
    (current,) = await storage.status.for_station("CP-1")
    assert current.status == "Finishing"
    assert current.reported_at is None


async def test_reports_without_timestamp_are_all_kept(storage: Storage) -> None:
    await storage.status.record(status("Available", minutes=None))
    await storage.status.record(status("Available", minutes=None, received=1))
    assert len(await storage.status.history("CP-1")) == 2


def sample(seconds: int, tx: str | None, value: str = "1") -> MeterValueRecord:
    return MeterValueRecord(
        station_id="CP-1",
        evse_id=1,
        connector_id=1,
        transaction_id=tx,
        timestamp=T0 + timedelta(seconds=seconds),
        samples_json=f'[{{"value":"{value}"}}]',
        context="Sample.Periodic",
        received_at=T0 + timedelta(seconds=seconds + 1),
    )


async def test_meter_values_are_idempotent_with_and_without_transaction(storage: Storage) -> None:
    batch = [sample(0, None), sample(0, "42"), sample(10, "42")]
    await storage.meter.add(batch)
    await storage.meter.add([sample(0, None), sample(10, "42")])  # resends: the same content
    stored = await storage.meter.for_station("CP-1", limit=10)
    assert len(stored) == 3
    assert stored[0] == sample(10, "42")  # newest first
    assert {r.transaction_id for r in stored} == {None, "42"}
    assert sample(0, None) in stored


async def test_every_writer_stores_the_same_digest_so_a_resend_is_known_across_them(
    storage: Storage,
) -> None:
    """On SQLite the insert computes the content digest itself (an SQL function); PostgreSQL gets
    it from Python. Both must store exactly :func:`samples_digest`: rows written before the SQL
    function existed, or by the other writer mode, carry it, and a resend must match them."""
    samples = '[{"value":"7","measurand":"Power.Active.Import","unit":"kW"}]'
    record = replace(sample(5, "77"), samples_json=samples)
    await storage.meter.add([record])
    async with storage.engine.connect() as conn:
        stored = (
            await conn.execute(text("SELECT samples, samples_digest FROM meter_values"))
        ).all()
    assert [tuple(row) for row in stored] == [(samples, samples_digest(samples))]
    # a row stored with that digest by another writer is what a resend meets
    await storage.meter.add([record])
    assert len(await storage.meter.for_transaction("CP-1", "77")) == 1


async def test_different_readings_with_one_timestamp_are_all_kept(storage: Storage) -> None:
    """A clock-aligned and a periodic sample in the same second, or measurands split over two
    meterValue elements, share a timestamp: both are readings, neither may be dropped."""
    periodic = sample(0, "42", "1000")
    aligned = replace(periodic, samples_json='[{"value":"1000","context":"Sample.Clock"}]')
    await storage.meter.add([periodic, aligned])
    await storage.meter.add([aligned, periodic])  # and resending them changes nothing
    stored = await storage.meter.for_transaction("CP-1", "42")
    assert sorted(r.samples_json for r in stored) == sorted(
        [periodic.samples_json, aligned.samples_json]
    )


async def test_meter_for_station_limit(storage: Storage) -> None:
    await storage.meter.add([sample(s, "1") for s in range(5)])
    assert [r.timestamp for r in await storage.meter.for_station("CP-1", limit=2)] == [
        T0 + timedelta(seconds=4),
        T0 + timedelta(seconds=3),
    ]


async def test_newest_samples_of_a_station_span_its_sessions_and_the_gaps(
    storage: Storage,
) -> None:
    """The table's one index leads with the session (migration 0020): a station's newest samples
    still come newest first across sessions, samples outside any session and other stations,
    and a session's series is still its own."""
    other = replace(sample(99, "A"), station_id="CP-2")
    series = {"A": [0, 30, 60], "B": [20, 50, 80], None: [10, 40, 70, 90]}
    await storage.meter.add([other])
    for tx, seconds in series.items():
        await storage.meter.add([sample(s, tx, str(s)) for s in seconds])
    newest = await storage.meter.for_station("CP-1", limit=5)
    assert [(r.timestamp, r.transaction_id) for r in newest] == [
        (T0 + timedelta(seconds=90), None),
        (T0 + timedelta(seconds=80), "B"),
        (T0 + timedelta(seconds=70), None),
        (T0 + timedelta(seconds=60), "A"),
        (T0 + timedelta(seconds=50), "B"),
    ]
    assert newest[0] == sample(90, None, "90")
    assert len(await storage.meter.for_station("CP-1", limit=1_000)) == 10
    assert await storage.meter.for_station("CP-3") == []
    session = await storage.meter.for_transaction("CP-1", "B")
    assert [r.timestamp for r in session] == [T0 + timedelta(seconds=s) for s in (20, 50, 80)]


def event(event_id: int, seconds: int, *, cleared: bool | None = None) -> StationEvent:
    return StationEvent(
        station_id="CP-1",
        event_id=event_id,
        timestamp=T0 + timedelta(seconds=seconds),
        trigger="Delta",
        event_type="Alerting",
        component_json='{"name":"EVSE","evse":{"id":1}}',
        variable_json='{"name":"AvailabilityState"}',
        actual_value="Faulted",
        tech_code="E12",
        cleared=cleared,
        transaction_id=None,
        variable_monitoring_id=7,
        received_at=T0,
    )


async def test_events_idempotent_and_newest_first(storage: Storage) -> None:
    await storage.events.add([event(1, 0), event(2, 5, cleared=True)])
    await storage.events.add([event(2, 5, cleared=True), event(3, 9, cleared=False)])
    stored = await storage.events.for_station("CP-1", limit=10)
    assert [e.event_id for e in stored] == [3, 2, 1]
    assert stored[1] == event(2, 5, cleared=True)
    assert stored[2].cleared is None


def tx_event(seq: int, *, kind: str = "Updated", offline: bool = False) -> TransactionEventRecord:
    return TransactionEventRecord(
        station_id="CP-1",
        transaction_id="tx-1",
        seq_no=seq,
        event_type=kind,
        trigger_reason="MeterValuePeriodic",
        timestamp=T0 + timedelta(seconds=seq),
        offline=offline,
        payload_json=f'{{"seqNo":{seq}}}',
        received_at=T0,
    )


async def test_transaction_events_detect_resends_and_order_by_seq(storage: Storage) -> None:
    assert await storage.transactions.add_event(tx_event(2)) is True
    assert await storage.transactions.add_event(tx_event(0, kind="Started", offline=True)) is True
    assert await storage.transactions.add_event(tx_event(2)) is False
    assert await storage.transactions.add_event(tx_event(1)) is True
    stored = await storage.transactions.events_for("CP-1", "tx-1")
    assert [e.seq_no for e in stored] == [0, 1, 2]
    assert stored[0] == tx_event(0, kind="Started", offline=True)
    assert await storage.transactions.events_for("CP-1", "other") == []


async def test_deviations_aggregate(storage: Storage) -> None:
    first = [("extra_field", "/meterValue/0/foo", "unknown"), ("type", "/connectorId", "str")]
    await storage.deviations.record("CP-1", "MeterValues", first, T0)
    later = T0 + timedelta(hours=1)
    await storage.deviations.record(
        "CP-1",
        "MeterValues",
        [("type", "/connectorId", "str again"), ("type", "/connectorId", "twice")],
        later,
    )
    found = {(d.kind, d.path): d for d in await storage.deviations.for_station("CP-1")}
    assert set(found) == {("extra_field", "/meterValue/0/foo"), ("type", "/connectorId")}
    typed = found[("type", "/connectorId")]
    assert (typed.count, typed.first_seen, typed.last_seen, typed.detail) == (
        3,
        T0,
        later,
        "twice",
    )
    assert found[("extra_field", "/meterValue/0/foo")].count == 1
