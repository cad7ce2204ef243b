"""The load generator's payloads must be valid against the official OCPP JSON schemas.

Run with ``.venv/bin/pytest bench/tests`` (bench is outside the main ``tests/`` tree).
"""

from __future__ import annotations

import itertools
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

import ocpp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import payloads

SCHEMAS = Path(ocpp.__file__).resolve().parent


def _validator(version: str, name: str) -> Any:
    path = SCHEMAS / version / "schemas" / f"{name}.json"
    return jsonschema_rs.validator_for(json.loads(path.read_text()))


def _assert_valid(version: str, name: str, payload: dict[str, Any]) -> None:
    errors = [e.message for e in _validator(version, name).iter_errors(payload)]
    assert errors == [], errors


def test_v16_payloads_are_schema_valid() -> None:
    meter = payloads.MeterState()
    _assert_valid("v16", "BootNotification", payloads.boot_notification_16("BENCH-000001"))
    _assert_valid("v16", "StartTransaction", payloads.start_transaction_16(meter, "BENCHTAG"))
    mv = payloads.meter_values_16(meter, 42)
    _assert_valid("v16", "MeterValues", mv)
    assert len(mv["meterValue"]) == 1
    assert len(mv["meterValue"][0]["sampledValue"]) == 10
    assert mv["transactionId"] == 42


def test_v201_payloads_are_schema_valid() -> None:
    meter = payloads.MeterState()
    _assert_valid("v201", "BootNotificationRequest", payloads.boot_notification_201("BENCH-1"))
    started = payloads.transaction_event_started_201(meter, "BENCH-1-tx", "BENCHTAG")
    _assert_valid("v201", "TransactionEventRequest", started)
    assert started["eventType"] == "Started"
    assert started["seqNo"] == 0
    updated = payloads.transaction_event_updated_201(meter, "BENCH-1-tx")
    _assert_valid("v201", "TransactionEventRequest", updated)
    assert updated["eventType"] == "Updated"
    assert updated["triggerReason"] == "MeterValuePeriodic"
    assert updated["transactionInfo"]["chargingState"] == "Charging"
    assert len(updated["meterValue"][0]["sampledValue"]) == 10


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_timestamps_and_sequence_strictly_increase(version: str) -> None:
    """Back-to-back messages must never share a timestamp (the CSMS would deduplicate them)."""
    meter = payloads.MeterState()
    stamps, seqs, energy = [], [], []
    for _ in range(2000):
        if version == "1.6":
            mv = payloads.meter_values_16(meter, 1)["meterValue"][0]
            stamps.append(mv["timestamp"])
            energy.append(float(mv["sampledValue"][0]["value"]))
        else:
            ev = payloads.transaction_event_updated_201(meter, "tx")
            stamps.append(ev["timestamp"])
            seqs.append(ev["seqNo"])
            energy.append(ev["meterValue"][0]["sampledValue"][0]["value"])
    parsed = [datetime.fromisoformat(s.replace("Z", "+00:00")) for s in stamps]
    assert all(a < b for a, b in itertools.pairwise(parsed))
    assert all(p.utcoffset() is not None and p.utcoffset().total_seconds() == 0 for p in parsed)
    assert all(a < b for a, b in itertools.pairwise(energy))
    if seqs:
        assert seqs == list(range(1, 2001))
