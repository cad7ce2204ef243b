"""What an :class:`~opencsms.ocpp.session.RpcSession` reports to the I/O shell around it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opencsms.errors import CallFailedError
from opencsms.ocpp.frames import Call, Send
from opencsms.ocpp.tolerance import Deviation
from opencsms.value_class import value_class

__all__ = [
    "CallCompleted",
    "CallFailed",
    "IncomingCall",
    "IncomingSend",
    "NoticeKind",
    "PendingCall",
    "ProtocolNotice",
    "SessionEvent",
]


@dataclass(slots=True)
class PendingCall:
    """A CALL this side made, from :meth:`RpcSession.call` until its answer, timeout or close.

    ``sent_at`` and ``deadline`` are ``None`` while the call waits in the queue behind another
    outstanding CALL (OCPP-J §4.1.1: one CALL at a time per connection); they are set when the
    call goes out, so every call gets its full timeout on the wire. Times are the caller's
    monotonic clock, in seconds.
    """

    message_id: str
    action: str
    payload: dict[str, Any]
    queued_at: float
    sent_at: float | None = None
    deadline: float | None = None


@value_class
class IncomingCall:
    """A validated CALL from the peer; answer it with ``answer()`` or ``answer_error()``.

    ``deviations`` lists what tolerant mode repaired (and quirks such as a null payload or a CALL
    sent while another was unanswered); it is empty for conforming traffic.
    """

    call: Call
    deviations: tuple[Deviation, ...] = ()


@dataclass(frozen=True, slots=True)
class IncomingSend:
    """A validated 2.1 SEND (part 4 §4.2.4); it is never answered."""

    send: Send
    deviations: tuple[Deviation, ...] = ()


@dataclass(frozen=True, slots=True)
class CallCompleted:
    """Our CALL got a schema-valid CALLRESULT (``deviations``: what tolerant mode repaired)."""

    pending: PendingCall
    payload: dict[str, Any]
    deviations: tuple[Deviation, ...] = ()


@dataclass(frozen=True, slots=True)
class CallFailed:
    """Our CALL ended without a valid CALLRESULT; ``error`` says how."""

    pending: PendingCall
    error: CallFailedError


@dataclass(frozen=True, slots=True)
class ProtocolNotice:
    """Something worth logging or counting that needs no action from the application.

    ``kind`` is one of :class:`NoticeKind`; ``detail`` never holds raw peer input.
    """

    kind: str
    detail: str


class NoticeKind:
    """The ``kind`` strings of :class:`ProtocolNotice`."""

    #: A frame that could not be parsed was answered with a CALLERROR.
    INVALID_FRAME = "invalid_frame"
    #: A frame was dropped without an answer (unknown type in 1.6/2.1, malformed result, ...).
    IGNORED_FRAME = "ignored_frame"
    #: A CALL was answered with a CALLERROR by the session itself (invalid, unknown action...).
    CALL_REJECTED = "call_rejected"
    #: A CALLRESULT/CALLERROR arrived for a call that had already timed out.
    LATE_RESULT = "late_result"
    #: A CALLRESULT/CALLERROR arrived for an id we never sent (or forgot).
    UNKNOWN_RESULT = "unknown_result"
    #: The peer sent a CALL while its previous CALL was unanswered; it was queued.
    CALL_QUEUED = "call_queued"
    #: 2.1: the peer could not process our CALLRESULT and sent a CALLRESULTERROR.
    CALLRESULTERROR_RECEIVED = "callresulterror_received"
    #: 2.1: we answered a schema-invalid CALLRESULT with a CALLRESULTERROR.
    CALLRESULTERROR_SENT = "callresulterror_sent"
    #: A 2.1 SEND was dropped (unknown action, invalid payload); SEND is never answered.
    SEND_DROPPED = "send_dropped"


SessionEvent = IncomingCall | IncomingSend | CallCompleted | CallFailed | ProtocolNotice
