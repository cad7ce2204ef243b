"""The sans-I/O OCPP-J RPC session: strings in, frames and events out.

One :class:`RpcSession` per WebSocket connection. It never touches a socket, a clock or a task:
the I/O shell feeds it every received message with :meth:`RpcSession.receive`, sends what
:meth:`RpcSession.data_to_send` returns, wakes it at :meth:`RpcSession.next_deadline` through
:meth:`RpcSession.expire`, and calls :meth:`RpcSession.close` when the connection ends (the model
is the protocol core of python-websockets).

Rules it enforces (each has a test in ``tests/ocpp``; ``docs/protocol-errors.md`` has the table):

* One outstanding CALL per direction (OCPP-J 1.6 §4.1.1, 2.0.1/2.1 part 4 §4.1.1): :meth:`call`
  queues while another of our CALLs is unanswered; the next one goes out, with its own fresh
  deadline, when the answer or the timeout arrives.
* An incoming CALL is handed over as :class:`IncomingCall` and must be answered before the next one
  from the peer is handed over. Stations do send a second CALL before the first is answered; it is
  queued (with a ``concurrent_call`` deviation) and released by :meth:`answer` /
  :meth:`answer_error`; collect it with :meth:`take_events` (``receive``/``expire`` also return it).
* A CALL whose id equals one still being handled is answered with a CALLERROR (2.0.1 part 4 §4.2.3
  "an existing call with the same unique identifier is being handled already").
* Unknown action → ``NotImplemented``; known action of the other direction or without a handler →
  ``NotSupported`` (2.0.1 part 4 §4.3; 1.6 §4.2.3 Table 7).
* Answers to calls that timed out are counted as late, other strays as unknown; neither is ever
  matched to another call.

Every message's outcome is reported to the optional ``count(action, direction, result)`` callback
(the node's ``opencsms_messages_total``, docs/metrics.md): the session is the one place that sees
every answer, including the CALLERRORs it sends itself before any handler runs. ``direction``
``"in"``: a peer CALL, ``result`` ``ok`` or the CALLERROR code sent (``closed`` when the connection
ended first); ``"out"``: our CALL, ``ok``, the peer's CALLERROR code, ``invalid``, ``timeout``,
``closed`` or ``late``. Labels never carry the peer's unvalidated text (an unknown action is
``unknown``, an unknown error code ``error``) so a misbehaving peer cannot grow the series.
"""

from __future__ import annotations

import enum
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from opencsms.errors import (
    CallErrorResponse,
    CallTimeoutError,
    ConnectionClosedError,
    InvalidResponseError,
    PayloadValidationError,
    ProtocolUsageError,
    RpcError,
    RpcErrorKind,
)
from opencsms.ocpp.actions import SEND_STATION_TO_CSMS, Role, incoming_actions, outgoing_actions
from opencsms.ocpp.decoding import Ignored, Irregular, Rejected, decode
from opencsms.ocpp.error_codes import error_code, to_call_error, to_call_result_error
from opencsms.ocpp.events import (
    CallCompleted,
    CallFailed,
    IncomingCall,
    IncomingSend,
    NoticeKind,
    PendingCall,
    ProtocolNotice,
    SessionEvent,
)
from opencsms.ocpp.frames import Call, CallError, CallResult, CallResultError, Frame, Send, encode
from opencsms.ocpp.schemas import (
    Direction,
    SchemaRegistry,
    Violation,
    default_registry,
    violations_of,
)
from opencsms.ocpp.tolerance import Deviation, DeviationKind, repair
from opencsms.ocpp.version import OcppVersion

OutgoingFrame = tuple[str, int, str, str | None]
"""A frame to send: its text, message type, message id, and the action it carries or answers
(``None`` for an error that answers no accepted CALL)."""

__all__ = [
    "CallCompleted",
    "CallFailed",
    "Deviation",
    "IncomingCall",
    "IncomingSend",
    "OutgoingFrame",
    "PendingCall",
    "ProtocolNotice",
    "Role",
    "RpcSession",
    "SessionEvent",
    "Strictness",
]

