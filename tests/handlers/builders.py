"""Payload builders for the authorization and transaction tests (raw OCPP-J, both versions)."""

from __future__ import annotations

from typing import Any

from opencsms.app import Csms
from tests.wire import RawStation

BOOT_16 = {"chargePointVendor": "ACME", "chargePointModel": "Wallbox 1"}
BOOT_201 = {"reason": "PowerUp", "chargingStation": {"vendorName": "ACME", "model": "Wallbox 2"}}


async def booted(station: RawStation, subprotocol: str) -> None:
    """BootNotification, which must be Accepted."""
    boot = BOOT_16 if subprotocol == "ocpp1.6" else BOOT_201
    assert (await station.result("BootNotification", boot))["status"] == "Accepted"


def start_16(
    id_tag: str = "TAG-1",
    *,
    connector: int = 1,
    meter: int = 1000,
    at: str = "2026-01-01T10:00:00Z",
) -> dict[str, Any]:
    return {"connectorId": connector, "idTag": id_tag, "meterStart": meter, "timestamp": at}


def stop_16(
    transaction_id: int,
    *,
    meter: int = 5000,
    at: str = "2026-01-01T11:00:00Z",
    id_tag: str | None = None,
    reason: str | None = None,
    data: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {"transactionId": transaction_id, "meterStop": meter, "timestamp": at}
    if id_tag is not None:
        payload["idTag"] = id_tag
    if reason is not None:
        payload["reason"] = reason
    if data is not None:
        payload["transactionData"] = data
    return payload


def register_16(
    at: str, value: str, unit: str = "Wh", context: str = "Sample.Periodic"
) -> dict[str, Any]:
    """A 1.6 meterValue element with the energy register and a SoC sample."""
    return {
        "timestamp": at,
        "sampledValue": [
            {
                "value": value,
                "measurand": "Energy.Active.Import.Register",
                "unit": unit,
                "context": context,
            },
            {
                "value": "55",
                "measurand": "SoC",
                "unit": "Percent",
                "location": "EV",
                "context": context,
            },
        ],
    }


def meter_16(transaction_id: int, at: str, value: str, unit: str = "Wh") -> dict[str, Any]:
    return {
        "connectorId": 1,
        "transactionId": transaction_id,
        "meterValue": [register_16(at, value, unit)],
    }


def register_201(
    at: str, wh: float, *, context: str = "Sample.Periodic", kwh: bool = False
) -> dict[str, Any]:
    sample: dict[str, Any] = {
        "value": wh / 1000 if kwh else wh,
        "context": context,
        "measurand": "Energy.Active.Import.Register",
    }
    if kwh:
        sample["unitOfMeasure"] = {"unit": "kWh"}
    return {
        "timestamp": at,
        "sampledValue": [
            sample,
            {
                "value": 7400,
                "context": context,
                "measurand": "Power.Active.Import",
                "unitOfMeasure": {"unit": "W"},
            },
        ],
    }


def tx_event(
    event_type: str,
    seq_no: int,
    *,
    tx: str = "TX-1",
    trigger: str = "Authorized",
    at: str = "2026-01-01T10:00:00Z",
    evse: int | None = 1,
    id_token: str | None = None,
    token_type: str = "ISO14443",
    state: str | None = None,
    stopped_reason: str | None = None,
    offline: bool = False,
    meter: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A 2.0.1 TransactionEventRequest."""
    info: dict[str, Any] = {"transactionId": tx}
    if state is not None:
        info["chargingState"] = state
    if stopped_reason is not None:
        info["stoppedReason"] = stopped_reason
    payload: dict[str, Any] = {
        "eventType": event_type,
        "timestamp": at,
        "triggerReason": trigger,
        "seqNo": seq_no,
        "transactionInfo": info,
    }
    if evse is not None:
        payload["evse"] = {"id": evse, "connectorId": 1}
    if id_token is not None:
        payload["idToken"] = {"idToken": id_token, "type": token_type}
    if offline:
        payload["offline"] = True
    if meter is not None:
        payload["meterValue"] = meter
    return payload


async def add_token(csms: Csms, id_token: str, **values: Any) -> None:
    await csms.tokens.create({"id_token": id_token, **values})
