"""The 2.0.1 transaction fold (apply_event): any arrival order gives the seqNo-order result."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from opencsms.domain.transaction_model import (
    StopSource,
    Transaction,
    TransactionStatus,
    TxEvent,
    apply_event,
    evolve,
)

T0 = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)


def empty() -> Transaction:
    return Transaction(
        id=1,
        station_id="CS",
        ocpp_version="2.0.1",
        transaction_id="A",
        origin_key="tx|A",
        created_at=T0,
        updated_at=T0,
    )


EVENTS = [
    TxEvent(
        "A",
        0,
        "Started",
        "Authorized",
        T0,
        evse_id=1,
        connector_id=1,
        id_token="Card",
        id_token_type="ISO14443",
        charging_state="EVConnected",
    ),
    TxEvent(
        "A",
        2,
        "Updated",
        "ChargingStateChanged",
        T0 + timedelta(minutes=1),
        charging_state="Charging",
    ),
    TxEvent("A", 5, "Updated", "MeterValuePeriodic", T0 + timedelta(minutes=30), offline=True),
    TxEvent(
        "A",
        6,
        "Updated",
        "ChargingStateChanged",
        T0 + timedelta(minutes=50),
        charging_state="SuspendedEV",
        remote_start_id=9,
    ),
    TxEvent(
        "A",
        9,
        "Ended",
        "StopAuthorized",
        T0 + timedelta(hours=1),
        id_token="Boss",
        stopped_reason="MasterPass",
    ),
]


def fold(events: list[TxEvent]) -> Transaction:
    tx = empty()
    for event in events:
        auth = "Accepted" if event.id_token and not event.stops else None
        tx = apply_event(tx, event, auth_status=auth, group_id=None, now=T0)
    return tx


def test_every_arrival_order_gives_the_same_record() -> None:
    expected = fold(EVENTS)
    assert expected.status is TransactionStatus.COMPLETED
    assert expected.stop_source is StopSource.STATION
    assert (expected.started_at, expected.stopped_at) == (T0, T0 + timedelta(hours=1))
    assert (expected.charging_state, expected.trigger_reason) == ("SuspendedEV", "StopAuthorized")
    assert (expected.id_token, expected.token_key, expected.stop_id_token) == (
        "Card",
        "card",
        "Boss",
    )
    assert (expected.auth_status, expected.stop_reason) == ("Accepted", "MasterPass")
    assert (expected.evse_id, expected.connector_id, expected.remote_start_id) == (1, 1, 9)
    assert (expected.first_seq_no, expected.last_seq_no, expected.offline) == (0, 9, True)
    for order in itertools.permutations(EVENTS):
        assert fold(list(order)) == expected, [e.seq_no for e in order]


def test_applying_an_event_twice_changes_nothing() -> None:
    once = fold(EVENTS[:3])
    assert fold([*EVENTS[:3], EVENTS[1], EVENTS[0]]) == once


def test_a_station_stop_replaces_a_csms_inferred_one() -> None:
    inferred = Transaction(
        id=1,
        station_id="CS",
        ocpp_version="2.0.1",
        transaction_id="A",
        origin_key="tx|A",
        status=TransactionStatus.COMPLETED,
        stop_source=StopSource.CSMS,
        stop_reason="Reboot",
        created_at=T0,
        updated_at=T0,
    )
    late_update = apply_event(inferred, EVENTS[2], auth_status=None, group_id=None, now=T0)
    assert (late_update.status, late_update.stop_reason) == (TransactionStatus.COMPLETED, "Reboot")
    ended = apply_event(late_update, EVENTS[4], auth_status=None, group_id=None, now=T0)
    assert (ended.stop_source, ended.stop_reason) == (StopSource.STATION, "MasterPass")


def test_evolve_is_dataclasses_replace() -> None:
    """The hot path's copy-with-changes gives what ``dataclasses.replace`` gives, leaves the
    original as it was, and refuses a field the record does not have."""
    current = empty()
    changes = {"updated_at": T0 + timedelta(minutes=1), "last_seq_no": 4, "energy_wh": 12.5}
    evolved = evolve(current, changes)
    assert evolved == dataclasses.replace(current, **changes)  # type: ignore[arg-type]
    assert current == empty()
    with pytest.raises(AttributeError):
        evolve(current, {"no_such_field": 1})
