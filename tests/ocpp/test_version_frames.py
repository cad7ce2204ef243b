"""OcppVersion and frame encoding."""

from __future__ import annotations

import orjson
import pytest

from opencsms.ocpp.frames import (
    Call,
    CallError,
    CallResult,
    CallResultError,
    MessageType,
    Send,
    encode,
    safe_description,
)
from opencsms.ocpp.version import OcppVersion


@pytest.mark.parametrize(
    ("version", "name"),
    [(OcppVersion.V16, "ocpp1.6"), (OcppVersion.V201, "ocpp2.0.1"), (OcppVersion.V21, "ocpp2.1")],
)
def test_subprotocol_round_trip(version: OcppVersion, name: str) -> None:
    assert version.subprotocol == name
    assert OcppVersion.from_subprotocol(name) is version


@pytest.mark.parametrize("name", ["ocpp2.0", "OCPP1.6", "", "1.6"])
def test_unknown_subprotocol(name: str) -> None:
    assert OcppVersion.from_subprotocol(name) is None


def test_message_type_numbers() -> None:
    assert [int(t) for t in MessageType] == [2, 3, 4, 5, 6]


def test_encode_each_frame() -> None:
    assert orjson.loads(encode(Call("1", "Heartbeat", {}))) == [2, "1", "Heartbeat", {}]
    assert orjson.loads(encode(CallResult("1", {"a": 1}))) == [3, "1", {"a": 1}]
    assert orjson.loads(encode(CallError("1", "GenericError", "x", {"k": 1}))) == [
        4,
        "1",
        "GenericError",
        "x",
        {"k": 1},
    ]
    assert orjson.loads(encode(CallResultError("1", "FormatViolation", "", {}))) == [
        5,
        "1",
        "FormatViolation",
        "",
        {},
    ]
    assert orjson.loads(encode(Send("1", "NotifyPeriodicEventStream", {"id": 1}))) == [
        6,
        "1",
        "NotifyPeriodicEventStream",
        {"id": 1},
    ]


def test_encode_rejects_non_frames() -> None:
    with pytest.raises(TypeError):
        encode("not a frame")  # type: ignore[arg-type]


def test_description_truncated_to_255_characters() -> None:
    text = orjson.loads(encode(CallError("1", "GenericError", "é" * 300, {})))[3]
    assert len(text) == 255
    assert text.endswith("…")


def test_description_with_lone_surrogate_is_still_encodable() -> None:
    assert safe_description("bad \ud800 text") == "bad ? text"
    assert orjson.loads(encode(CallError("1", "GenericError", "\ud800", {})))[3] == "?"


def test_unserialisable_details_fall_back_to_empty_object() -> None:
    frame = CallError("1", "InternalError", "", {"obj": object()})
    assert orjson.loads(encode(frame)) == [4, "1", "InternalError", "", {}]


def test_frames_are_frozen_and_slotted() -> None:
    # Call is built once per station message: a value_class, read-only to mypy (see
    # tests/test_value_class.py), not frozen at run time; the other frames are frozen.
    call = Call("1", "Heartbeat", {})
    assert not hasattr(call, "__dict__")
    result = CallResult("1", {})
    with pytest.raises(AttributeError):
        result.payload = {"x": 1}  # type: ignore[misc]
    assert not hasattr(result, "__dict__")
