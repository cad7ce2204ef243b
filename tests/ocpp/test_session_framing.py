"""Broken frames: what each version answers (docs/protocol-errors.md, "Framing")."""

from __future__ import annotations

import pytest

from opencsms.ocpp.events import IncomingCall, NoticeKind, ProtocolNotice
from opencsms.ocpp.version import OcppVersion
from tests.ocpp.builders import call_text, heartbeat, make_session, sent

V16, V201, V21 = OcppVersion.V16, OcppVersion.V201, OcppVersion.V21
ALL = list(OcppVersion)

# 1.6 has no RpcFrameworkError: the PDU-structure code FormationViolation stands in.
FRAMEWORK = {V16: "FormationViolation", V201: "RpcFrameworkError", V21: "RpcFrameworkError"}
FORMAT = {V16: "FormationViolation", V201: "FormatViolation", V21: "FormatViolation"}


def answer_to(version: OcppVersion, text: str | bytes) -> list[list[object]]:
    session = make_session(version)
    session.receive(text, 0.0)
    return sent(session)


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize(
    ("text", "description"),
    [
        ('[2, "1", "Heartbeat", {', "Message is not valid JSON"),
        (b"\xff\xfe", "Message is not valid JSON"),
        ('{"a": 1}', "Message is not a non-empty JSON array"),
        ("[]", "Message is not a non-empty JSON array"),
        ('"text"', "Message is not a non-empty JSON array"),
        ('[2, 17, "Heartbeat", {}]', "MessageId is not a string of at most 36 characters"),
        ('[2, null, "Heartbeat", {}]', "MessageId is not a string of at most 36 characters"),
        (
            call_text("x" * 37, "Heartbeat", {}),
            "MessageId is not a string of at most 36 characters",
        ),
    ],
)
def test_unreadable_message_id_gets_minus_one(
    version: OcppVersion, text: str, description: str
) -> None:
    assert answer_to(version, text) == [[4, "-1", FRAMEWORK[version], description, {}]]


@pytest.mark.parametrize("version", ALL)
def test_message_id_of_36_characters_is_fine(version: OcppVersion) -> None:
    session = make_session(version)
    events = session.receive(call_text("x" * 36, "Heartbeat", {}), 0.0)
    assert isinstance(events[0], IncomingCall)


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize(
    ("text", "message_id", "description"),
    [
        ('["2", "9", "Heartbeat", {}]', "9", "MessageTypeId is not an integer"),
        ('[true, "9", "Heartbeat", {}]', "9", "MessageTypeId is not an integer"),
        ('[2.0, "9", "Heartbeat", {}]', "9", "MessageTypeId is not an integer"),
        ('[2, "9", "Heartbeat"]', "9", "CALL must have exactly 4 elements"),
        ('[2, "9", "Heartbeat", {}, {}]', "9", "CALL must have exactly 4 elements"),
        ("[2]", "-1", "CALL must have exactly 4 elements"),
        ('[2, "9", 5, {}]', "9", "Action is not a string"),
    ],
)
def test_broken_call_envelope(
    version: OcppVersion, text: str, message_id: str, description: str
) -> None:
    assert answer_to(version, text) == [[4, message_id, FRAMEWORK[version], description, {}]]


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize("payload", ["[]", '"x"', "1", "true"])
def test_payload_not_an_object(version: OcppVersion, payload: str) -> None:
    text = f'[2, "9", "Heartbeat", {payload}]'
    assert answer_to(version, text) == [
        [4, "9", FORMAT[version], "Payload is not a JSON object", {}]
    ]


@pytest.mark.parametrize("version", ALL)
def test_null_payload_is_taken_as_empty_object(version: OcppVersion) -> None:
    session = make_session(version)
    (event,) = session.receive('[2, "9", "Heartbeat", null]', 0.0)
    assert isinstance(event, IncomingCall)
    assert event.call.payload == {}
    assert [d.kind for d in event.deviations] == ["null_payload"]
    assert sent(session) == []


@pytest.mark.parametrize("version", [V16, V21])
@pytest.mark.parametrize("message_type", [0, 1, 7, 99])
def test_unknown_message_type_is_ignored(version: OcppVersion, message_type: int) -> None:
    session = make_session(version)
    events = session.receive(f'[{message_type}, "9", "Heartbeat", {{}}]', 0.0)
    assert events == [ProtocolNotice(NoticeKind.IGNORED_FRAME, "unknown MessageTypeId")]
    assert sent(session) == []
    assert session.ignored_frames == 1


@pytest.mark.parametrize("message_type", [5, 6])
def test_21_message_types_are_unknown_in_16(message_type: int) -> None:
    session = make_session(V16)
    session.receive(f'[{message_type}, "9", "NotifyPeriodicEventStream", {{}}]', 0.0)
    assert sent(session) == []
    assert session.ignored_frames == 1


@pytest.mark.parametrize("message_type", [0, 5, 6, 7])
def test_unknown_message_type_in_201_is_message_type_not_supported(message_type: int) -> None:
    # OCPP-J 2.0.1 part 4 §4.4; 5 and 6 only exist from 2.1 on.
    text = f'[{message_type}, "9", "Heartbeat", {{}}]'
    assert answer_to(V201, text) == [
        [4, "9", "MessageTypeNotSupported", "MessageTypeId is not supported", {}]
    ]


def test_unknown_message_type_without_id_in_201() -> None:
    assert answer_to(V201, "[9]") == [
        [4, "-1", "MessageTypeNotSupported", "MessageTypeId is not supported", {}]
    ]


@pytest.mark.parametrize("version", ALL)
def test_broken_results_are_never_answered(version: OcppVersion) -> None:
    session = make_session(version)
    for text in ["[3]", '[3, "1"]', "[3, 5, {}]", '[3, "1", []]', "[4, 5]", "[4]"]:
        session.receive(text, 0.0)
    assert sent(session) == []
    assert session.ignored_frames == 6
    assert session.received == 6


@pytest.mark.parametrize("version", ALL)
def test_counters(version: OcppVersion) -> None:
    session = make_session(version)
    session.receive(call_text("1", "Heartbeat", heartbeat()), 0.0)
    session.receive("garbage", 0.0)
    assert (session.received, session.sent) == (2, 1)
