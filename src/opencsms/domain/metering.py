"""Reading meter values: sampled values, unit conversion, session energy, series.

A :class:`~opencsms.domain.model.MeterValueRecord` keeps a ``meterValue`` element's samples as the
JSON the station sent (so signed data and every optional field stay verbatim, and the 1.6
MeterValues hot path writes one row per element without parsing it). This module reads them back,
for either version:

* 1.6 §7.31 SampledValue: ``value`` is a string, ``unit`` a string (default ``Wh``).
* 2.0.1 SampledValueType: ``value`` is a number, ``unitOfMeasure`` ``{unit, multiplier}`` (default
  ``Wh``, multiplier 0 — the value is scaled by 10^multiplier).

Both default the measurand to ``Energy.Active.Import.Register`` and the location to ``Outlet``.

Energy of a session comes from register readings (begin and end), never from summing periodic
samples: a register is cumulative, so a sum double counts, and a lost sample would lose energy.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from opencsms.domain.model import MeterValueRecord

__all__ = [
    "ENERGY_REGISTER",
    "POWER",
    "Sample",
    "outlet_power_energy",
    "record_power_energy",
    "register_readings",
    "samples_of",
    "samples_power_energy",
    "session_energy",
    "to_base_unit",
]

ENERGY_REGISTER = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"
_LINE_PHASES = frozenset(("L1", "L2", "L3", "L1-N", "L2-N", "L3-N"))

_SCALE = {"kWh": 1000.0, "kW": 1000.0, "kvarh": 1000.0, "kvar": 1000.0, "kVA": 1000.0}
"""Units converted to their base unit (Wh, W, varh, var, VA) so series and energy compare."""
_BASE = {"kWh": "Wh", "kW": "W", "kvarh": "varh", "kvar": "var", "kVA": "VA"}


@dataclass(frozen=True, slots=True)
class Sample:
    """One sampled value, converted to its base unit (``raw`` keeps the station's text)."""

    timestamp: datetime
    value: float
    unit: str
    measurand: str
    phase: str | None
    location: str
    context: str | None
    signed: Any
    """1.6 signed data (``format`` SignedData: the value itself) or 2.0.1 signedMeterValue."""
    raw: Any


def to_base_unit(value: float, unit: str | None, multiplier: int = 0) -> tuple[float, str]:
    """Convert ``value`` in ``unit`` × 10^``multiplier`` to the base unit (kWh → Wh, ...)."""
    unit = unit or "Wh"
    scaled = value * (10.0**multiplier) if multiplier else value
    factor = _SCALE.get(unit)
    if factor is not None:
        return scaled * factor, _BASE[unit]
    return scaled, unit


def samples_of(record: MeterValueRecord) -> list[Sample]:
    """Every sampled value of a stored element, parsed; values that are not numbers (1.6
    SignedData, vendor text) are skipped but stay stored verbatim."""
    out: list[Sample] = []
    for item in orjson.loads(record.samples_json):
        raw_value = item.get("value")
        unit_of_measure = item.get("unitOfMeasure") or {}
        unit = item.get("unit") or unit_of_measure.get("unit")
        multiplier = unit_of_measure.get("multiplier", 0)
        signed = item.get("signedMeterValue")
        if item.get("format") == "SignedData":
            signed = raw_value
            raw_value = None
        try:
            number = float(raw_value)
        except (TypeError, ValueError):
            continue
        value, base = to_base_unit(number, unit, multiplier)
        out.append(
            Sample(
                timestamp=record.timestamp,
                value=value,
                unit=base,
                measurand=item.get("measurand") or ENERGY_REGISTER,
                phase=item.get("phase"),
                location=item.get("location") or "Outlet",
                context=item.get("context") or record.context,
                signed=signed,
                raw=raw_value,
            )
        )
    return out


def record_power_energy(record: MeterValueRecord) -> tuple[float | None, float | None]:
    """:func:`outlet_power_energy` of one record: worked out when it was received, else from
    its stored JSON."""
    outlet = record._outlet
    return outlet if outlet is not None else outlet_power_energy(record.samples_json)


@functools.lru_cache(maxsize=4096)
def outlet_power_energy(samples_json: str) -> tuple[float | None, float | None]:
    """(W, Wh) of one ``meterValue`` element at the outlet: the active import power and energy
    register, each the first total (no phase) sample, else the sum of its line phases; ``None``
    when the element has neither.

    Every stored meter value is read by several live views (fleet state, event stream), so this
    looks only at the two measurands they show, builds no :class:`Sample`, and remembers the
    latest elements: the second view of the same element costs a dictionary lookup.
    """
    return samples_power_energy(orjson.loads(samples_json))


def samples_power_energy(
    samples: Iterable[Mapping[str, Any]],
) -> tuple[float | None, float | None]:
    """:func:`outlet_power_energy` of a ``sampledValue`` list already parsed."""
    totals: dict[str, float] = {}
    phases: dict[str, float] = {}
    for item in samples:
        measurand = item.get("measurand") or ENERGY_REGISTER
        if measurand != POWER and measurand != ENERGY_REGISTER:
            continue
        if item.get("location") == "EV" or item.get("format") == "SignedData":
            continue
        phase = item.get("phase")
        if phase is not None and phase not in _LINE_PHASES:
            continue
        if phase is None and measurand in totals:
            continue
        raw: Any = item.get("value")
        try:
            number = float(raw)
        except (TypeError, ValueError):
            continue
        unit_of_measure = item.get("unitOfMeasure") or {}
        unit = item.get("unit") or unit_of_measure.get("unit")
        value, _base = to_base_unit(number, unit, unit_of_measure.get("multiplier", 0))
        if phase is None:
            totals[measurand] = value
        else:
            phases[measurand] = phases.get(measurand, 0.0) + value
    merged = phases | totals
    return merged.get(POWER), merged.get(ENERGY_REGISTER)


def register_readings(
    records: Iterable[MeterValueRecord],
) -> list[tuple[datetime, str | None, float]]:
    """(timestamp, context, Wh) of every total active-import register reading, in time order.

    A total is a reading without a phase; when a station sends only per-phase registers, their sum
    at one instant is the total.
    """
    readings: list[tuple[datetime, str | None, float]] = []
    for record in records:
        totals: list[Sample] = []
        phases: list[Sample] = []
        for sample in samples_of(record):
            if sample.measurand != ENERGY_REGISTER or sample.location == "EV":
                continue
            (phases if sample.phase else totals).append(sample)
        if totals:
            readings.append((record.timestamp, totals[0].context, totals[0].value))
        elif phases:
            line = [s for s in phases if s.phase in ("L1", "L2", "L3", "L1-N", "L2-N", "L3-N")]
            if line:
                readings.append((record.timestamp, line[0].context, sum(s.value for s in line)))
    readings.sort(key=lambda r: r[0])
    return readings


def session_energy(
    records: Sequence[MeterValueRecord],
    *,
    meter_start_wh: float | None = None,
    meter_stop_wh: float | None = None,
) -> tuple[float | None, float | None, float | None]:
    """(meter start, meter stop, energy) in Wh of a session.

    Given start/stop (1.6 meterStart/meterStop, Wh) win. Otherwise the begin register is the
    ``Transaction.Begin`` reading or the earliest one, the end register the ``Transaction.End``
    reading or the latest one (2.0.1 E01/E06 send them in the Started/Ended events). The energy is
    end − begin; ``None`` when either is unknown.
    """
    readings = register_readings(records)
    start, stop = meter_start_wh, meter_stop_wh
    if readings:
        if start is None:
            begin = [r for r in readings if r[1] == "Transaction.Begin"]
            start = (begin[0] if begin else readings[0])[2]
        if stop is None:
            end = [r for r in readings if r[1] == "Transaction.End"]
            stop = (end[-1] if end else readings[-1])[2]
    energy = None if start is None or stop is None else max(stop - start, 0.0)
    return start, stop, energy
