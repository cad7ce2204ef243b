"""Tariff parsing: what is refused and why, and the JSON round trip."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from opencsms.billing import InvalidTariff, parse_tariff, tariff_json

BASE: dict[str, Any] = {
    "currency": "EUR",
    "elements": [{"components": [{"type": "ENERGY", "price": "0.30"}]}],
}


def with_(**changes: Any) -> dict[str, Any]:
    return {**BASE, **changes}


def test_full_tariff_round_trips() -> None:
    data = {
        "name": "AC night",
        "currency": "EUR",
        "time_zone": "Europe/Amsterdam",
        "tax_rate": "0.21",
        "min_price": "0.50",
        "max_price": "40",
        "idle_grace_minutes": 15,
        "valid_from": "2026-01-01T00:00:00+00:00",
        "valid_to": None,
        "elements": [
            {
                "components": [{"type": "ENERGY", "price": "0.25", "step_size": 100}],
                "restrictions": {
                    "start_time": "22:00",
                    "end_time": "07:00",
                    "day_of_week": ["MONDAY", "SUNDAY"],
                    "min_kwh": "1.5",
                    "max_duration": 7200,
                    "start_date": "2026-01-01",
                    "end_date": "2027-01-01",
                },
            },
            {"components": [{"type": "ENERGY", "price": "0.35"}, {"type": "FLAT", "price": "1"}]},
        ],
    }
    tariff = parse_tariff(data)
    assert tariff.tax_rate == Decimal("0.21")
    assert tariff.valid_from == datetime(2026, 1, 1, tzinfo=UTC)
    assert tariff.elements[0].restrictions.day_of_week == frozenset({0, 6})
    assert parse_tariff(tariff_json(tariff)) == tariff
    assert tariff_json(tariff)["elements"][0]["restrictions"]["start_time"] == "22:00"


def test_json_numbers_are_read_exactly() -> None:
    tariff = parse_tariff(
        with_(elements=[{"components": [{"type": "ENERGY", "price": 0.1}]}], tax_rate=0.2)
    )
    assert tariff.elements[0].components[0].price == Decimal("0.1")
    assert tariff.tax_rate == Decimal("0.2")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (with_(currency="eur"), "ISO 4217"),
        (with_(currency="EURO"), "ISO 4217"),
        (with_(time_zone="Mars/Olympus"), "IANA"),
        (with_(elements=[]), "non-empty"),
        (with_(elements=[{"components": [{"type": "ENERGY", "price": "-0.1"}]}]), "negative"),
        (with_(elements=[{"components": [{"type": "KWH", "price": "1"}]}]), "type must be one of"),
        (with_(elements=[{"components": [{"type": "ENERGY"}]}]), "price is required"),
        (with_(elements=[{"components": [{"type": "ENERGY", "price": "x"}]}]), "not a number"),
        (
            with_(elements=[{"components": [{"type": "ENERGY", "price": "1"}] * 2}]),
            "twice",
        ),
        (
            with_(elements=[{"components": [{"type": "FLAT", "price": "1", "step_size": 5}]}]),
            "FLAT",
        ),
        (
            with_(
                elements=[
                    {
                        "components": [{"type": "ENERGY", "price": "1"}],
                        "restrictions": {"start_time": "25:00"},
                    }
                ]
            ),
            "HH:MM",
        ),
        (
            with_(
                elements=[
                    {
                        "components": [{"type": "ENERGY", "price": "1"}],
                        "restrictions": {"start_time": "10:00", "end_time": "10:00"},
                    }
                ]
            ),
            "empty window",
        ),
        (
            with_(
                elements=[
                    {
                        "components": [{"type": "ENERGY", "price": "1"}],
                        "restrictions": {"min_kwh": 10, "max_kwh": 5},
                    }
                ]
            ),
            "kwh window is empty",
        ),
        (
            with_(
                elements=[
                    {
                        "components": [{"type": "ENERGY", "price": "1"}],
                        "restrictions": {"day_of_week": ["FUNDAY"]},
                    }
                ]
            ),
            "day_of_week",
        ),
        (with_(tax_rate="21"), "fraction"),
        (with_(min_price="5", max_price="1"), "min_price is above max_price"),
        (with_(valid_from="2026-01-01T00:00:00"), "UTC offset"),
        (
            with_(valid_from="2026-02-01T00:00:00Z", valid_to="2026-01-01T00:00:00Z"),
            "before valid_to",
        ),
        (with_(idle_grace_minutes=-1), "whole number"),
        (with_(colour="red"), "unknown fields: colour"),
    ],
)
def test_refused(data: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidTariff, match=message):
        parse_tariff(data)


def test_validity() -> None:
    tariff = parse_tariff(with_(valid_from="2026-01-01T00:00:00Z", valid_to="2026-02-01T00:00:00Z"))
    assert not tariff.valid_at(datetime(2025, 12, 31, 23, 59, tzinfo=UTC))
    assert tariff.valid_at(datetime(2026, 1, 1, tzinfo=UTC))
    assert not tariff.valid_at(datetime(2026, 2, 1, tzinfo=UTC))
