"""Turning received text into frames, or into the protocol's answer to a broken message.

The rules, per version (the table in ``docs/protocol-errors.md`` lists them with their tests):

* Not JSON, not a non-empty array, or a message id that cannot be read (not a string, or longer
  than string[36]) → CALLERROR with id ``"-1"`` and ``RpcFrameworkError`` (2.0.1 and 2.1 part 4
  §4.2.3: "When also the MessageId cannot be read, the CALLERROR SHALL contain "-1""). OCPP-J 1.6
  names no id for this case but lists "unique identifier too long" and "not conform the PDU
  structure" among the CallError situations (§4.2.3, errata §3.2): 1.6 gets the same ``"-1"``
  answer with ``FormationViolation``.
* Message type not an integer → the same answer (the frame is no RPC message at all).
* An integer message type the version does not define → ignored in 1.6 (§4.1.3) and 2.1 (part 4
  §4.1.3 and §4.4); 2.0.1 answers ``MessageTypeNotSupported`` (part 4 §4.4, which is the specific
  rule and overrides the general "ignore" sentence of §4.1.3).
* CALL of the wrong length or with a non-string action → ``RpcFrameworkError`` (1.6
  ``FormationViolation``) with the call's id when it is readable.
* CALL payload: an object; ``null`` is accepted as ``{}`` (1.6 §4.2.1, 2.x part 4 §4.1.5 allow both
  notations and only call ``{}`` good practice) and reported; anything else → ``FormatViolation``.
* CALLRESULT/CALLERROR/CALLRESULTERROR/SEND are never answered with a CALLERROR (there is no
  CALL to answer, and a SEND SHALL NOT be answered, 2.1 §4.2.4); malformed ones are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from opencsms.errors import RpcErrorKind
from opencsms.ocpp.frames import (
    MAX_MESSAGE_ID_LENGTH,
    UNKNOWN_MESSAGE_ID,
    Call,
    CallError,
    CallResult,
    CallResultError,
    Send,
)
from opencsms.ocpp.version import OcppVersion

__all__ = ["Decoded", "Ignored", "Irregular", "Rejected", "decode"]

_K = RpcErrorKind
_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError


@dataclass(frozen=True, slots=True)
class Rejected:
    """The message must be answered with a CALLERROR of ``kind`` to ``message_id``."""

    message_id: str
    kind: RpcErrorKind
    description: str


@dataclass(frozen=True, slots=True)
class Ignored:
    """The message is dropped without an answer; ``reason`` is safe to log.

    ``message_type`` and ``message_id`` are set when they could be read, so that a malformed
    answer to our outstanding CALL can still end that call.
    """

    reason: str
    message_type: int | None = None
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class Irregular:
    """A usable frame that needed normalising; ``note`` says how (a DeviationKind string)."""

    frame: Call | CallResult | CallError | CallResultError | Send
    note: str


Decoded = Call | CallResult | CallError | CallResultError | Send | Rejected | Ignored | Irregular

_NOT_JSON = Rejected(UNKNOWN_MESSAGE_ID, _K.RPC_FRAMEWORK, "Message is not valid JSON")
_NOT_ARRAY = Rejected(UNKNOWN_MESSAGE_ID, _K.RPC_FRAMEWORK, "Message is not a non-empty JSON array")
_BAD_ID = Rejected(
    UNKNOWN_MESSAGE_ID, _K.RPC_FRAMEWORK, "MessageId is not a string of at most 36 characters"
)


def _readable_id(msg: list[Any]) -> str | None:
    if len(msg) > 1:
        mid = msg[1]
        if type(mid) is str and len(mid) <= MAX_MESSAGE_ID_LENGTH:
            return mid
    return None


def _decode_call(msg: list[Any]) -> Decoded:
    if len(msg) != 4:
        some_id = _readable_id(msg) or UNKNOWN_MESSAGE_ID
        return Rejected(some_id, _K.RPC_FRAMEWORK, "CALL must have exactly 4 elements")
    mid = _readable_id(msg)
    if mid is None:
        return _BAD_ID
    action = msg[2]
    if type(action) is not str:
        return Rejected(mid, _K.RPC_FRAMEWORK, "Action is not a string")
    payload = msg[3]
    if type(payload) is dict:
        return Call(mid, action, payload)
    if payload is None:
        return Irregular(Call(mid, action, {}), "null_payload")
    return Rejected(mid, _K.FORMAT_VIOLATION, "Payload is not a JSON object")


def _decode_result(msg: list[Any]) -> Decoded:
    mid = _readable_id(msg)
    if mid is None:
        return Ignored("CALLRESULT without a readable message id", 3)
    if len(msg) != 3:
        return Ignored("CALLRESULT must have exactly 3 elements", 3, mid)
    payload = msg[2]
    if type(payload) is dict:
        return CallResult(mid, payload)
    if payload is None:
        return Irregular(CallResult(mid, {}), "null_payload")
    return Ignored("CALLRESULT payload is not a JSON object", 3, mid)


def _decode_error(msg: list[Any], mt: int) -> Decoded:
    mid = _readable_id(msg)
    if mid is None:
        return Ignored("error frame without a readable message id", mt)
    code = msg[2] if len(msg) > 2 else None
    description = msg[3] if len(msg) > 3 else ""
    details = msg[4] if len(msg) > 4 else {}
    well_formed = (
        len(msg) == 5 and type(code) is str and type(description) is str and type(details) is dict
    )
    # Some firmwares omit errorDetails or send null for it; the id still ends the call, so the
    # frame is used with the missing parts defaulted instead of letting the call time out.
    frame_cls = CallError if mt == 4 else CallResultError
    frame = frame_cls(
        mid,
        code if type(code) is str else "",
        description if type(description) is str else "",
        details if type(details) is dict else {},
    )
    return frame if well_formed else Irregular(frame, "malformed_error_frame")


def _decode_send(msg: list[Any]) -> Decoded:
    mid = _readable_id(msg)
    if len(msg) != 4 or mid is None or type(msg[2]) is not str:
        return Ignored("malformed SEND", 6, mid)
    payload = msg[3]
    if type(payload) is dict:
        return Send(mid, msg[2], payload)
    if payload is None:
        return Irregular(Send(mid, msg[2], {}), "null_payload")
    return Ignored("SEND payload is not a JSON object", 6, mid)


def decode(data: str | bytes, version: OcppVersion) -> Decoded:
    """Classify one received WebSocket message for ``version``."""
    try:
        msg = _loads(data)
    except _JSONDecodeError:
        return _NOT_JSON
    if type(msg) is not list or not msg:
        return _NOT_ARRAY
    mt = msg[0]
    if type(mt) is not int:
        mid = _readable_id(msg) or UNKNOWN_MESSAGE_ID
        return Rejected(mid, _K.RPC_FRAMEWORK, "MessageTypeId is not an integer")
    if mt == 2:
        # Fast path for the common well-formed CALL; _decode_call handles every irregularity.
        if len(msg) == 4:
            mid, action, payload = msg[1], msg[2], msg[3]
            if (
                type(mid) is str
                and len(mid) <= MAX_MESSAGE_ID_LENGTH
                and type(action) is str
                and type(payload) is dict
            ):
                return Call(mid, action, payload)
        return _decode_call(msg)
    if mt == 3:
        return _decode_result(msg)
    if mt == 4:
        return _decode_error(msg, 4)
    if version is OcppVersion.V21:
        if mt == 5:
            return _decode_error(msg, 5)
        if mt == 6:
            return _decode_send(msg)
    if version is OcppVersion.V201:
        mid = _readable_id(msg) or UNKNOWN_MESSAGE_ID
        return Rejected(mid, _K.MESSAGE_TYPE_NOT_SUPPORTED, "MessageTypeId is not supported")
    return Ignored("unknown MessageTypeId", mt, _readable_id(msg))
