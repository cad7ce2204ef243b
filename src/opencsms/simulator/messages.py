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
    "status_notification",
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
    version: OcppVersion, evse_id: int, status: str, now: datetime
) -> dict[str, Any]:
    """StatusNotification for EVSE ``evse_id``'s single connector.

    1.6 §4.9 addresses connector ``evse_id`` (0 is the charge point itself); 2.0.1 G01 addresses
    connector 1 of EVSE ``evse_id``.
    """
    if version is OcppVersion.V16:
        return {
            "connectorId": evse_id,
            "errorCode": "NoError",
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
) -> dict[str, Any]:
    """MeterValues with one meterValue holding the configured ``measurands``.

    1.6 §4.7 (values are strings) and 2.0.1 J01 (values are numbers, units in
    ``unitOfMeasure``). Current is reported per phase and voltage per phase-to-neutral, as
    real AC meters do; SoC (location EV) only while an EV is plugged in.
    """
    sampled = [_sampled_value(version, value, context) for value in _values(sample, measurands)]
    if not sampled:  # schema needs ≥ 1 sampled value; the register is always there
        sampled = [_sampled_value(version, _register(sample), context)]
    meter_value = {"timestamp": utc_iso(now), "sampledValue": sampled}
    if version is OcppVersion.V16:
        return {"connectorId": evse_id, "meterValue": [meter_value]}
    return {"evseId": evse_id, "meterValue": [meter_value]}


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
