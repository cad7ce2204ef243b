"""Schema-valid, realistic OCPP payloads for the load generator.

Every builder returns a plain dict ready for ``orjson.dumps``. The payloads follow the official JSON
schemas shipped in the ``ocpp`` package (``bench/tests/test_payloads.py`` checks them with
jsonschema-rs) and carry what a real AC/DC station reports while charging:

* OCPP 1.6 ``MeterValues`` (OCPP 1.6 §4.7, §7.32 SampledValue): ``connectorId``,
  ``transactionId`` and one ``meterValue`` of 10 ``sampledValue`` entries.
* OCPP 2.0.1 ``TransactionEvent`` (2.0.1 Part 2 §1.60, use case E02/J02 periodic meter values):
  ``eventType`` Updated, ``triggerReason`` MeterValuePeriodic, an incrementing ``seqNo``,
  ``transactionInfo.chargingState`` Charging, ``evse`` and a ``meterValue`` of 10 samples.

The 10 samples are: active energy import register, active power import, current L1-L3,
voltage L1-N..L3-N, state of charge and body temperature (1.6) or grid frequency (2.0.1, whose
MeasurandEnumType has no Temperature).

Timestamps: a CSMS stores meter values idempotently (by timestamp / seqNo), so two messages with the
same timestamp would be deduplicated and the benchmark would no longer measure real writes.
:class:`MeterState` therefore hands out strictly increasing microsecond timestamps per station,
and the energy register grows with every message.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

Payload = dict[str, Any]

_ONE_US = timedelta(microseconds=1)

# A plausible 11 kW three-phase AC session: 16 A per phase at 230 V.
_PHASE_CURRENT_A = 16.0
_PHASE_VOLTAGE_V = 230.0
_POWER_W = 3 * _PHASE_CURRENT_A * _PHASE_VOLTAGE_V


def iso(ts: datetime) -> str:
    """Format an aware UTC datetime as RFC 3339 with microseconds and a ``Z`` suffix."""
    # isoformat() ends in "+00:00" for UTC; stations commonly send "Z" (OCPP-J 1.6 §3.1.3 dateTime).
    return ts.isoformat(timespec="microseconds")[:-6] + "Z"


class MeterState:
    """Per-station meter: strictly increasing timestamps and a growing energy register."""

    __slots__ = ("_last", "energy_wh", "seq_no", "soc")

    def __init__(self, start_energy_wh: float = 1000.0) -> None:
        self._last = datetime.now(UTC) - _ONE_US
        self.energy_wh = start_energy_wh
        self.seq_no = 0
        self.soc = 20

    def next_timestamp(self) -> datetime:
        """Return now (UTC), or 1 µs after the previous timestamp if the clock has not moved."""
        now = datetime.now(UTC)
        if now <= self._last:
            now = self._last + _ONE_US
        self._last = now
        return now

    def advance(self) -> None:
        """Advance the register as if one meter interval had passed (values stay realistic)."""
        self.energy_wh += 0.5
        self.seq_no += 1
        if self.seq_no % 1000 == 0 and self.soc < 100:
            self.soc += 1


def boot_notification_16(station_id: str) -> Payload:
    """OCPP 1.6 BootNotification.req (§4.2)."""
    return {
        "chargePointVendor": "OpenCSMS-Bench",
        "chargePointModel": "LoadGen-AC22",
        "chargePointSerialNumber": station_id[-25:],
        "firmwareVersion": "1.0.0",
    }


def boot_notification_201(station_id: str) -> Payload:
    """OCPP 2.0.1 BootNotificationRequest (B01), reason PowerUp."""
    return {
        "reason": "PowerUp",
        "chargingStation": {
            "model": "LoadGen-AC22",
            "vendorName": "OpenCSMS-Bench",
            "serialNumber": station_id[-25:],
            "firmwareVersion": "1.0.0",
        },
    }


def start_transaction_16(meter: MeterState, id_tag: str) -> Payload:
    """OCPP 1.6 StartTransaction.req (§4.8) on connector 1."""
    return {
        "connectorId": 1,
        "idTag": id_tag[:20],
        "meterStart": int(meter.energy_wh),
        "timestamp": iso(meter.next_timestamp()),
    }


def _static_samples_16() -> tuple[list[Payload], Payload]:
    """Samples that do not change during a session: power, I and U per phase; temperature."""
    periodic = "Sample.Periodic"
    steady: list[Payload] = [
        {
            "value": f"{_POWER_W:.1f}",
            "context": periodic,
            "measurand": "Power.Active.Import",
            "location": "Outlet",
            "unit": "W",
        }
    ]
    for phase in ("L1", "L2", "L3"):
        steady.append(
            {
                "value": f"{_PHASE_CURRENT_A:.2f}",
                "context": periodic,
                "measurand": "Current.Import",
                "phase": phase,
                "location": "Outlet",
                "unit": "A",
            }
        )
    for phase in ("L1-N", "L2-N", "L3-N"):
        steady.append(
            {
                "value": f"{_PHASE_VOLTAGE_V:.1f}",
                "context": periodic,
                "measurand": "Voltage",
                "phase": phase,
                "location": "Outlet",
                "unit": "V",
            }
        )
    temperature = {
        "value": "31.5",
        "context": periodic,
        "measurand": "Temperature",
        "location": "Body",
        "unit": "Celsius",
    }
    return steady, temperature


# Built once: rebuilding constant dicts per message would make the load generator, not the server,
# the bottleneck. orjson still serialises them in full for every message.
_STEADY_16, _TEMPERATURE_16 = _static_samples_16()


def _samples_16(meter: MeterState) -> list[Payload]:
    """The 10 sampled values in OCPP 1.6 shape (values are strings, §7.32)."""
    energy = {
        "value": f"{meter.energy_wh:.1f}",
        "context": "Sample.Periodic",
        "measurand": "Energy.Active.Import.Register",
        "location": "Outlet",
        "unit": "Wh",
    }
    soc = {
        "value": str(meter.soc),
        "context": "Sample.Periodic",
        "measurand": "SoC",
        "location": "EV",
        "unit": "Percent",
    }
    return [energy, *_STEADY_16, soc, _TEMPERATURE_16]


def meter_values_16(meter: MeterState, transaction_id: int) -> Payload:
    """OCPP 1.6 MeterValues.req (§4.7) with one meterValue of 10 sampled values."""
    meter.advance()
    return {
        "connectorId": 1,
        "transactionId": transaction_id,
        "meterValue": [
            {"timestamp": iso(meter.next_timestamp()), "sampledValue": _samples_16(meter)},
        ],
    }


def _static_samples_201() -> tuple[list[Payload], Payload]:
    """Constant 2.0.1 samples: power, I and U per phase; grid frequency."""
    periodic = "Sample.Periodic"
    steady: list[Payload] = [
        {
            "value": _POWER_W,
            "context": periodic,
            "measurand": "Power.Active.Import",
            "location": "Outlet",
            "unitOfMeasure": {"unit": "W"},
        }
    ]
    for phase in ("L1", "L2", "L3"):
        steady.append(
            {
                "value": _PHASE_CURRENT_A,
                "context": periodic,
                "measurand": "Current.Import",
                "phase": phase,
                "location": "Outlet",
                "unitOfMeasure": {"unit": "A"},
            }
        )
    for phase in ("L1-N", "L2-N", "L3-N"):
        steady.append(
            {
                "value": _PHASE_VOLTAGE_V,
                "context": periodic,
                "measurand": "Voltage",
                "phase": phase,
                "location": "Outlet",
                "unitOfMeasure": {"unit": "V"},
            }
        )
    # 2.0.1 has no Temperature measurand (temperature is a device-model variable there, not a
    # meter value), so the tenth sample is the grid frequency (unit "Hz", Part 2 §2.1).
    frequency = {
        "value": 50.0,
        "context": periodic,
        "measurand": "Frequency",
        "location": "Inlet",
        "unitOfMeasure": {"unit": "Hz"},
    }
    return steady, frequency


_STEADY_201, _FREQUENCY_201 = _static_samples_201()


def _samples_201(meter: MeterState) -> list[Payload]:
    """The 10 samples in OCPP 2.0.1 shape (numeric values, unitOfMeasure objects)."""
    energy = {
        "value": round(meter.energy_wh, 1),
        "context": "Sample.Periodic",
        "measurand": "Energy.Active.Import.Register",
        "location": "Outlet",
        "unitOfMeasure": {"unit": "Wh"},
    }
    soc = {
        "value": meter.soc,
        "context": "Sample.Periodic",
        "measurand": "SoC",
        "location": "EV",
        "unitOfMeasure": {"unit": "Percent"},
    }
    return [energy, *_STEADY_201, soc, _FREQUENCY_201]


def transaction_event_started_201(meter: MeterState, transaction_id: str, id_token: str) -> Payload:
    """OCPP 2.0.1 TransactionEventRequest eventType Started (E01/E02), seqNo 0."""
    meter.seq_no = 0
    ts = iso(meter.next_timestamp())
    return {
        "eventType": "Started",
        "timestamp": ts,
        "triggerReason": "Authorized",
        "seqNo": meter.seq_no,
        "transactionInfo": {"transactionId": transaction_id, "chargingState": "EVConnected"},
        "idToken": {"idToken": id_token, "type": "ISO14443"},
        "evse": {"id": 1, "connectorId": 1},
        "meterValue": [
            {
                "timestamp": ts,
                "sampledValue": [
                    {
                        "value": round(meter.energy_wh, 1),
                        "context": "Transaction.Begin",
                        "measurand": "Energy.Active.Import.Register",
                        "location": "Outlet",
                        "unitOfMeasure": {"unit": "Wh"},
                    }
                ],
            }
        ],
    }


def transaction_event_updated_201(meter: MeterState, transaction_id: str) -> Payload:
    """OCPP 2.0.1 TransactionEventRequest Updated / MeterValuePeriodic (E02.FR.xx, J02)."""
    meter.advance()
    ts = iso(meter.next_timestamp())
    return {
        "eventType": "Updated",
        "timestamp": ts,
        "triggerReason": "MeterValuePeriodic",
        "seqNo": meter.seq_no,
        "transactionInfo": {"transactionId": transaction_id, "chargingState": "Charging"},
        "evse": {"id": 1, "connectorId": 1},
        "meterValue": [{"timestamp": ts, "sampledValue": _samples_201(meter)}],
    }
