"""The Reusable States of OCPP 2.0.1 Part 6 §3.18, played by the test tool's station.

Each function performs the steps of its table and checks its tool validations; a ``Tx`` carries
what the OCTT remembers between them (transaction id, seqNo, whether the EV is connected and the
driver authorized), as the "If State is ..." branches of the tables need.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.conformance.octt import ConformanceFailure, Station, now
from tests.conformance.sut import CONFIGURED


def check(condition: bool, message: str) -> None:
    """A tool validation: fail the test case with ``message`` unless ``condition``."""
    if not condition:
        raise ConformanceFailure(message)


@dataclass
class Tx:
    """The tool's memory of one transaction on one EVSE."""

    evse_id: int = CONFIGURED.evse_id
    connector_id: int = CONFIGURED.connector_id
    transaction_id: str = field(default_factory=lambda: uuid.uuid4().hex[:20])
    seq_no: int = 0
    started: bool = False
    ended: bool = False
    authorized: bool = False
    ev_connected: bool = False
    id_token: dict[str, str] | None = None
    meter_wh: float = 0.0

    def next_seq(self) -> int:
        seq = self.seq_no
        self.seq_no += 1
        return seq


def id_token(
    value: str = CONFIGURED.valid_id_token, kind: str = CONFIGURED.valid_id_token_type
) -> dict[str, str]:
    return {"idToken": value, "type": kind}


async def status(
    station: Station, connector_status: str, *, evse_id: int = 1, connector_id: int = 1
) -> None:
    """StatusNotificationRequest (and nothing more: the CSMS answers an empty object)."""
    await station.send(
        "StatusNotification",
        {
            "timestamp": now(),
            "connectorStatus": connector_status,
            "evseId": evse_id,
            "connectorId": connector_id,
        },
    )


async def availability_event(
    station: Station, actual: str, *, evse_id: int = 1, connector_id: int = 1
) -> None:
    """The NotifyEventRequest the OCTT sends beside a StatusNotification (trigger Delta,
    Connector.AvailabilityState)."""
    await station.send(
        "NotifyEvent",
        {
            "generatedAt": now(),
            "seqNo": 0,
            "eventData": [
                {
                    "eventId": 1,
                    "timestamp": now(),
                    "trigger": "Delta",
                    "actualValue": actual,
                    "eventNotificationType": "HardWiredNotification",
                    "component": {
                        "name": "Connector",
                        "evse": {"id": evse_id, "connectorId": connector_id},
                    },
                    "variable": {"name": "AvailabilityState"},
                }
            ],
        },
    )


async def connector_state(
    station: Station, state: str, *, evse_id: int = 1, connector_id: int = 1
) -> None:
    """'The OCTT notifies the CSMS about the current state of the connector': both messages."""
    await status(station, state, evse_id=evse_id, connector_id=connector_id)
    await availability_event(station, state, evse_id=evse_id, connector_id=connector_id)


async def boot(station: Station, reason: str = "PowerUp") -> dict[str, Any]:
    """BootNotificationRequest with the configured model and vendor; returns the response."""
    return await station.send(
        "BootNotification",
        {
            "reason": reason,
            "chargingStation": {
                "model": CONFIGURED.model,
                "vendorName": CONFIGURED.vendor_name,
                "serialNumber": CONFIGURED.serial_number,
                "firmwareVersion": "1.0.0",
            },
        },
    )


async def booted(station: Station, *, evses: int = 1, reason: str = "PowerUp") -> dict[str, Any]:
    """Reusable State Booted (Table 390): boot Accepted, then every connector Available."""
    response = await boot(station, reason)
    check(
        response["status"] == "Accepted",
        f"BootNotificationResponse status {response['status']}, want Accepted",
    )
    for evse in range(1, evses + 1):
        await connector_state(station, "Available", evse_id=evse)
    return response


