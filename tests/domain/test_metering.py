"""Sampled values of both versions, unit conversion and session energy from registers."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from opencsms.domain.metering import (
    ENERGY_REGISTER,
    POWER,
    outlet_power_energy,
    record_power_energy,
    register_readings,
    samples_of,
    samples_power_energy,
    session_energy,
    to_base_unit,
)
from opencsms.domain.model import MeterValueRecord

T0 = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)


def element(
    minutes: int, samples: list[dict[str, object]], context: str | None = None
) -> MeterValueRecord:
    return MeterValueRecord(
        "CS",
        1,
        1,
        "A",
        T0 + timedelta(minutes=minutes),
        orjson.dumps(samples).decode(),
        context,
        T0,
    )


@pytest.mark.parametrize(
    ("value", "unit", "multiplier", "expected"),
    [
        (2.5, "kWh", 0, (2500.0, "Wh")),
        (7, "Wh", 3, (7000.0, "Wh")),
        (11, "kW", 0, (11000.0, "W")),
        (80, "Percent", 0, (80.0, "Percent")),
        (5, None, 0, (5.0, "Wh")),
    ],
)
def test_units(
    value: float, unit: str | None, multiplier: int, expected: tuple[float, str]
) -> None:
    assert to_base_unit(value, unit, multiplier) == expected


def test_samples_of_both_versions_keep_what_was_sent() -> None:
    v16 = element(
        0,
        [
            {"value": "1.5", "unit": "kWh", "context": "Sample.Clock"},
            {"value": "AB12", "format": "SignedData"},
        ],
    )
    v201 = element(
        1,
        [
            {
                "value": 3,
                "measurand": "SoC",
                "location": "EV",
                "unitOfMeasure": {"unit": "Percent"},
                "phase": None,
                "signedMeterValue": {
                    "signedMeterData": "x",
                    "signingMethod": "",
                    "encodingMethod": "",
                    "publicKey": "",
                },
            }
        ],
    )
    (energy,) = samples_of(v16)
    assert (energy.measurand, energy.value, energy.unit, energy.raw) == (
        "Energy.Active.Import.Register",
        1500.0,
        "Wh",
        "1.5",
    )
    assert energy.context == "Sample.Clock"
    (soc,) = samples_of(v201)
    assert (soc.measurand, soc.value, soc.location, soc.signed["signedMeterData"]) == (
        "SoC",
        3.0,
        "EV",
        "x",
    )


def test_energy_is_end_minus_begin_not_a_sum() -> None:
    records = [
        element(
            60, [{"value": 9.0, "unitOfMeasure": {"unit": "kWh"}, "context": "Transaction.End"}]
        ),
        element(0, [{"value": 1000, "context": "Transaction.Begin"}]),
        element(30, [{"value": 5000}]),
        element(90, [{"value": 9500}]),  # after the End reading (late sample): not the end
    ]
    assert session_energy(records) == (1000.0, 9000.0, 8000.0)
    assert session_energy(records, meter_start_wh=500.0, meter_stop_wh=700.0) == (
        500.0,
        700.0,
        200.0,
    )
    assert session_energy([]) == (None, None, None)


def test_per_phase_registers_are_summed_when_there_is_no_total() -> None:
    phases = [{"value": v, "phase": p} for v, p in ((100, "L1"), (200, "L2"), (300, "L3"))]
    assert [r[2] for r in register_readings([element(0, phases)])] == [600.0]
    with_total = [*phases, {"value": 650}]
    assert [r[2] for r in register_readings([element(0, with_total)])] == [650.0]


def _reference_power_energy(record: MeterValueRecord) -> tuple[float | None, float | None]:
    """The outlet power and energy read the long way, through every parsed Sample."""
    totals: dict[str, float] = {}
    phases: dict[str, float] = {}
    for sample in samples_of(record):
        if sample.location == "EV" or sample.measurand not in (POWER, ENERGY_REGISTER):
            continue
        if sample.phase is None:
            totals.setdefault(sample.measurand, sample.value)
        elif sample.phase in ("L1", "L2", "L3", "L1-N", "L2-N", "L3-N"):
            phases[sample.measurand] = phases.get(sample.measurand, 0.0) + sample.value
    merged = phases | totals
    return merged.get(POWER), merged.get(ENERGY_REGISTER)


@pytest.mark.parametrize(
    "samples",
    [
        [],
        [{"value": "1234.5"}],  # 1.6 defaults: energy register in Wh
        [{"value": "2.5", "unit": "kWh"}, {"value": "7.2", "unit": "kW", "measurand": POWER}],
        [  # 2.0.1: unitOfMeasure with a multiplier
            {"value": 3, "unitOfMeasure": {"unit": "kWh", "multiplier": 1}},
            {"value": 11000, "measurand": POWER},
        ],
        [  # per-phase power only, and a neutral phase that is not summed
            {"value": "1000", "measurand": POWER, "phase": "L1", "unit": "W"},
            {"value": "1100", "measurand": POWER, "phase": "L2", "unit": "W"},
            {"value": "50", "measurand": POWER, "phase": "N", "unit": "W"},
        ],
        [  # a total wins over phases; the first total counts
            {"value": "900", "measurand": POWER, "phase": "L1"},
            {"value": "5000", "measurand": POWER},
            {"value": "6000", "measurand": POWER},
        ],
        [  # the EV's side, signed data and text are not the outlet's reading
            {"value": "80", "measurand": ENERGY_REGISTER, "location": "EV"},
            {"value": "ab12", "format": "SignedData"},
            {"value": "n/a", "measurand": POWER},
            {"value": "42", "measurand": "Current.Import", "phase": "L1"},
        ],
    ],
)
def test_outlet_power_energy_agrees_with_the_parsed_samples(
    samples: list[dict[str, object]],
) -> None:
    record = element(0, samples)
    assert outlet_power_energy(record.samples_json) == _reference_power_energy(record)
    # a record just received carries the reading worked out from the parsed frame
    parsed = samples_power_energy(orjson.loads(record.samples_json))
    assert parsed == _reference_power_energy(record)
    received = dataclasses.replace(record, _outlet=parsed)
    assert record_power_energy(received) == _reference_power_energy(record)
    assert record_power_energy(record) == _reference_power_energy(record)
