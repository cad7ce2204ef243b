"""Our own CALLs: queueing, deadlines, answers, late/unknown results, close; 2.1 extras."""

from __future__ import annotations

import pytest

from opencsms.errors import (
    CallErrorResponse,
    CallTimeoutError,
    ConnectionClosedError,
    InvalidResponseError,
    PayloadValidationError,
    ProtocolUsageError,
    RpcErrorKind,
)
from opencsms.ocpp.actions import Role
from opencsms.ocpp.events import (
    CallCompleted,
    CallFailed,
    IncomingSend,
    NoticeKind,
    ProtocolNotice,
)
from opencsms.ocpp.version import OcppVersion
from tests.ocpp.builders import (
    boot_notification_v16,
    error_text,
    make_session,
    notify_periodic_event_stream_v21,
    remote_start_response_v16,
    remote_start_transaction_v16,
    request_start_response_v201,
    request_start_transaction_v201,
    result_text,
    sent,
)

V16, V201, V21 = OcppVersion.V16, OcppVersion.V201, OcppVersion.V21
START = remote_start_transaction_v16()


def test_call_is_sent_with_deadline() -> None:
    session = make_session(V16, call_timeout=10.0)
    pending = session.call("RemoteStartTransaction", START, 100.0)
    assert (pending.message_id, pending.sent_at, pending.deadline) == ("m1", 100.0, 110.0)
    assert sent(session) == [[2, "m1", "RemoteStartTransaction", START]]
    assert session.next_deadline() == 110.0


def test_result_completes_the_call() -> None:
    session = make_session(V16)
    pending = session.call("RemoteStartTransaction", START, 0.0)
    events = session.receive(result_text("m1", remote_start_response_v16()), 1.0)
    assert events == [CallCompleted(pending, remote_start_response_v16())]
    assert session.next_deadline() is None


def test_invalid_payload_is_refused_before_sending() -> None:
    session = make_session(V16)
    with pytest.raises(PayloadValidationError) as info:
        session.call("RemoteStartTransaction", {"idTag": "x" * 21}, 0.0)
    assert info.value.violations[0].path == "/idTag"
    assert sent(session) == []
    assert session.outstanding is None


@pytest.mark.parametrize(
    ("action", "kind"),
    [("BootNotification", RpcErrorKind.NOT_SUPPORTED), ("Brew", RpcErrorKind.NOT_IMPLEMENTED)],
)
def test_call_with_an_action_this_role_does_not_send(action: str, kind: RpcErrorKind) -> None:
    session = make_session(V16)
    with pytest.raises(PayloadValidationError) as info:
        session.call(action, boot_notification_v16(), 0.0)
    assert info.value.violations[0].kind is kind


def test_one_outstanding_call_queued_calls_go_out_in_order_with_fresh_deadlines() -> None:
    session = make_session(V16, call_timeout=10.0)
    first = session.call("RemoteStartTransaction", START, 0.0)
    second = session.call("ClearCache", {}, 1.0)
    third = session.call("ClearCache", {}, 2.0)
    assert [f[1] for f in sent(session)] == ["m1"]
    assert (second.queued_at, second.sent_at, second.deadline) == (1.0, None, None)
    assert session.queued_calls == 2

    events = session.receive(result_text("m1", remote_start_response_v16()), 5.0)
    assert events == [CallCompleted(first, remote_start_response_v16())]
    assert sent(session) == [[2, "m2", "ClearCache", {}]]
    assert (second.sent_at, second.deadline) == (5.0, 15.0)
    assert session.next_deadline() == 15.0

    # A CALLERROR also releases the next one.
    events = session.receive(error_text("m2", "NotSupported", "nope"), 6.0)
    assert len(events) == 1
    assert isinstance(events[0], CallFailed)
    error = events[0].error
    assert isinstance(error, CallErrorResponse)
    assert (error.error_code, error.description, error.message_id) == ("NotSupported", "nope", "m2")
    assert sent(session) == [[2, "m3", "ClearCache", {}]]
    assert third.deadline == 16.0


