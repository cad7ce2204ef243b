"""Schema-valid OCPP payloads for the load generator, per version (1.6, 2.0.1, 2.1).

Builders are pure functions of a station's :class:`Meter` and return plain dicts; the station-role
:class:`~opencsms.ocpp.session.RpcSession` validates every one against the official schema before
it leaves, so a mistake here fails loudly instead of loading the CSMS with garbage.

Meter values carry what a three-phase 11 kW AC station reports: energy register, active power,
current L1-L3, voltage L1-N..L3-N, SoC, and body temperature (1.6) or grid frequency (2.x, whose
MeasurandEnumType has no Temperature). A CSMS stores meter values idempotently by (station, EVSE,
transaction, timestamp) (ARCHITECTURE rule 7), so :class:`Meter` hands out strictly increasing
microsecond timestamps per station: every message is a real write, not a deduplicated resend.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from opencsms.ocpp.version import OcppVersion

__all__ = [
    "Meter",
    "Payload",
    "authorize",
    "boot_notification",
    "data_transfer",
    "heartbeat",
    "meter_values",
    "start_transaction_16",
    "status_notification",
    "stop_transaction_16",
    "transaction_event",
]

Payload = dict[str, Any]

_ONE_US = timedelta(microseconds=1)
_PHASE_CURRENT_A = 16.0
_PHASE_VOLTAGE_V = 230.0
_POWER_W = 3 * _PHASE_CURRENT_A * _PHASE_VOLTAGE_V
VENDOR = "OpenCSMS"
MODEL = "LoadGen AC 11"


def iso(moment: datetime) -> str:
    """RFC 3339 with microseconds and ``Z`` (OCPP dateTime, 1.6 §3.1.3 / 2.0.1 part 2 §2.1)."""
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"


class Meter:
    """One station's meter: monotonic timestamps, a growing register, transaction numbering."""

    __slots__ = ("_last", "_ticks", "energy_wh", "seq_no", "soc", "tx_count", "tx_prefix")

    def __init__(self, tx_prefix: str) -> None:
        self._last = datetime.now(UTC) - _ONE_US
        self.energy_wh = 1000.0
        self.soc = 20
        self._ticks = 0
        self.seq_no = 0
        self.tx_count = 0
        self.tx_prefix = tx_prefix
        """Unique per station and run, so a rerun's transactions are new ones, not resends."""

    def timestamp(self) -> str:
        """Now, or 1 µs after the previous timestamp if the clock has not moved."""
        now = datetime.now(UTC)
        if now <= self._last:
            now = self._last + _ONE_US
        self._last = now
        return iso(now)

    def advance(self) -> None:
        """One meter interval passes: the register grows, SoC creeps up."""
        self.energy_wh += 0.5
        self._ticks += 1
        if self._ticks % 1000 == 0 and self.soc < 100:
            self.soc += 1

    def new_transaction_id(self) -> str:
        """A fresh 2.x transactionId (string[36])."""
        self.tx_count += 1
        self.seq_no = 0
        return f"{self.tx_prefix}-{self.tx_count}"[-36:]


def boot_notification(version: OcppVersion, station_id: str) -> Payload:
    """1.6 BootNotification.req (§4.2) / 2.x BootNotificationRequest reason PowerUp (B01)."""
    if version is OcppVersion.V16:
        return {
            "chargePointVendor": VENDOR,
            "chargePointModel": MODEL,
            "chargePointSerialNumber": station_id[-25:],
            "firmwareVersion": "1.0.0",
        }
    return {
        "reason": "PowerUp",
        "chargingStation": {
            "model": MODEL,
            "vendorName": VENDOR,
            "serialNumber": station_id[-25:],
            "firmwareVersion": "1.0.0",
        },
    }


def heartbeat(version: OcppVersion, meter: Meter) -> Payload:
    """Heartbeat (1.6 §4.6, 2.0.1 G02): an empty request."""
    return {}


def status_notification(version: OcppVersion, meter: Meter) -> Payload:
    """Connector 1 is Available (1.6 §4.9; 2.0.1 G01 addresses EVSE 1, connector 1)."""
    if version is OcppVersion.V16:
        return {
            "connectorId": 1,
            "errorCode": "NoError",
            "status": "Available",
            "timestamp": meter.timestamp(),
        }
    return {
        "timestamp": meter.timestamp(),
        "connectorStatus": "Available",
        "evseId": 1,
        "connectorId": 1,
    }


def _sample(version: OcppVersion, measurand: str, value: float, unit: str, **extra: str) -> Payload:
    if version is OcppVersion.V16:
        # 1.6 §7.45 SampledValue: the value is a string, the unit a plain field.
        return {"value": f"{value:g}", "measurand": measurand, "unit": unit, **extra}
    return {"value": value, "measurand": measurand, "unitOfMeasure": {"unit": unit}, **extra}


