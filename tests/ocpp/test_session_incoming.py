"""Incoming CALLs: actions, validation, answers, duplicates and queueing."""

from __future__ import annotations

import orjson
import pytest

from opencsms.errors import NotSupportedError, PayloadValidationError, ProtocolUsageError
from opencsms.ocpp.actions import Role
from opencsms.ocpp.error_codes import INTERNAL_ERROR_DESCRIPTION
from opencsms.ocpp.events import IncomingCall, NoticeKind, ProtocolNotice
from opencsms.ocpp.frames import Call
from opencsms.ocpp.version import OcppVersion
from tests.ocpp.builders import (
    boot_notification_response_v16,
    boot_notification_v16,
    boot_notification_v201,
    call_text,
    heartbeat,
    make_session,
    meter_values_v16,
    only_call,
    remote_start_transaction_v16,
    sent,
    transaction_event_v201,
)

V16, V201, V21 = OcppVersion.V16, OcppVersion.V201, OcppVersion.V21
ALL = list(OcppVersion)
OCCURRENCE = {
    V16: "OccurenceConstraintViolation",
    V201: "OccurrenceConstraintViolation",
    V21: "OccurrenceConstraintViolation",
}


def test_valid_call_is_handed_over_and_answered() -> None:
    session = make_session(V16)
    event = only_call(
        session.receive(call_text("a1", "BootNotification", boot_notification_v16()), 0.0)
    )
    assert event == IncomingCall(Call("a1", "BootNotification", boot_notification_v16()), ())
    assert sent(session) == []
    session.answer(event.call, boot_notification_response_v16())
    assert sent(session) == [[3, "a1", boot_notification_response_v16()]]


@pytest.mark.parametrize("version", ALL)
def test_unknown_action_is_not_implemented(version: OcppVersion) -> None:
    session = make_session(version)
    events = session.receive(call_text("a1", "MakeCoffee<script>", {}), 0.0)
    assert sent(session) == [[4, "a1", "NotImplemented", "Requested Action is not known", {}]]
    assert events == [
        ProtocolNotice(NoticeKind.CALL_REJECTED, "NotImplemented: Requested Action is not known")
    ]


@pytest.mark.parametrize(
    ("version", "action"),
    [(V16, "RemoteStartTransaction"), (V201, "RequestStartTransaction"), (V21, "SetDERControl")],
)
def test_action_of_the_other_direction_is_not_supported(version: OcppVersion, action: str) -> None:
    session = make_session(version)
    session.receive(call_text("a1", action, {}), 0.0)
    assert sent(session) == [[4, "a1", "NotSupported", f"{action} is not supported", {}]]


def test_action_without_handler_is_not_supported() -> None:
    session = make_session(V16, supported_actions=frozenset({"BootNotification"}))
    session.receive(call_text("a1", "Heartbeat", {}), 0.0)
    assert sent(session) == [[4, "a1", "NotSupported", "Heartbeat is not supported", {}]]


def test_station_role_accepts_csms_actions() -> None:
    session = make_session(V16, role=Role.STATION)
    (event,) = session.receive(
        call_text("c1", "RemoteStartTransaction", remote_start_transaction_v16()), 0.0
    )
    assert isinstance(event, IncomingCall)
    session.receive(call_text("c2", "BootNotification", boot_notification_v16()), 0.0)
    assert sent(session)[0][2] == "NotSupported"


@pytest.mark.parametrize("version", ALL)
def test_missing_required_field(version: OcppVersion) -> None:
    session = make_session(version)
    action, payload = (
        ("BootNotification", boot_notification_v16())
        if version is V16
        else ("BootNotification", boot_notification_v201())
    )
    required = "chargePointModel" if version is V16 else "reason"
    del payload[required]
    session.receive(call_text("a1", action, payload), 0.0)
    message = f"Required property /{required} is missing"
    assert sent(session) == [
        [
            4,
            "a1",
            OCCURRENCE[version],
            message,
            {"violations": [{"path": f"/{required}", "message": message}]},
        ]
    ]