def test_timeout_fails_the_call_and_sends_the_next() -> None:
    session = make_session(V16, call_timeout=10.0)
    first = session.call("ClearCache", {}, 0.0)
    session.call("ClearCache", {}, 0.0)
    sent(session)
    assert session.expire(9.9) == []
    (event,) = session.expire(10.0)
    assert isinstance(event, CallFailed)
    assert event.pending is first
    assert isinstance(event.error, CallTimeoutError)
    assert sent(session) == [[2, "m2", "ClearCache", {}]]
    assert session.next_deadline() == 20.0


def test_late_result_is_counted_and_not_matched_to_the_next_call() -> None:
    session = make_session(V16, call_timeout=10.0)
    session.call("ClearCache", {}, 0.0)
    second = session.call("ClearCache", {}, 0.0)
    session.expire(10.0)
    events = session.receive(result_text("m1", {"status": "Accepted"}), 11.0)
    assert events == [
        ProtocolNotice(NoticeKind.LATE_RESULT, "answer to ClearCache after its timeout")
    ]
    assert session.late_results == 1
    assert session.outstanding is second
    # A second late answer to the same id is no longer "late" but unknown.
    session.receive(error_text("m1"), 11.0)
    assert (session.late_results, session.unknown_results) == (1, 1)


@pytest.mark.parametrize("text", [result_text("zz", {}), error_text("zz")])
def test_unknown_result_is_counted(text: str) -> None:
    session = make_session(V16)
    pending = session.call("ClearCache", {}, 0.0)
    events = session.receive(text, 1.0)
    assert events == [
        ProtocolNotice(NoticeKind.UNKNOWN_RESULT, "answer for a MessageId not outstanding")
    ]
    assert session.unknown_results == 1
    assert session.outstanding is pending


@pytest.mark.parametrize("version", [V16, V201])
def test_invalid_result_fails_the_call_without_callresulterror(version: OcppVersion) -> None:
    session = make_session(version)
    action, payload = (
        ("RemoteStartTransaction", START)
        if version is V16
        else ("RequestStartTransaction", request_start_transaction_v201())
    )
    pending = session.call(action, payload, 0.0)
    sent(session)
    (event,) = session.receive(result_text("m1", {"status": "Maybe"}), 1.0)
    assert isinstance(event, CallFailed)
    assert event.pending is pending
    assert isinstance(event.error, InvalidResponseError)
    assert event.error.violations[0].path == "/status"
    assert sent(session) == []


def test_invalid_result_in_21_also_sends_callresulterror() -> None:
    session = make_session(V21)
    session.call("RequestStartTransaction", request_start_transaction_v201(), 0.0)
    sent(session)
    events = session.receive(result_text("m1", {"status": "Maybe"}), 1.0)
    assert isinstance(events[0], CallFailed)
    message = "Value at /status is not one of the 2 allowed values"
    assert sent(session) == [
        [
            5,
            "m1",
            "PropertyConstraintViolation",
            message,
            {"violations": [{"path": "/status", "message": message}]},
        ]
    ]


def test_malformed_result_for_the_outstanding_call_fails_it_at_once() -> None:
    session = make_session(V16)
    session.call("ClearCache", {}, 0.0)
    session.call("ClearCache", {}, 0.0)
    sent(session)
    events = session.receive('[3, "m1", "not an object"]', 1.0)
    assert isinstance(events[1], CallFailed)
    assert isinstance(events[1].error, InvalidResponseError)
    assert sent(session) == [[2, "m2", "ClearCache", {}]]


def test_callerror_without_details_still_ends_the_call() -> None:
    session = make_session(V16)
    session.call("ClearCache", {}, 0.0)
    events = session.receive('[4, "m1", "InternalError", "boom"]', 1.0)
    assert isinstance(events[-1], CallFailed)
    assert isinstance(events[-1].error, CallErrorResponse)
    assert events[-1].error.error_code == "InternalError"


def test_close_fails_outstanding_and_queued_calls() -> None:
    session = make_session(V16)
    first = session.call("ClearCache", {}, 0.0)
    second = session.call("ClearCache", {}, 0.0)
    events = session.close()
    assert [e.pending for e in events if isinstance(e, CallFailed)] == [first, second]
    assert all(
        isinstance(e, CallFailed) and isinstance(e.error, ConnectionClosedError) for e in events
    )
    assert session.close() == []
    assert session.next_deadline() is None
    assert sent(session) == []
    with pytest.raises(ConnectionClosedError):
        session.call("ClearCache", {}, 0.0)