#: Incoming CALLs queued behind an unanswered one; more are refused with GenericError. Real
#: stations queue one or two; a peer flooding CALLs must not grow memory without bound.
MAX_QUEUED_INCOMING = 16
#: Ids of timed-out calls remembered to tell a late answer from an unknown one.
LATE_ID_MEMORY = 64
#: At most this many violations are listed in a CALLERROR's errorDetails.
MAX_DETAILED_VIOLATIONS = 5

_NULL_PAYLOAD = Deviation(DeviationKind.NULL_PAYLOAD, "", "null payload taken as {}")
#: ``count`` label for an action or error code that is not in the protocol (peer's free text).
UNKNOWN_LABEL = "unknown"

_CONCURRENT = Deviation(
    DeviationKind.CONCURRENT_CALL, "", "sent before the previous CALL was answered; queued"
)


class Strictness(enum.Enum):
    """How a station's deviations from the schemas are treated (configured per station)."""

    STRICT = "strict"
    TOLERANT = "tolerant"


def _uuid4() -> str:
    return str(uuid.uuid4())


def _no_count(action: str, direction: str, result: str) -> None:
    """``count`` when nobody counts (simulator, load generator, tests)."""


def _violation_error(violations: tuple[Violation, ...]) -> RpcError:
    first = violations[0]
    details = {
        "violations": [
            {"path": v.path, "message": v.message} for v in violations[:MAX_DETAILED_VIOLATIONS]
        ]
    }
    return RpcError(first.kind, first.message, details)