@pytest.mark.parametrize(
    ("version", "mutate", "code", "path"),
    [
        (V16, lambda p: p.update(connectorId="1"), "TypeConstraintViolation", "/connectorId"),
        (V16, lambda p: p.update(vendor=1), "FormationViolation", "/vendor"),
        (
            V16,
            lambda p: p["meterValue"][0]["sampledValue"][0].update(unit="kwh"),
            "PropertyConstraintViolation",
            "/meterValue/0/sampledValue/0/unit",
        ),
        (V16, lambda p: p.update(meterValue=[]), "OccurenceConstraintViolation", "/meterValue"),
    ],
)
def test_v16_schema_violation_codes(version, mutate, code, path) -> None:  # type: ignore[no-untyped-def]
    session = make_session(version)
    payload = meter_values_v16()
    mutate(payload)
    session.receive(call_text("a1", "MeterValues", payload), 0.0)
    ((mt, mid, sent_code, _description, details),) = sent(session)
    assert (mt, mid, sent_code, details["violations"][0]["path"]) == (4, "a1", code, path)


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda p: p.update(seqNo="1"), "TypeConstraintViolation"),
        (lambda p: p.update(vendor=1), "FormatViolation"),
        (lambda p: p.update(triggerReason="Sometimes"), "PropertyConstraintViolation"),
        (lambda p: p.update(timestamp="2024-05-01T10:00:00"), "PropertyConstraintViolation"),
        (lambda p: p.pop("transactionInfo"), "OccurrenceConstraintViolation"),
    ],
)
@pytest.mark.parametrize("version", [V201, V21])
def test_v2_schema_violation_codes(version, mutate, code) -> None:  # type: ignore[no-untyped-def]
    session = make_session(version)
    payload = transaction_event_v201()
    mutate(payload)
    session.receive(call_text("a1", "TransactionEvent", payload), 0.0)
    assert sent(session)[0][:3] == [4, "a1", code]


def test_callerror_never_echoes_the_offending_value() -> None:
    session = make_session(V201)
    payload = boot_notification_v201()
    payload["chargingStation"]["model"] = "<script>alert(1)</script>" * 3
    payload["chargingStation"]["serialNumber"] = 12345678
    session.receive(call_text("a1", "BootNotification", payload), 0.0)
    (text,) = session.data_to_send()
    assert "script" not in text
    assert "12345678" not in text
    assert orjson.loads(text)[2] == "TypeConstraintViolation"


def test_details_list_at_most_five_violations() -> None:
    session = make_session(V16)
    payload = meter_values_v16(samples=10)
    for sample in payload["meterValue"]:
        sample["sampledValue"][0]["unit"] = "bogus"
    session.receive(call_text("a1", "MeterValues", payload), 0.0)
    assert len(sent(session)[0][4]["violations"]) == 5


@pytest.mark.parametrize("version", ALL)
def test_answer_error_maps_exceptions(version: OcppVersion) -> None:
    session = make_session(version)
    event = only_call(session.receive(call_text("a1", "Heartbeat", heartbeat()), 0.0))
    session.answer_error(event.call, RuntimeError("db password in here"))
    assert sent(session) == [[4, "a1", "InternalError", INTERNAL_ERROR_DESCRIPTION, {}]]
    event = only_call(session.receive(call_text("a2", "Heartbeat", heartbeat()), 0.0))
    session.answer_error(event.call, NotSupportedError("Heartbeat disabled"))
    assert sent(session) == [[4, "a2", "NotSupported", "Heartbeat disabled", {}]]


def test_answer_twice_or_unknown_call_is_a_usage_error() -> None:
    session = make_session(V16)
    event = only_call(session.receive(call_text("a1", "Heartbeat", heartbeat()), 0.0))
    session.answer(event.call, {"currentTime": "2024-05-01T10:00:00Z"})
    with pytest.raises(ProtocolUsageError):
        session.answer(event.call, {})
    with pytest.raises(ProtocolUsageError):
        session.answer_error(Call("zz", "Heartbeat", {}), RuntimeError())


