"""OCPP-J RPC frames and their encoding.

OCPP-J 1.6 §4.2, OCPP-J 2.0.1 part 4 §4.2 and OCPP 2.1 part 4 §4.2 define the frames as JSON
arrays: ``[2, id, action, payload]`` (CALL), ``[3, id, payload]`` (CALLRESULT),
``[4, id, code, description, details]`` (CALLERROR) and, new in 2.1, ``[5, ...]`` (CALLRESULTERROR,
same shape as CALLERROR) and ``[6, id, action, payload]`` (SEND).

Encoding is the hot path of every answer, so it is a direct ``orjson.dumps`` of a list; only the
error frames pay for sanitising their description (string[255], §4.2.3).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import orjson

from opencsms.value_class import value_class

__all__ = [
    "MAX_DESCRIPTION_LENGTH",
    "MAX_MESSAGE_ID_LENGTH",
    "UNKNOWN_MESSAGE_ID",
    "Call",
    "CallError",
    "CallResult",
    "CallResultError",
    "Frame",
    "MessageType",
    "Send",
    "encode",
    "safe_description",
]

#: messageId is string[36] in every version (1.6 §4.1.4 Table 3, 2.0.1/2.1 part 4 §4.1.4).
MAX_MESSAGE_ID_LENGTH = 36
#: errorDescription is string[255] (2.0.1/2.1 part 4 §4.2.3 Table 7).
MAX_DESCRIPTION_LENGTH = 255
#: The message id of a CALLERROR answering a message whose id cannot be read (2.0.1 §4.2.3).
UNKNOWN_MESSAGE_ID = "-1"


class MessageType(enum.IntEnum):
    """Message Type Numbers (1.6 §4.1.3 Table 2, 2.1 part 4 §4.1.3 Table 3)."""

    CALL = 2
    CALLRESULT = 3
    CALLERROR = 4
    CALLRESULTERROR = 5  # OCPP 2.1 only
    SEND = 6  # OCPP 2.1 only


@value_class
class Call:
    """A request: ``[2, message_id, action, payload]``."""

    message_id: str
    action: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallResult:
    """A response to a CALL: ``[3, message_id, payload]``."""

    message_id: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallError:
    """An error response to a CALL: ``[4, message_id, error_code, description, details]``."""

    message_id: str
    error_code: str
    description: str
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallResultError:
    """OCPP 2.1: an error response to a CALLRESULT (part 4 §4.2.3), same fields as CallError."""

    message_id: str
    error_code: str
    description: str
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Send:
    """OCPP 2.1: an unconfirmed message ``[6, message_id, action, payload]`` (part 4 §4.2.4)."""

    message_id: str
    action: str
    payload: dict[str, Any]


Frame = Call | CallResult | CallError | CallResultError | Send

_dumps = orjson.dumps


def safe_description(text: str) -> str:
    """``text`` made fit for errorDescription: at most 255 characters and encodable as UTF-8.

    Truncation marks the cut with an ellipsis. Python strings are sequences of code points, so a
    slice never splits a UTF-8 sequence; lone surrogates (which orjson refuses) become ``?``.
    """
    if len(text) > MAX_DESCRIPTION_LENGTH:
        text = text[: MAX_DESCRIPTION_LENGTH - 1] + "…"
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _error_list(code: int, frame: CallError | CallResultError) -> list[Any]:
    details: dict[str, Any] = frame.details
    try:
        _dumps(details)
    except orjson.JSONEncodeError:
        # Details are free-form (§4.2.3 Table 7); never let an unserialisable one kill the
        # error answer itself. The spec requires an object, so fall back to the empty one.
        details = {}
    return [code, frame.message_id, frame.error_code, safe_description(frame.description), details]


def encode(frame: Frame) -> str:
    """Serialise ``frame`` to the JSON text sent on the WebSocket.

    Raises ``orjson.JSONEncodeError`` when a CALL/CALLRESULT/SEND payload holds a value JSON
    cannot represent; payloads are validated against their schemas before they get here.
    """
    # CALLRESULT first: answering station CALLs is by far the most frequent encode.
    if isinstance(frame, CallResult):
        data = _dumps([3, frame.message_id, frame.payload])
    elif isinstance(frame, Call):
        data = _dumps([2, frame.message_id, frame.action, frame.payload])
    elif isinstance(frame, CallError):
        data = _dumps(_error_list(4, frame))
    elif isinstance(frame, CallResultError):
        data = _dumps(_error_list(5, frame))
    elif isinstance(frame, Send):
        data = _dumps([6, frame.message_id, frame.action, frame.payload])
    else:
        raise TypeError(f"not an OCPP-J frame: {type(frame).__name__}")
    return data.decode("utf-8")