async def transaction_event(
    station: Station,
    tx: Tx,
    event_type: str,
    trigger_reason: str,
    *,
    charging_state: str | None = None,
    stopped_reason: str | None = None,
    with_token: bool = False,
    meter: bool = False,
    extra: dict[str, Any] | None = None,
    evse: bool = True,
) -> dict[str, Any]:
    """One TransactionEventRequest for ``tx``; returns the response."""
    info: dict[str, Any] = {"transactionId": tx.transaction_id}
    if charging_state:
        info["chargingState"] = charging_state
    if stopped_reason:
        info["stoppedReason"] = stopped_reason
    payload: dict[str, Any] = {
        "eventType": event_type,
        "timestamp": now(),
        "triggerReason": trigger_reason,
        "seqNo": tx.next_seq(),
        "transactionInfo": info,
    }
    if evse:
        payload["evse"] = {"id": tx.evse_id, "connectorId": tx.connector_id}
    if with_token and tx.id_token is not None:
        payload["idToken"] = tx.id_token
    if meter:
        tx.meter_wh += 1000.0
        payload["meterValue"] = [
            {
                "timestamp": now(),
                "sampledValue": [
                    {
                        "value": tx.meter_wh,
                        "measurand": "Energy.Active.Import.Register",
                        "context": {"Started": "Transaction.Begin", "Ended": "Transaction.End"}.get(
                            event_type, "Sample.Periodic"
                        ),
                    }
                ],
            }
        ]
    if extra:
        payload.update(extra)
    if event_type == "Started":
        tx.started = True
    if event_type == "Ended":
        tx.ended = True
    return await station.send("TransactionEvent", payload)


def _event_type(tx: Tx) -> str:
    return "Updated" if tx.started else "Started"


async def ev_connected_pre_session(station: Station, tx: Tx) -> dict[str, Any]:
    """Reusable State EVConnectedPreSession (Table 393)."""
    await connector_state(station, "Occupied", evse_id=tx.evse_id, connector_id=tx.connector_id)
    response = await transaction_event(
        station,
        tx,
        _event_type(tx),
        "CablePluggedIn",
        charging_state="EVConnected",
        meter=not tx.started,
    )
    tx.ev_connected = True
    return response


async def authorized(
    station: Station, tx: Tx, token: dict[str, str] | None = None
) -> dict[str, Any]:
    """Reusable State Authorized (Table 394): Authorize, then TransactionEvent Authorized; both
    must answer Accepted."""
    tx.id_token = token or id_token()
    answer = await station.send("Authorize", {"idToken": tx.id_token})
    check(
        answer["idTokenInfo"]["status"] == "Accepted",
        f"AuthorizeResponse idTokenInfo.status {answer['idTokenInfo']['status']}, want Accepted",
    )
    response = await transaction_event(
        station, tx, _event_type(tx), "Authorized", with_token=True, meter=not tx.started
    )
    status_ = response.get("idTokenInfo", {}).get("status")
    check(
        status_ == "Accepted",
        f"TransactionEventResponse idTokenInfo.status {status_}, want Accepted",
    )
    tx.authorized = True
    return response


async def energy_transfer_started(station: Station, tx: Tx) -> dict[str, Any]:
    """Reusable State EnergyTransferStarted (Table 395)."""
    if not tx.authorized:
        await authorized(station, tx)
    if not tx.ev_connected:
        await connector_state(station, "Occupied", evse_id=tx.evse_id, connector_id=tx.connector_id)
        await transaction_event(
            station, tx, "Updated", "CablePluggedIn", charging_state="EVConnected"
        )
        tx.ev_connected = True
    return await transaction_event(
        station, tx, "Updated", "ChargingStateChanged", charging_state="Charging", meter=True
    )


async def energy_transfer_suspended(station: Station, tx: Tx) -> dict[str, Any]:
    """Reusable State EnergyTransferSuspended (Table 396)."""
    return await transaction_event(
        station, tx, "Updated", "ChargingStateChanged", charging_state="SuspendedEV"
    )


async def stop_authorized(station: Station, tx: Tx) -> dict[str, Any]:
    """Reusable State StopAuthorized (Table 397): the driver presents the token again."""
    response = await transaction_event(
        station, tx, "Updated", "StopAuthorized", with_token=True, meter=True
    )
    status_ = response.get("idTokenInfo", {}).get("status")
    check(
        status_ == "Accepted",
        f"TransactionEventResponse idTokenInfo.status {status_}, want Accepted",
    )
    return response


async def ev_connected_post_session(station: Station, tx: Tx) -> dict[str, Any]:
    """Reusable State EVConnectedPostSession (Table 398)."""
    return await transaction_event(
        station, tx, "Updated", "ChargingStateChanged", charging_state="EVConnected"
    )


async def ev_disconnected(
    station: Station, tx: Tx, *, stopped_reason: str = "EVDisconnected"
) -> dict[str, Any]:
    """Reusable State EVDisconnected (Table 399): connector Available, then Ended."""
    await connector_state(station, "Available", evse_id=tx.evse_id, connector_id=tx.connector_id)
    tx.ev_connected = False
    return await transaction_event(
        station,
        tx,
        "Ended",
        "EVCommunicationLost",
        charging_state="Idle",
        stopped_reason=stopped_reason,
        meter=True,
    )