def test_validate_outgoing_results() -> None:
    session = make_session(V16, validate_outgoing_results=True)
    event = only_call(session.receive(call_text("a1", "Heartbeat", heartbeat()), 0.0))
    with pytest.raises(PayloadValidationError) as info:
        session.answer(event.call, {})
    assert info.value.violations[0].path == "/currentTime"
    assert sent(session) == []
    session.answer(event.call, {"currentTime": "2024-05-01T10:00:00Z"})  # still answerable
    assert sent(session) == [[3, "a1", {"currentTime": "2024-05-01T10:00:00Z"}]]


@pytest.mark.parametrize("version", ALL)
def test_duplicate_id_of_a_call_being_handled(version: OcppVersion) -> None:
    session = make_session(version)
    event = only_call(session.receive(call_text("a1", "Heartbeat", heartbeat()), 0.0))
    session.receive(call_text("a1", "Heartbeat", heartbeat()), 0.0)
    code = "FormationViolation" if version is V16 else "RpcFrameworkError"
    assert sent(session) == [
        [4, "a1", code, "A CALL with this MessageId is already being handled", {}]
    ]
    # The original is still the one awaiting its answer.
    session.answer(event.call, {"currentTime": "2024-05-01T10:00:00Z"})
    assert sent(session)[0][:2] == [3, "a1"]


def test_second_call_is_queued_and_released_in_order() -> None:
    session = make_session(V16)
    first = only_call(session.receive(call_text("a1", "Heartbeat", heartbeat()), 0.0))
    events = session.receive(call_text("a2", "StatusNotification", _status()), 0.0)
    assert events == [
        ProtocolNotice(
            NoticeKind.CALL_QUEUED, "StatusNotification queued behind an unanswered CALL"
        )
    ]
    session.receive(call_text("a3", "Authorize", {"idTag": "T"}), 0.0)
    # A duplicate of a queued id is refused too.
    session.receive(call_text("a2", "Heartbeat", heartbeat()), 0.0)
    assert sent(session)[0][:2] == [4, "a2"]

    session.answer(first.call, {"currentTime": "2024-05-01T10:00:00Z"})
    (second,) = session.take_events()
    assert isinstance(second, IncomingCall)
    assert second.call.message_id == "a2"
    assert [d.kind for d in second.deviations] == ["concurrent_call"]
    assert session.take_events() == []

    session.answer(second.call, {})
    # Not taken explicitly: the next receive() returns it first.
    events = session.receive(call_text("a4", "Heartbeat", heartbeat()), 0.0)
    assert [type(e).__name__ for e in events] == ["IncomingCall", "ProtocolNotice"]
    assert isinstance(events[0], IncomingCall)
    assert events[0].call.message_id == "a3"
    assert [f[1] for f in sent(session)] == ["a1", "a2"]


def test_incoming_queue_is_bounded() -> None:
    session = make_session(V16)
    session.receive(call_text("a0", "Heartbeat", heartbeat()), 0.0)
    for i in range(1, 18):
        session.receive(call_text(f"a{i}", "Heartbeat", heartbeat()), 0.0)
    assert sent(session) == [[4, "a17", "GenericError", "Too many unanswered CALLs", {}]]


def test_answer_after_close_is_dropped() -> None:
    session = make_session(V16)
    event = only_call(session.receive(call_text("a1", "Heartbeat", heartbeat()), 0.0))
    assert session.close() == []
    session.answer(event.call, {"currentTime": "2024-05-01T10:00:00Z"})
    assert sent(session) == []
    assert session.receive(call_text("a2", "Heartbeat", heartbeat()), 0.0) == []


def _status() -> dict[str, object]:
    return {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
