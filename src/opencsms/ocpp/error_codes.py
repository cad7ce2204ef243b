"""The one place that maps exceptions to OCPP-J error codes, per version.

Sources:

* OCPP-J 1.6 §4.2.3 Table 7. The OCPP-J 1.6 errata sheet §5.1/§5.2 confirm the misspellings
  ``OccurenceConstraintViolation`` and ``FormationViolation`` are *kept* on the wire ("Do not fix,
  this is a message level change, might break implementations"), so 1.6 uses them.
* OCPP-J 2.0.1 part 4 §4.3 Table 8 and OCPP 2.1 part 4 §4.3 Table 9 (identical code lists; 2.1 adds
  the CALLRESULTERROR frame, §4.2.3, which uses the same codes).

1.6 has no ``RpcFrameworkError`` and no ``MessageTypeNotSupported``:

* ``RPC_FRAMEWORK`` → ``FormationViolation``: 1.6 defines it as "syntactically incorrect or not
  conform the PDU structure for Action"; a frame that is not a valid RPC array is exactly a message
  not conforming to the PDU structure. (``ProtocolError`` is "Payload for Action is incomplete",
  which is about the payload, not the envelope.)
* ``MESSAGE_TYPE_NOT_SUPPORTED`` → ``GenericError``: 1.6 §4.1.3 says an unknown message type is
  ignored, so the session never sends this in 1.6; should a handler raise it anyway, the honest 1.6
  answer is the catch-all "any other error".

Unexpected exceptions (anything not an :class:`~opencsms.errors.RpcError`) become ``InternalError``
with a fixed description: the exception text may hold secrets or the peer's input.
"""

from __future__ import annotations

from types import MappingProxyType

from opencsms.errors import RpcError, RpcErrorKind
from opencsms.ocpp.frames import CallError, CallResultError
from opencsms.ocpp.version import OcppVersion

__all__ = [
    "ERROR_CODES",
    "INTERNAL_ERROR_DESCRIPTION",
    "error_code",
    "to_call_error",
    "to_call_result_error",
]

#: The description sent for unexpected exceptions; never the exception's own text.
INTERNAL_ERROR_DESCRIPTION = "An internal error occurred while processing the message"

_K = RpcErrorKind

_V16 = {
    _K.FORMAT_VIOLATION: "FormationViolation",
    _K.GENERIC: "GenericError",
    _K.INTERNAL: "InternalError",
    _K.MESSAGE_TYPE_NOT_SUPPORTED: "GenericError",
    _K.NOT_IMPLEMENTED: "NotImplemented",
    _K.NOT_SUPPORTED: "NotSupported",
    _K.OCCURRENCE_CONSTRAINT: "OccurenceConstraintViolation",
    _K.PROPERTY_CONSTRAINT: "PropertyConstraintViolation",
    _K.PROTOCOL_ERROR: "ProtocolError",
    _K.RPC_FRAMEWORK: "FormationViolation",
    _K.SECURITY: "SecurityError",
    _K.TYPE_CONSTRAINT: "TypeConstraintViolation",
}

_V2 = {
    _K.FORMAT_VIOLATION: "FormatViolation",
    _K.GENERIC: "GenericError",
    _K.INTERNAL: "InternalError",
    _K.MESSAGE_TYPE_NOT_SUPPORTED: "MessageTypeNotSupported",
    _K.NOT_IMPLEMENTED: "NotImplemented",
    _K.NOT_SUPPORTED: "NotSupported",
    _K.OCCURRENCE_CONSTRAINT: "OccurrenceConstraintViolation",
    _K.PROPERTY_CONSTRAINT: "PropertyConstraintViolation",
    _K.PROTOCOL_ERROR: "ProtocolError",
    _K.RPC_FRAMEWORK: "RpcFrameworkError",
    _K.SECURITY: "SecurityError",
    _K.TYPE_CONSTRAINT: "TypeConstraintViolation",
}

#: ``ERROR_CODES[version][kind]`` is the wire string; read-only.
ERROR_CODES: MappingProxyType[OcppVersion, MappingProxyType[RpcErrorKind, str]] = MappingProxyType(
    {
        OcppVersion.V16: MappingProxyType(_V16),
        OcppVersion.V201: MappingProxyType(_V2),
        OcppVersion.V21: MappingProxyType(_V2),
    }
)


def error_code(version: OcppVersion, kind: RpcErrorKind) -> str:
    """The errorCode string for ``kind`` in ``version``."""
    return ERROR_CODES[version][kind]


def _parts(version: OcppVersion, exc: BaseException) -> tuple[str, str, dict[str, object]]:
    if isinstance(exc, RpcError):
        return error_code(version, exc.kind), exc.description, dict(exc.details)
    return error_code(version, RpcErrorKind.INTERNAL), INTERNAL_ERROR_DESCRIPTION, {}


def to_call_error(version: OcppVersion, message_id: str, exc: BaseException) -> CallError:
    """The CALLERROR answering the CALL ``message_id`` that failed with ``exc``.

    An :class:`RpcError` keeps its description and details (their authors promise not to put the
    peer's values in them); anything else becomes ``InternalError`` with a generic description.
    """
    code, description, details = _parts(version, exc)
    return CallError(message_id, code, description, details)


def to_call_result_error(
    version: OcppVersion, message_id: str, exc: BaseException
) -> CallResultError:
    """OCPP 2.1 part 4 §4.2.3: the CALLRESULTERROR for a CALLRESULT that could not be processed."""
    if version is not OcppVersion.V21:
        raise ValueError(f"CALLRESULTERROR does not exist in OCPP {version.value}")
    code, description, details = _parts(version, exc)
    return CallResultError(message_id, code, description, details)
