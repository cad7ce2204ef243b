"""The one error tree of OpenCSMS.

Every exception the project raises on purpose derives from :class:`OpenCsmsError`. Three families
live here:

* :class:`RpcError` and its subclasses: a failure that is answered to the peer as an OCPP-J
  CALLERROR (or 2.1 CALLRESULTERROR). Raise one from a handler; the protocol core turns it into a
  frame through :func:`opencsms.ocpp.error_codes.to_call_error`, the only place that knows the
  per-version error code strings.
* :class:`CallFailedError` and its subclasses: the outcome of a CALL *we* sent that did not end in
  a valid CALLRESULT (timeout, closed connection, CALLERROR answer, schema-invalid answer).
* Local usage errors: :class:`PayloadValidationError` (an outgoing payload does not match its
  schema) and :class:`ProtocolUsageError` (the session API was used out of order).

Other layers add their own subclasses of :class:`OpenCsmsError` to this file (e.g. a
``StorageError``) so that there stays one tree.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opencsms.ocpp.schemas import Violation

__all__ = [
    "AlreadyExistsError",
    "CallErrorResponse",
    "CallFailedError",
    "CallTimeoutError",
    "ConnectionClosedError",
    "FormatViolationError",
    "GenericError",
    "InternalError",
    "InvalidResponseError",
    "MessageTypeNotSupportedError",
    "NotFoundError",
    "NotImplementedAction",
    "NotSupportedError",
    "OccurrenceConstraintViolationError",
    "OpenCsmsError",
    "PayloadValidationError",
    "PropertyConstraintViolationError",
    "ProtocolError",
    "ProtocolUsageError",
    "RpcError",
    "RpcErrorKind",
    "RpcFrameworkError",
    "SecurityError",
    "StorageError",
    "TypeConstraintViolationError",
]


class OpenCsmsError(Exception):
    """Root of every exception OpenCSMS raises on purpose."""


# --------------------------------------------------------------------------------------------
# Errors answered to the peer (CALLERROR / CALLRESULTERROR)
# --------------------------------------------------------------------------------------------


class RpcErrorKind(enum.Enum):
    """Version-independent RPC error categories.

    The wire spelling differs per OCPP version (1.6 ``FormationViolation`` vs 2.x
    ``FormatViolation``, ...); :func:`opencsms.ocpp.error_codes.error_code` maps a kind to the
    string of a given version. Values are stable identifiers for logs and metrics.
    """

    FORMAT_VIOLATION = "format_violation"
    GENERIC = "generic"
    INTERNAL = "internal"
    MESSAGE_TYPE_NOT_SUPPORTED = "message_type_not_supported"
    NOT_IMPLEMENTED = "not_implemented"
    NOT_SUPPORTED = "not_supported"
    OCCURRENCE_CONSTRAINT = "occurrence_constraint"
    PROPERTY_CONSTRAINT = "property_constraint"
    PROTOCOL_ERROR = "protocol_error"
    RPC_FRAMEWORK = "rpc_framework"
    SECURITY = "security"
    TYPE_CONSTRAINT = "type_constraint"


class RpcError(OpenCsmsError):
    """A failure to process a received message, answered to the peer as a CALLERROR.

    ``description`` goes on the wire as errorDescription (string[255], truncated by the frame
    encoder) and ``details`` as errorDetails. Neither may contain values taken from the peer's
    message: field paths are fine, field values are not (they may be secrets or garbage).
    """

    kind: RpcErrorKind
    description: str
    details: dict[str, Any]

    def __init__(
        self,
        kind: RpcErrorKind,
        description: str = "",
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(description or kind.value)
        self.kind = kind
        self.description = description
        self.details = dict(details) if details else {}


class _KindedRpcError(RpcError):
    """An :class:`RpcError` whose kind is fixed by the subclass."""

    default_kind: RpcErrorKind = RpcErrorKind.GENERIC

    def __init__(self, description: str = "", details: Mapping[str, Any] | None = None) -> None:
        super().__init__(self.default_kind, description, details)


class FormatViolationError(_KindedRpcError):
    """Payload syntactically incorrect (1.6 ``FormationViolation``, 2.x ``FormatViolation``)."""

    default_kind = RpcErrorKind.FORMAT_VIOLATION


class GenericError(_KindedRpcError):
    """Any error not covered by a more specific code (``GenericError``)."""

    default_kind = RpcErrorKind.GENERIC


class InternalError(_KindedRpcError):
    """The receiver failed internally (``InternalError``)."""

    default_kind = RpcErrorKind.INTERNAL


class MessageTypeNotSupportedError(_KindedRpcError):
    """Unknown message type number (2.0.1 ``MessageTypeNotSupported``, OCPP-J 2.0.1 §4.4)."""

    default_kind = RpcErrorKind.MESSAGE_TYPE_NOT_SUPPORTED


class NotImplementedAction(_KindedRpcError):
    """The action is not known at all (``NotImplemented``)."""

    default_kind = RpcErrorKind.NOT_IMPLEMENTED


class NotSupportedError(_KindedRpcError):
    """The action is known but not supported by this receiver (``NotSupported``)."""

    default_kind = RpcErrorKind.NOT_SUPPORTED


class OccurrenceConstraintViolationError(_KindedRpcError):
    """A field occurs too few or too many times (1.6 spelling ``OccurenceConstraintViolation``)."""

    default_kind = RpcErrorKind.OCCURRENCE_CONSTRAINT


class PropertyConstraintViolationError(_KindedRpcError):
    """A field holds an invalid value (``PropertyConstraintViolation``)."""

    default_kind = RpcErrorKind.PROPERTY_CONSTRAINT


class ProtocolError(_KindedRpcError):
    """Payload incomplete / not conform the PDU structure (``ProtocolError``)."""

    default_kind = RpcErrorKind.PROTOCOL_ERROR


class RpcFrameworkError(_KindedRpcError):
    """Not a valid RPC message, e.g. unreadable message id (2.x ``RpcFrameworkError``)."""

    default_kind = RpcErrorKind.RPC_FRAMEWORK


class SecurityError(_KindedRpcError):
    """A security issue prevented processing (``SecurityError``).

    OCPP-J 1.6 errata 3.8: the recommended answer to a CALL other than BootNotification from a
    station that is not yet accepted.
    """

    default_kind = RpcErrorKind.SECURITY


class TypeConstraintViolationError(_KindedRpcError):
    """A field has the wrong data type (``TypeConstraintViolation``)."""

    default_kind = RpcErrorKind.TYPE_CONSTRAINT


# --------------------------------------------------------------------------------------------
# Outcomes of our own CALLs
# --------------------------------------------------------------------------------------------


class CallFailedError(OpenCsmsError):
    """A CALL we sent did not end in a valid CALLRESULT.

    ``message_id`` and ``action`` identify the call (``None`` when the failure precedes any call,
    e.g. :meth:`RpcSession.call` on a closed session).
    """

    def __init__(
        self, message: str, *, message_id: str | None = None, action: str | None = None
    ) -> None:
        super().__init__(message)
        self.message_id = message_id
        self.action = action


class CallTimeoutError(CallFailedError):
    """No answer arrived before the call's deadline (OCPP-J §4.1.1 "timed out")."""