class RpcSession:
    """The OCPP-J RPC state of one connection, for either end (``role``).

    ``now`` arguments are seconds on the caller's monotonic clock. ``supported_actions`` are the
    incoming actions this side has handlers for (``None``: all of its direction).
    ``validate_outgoing_results`` checks our own CALLRESULT payloads (tests, development).
    """

    def __init__(
        self,
        version: OcppVersion,
        *,
        role: Role,
        registry: SchemaRegistry | None = None,
        call_timeout: float = 30.0,
        strictness: Strictness = Strictness.STRICT,
        validate_outgoing_results: bool = False,
        id_factory: Callable[[], str] = _uuid4,
        supported_actions: frozenset[str] | None = None,
        count: Callable[[str, str, str], None] | None = None,
    ) -> None:
        self.version = version
        self.role = role
        self.registry = registry if registry is not None else default_registry()
        self.call_timeout = call_timeout
        self.strictness = strictness
        self.validate_outgoing_results = validate_outgoing_results
        self._id_factory = id_factory
        incoming = incoming_actions(version, role)
        self._supported = incoming if supported_actions is None else incoming & supported_actions
        self._outgoing = outgoing_actions(version, role)
        self._tolerant = strictness is Strictness.TOLERANT
        self._count = count if count is not None else _no_count
        self._codes = frozenset(error_code(version, kind) for kind in RpcErrorKind)
        # action → compiled request validator, for supported actions only (hot-path cache).
        self._request_validators: dict[str, Any] = {}
        self._outbox: list[OutgoingFrame] = []
        self._ready: list[SessionEvent] = []
        self._outstanding: PendingCall | None = None
        self._queue: deque[PendingCall] = deque()
        self._handling: Call | None = None
        self._waiting: deque[IncomingCall] = deque()
        self._timed_out: OrderedDict[str, str] = OrderedDict()
        self._closed = False
        #: CALLRESULT/CALLERROR for calls that had timed out.
        self.late_results = 0
        #: CALLRESULT/CALLERROR for ids we never sent (or no longer remember).
        self.unknown_results = 0
        #: Frames dropped without an answer.
        self.ignored_frames = 0
        #: Messages passed to receive().
        self.received = 0
        #: Frames put into the outbox.
        self.sent = 0

    # ------------------------------------------------------------------ properties

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    @property
    def outstanding(self) -> PendingCall | None:
        """Our CALL currently on the wire, if any."""
        return self._outstanding

    @property
    def queued_calls(self) -> int:
        """How many of our CALLs wait behind the outstanding one."""
        return len(self._queue)

    # --------------------------------------------------------------------- input

    def receive(self, data: str | bytes, now: float) -> list[SessionEvent]:
        """Process one received WebSocket message; returns the events it caused.

        Events made ready earlier by :meth:`answer` and not yet taken come first.
        """
        if self._closed:
            return []
        self.received += 1
        decoded = decode(data, self.version)
        # Exact type checks: cheaper than isinstance on the hot path, and mypy narrows them.
        if type(decoded) is Call:
            events = self._on_call(decoded, ())
        elif type(decoded) is CallResult:
            events = self._on_result(decoded, (), now)
        elif type(decoded) is CallError:
            events = self._on_error(decoded, now)
        else:
            events = self._on_other(decoded, now)
        if self._ready:
            events = self._ready + events
            self._ready = []
        return events

    def _on_other(self, decoded: object, now: float) -> list[SessionEvent]:
        if isinstance(decoded, Irregular):
            frame = decoded.frame
            if isinstance(frame, Call):
                return self._on_call(frame, (_NULL_PAYLOAD,))
            if isinstance(frame, CallResult):
                return self._on_result(frame, (_NULL_PAYLOAD,), now)
            if isinstance(frame, Send):
                return self._on_send(frame, (_NULL_PAYLOAD,))
            notice = ProtocolNotice(NoticeKind.IGNORED_FRAME, "error frame not of 5 elements")
            if isinstance(frame, CallError):
                return [notice, *self._on_error(frame, now)]
            return [notice, *self._on_result_error(frame)]
        if isinstance(decoded, Rejected):
            error = RpcError(decoded.kind, decoded.description)
            self._emit(to_call_error(self.version, decoded.message_id, error), 4, None)
            code = error_code(self.version, decoded.kind)
            self._count(UNKNOWN_LABEL, "in", code)
            return [ProtocolNotice(NoticeKind.INVALID_FRAME, f"{code}: {decoded.description}")]
        if isinstance(decoded, Ignored):
            return self._on_ignored(decoded, now)
        if isinstance(decoded, Send):
            return self._on_send(decoded, ())
        if isinstance(decoded, CallResultError):
            return self._on_result_error(decoded)
        raise AssertionError(f"unexpected decode result {decoded!r}")  # pragma: no cover

    def _on_call(self, call: Call, deviations: tuple[Deviation, ...]) -> list[SessionEvent]:
        action = call.action
        validator = self._request_validators.get(action)
        if validator is None:
            if action in self._supported:
                validator = self.registry.validator(self.version, action, Direction.REQUEST)
            if validator is None:
                if self.registry.has_action(self.version, action):
                    return self._reject(
                        call.message_id,
                        RpcError(RpcErrorKind.NOT_SUPPORTED, f"{action} is not supported"),
                        action,
                    )
                # The action is not ours to name back: it is the peer's unvalidated text.
                return self._reject(
                    call.message_id,
                    RpcError(RpcErrorKind.NOT_IMPLEMENTED, "Requested Action is not known"),
                    UNKNOWN_LABEL,
                )
            self._request_validators[action] = validator
        handling = self._handling
        if handling is not None and (
            handling.message_id == call.message_id
            or any(w.call.message_id == call.message_id for w in self._waiting)
        ):
            return self._reject(
                call.message_id,
                RpcError(
                    RpcErrorKind.RPC_FRAMEWORK,
                    "A CALL with this MessageId is already being handled",
                ),
                action,
            )
        payload = call.payload
        if not validator.is_valid(payload):
            deviations, violations = self._fix_up(validator, payload, deviations)
            if violations:
                return self._reject(call.message_id, _violation_error(violations), action)
        if handling is None:
            self._handling = call
            return [IncomingCall(call, deviations)]
        if len(self._waiting) >= MAX_QUEUED_INCOMING:
            return self._reject(
                call.message_id, RpcError(RpcErrorKind.GENERIC, "Too many unanswered CALLs"), action
            )
        self._waiting.append(IncomingCall(call, (*deviations, _CONCURRENT)))
        return [
            ProtocolNotice(NoticeKind.CALL_QUEUED, f"{action} queued behind an unanswered CALL")
        ]

    def _fix_up(
        self, validator: Any, payload: dict[str, Any], deviations: tuple[Deviation, ...]
    ) -> tuple[tuple[Deviation, ...], tuple[Violation, ...]]:
        """Failure path only: strict → the violations; tolerant → repair, then what remains."""
        if not self._tolerant:
            return deviations, violations_of(validator, payload)
        result = repair(validator, payload)
        return deviations + result.deviations, result.remaining

    def _reject(self, message_id: str, error: RpcError, action: str) -> list[SessionEvent]:
        frame = to_call_error(self.version, message_id, error)
        self._emit(frame, 4, None)  # answers no accepted CALL: the audit names no action
        self._count(action, "in", frame.error_code)
        detail = f"{frame.error_code}: {error.description}"
        return [ProtocolNotice(NoticeKind.CALL_REJECTED, detail)]

    def _on_result(
        self, result: CallResult, deviations: tuple[Deviation, ...], now: float
    ) -> list[SessionEvent]:
        pending = self._outstanding
        if pending is None or pending.message_id != result.message_id:
            return self._stray(result.message_id)
        self._outstanding = None
        validator = self.registry.validator(self.version, pending.action, Direction.RESPONSE)
        payload = result.payload
        events: list[SessionEvent]
        if validator is None or validator.is_valid(payload):
            events = [CallCompleted(pending, payload, deviations)]
            self._count(pending.action, "out", "ok")
        else:
            deviations, violations = self._fix_up(validator, payload, deviations)
            if violations:
                events = self._invalid_result(pending, violations)
            else:
                events = [CallCompleted(pending, payload, deviations)]
                self._count(pending.action, "out", "ok")
        self._send_next(now)
        return events

    def _invalid_result(
        self, pending: PendingCall, violations: tuple[Violation, ...]
    ) -> list[SessionEvent]:
        error = InvalidResponseError(
            violations, message_id=pending.message_id, action=pending.action
        )
        events: list[SessionEvent] = [CallFailed(pending, error)]
        self._count(pending.action, "out", "invalid")
        if self.version is OcppVersion.V21:
            # 2.1 part 4 §4.2.3: a CALLRESULT that cannot be processed gets a CALLRESULTERROR.
            rpc_error = _violation_error(violations)
            self._emit(to_call_result_error(self.version, pending.message_id, rpc_error), 5, None)
            events.append(
                ProtocolNotice(NoticeKind.CALLRESULTERROR_SENT, f"invalid {pending.action} result")
            )
        return events

    def _on_error(self, frame: CallError, now: float) -> list[SessionEvent]:
        pending = self._outstanding
        if pending is None or pending.message_id != frame.message_id:
            return self._stray(frame.message_id)
        self._outstanding = None
        error = CallErrorResponse(
            frame.error_code,
            frame.description,
            frame.details,
            message_id=pending.message_id,
            action=pending.action,
        )
        code = frame.error_code
        self._count(pending.action, "out", code if code in self._codes else "error")
        self._send_next(now)
        return [CallFailed(pending, error)]

    def _on_result_error(self, frame: CallResultError) -> list[SessionEvent]:
        # 2.1: the peer could not process one of our CALLRESULTs. There is nothing to retry (the
        # CALL was theirs); report it. The code is shown only if it is a valid one.
        shown = frame.error_code if frame.error_code in self._codes else "an unknown error code"
        return [ProtocolNotice(NoticeKind.CALLRESULTERROR_RECEIVED, f"peer sent {shown}")]

    def _on_send(self, send: Send, deviations: tuple[Deviation, ...]) -> list[SessionEvent]:
        # 2.1 part 4 §4.2.4: a SEND is never answered, whatever is wrong with it.
        allowed = SEND_STATION_TO_CSMS[self.version] if self.role is Role.CSMS else frozenset()
        validator = (
            self.registry.validator(self.version, send.action, Direction.SEND)
            if send.action in allowed
            else None
        )
        if validator is None:
            self.ignored_frames += 1
            return [ProtocolNotice(NoticeKind.SEND_DROPPED, "SEND with an unsupported action")]
        if not validator.is_valid(send.payload):
            deviations, violations = self._fix_up(validator, send.payload, deviations)
            if violations:
                self.ignored_frames += 1
                return [ProtocolNotice(NoticeKind.SEND_DROPPED, violations[0].message)]
        return [IncomingSend(send, deviations)]

    def _on_ignored(self, ignored: Ignored, now: float) -> list[SessionEvent]:
        self.ignored_frames += 1
        events: list[SessionEvent] = [ProtocolNotice(NoticeKind.IGNORED_FRAME, ignored.reason)]
        pending = self._outstanding
        if (
            ignored.message_type == 3
            and pending is not None
            and ignored.message_id == pending.message_id
        ):
            # A broken answer to our call still ends it: fail now instead of at the timeout.
            self._outstanding = None
            violation = Violation(RpcErrorKind.RPC_FRAMEWORK, "", ignored.reason)
            events += self._invalid_result(pending, (violation,))
            self._send_next(now)
        return events

    def _stray(self, message_id: str) -> list[SessionEvent]:
        action = self._timed_out.pop(message_id, None)
        if action is not None:
            self.late_results += 1
            self._count(action, "out", "late")
            return [ProtocolNotice(NoticeKind.LATE_RESULT, f"answer to {action} after its timeout")]
        self.unknown_results += 1
        self._count(UNKNOWN_LABEL, "out", "unknown")
        return [ProtocolNotice(NoticeKind.UNKNOWN_RESULT, "answer for a MessageId not outstanding")]

    # -------------------------------------------------------------------- output

    def _emit(self, frame: Frame, message_type: int, action: str | None) -> None:
        self._outbox.append((encode(frame), message_type, frame.message_id, action))
        self.sent += 1

    def _release(self) -> None:
        self._handling = None
        if self._waiting:
            incoming = self._waiting.popleft()
            self._handling = incoming.call
            self._ready.append(incoming)

    def _check_answerable(self, call: Call) -> bool:
        if self._closed:
            return False  # the connection is gone; a late handler answer is simply dropped
        handling = self._handling
        if handling is None or handling.message_id != call.message_id:
            raise ProtocolUsageError("this CALL is not the one awaiting an answer")
        return True

    def answer(self, call: Call, payload: dict[str, Any]) -> None:
        """Answer the handed-over ``call`` with a CALLRESULT carrying ``payload``.

        Raises :class:`PayloadValidationError` (nothing sent, the call stays unanswered) when
        ``validate_outgoing_results`` is on and ``payload`` breaks the response schema, and
        :class:`ProtocolUsageError` when ``call`` is not the CALL awaiting an answer.
        """
        if not self._check_answerable(call):
            return
        if self.validate_outgoing_results:
            violations = self.registry.validate_response(self.version, call.action, payload)
            if violations:
                raise PayloadValidationError(call.action, violations)
        self._emit(CallResult(call.message_id, payload), 3, call.action)
        self._count(call.action, "in", "ok")
        self._release()

    def answer_error(self, call: Call, exc: BaseException) -> None:
        """Answer the handed-over ``call`` with the CALLERROR for ``exc``.

        The code comes from :func:`opencsms.ocpp.error_codes.to_call_error`; anything but an
        :class:`RpcError` becomes ``InternalError`` without the exception's text.
        """
        if not self._check_answerable(call):
            return
        frame = to_call_error(self.version, call.message_id, exc)
        self._emit(frame, 4, call.action)
        self._count(call.action, "in", frame.error_code)
        self._release()

    def take_events(self) -> list[SessionEvent]:
        """Events made ready outside :meth:`receive`: the queued CALL released by an answer.

        Call it after :meth:`answer` / :meth:`answer_error`; :meth:`receive` and :meth:`expire`
        also return these events first, so none is lost if a call here is skipped.
        """
        ready, self._ready = self._ready, []
        return ready

    def call(
        self, action: str, payload: dict[str, Any], now: float, *, validate: bool = True
    ) -> PendingCall:
        """Start a CALL; it is sent now or queued behind the outstanding one.

        Raises :class:`PayloadValidationError` (nothing queued) when ``action`` is not one this
        role may send or ``payload`` breaks the request schema, and
        :class:`ConnectionClosedError` after :meth:`close`. ``validate=False`` skips the schema
        check: only the simulator's fault injection sends invalid payloads on purpose.
        """
        if self._closed:
            raise ConnectionClosedError("the connection is closed", action=action)
        if action not in self._outgoing:
            kind = (
                RpcErrorKind.NOT_SUPPORTED
                if self.registry.has_action(self.version, action)
                else RpcErrorKind.NOT_IMPLEMENTED
            )
            sender = "the CSMS" if self.role is Role.CSMS else "a charging station"
            message = f"{action} is not sent by {sender} in OCPP {self.version.value}"
            raise PayloadValidationError(action, (Violation(kind, "", message),))
        violations = (
            self.registry.validate_request(self.version, action, payload) if validate else ()
        )
        if violations:
            raise PayloadValidationError(action, violations)
        pending = PendingCall(self._id_factory(), action, payload, now)
        if self._outstanding is None:
            self._send_call(pending, now)
        else:
            self._queue.append(pending)
        return pending

    def _send_call(self, pending: PendingCall, now: float) -> None:
        pending.sent_at = now
        pending.deadline = now + self.call_timeout
        self._outstanding = pending
        self._emit(Call(pending.message_id, pending.action, pending.payload), 2, pending.action)

    def _send_next(self, now: float) -> None:
        if self._queue and self._outstanding is None:
            self._send_call(self._queue.popleft(), now)

    def send(self, action: str, payload: dict[str, Any]) -> None:
        """OCPP 2.1 SEND (part 4 §4.2.4): an unconfirmed message, allowed at any time.

        Raises :class:`ProtocolUsageError` before 2.1 or after close, and
        :class:`PayloadValidationError` for an action this role does not send or a bad payload.
        """
        if self.version is not OcppVersion.V21:
            raise ProtocolUsageError(f"SEND does not exist in OCPP {self.version.value}")
        if self._closed:
            raise ProtocolUsageError("the connection is closed")
        allowed = SEND_STATION_TO_CSMS[self.version] if self.role is Role.STATION else frozenset()
        if action not in allowed:
            message = f"{action} is not a SEND message of this role"
            violation = Violation(RpcErrorKind.NOT_SUPPORTED, "", message)
            raise PayloadValidationError(action, (violation,))
        violations = self.registry.validate_send(self.version, action, payload)
        if violations:
            raise PayloadValidationError(action, violations)
        self._emit(Send(self._id_factory(), action, payload), 6, action)

    def data_to_send(self) -> list[str]:
        """Drain the outbox: the frames to write, in order."""
        return [frame[0] for frame in self.frames_to_send()]

    @property
    def has_output(self) -> bool:
        """Whether frames wait in the outbox (cheaper to ask than to drain an empty one)."""
        return bool(self._outbox)

    @property
    def has_events(self) -> bool:
        """Whether :meth:`take_events` has something to return."""
        return bool(self._ready)

    def frames_to_send(self) -> list[OutgoingFrame]:
        """:meth:`data_to_send` with each frame's head (for the audit log, without parsing)."""
        out, self._outbox = self._outbox, []
        return out

    # -------------------------------------------------------------------- timers

    def next_deadline(self) -> float | None:
        """When :meth:`expire` has work to do (the outstanding call's deadline), if ever."""
        pending = self._outstanding
        return pending.deadline if pending is not None else None

    def expire(self, now: float) -> list[SessionEvent]:
        """Fail the outstanding call if its deadline has passed, then send the next queued one."""
        events = self.take_events()
        pending = self._outstanding
        if pending is None or pending.deadline is None or pending.deadline > now:
            return events
        self._outstanding = None
        self._timed_out[pending.message_id] = pending.action
        if len(self._timed_out) > LATE_ID_MEMORY:
            self._timed_out.popitem(last=False)
        error = CallTimeoutError(
            f"no answer to {pending.action} within {self.call_timeout:g} s",
            message_id=pending.message_id,
            action=pending.action,
        )
        events.append(CallFailed(pending, error))
        self._count(pending.action, "out", "timeout")
        self._send_next(now)
        return events

    def close(self) -> list[SessionEvent]:
        """The connection ended: fail the outstanding and every queued call, drop the rest.

        Idempotent; later calls return ``[]``. Unanswered incoming CALLs are forgotten (their
        answers cannot be delivered any more).
        """
        if self._closed:
            return []
        self._closed = True
        failed = [self._outstanding] if self._outstanding is not None else []
        failed += self._queue
        count = self._count
        for pending in failed:
            count(pending.action, "out", "closed")
        if self._handling is not None:  # received, never answered: the peer will send it again
            count(self._handling.action, "in", "closed")
        for waiting in self._waiting:
            count(waiting.call.action, "in", "closed")
        self._outstanding = None
        self._queue.clear()
        self._handling = None
        self._waiting.clear()
        self._ready = []
        self._outbox = []
        return [
            CallFailed(
                p,
                ConnectionClosedError(
                    f"connection closed before {p.action} was answered",
                    message_id=p.message_id,
                    action=p.action,
                ),
            )
            for p in failed
        ]
