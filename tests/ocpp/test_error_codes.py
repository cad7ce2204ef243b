"""Every (version, kind) → errorCode mapping, and exception → CALLERROR."""

from __future__ import annotations

import pytest

from opencsms import errors
from opencsms.errors import RpcError, RpcErrorKind
from opencsms.ocpp.error_codes import (
    INTERNAL_ERROR_DESCRIPTION,
    error_code,
    to_call_error,
    to_call_result_error,
)
from opencsms.ocpp.frames import CallError, CallResultError
from opencsms.ocpp.version import OcppVersion

K = RpcErrorKind

V16_EXPECTED = {
    K.FORMAT_VIOLATION: "FormationViolation",  # OCPP-J 1.6 errata §5.2: kept misspelled
    K.GENERIC: "GenericError",
    K.INTERNAL: "InternalError",
    K.MESSAGE_TYPE_NOT_SUPPORTED: "GenericError",
    K.NOT_IMPLEMENTED: "NotImplemented",
    K.NOT_SUPPORTED: "NotSupported",
    K.OCCURRENCE_CONSTRAINT: "OccurenceConstraintViolation",  # errata §5.1: kept misspelled
    K.PROPERTY_CONSTRAINT: "PropertyConstraintViolation",
    K.PROTOCOL_ERROR: "ProtocolError",
    K.RPC_FRAMEWORK: "FormationViolation",
    K.SECURITY: "SecurityError",
    K.TYPE_CONSTRAINT: "TypeConstraintViolation",
}

V2_EXPECTED = {
    K.FORMAT_VIOLATION: "FormatViolation",
    K.GENERIC: "GenericError",
    K.INTERNAL: "InternalError",
    K.MESSAGE_TYPE_NOT_SUPPORTED: "MessageTypeNotSupported",
    K.NOT_IMPLEMENTED: "NotImplemented",
    K.NOT_SUPPORTED: "NotSupported",
    K.OCCURRENCE_CONSTRAINT: "OccurrenceConstraintViolation",
    K.PROPERTY_CONSTRAINT: "PropertyConstraintViolation",
    K.PROTOCOL_ERROR: "ProtocolError",
    K.RPC_FRAMEWORK: "RpcFrameworkError",
    K.SECURITY: "SecurityError",
    K.TYPE_CONSTRAINT: "TypeConstraintViolation",
}

# The code tables of the specs (1.6 §4.2.3 Table 7, 2.0.1 §4.3 Table 8, 2.1 §4.3 Table 9).
V16_TABLE = {
    "NotImplemented",
    "NotSupported",
    "InternalError",
    "ProtocolError",
    "SecurityError",
    "FormationViolation",
    "PropertyConstraintViolation",
    "OccurenceConstraintViolation",
    "TypeConstraintViolation",
    "GenericError",
}
V2_TABLE = set(V2_EXPECTED.values())


@pytest.mark.parametrize("kind", list(K))
def test_v16_codes(kind: RpcErrorKind) -> None:
    assert error_code(OcppVersion.V16, kind) == V16_EXPECTED[kind]
    assert error_code(OcppVersion.V16, kind) in V16_TABLE


@pytest.mark.parametrize("version", [OcppVersion.V201, OcppVersion.V21])
@pytest.mark.parametrize("kind", list(K))
def test_v2_codes(version: OcppVersion, kind: RpcErrorKind) -> None:
    assert error_code(version, kind) == V2_EXPECTED[kind]
    assert error_code(version, kind) in V2_TABLE


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (errors.FormatViolationError(), K.FORMAT_VIOLATION),
        (errors.GenericError(), K.GENERIC),
        (errors.InternalError(), K.INTERNAL),
        (errors.MessageTypeNotSupportedError(), K.MESSAGE_TYPE_NOT_SUPPORTED),
        (errors.NotImplementedAction(), K.NOT_IMPLEMENTED),
        (errors.NotSupportedError(), K.NOT_SUPPORTED),
        (errors.OccurrenceConstraintViolationError(), K.OCCURRENCE_CONSTRAINT),
        (errors.PropertyConstraintViolationError(), K.PROPERTY_CONSTRAINT),
        (errors.ProtocolError(), K.PROTOCOL_ERROR),
        (errors.RpcFrameworkError(), K.RPC_FRAMEWORK),
        (errors.SecurityError(), K.SECURITY),
        (errors.TypeConstraintViolationError(), K.TYPE_CONSTRAINT),
    ],
)
def test_subclass_kinds(exc: RpcError, kind: RpcErrorKind) -> None:
    assert exc.kind is kind
    assert isinstance(exc, errors.OpenCsmsError)


def test_rpc_error_becomes_call_error_with_its_description_and_details() -> None:
    exc = errors.SecurityError("Station not accepted yet", {"hint": "boot first"})
    assert to_call_error(OcppVersion.V16, "42", exc) == CallError(
        "42", "SecurityError", "Station not accepted yet", {"hint": "boot first"}
    )


@pytest.mark.parametrize("version", list(OcppVersion))
def test_unexpected_exception_is_internal_error_without_its_text(version: OcppVersion) -> None:
    frame = to_call_error(version, "7", KeyError("password=hunter2"))
    assert frame == CallError("7", "InternalError", INTERNAL_ERROR_DESCRIPTION, {})
    assert "hunter2" not in frame.description


def test_call_result_error_only_in_21() -> None:
    exc = errors.FormatViolationError("bad")
    assert to_call_result_error(OcppVersion.V21, "1", exc) == CallResultError(
        "1", "FormatViolation", "bad", {}
    )
    with pytest.raises(ValueError, match=r"2\.0\.1"):
        to_call_result_error(OcppVersion.V201, "1", exc)


def test_call_failed_family() -> None:
    for cls in (errors.CallTimeoutError, errors.ConnectionClosedError):
        exc = cls("x", message_id="1", action="Reset")
        assert isinstance(exc, errors.CallFailedError)
        assert (exc.message_id, exc.action) == ("1", "Reset")
    response = errors.CallErrorResponse("NotSupported", "no", {"a": 1}, message_id="1")
    assert isinstance(response, errors.CallFailedError)
    assert (response.error_code, response.description, response.details) == (
        "NotSupported",
        "no",
        {"a": 1},
    )