def _steady(version: OcppVersion) -> list[Payload]:
    """The samples that do not change during a session (built once per version)."""
    periodic = {"context": "Sample.Periodic", "location": "Outlet"}
    samples = [_sample(version, "Power.Active.Import", _POWER_W, "W", **periodic)]
    for phase in ("L1", "L2", "L3"):
        samples.append(
            _sample(version, "Current.Import", _PHASE_CURRENT_A, "A", phase=phase, **periodic)
        )
    for phase in ("L1-N", "L2-N", "L3-N"):
        samples.append(_sample(version, "Voltage", _PHASE_VOLTAGE_V, "V", phase=phase, **periodic))
    if version is OcppVersion.V16:
        samples.append(
            _sample(
                version, "Temperature", 31.5, "Celsius", context="Sample.Periodic", location="Body"
            )
        )
    else:
        samples.append(
            _sample(version, "Frequency", 50.0, "Hz", context="Sample.Periodic", location="Inlet")
        )
    return samples


# Constant samples are built once: rebuilding them per message would make the generator, not the
# CSMS, the bottleneck. orjson still serialises every one of them for every message.
_STEADY = {version: _steady(version) for version in OcppVersion}


def _meter_value(version: OcppVersion, meter: Meter, context: str = "Sample.Periodic") -> Payload:
    energy = _sample(
        version, "Energy.Active.Import.Register", round(meter.energy_wh, 1), "Wh",
        context=context, location="Outlet",
    )  # fmt: skip
    soc = _sample(version, "SoC", meter.soc, "Percent", context=context, location="EV")
    return {"timestamp": meter.timestamp(), "sampledValue": [energy, *_STEADY[version], soc]}


def meter_values(version: OcppVersion, meter: Meter, transaction_id: int | None = None) -> Payload:
    """MeterValues of connector/EVSE 1 with 10 samples (1.6 §4.7; 2.0.1 J01).

    1.6 carries ``transactionId`` inside a transaction; 2.x sends transaction meter values in
    TransactionEvent instead (E02, J02), so this is the out-of-transaction form there.
    """
    meter.advance()
    if version is OcppVersion.V16:
        payload: Payload = {"connectorId": 1, "meterValue": [_meter_value(version, meter)]}
        if transaction_id is not None:
            payload["transactionId"] = transaction_id
        return payload
    return {"evseId": 1, "meterValue": [_meter_value(version, meter)]}


def authorize(version: OcppVersion, id_tag: str) -> Payload:
    """1.6 Authorize.req (§4.1, idTag string[20]) / 2.x AuthorizeRequest (C01), an RFID token."""
    if version is OcppVersion.V16:
        return {"idTag": id_tag[:20]}
    return {"idToken": {"idToken": id_tag, "type": "ISO14443"}}


def data_transfer(version: OcppVersion, meter: Meter) -> Payload:
    """DataTransfer (1.6 §4.3, 2.0.1 P01) with a vendor id the CSMS most likely does not know."""
    data = f'{{"energyWh":{meter.energy_wh:.1f}}}'
    return {"vendorId": "org.opencsms.load", "messageId": "Sample", "data": data}


def start_transaction_16(meter: Meter, id_tag: str) -> Payload:
    """1.6 StartTransaction.req (§4.8) on connector 1; meterStart is an integer Wh reading."""
    return {
        "connectorId": 1,
        "idTag": id_tag[:20],
        "meterStart": int(meter.energy_wh),
        "timestamp": meter.timestamp(),
    }


def stop_transaction_16(meter: Meter, transaction_id: int, id_tag: str) -> Payload:
    """1.6 StopTransaction.req (§4.10) with reason Local and the final register reading."""
    meter.advance()
    return {
        "transactionId": transaction_id,
        "idTag": id_tag[:20],
        "meterStop": int(meter.energy_wh),
        "timestamp": meter.timestamp(),
        "reason": "Local",
    }


def transaction_event(
    version: OcppVersion, meter: Meter, event_type: str, transaction_id: str, id_tag: str
) -> Payload:
    """2.x TransactionEventRequest ``Started`` / ``Updated`` / ``Ended`` (E01, E02, E06, J02).

    ``seqNo`` starts at 0 with the transaction and grows by one per event (E01.FR.xx: it lets the
    CSMS detect lost or resent events); Started carries the idToken and the begin register,
    Updated a periodic meter value, Ended the end register and stoppedReason.
    """
    meter.advance()
    timestamp = meter.timestamp()
    payload: Payload = {
        "eventType": event_type,
        "timestamp": timestamp,
        "seqNo": meter.seq_no,
        "evse": {"id": 1, "connectorId": 1},
    }
    meter.seq_no += 1
    if event_type == "Started":
        payload["triggerReason"] = "Authorized"
        payload["idToken"] = {"idToken": id_tag, "type": "ISO14443"}
        payload["transactionInfo"] = {"transactionId": transaction_id, "chargingState": "Charging"}
        payload["meterValue"] = [_meter_value(version, meter, "Transaction.Begin")]
    elif event_type == "Updated":
        payload["triggerReason"] = "MeterValuePeriodic"
        payload["transactionInfo"] = {"transactionId": transaction_id, "chargingState": "Charging"}
        payload["meterValue"] = [_meter_value(version, meter)]
    else:
        payload["triggerReason"] = "StopAuthorized"
        payload["transactionInfo"] = {
            "transactionId": transaction_id,
            "chargingState": "EVConnected",
            "stoppedReason": "Local",
        }
        payload["meterValue"] = [_meter_value(version, meter, "Transaction.End")]
    return payload
