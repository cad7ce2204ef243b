"""Valid OCPP payloads and frame texts for tests (reused by the transport's wire tests).

Every builder returns a fresh, schema-valid payload; tests mutate copies to make them invalid.
Timestamps are fixed UTC strings so frames are byte-for-byte reproducible.
"""

from __future__ import annotations

from typing import Any

import orjson

from opencsms.ocpp.actions import Role
from opencsms.ocpp.events import IncomingCall, SessionEvent
from opencsms.ocpp.session import RpcSession, Strictness
from opencsms.ocpp.version import OcppVersion

T0 = "2024-05-01T10:00:00Z"


def _ts(second: int) -> str:
    return f"2024-05-01T10:{second // 60 % 60:02d}:{second % 60:02d}Z"


# ----------------------------------------------------------------------------- OCPP 1.6


def boot_notification_v16() -> dict[str, Any]:
    """BootNotification.req (1.6 §4.2)."""
    return {
        "chargePointVendor": "VendorX",
        "chargePointModel": "SingleSocketCharger",
        "chargePointSerialNumber": "SN-0001",
        "firmwareVersion": "1.2.3",
    }


def boot_notification_response_v16(status: str = "Accepted") -> dict[str, Any]:
    """BootNotification.conf."""
    return {"status": status, "currentTime": T0, "interval": 300}


def heartbeat() -> dict[str, Any]:
    """Heartbeat.req (empty in every version)."""
    return {}


def authorize_v16(id_tag: str = "TAG0001") -> dict[str, Any]:
    """Authorize.req."""
    return {"idTag": id_tag}


def status_notification_v16(connector_id: int = 1, status: str = "Available") -> dict[str, Any]:
    """StatusNotification.req."""
    return {"connectorId": connector_id, "errorCode": "NoError", "status": status, "timestamp": T0}


def meter_values_v16(samples: int = 10, transaction_id: int = 42) -> dict[str, Any]:
    """MeterValues.req with ``samples`` meterValue entries of one energy register each."""
    return {
        "connectorId": 1,
        "transactionId": transaction_id,
        "meterValue": [
            {
                "timestamp": _ts(i),
                "sampledValue": [
                    {
                        "value": str(1000 + 10 * i),
                        "context": "Sample.Periodic",
                        "measurand": "Energy.Active.Import.Register",
                        "location": "Outlet",
                        "unit": "Wh",
                    }
                ],
            }
            for i in range(samples)
        ],
    }


def remote_start_transaction_v16(id_tag: str = "TAG0001") -> dict[str, Any]:
    """RemoteStartTransaction.req (CSMS → station)."""
    return {"idTag": id_tag, "connectorId": 1}


def remote_start_response_v16(status: str = "Accepted") -> dict[str, Any]:
    """RemoteStartTransaction.conf."""
    return {"status": status}


# --------------------------------------------------------------------------- OCPP 2.0.1/2.1


def boot_notification_v201(reason: str = "PowerUp") -> dict[str, Any]:
    """BootNotificationRequest (2.0.1 and 2.1)."""
    return {
        "reason": reason,
        "chargingStation": {"model": "SingleSocketCharger", "vendorName": "VendorX"},
    }


boot_notification_v21 = boot_notification_v201


def boot_notification_response_v201(status: str = "Accepted") -> dict[str, Any]:
    """BootNotificationResponse (2.0.1 and 2.1)."""
    return {"currentTime": T0, "interval": 300, "status": status}


def transaction_event_v201(samples: int = 3, event_type: str = "Updated") -> dict[str, Any]:
    """TransactionEventRequest with ``samples`` meter values."""
    return {
        "eventType": event_type,
        "timestamp": T0,
        "triggerReason": "MeterValuePeriodic",
        "seqNo": 1,
        "transactionInfo": {"transactionId": "TX-0001", "chargingState": "Charging"},
        "evse": {"id": 1, "connectorId": 1},
        "meterValue": [
            {
                "timestamp": _ts(i),
                "sampledValue": [
                    {
                        "value": 1000.0 + i,
                        "measurand": "Energy.Active.Import.Register",
                        "unitOfMeasure": {"unit": "Wh"},
                    }
                ],
            }
            for i in range(samples)
        ],
    }


def request_start_transaction_v201() -> dict[str, Any]:
    """RequestStartTransactionRequest (CSMS → station)."""
    return {"idToken": {"idToken": "TAG0001", "type": "ISO14443"}, "remoteStartId": 1, "evseId": 1}


def request_start_response_v201(status: str = "Accepted") -> dict[str, Any]:
    """RequestStartTransactionResponse."""
    return {"status": status}


def notify_periodic_event_stream_v21() -> dict[str, Any]:
    """NotifyPeriodicEventStream (2.1 SEND, part 4 §4.2.4)."""
    return {"id": 123, "pending": 0, "basetime": T0, "data": [{"t": 0.0, "v": "230.4"}]}


# --------------------------------------------------------------------------------- frames


def call_text(message_id: str, action: str, payload: Any) -> str:
    """``[2, id, action, payload]`` as sent on the wire."""
    return orjson.dumps([2, message_id, action, payload]).decode()


def result_text(message_id: str, payload: Any) -> str:
    """``[3, id, payload]``."""
    return orjson.dumps([3, message_id, payload]).decode()


def error_text(
    message_id: str, code: str = "GenericError", description: str = "", details: Any = None
) -> str:
    """``[4, id, code, description, details]``."""
    return orjson.dumps([4, message_id, code, description, details or {}]).decode()


def sent(session: RpcSession) -> list[list[Any]]:
    """Drain the session's outbox and parse each frame, for exact comparisons."""
    return [orjson.loads(text) for text in session.data_to_send()]


def make_session(
    version: OcppVersion = OcppVersion.V16,
    *,
    role: Role = Role.CSMS,
    strictness: Strictness = Strictness.STRICT,
    call_timeout: float = 30.0,
    supported_actions: frozenset[str] | None = None,
    validate_outgoing_results: bool = False,
) -> RpcSession:
    """A session with deterministic message ids ``m1``, ``m2``, ..."""
    counter = iter(range(1, 1_000_000))
    return RpcSession(
        version,
        role=role,
        strictness=strictness,
        call_timeout=call_timeout,
        supported_actions=supported_actions,
        validate_outgoing_results=validate_outgoing_results,
        id_factory=lambda: f"m{next(counter)}",
    )


def only_call(events: list[SessionEvent]) -> IncomingCall:
    """The single event of ``events``, asserted to be an :class:`IncomingCall`."""
    assert len(events) == 1, events
    (event,) = events
    assert isinstance(event, IncomingCall), event
    return event
