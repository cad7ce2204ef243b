"""Tolerant strictness: known vendor deviations repaired and reported, the rest still fails."""

from __future__ import annotations

import pytest

from opencsms.ocpp.events import CallCompleted, CallFailed, IncomingCall
from opencsms.ocpp.session import Strictness
from opencsms.ocpp.tolerance import Deviation
from opencsms.ocpp.version import OcppVersion
from tests.ocpp.builders import (
    call_text,
    make_session,
    meter_values_v16,
    result_text,
    sent,
    transaction_event_v201,
)

V16, V201 = OcppVersion.V16, OcppVersion.V201
TOLERANT = Strictness.TOLERANT


def quirky_meter_values() -> dict[str, object]:
    payload = meter_values_v16(samples=2)
    payload["meterValue"][0]["sampledValue"][0]["unit"] = "wh"
    payload["meterValue"][1]["timestamp"] = "2024-05-01T10:00:01.5"
    payload["meterValue"][1]["vendorTemp"] = 41
    return payload


def test_strict_rejects_the_quirks() -> None:
    session = make_session(V16)
    session.receive(call_text("a1", "MeterValues", quirky_meter_values()), 0.0)
    assert sent(session)[0][:3] == [4, "a1", "FormationViolation"]


def test_tolerant_repairs_and_reports() -> None:
    session = make_session(V16, strictness=TOLERANT)
    (event,) = session.receive(call_text("a1", "MeterValues", quirky_meter_values()), 0.0)
    assert isinstance(event, IncomingCall)
    expected = meter_values_v16(samples=2)
    expected["meterValue"][1]["timestamp"] = "2024-05-01T10:00:01.5Z"
    assert event.call.payload == expected
    assert set(event.deviations) == {
        Deviation(
            "additional_property",
            "/meterValue/1/vendorTemp",
            "1 property not in the schema removed",
        ),
        Deviation(
            "enum_case",
            "/meterValue/0/sampledValue/0/unit",
            "enum value corrected to the schema's 'Wh'",
        ),
        Deviation(
            "datetime_without_offset",
            "/meterValue/1/timestamp",
            "date-time without offset taken as UTC",
        ),
    }
    assert sent(session) == []


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda p: p.update(seqNo="1"), "TypeConstraintViolation"),
        (lambda p: p.update(triggerReason="Sometimes"), "PropertyConstraintViolation"),
        (lambda p: p.update(timestamp="yesterday"), "PropertyConstraintViolation"),
        (lambda p: p.pop("seqNo"), "OccurrenceConstraintViolation"),
    ],
)
def test_tolerant_still_rejects_other_errors(mutate, code) -> None:  # type: ignore[no-untyped-def]
    session = make_session(V201, strictness=TOLERANT)
    payload = transaction_event_v201()
    payload["vendorExtra"] = True  # repairable, but it does not save the payload
    mutate(payload)
    session.receive(call_text("a1", "TransactionEvent", payload), 0.0)
    assert sent(session)[0][:3] == [4, "a1", code]


def test_tolerant_repairs_many_errors_beyond_one_batch() -> None:
    session = make_session(V16, strictness=TOLERANT)
    payload = meter_values_v16(samples=60)
    for sample in payload["meterValue"]:
        sample["sampledValue"][0]["unit"] = "WH"
    (event,) = session.receive(call_text("a1", "MeterValues", payload), 0.0)
    assert isinstance(event, IncomingCall)
    assert len(event.deviations) == 60
    assert event.call.payload == meter_values_v16(samples=60)


def test_ambiguous_enum_case_is_not_guessed() -> None:
    # 1.6 units have both "Celcius" and "Celsius" but no case-only clash; build one from "kW"
    # vs "KW"? Not in the schema, so check an unmatched value instead.
    session = make_session(V16, strictness=TOLERANT)
    payload = meter_values_v16(samples=1)
    payload["meterValue"][0]["sampledValue"][0]["unit"] = "kilowatt"
    session.receive(call_text("a1", "MeterValues", payload), 0.0)
    assert sent(session)[0][2] == "PropertyConstraintViolation"


def test_tolerant_applies_to_results_too() -> None:
    session = make_session(V16, strictness=TOLERANT)
    pending = session.call("ClearCache", {}, 0.0)
    (event,) = session.receive(result_text("m1", {"status": "accepted", "x": 1}), 1.0)
    assert isinstance(event, CallCompleted)
    assert event.pending is pending
    assert event.payload == {"status": "Accepted"}
    assert {d.kind for d in event.deviations} == {"enum_case", "additional_property"}


def test_strict_result_quirk_fails() -> None:
    session = make_session(V16)
    session.call("ClearCache", {}, 0.0)
    (event,) = session.receive(result_text("m1", {"status": "accepted"}), 1.0)
    assert isinstance(event, CallFailed)
