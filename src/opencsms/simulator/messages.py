"""Payloads a simulated station sends, per OCPP version.

Pure functions of the station's state: they never touch the session. Every payload is checked
against the official schema by :meth:`RpcSession.call` before it leaves, so a mistake here fails
loudly in tests instead of reaching the CSMS.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opencsms.clock import utc_iso
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator.config import StationConfig
from opencsms.simulator.ev import MeterSample

__all__ = [
    "PHASES",
    "boot_notification",
    "meter_values",
    "sampled_values",
    "start_transaction_16",
    "status_notification",
    "stop_transaction_16",
    "transaction_event",
]

PHASES = ("L1", "L2", "L3")

# Units per measurand: 1.6 §7.31 UnitOfMeasure / 2.0.1 part 2 §2.54 UnitOfMeasureType.
_UNITS = {
    "Energy.Active.Import.Register": "Wh",
    "Power.Active.Import": "W",
    "Current.Import": "A",
    "Voltage": "V",
    "SoC": "Percent",
}


def boot_notification(
    config: StationConfig, reason: str = "PowerUp", firmware_version: str | None = None
) -> dict[str, Any]:
    """BootNotification request (1.6 §6.2; 2.0.1 B01 — ``reason`` is a BootReasonEnumType).

    ``firmware_version`` is the one running now (default: the configured one)."""
    firmware = firmware_version or config.firmware_version
    if config.version is OcppVersion.V16:
        return {
            "chargePointVendor": config.vendor,
            "chargePointModel": config.model,
            "chargePointSerialNumber": config.serial_number,
            "firmwareVersion": firmware,
        }
    return {
        "reason": reason,
        "chargingStation": {
            "vendorName": config.vendor,
            "model": config.model,
            "serialNumber": config.serial_number,
            "firmwareVersion": firmware,
        },
    }


def status_notification(
    version: OcppVersion,
    evse_id: int,
    status: str,
    now: datetime,
    error_code: str = "NoError",
) -> dict[str, Any]:
    """StatusNotification for EVSE ``evse_id``'s single connector.

    1.6 §4.9 addresses connector ``evse_id`` (0 is the charge point itself); 2.0.1 G01 addresses
    connector 1 of EVSE ``evse_id``.
    """
    if version is OcppVersion.V16:
        return {
            "connectorId": evse_id,
            "errorCode": error_code,
            "status": status,
            "timestamp": utc_iso(now),
        }
    return {
        "timestamp": utc_iso(now),
        "connectorStatus": status,
        "evseId": evse_id,
        "connectorId": 1,
    }


def meter_values(
    version: OcppVersion,
    evse_id: int,
    sample: MeterSample,
    measurands: tuple[str, ...],
    now: datetime,
    *,
    context: str = "Sample.Periodic",
    transaction_id: int | None = None,
) -> dict[str, Any]:
    """MeterValues with one meterValue holding the configured ``measurands``.

    1.6 §4.7 (values are strings; ``transactionId`` while a transaction runs) and 2.0.1 J01
    (values are numbers, units in ``unitOfMeasure``; inside a transaction 2.0.1 uses
    TransactionEvent instead, see :func:`transaction_event`).
    """
    meter_value = {
        "timestamp": utc_iso(now),
        "sampledValue": sampled_values(version, sample, measurands, context),
    }
    if version is OcppVersion.V16:
        payload: dict[str, Any] = {"connectorId": evse_id, "meterValue": [meter_value]}
        if transaction_id is not None:
            payload["transactionId"] = transaction_id
        return payload
    return {"evseId": evse_id, "meterValue": [meter_value]}


def sampled_values(
    version: OcppVersion, sample: MeterSample, measurands: tuple[str, ...], context: str
) -> list[dict[str, Any]]:
    """The sampledValue list of one meterValue.

    Current is reported per phase and voltage per phase-to-neutral, as real AC meters do; SoC
    (location EV) only while an EV is plugged in.
    """
    sampled = [_sampled_value(version, value, context) for value in _values(sample, measurands)]
    if not sampled:  # schema needs ≥ 1 sampled value; the register is always there
        sampled = [_sampled_value(version, _register(sample), context)]
    return sampled


def start_transaction_16(
    connector_id: int,
    id_tag: str,
    meter_start_wh: float,
    now: datetime,
    reservation_id: int | None = None,
) -> dict[str, Any]:
    """1.6 StartTransaction (§4.8); meterStart is an integer Wh register reading."""
    payload: dict[str, Any] = {
        "connectorId": connector_id,
        "idTag": id_tag,
        "meterStart": int(meter_start_wh),
        "timestamp": utc_iso(now),
    }
    if reservation_id is not None:
        payload["reservationId"] = reservation_id
    return payload


def stop_transaction_16(
    transaction_id: int,
    id_tag: str | None,
    meter_stop_wh: float,
    now: datetime,
    reason: str,
) -> dict[str, Any]:
    """1.6 StopTransaction (§4.10); ``idTag`` only when a token stopped it."""
    payload: dict[str, Any] = {
        "transactionId": transaction_id,
        "meterStop": int(meter_stop_wh),
        "timestamp": utc_iso(now),
        "reason": reason,
    }
    if id_tag is not None:
        payload["idTag"] = id_tag
    return payload


def transaction_event(
    event_type: str,
    *,
    transaction_id: str,
    seq_no: int,
    trigger_reason: str,
    charging_state: str,
    evse_id: int,
    now: datetime,
    meter_values: list[dict[str, Any]] | None = None,
    id_token: dict[str, Any] | None = None,
    stopped_reason: str | None = None,
    remote_start_id: int | None = None,
    reservation_id: int | None = None,
    offline: bool = False,
) -> dict[str, Any]:
    """2.0.1 TransactionEvent (E01-E15): Started / Updated / Ended with seqNo and triggerReason.

    ``evse`` is sent with every event; the spec requires it only on the first event of an EVSE
    but allows it always, and a CSMS that lost the Started event can still place the session.
    """
    info: dict[str, Any] = {"transactionId": transaction_id, "chargingState": charging_state}
    if stopped_reason is not None:
        info["stoppedReason"] = stopped_reason
    if remote_start_id is not None:
        info["remoteStartId"] = remote_start_id
    payload: dict[str, Any] = {
        "eventType": event_type,
        "timestamp": utc_iso(now),
        "triggerReason": trigger_reason,
        "seqNo": seq_no,
        "transactionInfo": info,
        "evse": {"id": evse_id, "connectorId": 1},
    }
    if offline:
        payload["offline"] = True
    if id_token is not None:
        payload["idToken"] = id_token
    if meter_values:
        payload["meterValue"] = meter_values
    if reservation_id is not None:
        payload["reservationId"] = reservation_id
    return payload


def _register(sample: MeterSample) -> dict[str, Any]:
    return {"measurand": "Energy.Active.Import.Register", "value": sample.energy_wh}


def _values(sample: MeterSample, measurands: tuple[str, ...]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for measurand in measurands:
        if measurand == "Energy.Active.Import.Register":
            out.append(_register(sample))
        elif measurand == "Power.Active.Import":
            out.append({"measurand": measurand, "value": sample.power_w})
        elif measurand == "Current.Import":
            for phase, amps in zip(PHASES, sample.currents_a, strict=False):
                out.append({"measurand": measurand, "value": amps, "phase": phase})
        elif measurand == "Voltage":
            for phase in PHASES[: len(sample.currents_a)]:
                out.append(
                    {"measurand": measurand, "value": sample.voltage_v, "phase": f"{phase}-N"}
                )
        elif measurand == "SoC" and sample.soc is not None:
            out.append({"measurand": measurand, "value": sample.soc, "location": "EV"})
    return out


def _sampled_value(version: OcppVersion, value: dict[str, Any], context: str) -> dict[str, Any]:
    measurand: str = value["measurand"]
    number: float = value["value"]
    out: dict[str, Any] = {"measurand": measurand, "context": context}
    if "phase" in value:
        out["phase"] = value["phase"]
    if "location" in value:
        out["location"] = value["location"]
    if version is OcppVersion.V16:
        out["value"] = _decimal(number)
        out["unit"] = _UNITS[measurand]
    else:
        out["value"] = round(number, 3)
        out["unitOfMeasure"] = {"unit": _UNITS[measurand]}
    return out


def _decimal(number: float) -> str:
    """1.6 values are strings; three decimals, trailing zeros dropped (``"7360"``, ``"10.667"``)."""
    text = f"{number:.3f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"
