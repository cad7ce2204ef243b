"""Fleet events over the wire: published after storage, in order, to bounded subscribers."""

from __future__ import annotations

from opencsms.app import Csms
from opencsms.domain.fleet_events import (
    BootReported,
    FleetEvent,
    FleetEvents,
    MeterValuesStored,
    StationConnected,
    StationDisconnected,
    StatusChanged,
    Subscription,
    TransactionChanged,
)
from opencsms.domain.stations import StationSpec
from tests.handlers.builders import (
    add_token,
    booted,
    meter_16,
    register_201,
    start_16,
    stop_16,
    tx_event,
)
from tests.wire import raw_station


async def _until(events: Subscription, kind: type[FleetEvent]) -> FleetEvent:
    while True:
        event = await events.get()
        if isinstance(event, kind):
            return event


async def test_a_16_session_is_published_after_it_is_stored(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CP1"))
    await add_token(csms, "TAG-1")
    with csms.events.subscription() as events:
        async with raw_station(csms, "CP1") as cp:
            await booted(cp, "ocpp1.6")
            connected = await _until(events, StationConnected)
            assert isinstance(connected, StationConnected)
            assert (connected.station_id, connected.ocpp_version) == ("CP1", "1.6")
            boot = await _until(events, BootReported)
            assert isinstance(boot, BootReported)
            assert boot.status == "Accepted"
            await cp.result(
                "StatusNotification",
                {"connectorId": 1, "errorCode": "NoError", "status": "Charging"},
            )
            status = await _until(events, StatusChanged)
            assert isinstance(status, StatusChanged)
            assert (status.status.evse_id, status.status.status) == (1, "Charging")
            tx_id = (await cp.result("StartTransaction", start_16(meter=1000)))["transactionId"]
            started = await _until(events, TransactionChanged)
            assert isinstance(started, TransactionChanged)
            assert started.started
            assert started.transaction.id == tx_id
            assert started.transaction.open
            # what the event names is already in the store
            assert (await csms.storage.transactions.get(tx_id)) is not None
            await cp.result("MeterValues", meter_16(tx_id, "2026-01-01T10:20:00Z", "2.5", "kWh"))
            sampled = await _until(events, MeterValuesStored)
            assert isinstance(sampled, MeterValuesStored)
            assert sampled.station_id == "CP1"
            assert sampled.records[0].transaction_id == str(tx_id)
            await cp.result("StopTransaction", stop_16(tx_id, meter=5000))
            stopped = await _until(events, TransactionChanged)
            assert isinstance(stopped, TransactionChanged)
            assert not stopped.started
            assert not stopped.transaction.open
            assert stopped.transaction.energy_wh == 4000.0
        gone = await _until(events, StationDisconnected)
        assert isinstance(gone, StationDisconnected)
        assert gone.station_id == "CP1"


async def test_a_resent_transaction_event_is_not_published_twice(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CS1"))
    await add_token(csms, "CARD-1", type="ISO14443")
    with csms.events.subscription(lambda e: isinstance(e, TransactionChanged)) as events:
        async with raw_station(csms, "CS1", "ocpp2.0.1") as cs:
            await booted(cs, "ocpp2.0.1")
            begin = register_201("2026-01-01T10:00:00Z", 1000, context="Transaction.Begin")
            started = tx_event("Started", 0, id_token="CARD-1", state="EVConnected", meter=[begin])
            await cs.result("TransactionEvent", started)
            await cs.result("TransactionEvent", started)  # from the station's offline queue
            first = await events.get()
            assert isinstance(first, TransactionChanged)
            assert first.started
            assert events.pending() == []


def test_a_slow_subscriber_loses_its_oldest_events_not_the_stations_time() -> None:
    hub = FleetEvents()
    assert not hub.listening
    slow = hub.subscribe(size=2)
    for n in range(5):
        hub.publish(StationDisconnected(f"CP{n}", at=None))  # type: ignore[arg-type]
    assert slow.dropped == 3
    assert [e.station_id for e in slow.pending() if isinstance(e, StationDisconnected)] == [
        "CP3",
        "CP4",
    ]
    slow.close()
    assert not hub.listening