class ConnectionClosedError(CallFailedError):
    """The connection closed while the call was outstanding or still queued."""


class CallErrorResponse(CallFailedError):
    """The peer answered with a CALLERROR (or, 2.1, a CALLRESULTERROR).

    ``error_code`` is the peer's string as received (it may not be a valid code for the version).
    """

    def __init__(
        self,
        error_code: str,
        description: str,
        details: Mapping[str, Any] | None = None,
        *,
        message_id: str | None = None,
        action: str | None = None,
    ) -> None:
        super().__init__(
            f"peer answered CALLERROR {error_code}", message_id=message_id, action=action
        )
        self.error_code = error_code
        self.description = description
        self.details = dict(details) if details else {}


class InvalidResponseError(CallFailedError):
    """The peer's CALLRESULT failed its response schema; ``violations`` says where."""

    def __init__(
        self,
        violations: tuple[Violation, ...],
        *,
        message_id: str | None = None,
        action: str | None = None,
    ) -> None:
        first = violations[0].message if violations else "invalid response"
        super().__init__(f"invalid CALLRESULT: {first}", message_id=message_id, action=action)
        self.violations = violations


# --------------------------------------------------------------------------------------------
# Local usage errors
# --------------------------------------------------------------------------------------------


class PayloadValidationError(OpenCsmsError):
    """An OUTGOING payload is not valid for its schema; nothing was sent.

    Raised by ``RpcSession.call()`` / ``answer()`` / ``send()``; the operator API maps it to
    HTTP 400. ``violations`` are safe to show (paths and schema facts only).
    """

    def __init__(self, action: str, violations: tuple[Violation, ...]) -> None:
        first = violations[0].message if violations else "invalid payload"
        super().__init__(f"{action}: {first}")
        self.action = action
        self.violations = violations


class ProtocolUsageError(OpenCsmsError):
    """The session API was used in a way the protocol forbids.

    Examples: answering a CALL twice, answering a CALL that was never handed over, a SEND on a
    version before 2.1, a CALL after the session was closed.
    """


# --------------------------------------------------------------------------------------------
# Storage
# --------------------------------------------------------------------------------------------


class StorageError(OpenCsmsError):
    """A database write or read failed (the cause is chained); nothing of the failed write stays."""


class AlreadyExistsError(OpenCsmsError):
    """The record to create exists already (e.g. a station id that is taken)."""


class NotFoundError(OpenCsmsError):
    """The record to read or change does not exist."""