def test_calls_cross_each_other() -> None:
    # 1.6 §4.1.1 NOTE: a CALL from the peer may arrive while ours is outstanding.
    session = make_session(V16)
    pending = session.call("ClearCache", {}, 0.0)
    (incoming,) = session.receive('[2, "s1", "Heartbeat", {}]', 0.5)
    session.answer(incoming.call, {"currentTime": "2024-05-01T10:00:00Z"})  # type: ignore[union-attr]
    (done,) = session.receive(result_text("m1", {"status": "Accepted"}), 1.0)
    assert done == CallCompleted(pending, {"status": "Accepted"})


def test_station_role_calls_the_csms() -> None:
    session = make_session(V16, role=Role.STATION)
    session.call("BootNotification", boot_notification_v16(), 0.0)
    assert sent(session)[0][2] == "BootNotification"


# ------------------------------------------------------------------------------- OCPP 2.1


def test_send_is_delivered_and_never_answered() -> None:
    session = make_session(V21)
    payload = notify_periodic_event_stream_v21()
    events = session.receive(f'[6, "s1", "NotifyPeriodicEventStream", {_json(payload)}]', 0.0)
    assert len(events) == 1
    assert isinstance(events[0], IncomingSend)
    assert events[0].send.payload == payload
    assert sent(session) == []


@pytest.mark.parametrize(
    "text",
    [
        '[6, "s1", "NotifyPeriodicEventStream", {"id": "x"}]',
        '[6, "s1", "Heartbeat", {}]',
        '[6, "s1", "NotifyPeriodicEventStream"]',
        '[6, "s1", "NotifyPeriodicEventStream", []]',
    ],
)
def test_invalid_send_is_dropped_silently(text: str) -> None:
    session = make_session(V21)
    events = session.receive(text, 0.0)
    assert [e.kind for e in events if isinstance(e, ProtocolNotice)]
    assert sent(session) == []
    assert session.ignored_frames == 1


def test_send_while_a_call_is_outstanding() -> None:
    session = make_session(V21, role=Role.STATION)
    session.call(
        "BootNotification",
        {"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}},
        0.0,
    )
    session.send("NotifyPeriodicEventStream", notify_periodic_event_stream_v21())
    frames = sent(session)
    assert [f[0] for f in frames] == [2, 6]
    assert frames[1][1:] == ["m2", "NotifyPeriodicEventStream", notify_periodic_event_stream_v21()]


@pytest.mark.parametrize("version", [V16, V201])
def test_send_before_21_raises(version: OcppVersion) -> None:
    with pytest.raises(ProtocolUsageError):
        make_session(version, role=Role.STATION).send("NotifyPeriodicEventStream", {})


def test_send_validates_and_checks_direction() -> None:
    with pytest.raises(PayloadValidationError):
        make_session(V21, role=Role.STATION).send("NotifyPeriodicEventStream", {"id": "x"})
    with pytest.raises(PayloadValidationError):
        make_session(V21).send("NotifyPeriodicEventStream", notify_periodic_event_stream_v21())


def test_callresulterror_received_is_a_notice() -> None:
    session = make_session(V21)
    events = session.receive('[5, "a1", "FormatViolation", "bad", {}]', 0.0)
    assert events == [
        ProtocolNotice(NoticeKind.CALLRESULTERROR_RECEIVED, "peer sent FormatViolation")
    ]
    events = session.receive('[5, "a1", "<b>x</b>", "bad", {}]', 0.0)
    assert events[0].detail == "peer sent an unknown error code"  # type: ignore[union-attr]
    assert sent(session) == []


def test_callresulterror_does_not_end_our_call() -> None:
    session = make_session(V21)
    pending = session.call("RequestStartTransaction", request_start_transaction_v201(), 0.0)
    session.receive('[5, "m1", "FormatViolation", "", {}]', 0.0)
    assert session.outstanding is pending
    (done,) = session.receive(result_text("m1", request_start_response_v201()), 1.0)
    assert isinstance(done, CallCompleted)


def _json(payload: object) -> str:
    import orjson

    return orjson.dumps(payload).decode()
