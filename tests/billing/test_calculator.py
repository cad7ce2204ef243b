"""The cost calculator, with hand-computed numbers (docs/tariffs.md, "How cost is computed")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from opencsms.billing import (
    CostBreakdown,
    Phase,
    SessionTimeline,
    breakdown_from_json,
    breakdown_json,
    compute_cost,
    parse_tariff,
)

D = Decimal


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def tariff(*elements: dict[str, Any], **fields: Any) -> Any:
    return parse_tariff({"currency": "EUR", "elements": list(elements), **fields})


def linear(start: str, end: str, wh: float, steps: int = 4) -> list[tuple[datetime, Decimal]]:
    """Readings of a constant power from 0 Wh at ``start`` to ``wh`` at ``end``."""
    a, b = at(start), at(end)
    return [(a + (b - a) * i / steps, D(str(wh)) * i / steps) for i in range(steps + 1)]


def cost(t: Any, start: str, end: str, readings: Any = (), states: Any = ()) -> CostBreakdown:
    return compute_cost(t, SessionTimeline(at(start), at(end), readings, states))


def test_energy_only_with_tax() -> None:
    t = tariff({"components": [{"type": "ENERGY", "price": "0.30"}]}, tax_rate="0.21")
    b = cost(
        t,
        "2026-01-05T10:00:00Z",
        "2026-01-05T11:00:00Z",
        linear("2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z", 10_000),
    )
    assert (b.energy_wh, b.energy, b.time, b.parking, b.flat) == (D(10_000), D("3.00"), 0, 0, 0)
    assert (b.net, b.tax, b.gross) == (D("3.00"), D("0.63"), D("3.63"))
    assert b.charging_seconds == 3600


def test_price_change_at_22_local_splits_the_energy() -> None:
    """21:30-22:30 Amsterdam (UTC+1 in January) at a constant 11 kW: 5.5 kWh at the day price,
    5.5 kWh at the night price from 22:00 local."""
    t = tariff(
        {
            "components": [{"type": "ENERGY", "price": "0.20"}],
            "restrictions": {"start_time": "22:00", "end_time": "07:00"},
        },
        {"components": [{"type": "ENERGY", "price": "0.40"}, {"type": "TIME", "price": "0.05"}]},
        time_zone="Europe/Amsterdam",
    )
    start, end = "2026-01-05T20:30:00Z", "2026-01-05T21:30:00Z"
    b = cost(t, start, end, linear(start, end, 11_000))
    # 5.5 × 0.40 + 5.5 × 0.20 = 2.20 + 1.10; TIME from the catch-all: 60 min × 0.05
    assert (b.energy, b.time, b.net) == (D("3.30"), D("3.00"), D("6.30"))
    assert [(p.start, p.energy_price) for p in b.periods] == [
        (at(start), D("0.40")),
        (at("2026-01-05T21:00:00Z"), D("0.20")),
    ]
    assert [p.energy_wh for p in b.periods] == [D(5500), D(5500)]


def test_dst_spring_forward_bills_real_time() -> None:
    """Amsterdam, 2026-03-29: 02:00 local becomes 03:00. 00:30-03:30 local is 2 real hours;
    the 03:00 local price change happens at 01:00Z."""
    t = tariff(
        {
            "components": [{"type": "TIME", "price": "0.02"}],
            "restrictions": {"start_time": "03:00", "end_time": "07:00"},
        },
        {"components": [{"type": "TIME", "price": "0.01"}]},
        time_zone="Europe/Amsterdam",
    )
    b = cost(t, "2026-03-28T23:30:00Z", "2026-03-29T01:30:00Z")
    assert b.charging_seconds == 7200
    assert b.time == D("0.90") + D("0.60")  # 90 min × 0.01 + 30 min × 0.02
    assert [p.start for p in b.periods][-1] == at("2026-03-29T01:00:00Z")


def test_dst_fall_back_night_has_25_hours() -> None:
    """Amsterdam, 2026-10-25: a 24-hour-local-clock session from midnight to midnight lasts 25
    real hours and bills 25 hours."""
    t = tariff({"components": [{"type": "TIME", "price": "0.01"}]}, time_zone="Europe/Amsterdam")
    b = cost(t, "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z")
    assert b.charging_seconds == 25 * 3600
    assert b.time == D("15.00")


def test_day_of_week_changes_at_local_midnight() -> None:
    t = tariff(
        {
            "components": [{"type": "TIME", "price": "0.06"}],
            "restrictions": {"day_of_week": ["SUNDAY"]},
        },
        {"components": [{"type": "TIME", "price": "0.03"}]},
    )
    # Saturday 2026-01-03 23:00 to Sunday 01:00 (UTC): 60 × 0.03 + 60 × 0.06
    b = cost(t, "2026-01-03T23:00:00Z", "2026-01-04T01:00:00Z")
    assert b.time == D("5.40")


def idle_session() -> list[tuple[datetime, Decimal]]:
    """10 kWh from 10:00 to 11:00, then nothing until the stop at 12:00."""
    return [
        (at("2026-01-05T10:00:00Z"), D(0)),
        (at("2026-01-05T10:30:00Z"), D(5000)),
        (at("2026-01-05T11:00:00Z"), D(10_000)),
        (at("2026-01-05T11:30:00Z"), D(10_000)),
        (at("2026-01-05T12:00:00Z"), D(10_000)),
    ]


IDLE_TARIFF = {
    "components": [
        {"type": "ENERGY", "price": "0.30"},
        {"type": "PARKING_TIME", "price": "0.10"},
    ]
}


def test_idle_fee_after_grace_from_energy_flow() -> None:
    t = tariff(IDLE_TARIFF, idle_grace_minutes=10)
    b = cost(t, "2026-01-05T10:00:00Z", "2026-01-05T12:00:00Z", idle_session())
    assert b.charging_ended_at == at("2026-01-05T11:00:00Z")
    assert (b.parking_seconds, b.billed_parking_seconds) == (3600, 3000)
    assert (b.energy, b.parking, b.net) == (D("3.00"), D("5.00"), D("8.00"))
    assert [p.phase for p in b.periods] == [Phase.CHARGING, Phase.GRACE, Phase.PARKING]


def test_idle_starts_when_the_station_also_says_charging_stopped() -> None:
    """The register stopped at 11:00 but the station said Charging until 11:20: the later
    signal wins (doubt goes to the driver)."""
    t = tariff(IDLE_TARIFF, idle_grace_minutes=10)
    states = [
        (at("2026-01-05T10:00:00Z"), False),  # EVConnected
        (at("2026-01-05T10:01:00Z"), True),  # Charging
        (at("2026-01-05T11:20:00Z"), False),  # SuspendedEV
    ]
    b = cost(t, "2026-01-05T10:00:00Z", "2026-01-05T12:00:00Z", idle_session(), states)
    assert b.charging_ended_at == at("2026-01-05T11:20:00Z")
    assert b.parking == D("3.00")  # 40 min idle - 10 min grace = 30 min × 0.10


def test_no_idle_fee_while_the_station_reports_charging() -> None:
    t = tariff(IDLE_TARIFF, idle_grace_minutes=10)
    states = [(at("2026-01-05T10:00:00Z"), True)]
    b = cost(t, "2026-01-05T10:00:00Z", "2026-01-05T12:00:00Z", idle_session(), states)
    assert (b.parking_seconds, b.parking) == (0, 0)


def test_idle_shorter_than_grace_is_free() -> None:
    t = tariff(IDLE_TARIFF, idle_grace_minutes=90)
    b = cost(t, "2026-01-05T10:00:00Z", "2026-01-05T12:00:00Z", idle_session())
    assert (b.parking_seconds, b.billed_parking_seconds, b.parking) == (3600, 0, 0)


def test_tax_and_components_round_half_even() -> None:
    # FLAT 1.50, 19 % → 0.285 → 0.28 (half-even; half-up would give 0.29)
    t = tariff({"components": [{"type": "FLAT", "price": "1.50"}]}, tax_rate="0.19")
    b = cost(t, "2026-01-05T10:00:00Z", "2026-01-05T10:05:00Z")
    assert (b.flat, b.net, b.tax, b.gross) == (D("1.50"), D("1.50"), D("0.28"), D("1.78"))
    # 1 kWh × 0.125 = 0.125 → 0.12; 3 kWh × 0.125 = 0.375 → 0.38
    t = tariff({"components": [{"type": "ENERGY", "price": "0.125"}]})
    for wh, expected in ((1000, "0.12"), (3000, "0.38")):
        b = cost(
            t,
            "2026-01-05T10:00:00Z",
            "2026-01-05T11:00:00Z",
            linear("2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z", wh),
        )
        assert b.energy == D(expected)


def test_tax_is_on_the_rounded_net_so_net_plus_tax_is_gross() -> None:
    t = tariff({"components": [{"type": "ENERGY", "price": "0.3333"}]}, tax_rate="0.21")
    start, end = "2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z"
    b = cost(t, start, end, linear(start, end, 7777))
    # 7.777 × 0.3333 = 2.5920741 → 2.59; 2.59 × 0.21 = 0.5439 → 0.54
    assert (b.net, b.tax, b.gross) == (D("2.59"), D("0.54"), D("3.13"))
    assert b.net + b.tax == b.gross


def test_minimum_and_maximum_price() -> None:
    start, end = "2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z"
    t = tariff(
        {"components": [{"type": "ENERGY", "price": "0.30"}]},
        min_price="1.00",
        max_price="25.00",
        tax_rate="0.21",
    )
    low = cost(t, start, end, linear(start, end, 1000))
    assert (low.subtotal, low.net, low.tax, low.gross) == (
        D("0.30"),
        D("1.00"),
        D("0.21"),
        D("1.21"),
    )
    assert (low.min_price_applied, low.max_price_applied) == (True, False)
    high = cost(t, start, end, linear(start, end, 100_000))
    assert (high.subtotal, high.net, high.gross) == (D("30.00"), D("25.00"), D("30.25"))
    assert (high.min_price_applied, high.max_price_applied) == (False, True)


def test_energy_step_size_rounds_the_session_total_at_the_last_price() -> None:
    """OCPI's example: 0.20/kWh before 17:00, 0.27 after, step 500 Wh; 4.3 + 1.1 kWh = 5.4 kWh,
    billed 5.5 kWh: the extra 0.1 kWh at 0.27."""
    t = tariff(
        {
            "components": [{"type": "ENERGY", "price": "0.20", "step_size": 500}],
            "restrictions": {"end_time": "17:00"},
        },
        {"components": [{"type": "ENERGY", "price": "0.27", "step_size": 500}]},
    )
    readings = [
        (at("2026-01-05T16:00:00Z"), D(0)),
        (at("2026-01-05T17:00:00Z"), D(4300)),
        (at("2026-01-05T18:00:00Z"), D(5400)),
    ]
    b = cost(t, "2026-01-05T16:00:00Z", "2026-01-05T18:00:00Z", readings)
    assert b.energy == D("1.18")  # 0.86 + 0.297 + 0.027 = 1.184


def test_time_step_size_rounds_the_total_time() -> None:
    """6 min at 0.10/min then 22 min at 0.20/min, step 10 min: 28 → 30 min, 2 extra min at 0.20."""
    t = tariff(
        {
            "components": [{"type": "TIME", "price": "0.10", "step_size": 600}],
            "restrictions": {"end_time": "17:00"},
        },
        {"components": [{"type": "TIME", "price": "0.20", "step_size": 600}]},
    )
    b = cost(t, "2026-01-05T16:54:00Z", "2026-01-05T17:22:00Z")
    assert b.time == D("5.40")


def test_kwh_and_duration_windows() -> None:
    start, end = "2026-01-05T10:00:00Z", "2026-01-05T11:30:00Z"
    t = tariff(
        {"components": [{"type": "ENERGY", "price": "0.50"}], "restrictions": {"min_kwh": 10}},
        {"components": [{"type": "TIME", "price": "0"}], "restrictions": {"max_duration": 3600}},
        {"components": [{"type": "ENERGY", "price": "0.30"}, {"type": "TIME", "price": "0.05"}]},
    )
    b = cost(t, start, end, linear(start, end, 15_000, steps=3))
    # 10 kWh × 0.30 + 5 kWh × 0.50; first hour free, then 30 min × 0.05
    assert (b.energy, b.time) == (D("5.50"), D("1.50"))


def test_flat_fee_once_from_the_element_matching_at_start() -> None:
    t = tariff(
        {
            "components": [{"type": "FLAT", "price": "2.00"}],
            "restrictions": {"start_time": "12:00"},
        },
        {"components": [{"type": "FLAT", "price": "0.50"}]},
    )
    b = cost(t, "2026-01-05T11:00:00Z", "2026-01-05T14:00:00Z")
    assert b.flat == D("0.50")


def test_zero_decimal_currency() -> None:
    t = parse_tariff(
        {"currency": "JPY", "elements": [{"components": [{"type": "ENERGY", "price": "35.5"}]}]}
    )
    start, end = "2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z"
    assert cost(t, start, end, linear(start, end, 3000)).net == D(106)  # 106.5 → 106 (half-even)


def test_running_session_costs_so_far() -> None:
    t = tariff({"components": [{"type": "ENERGY", "price": "0.40"}]})
    readings = [(at("2026-01-05T10:00:00Z"), D(1000)), (at("2026-01-05T10:30:00Z"), D(3500))]
    # "now" is 10:40: the register is taken as its last reading
    b = cost(t, "2026-01-05T10:00:00Z", "2026-01-05T10:40:00Z", readings)
    assert (b.energy_wh, b.net) == (D(2500), D("1.00"))


def test_breakdown_round_trips_through_json() -> None:
    t = tariff(IDLE_TARIFF, idle_grace_minutes=10, tax_rate="0.21")
    b = cost(t, "2026-01-05T10:00:00Z", "2026-01-05T12:00:00Z", idle_session())
    assert breakdown_from_json(breakdown_json(b)) == b


@pytest.mark.parametrize("minutes", [0, 1, 59, 61, 600])
def test_components_add_up_to_the_net(minutes: int) -> None:
    start = at("2026-01-05T21:00:00Z")
    end = start + timedelta(minutes=minutes)
    t = tariff(
        {
            "components": [
                {"type": "ENERGY", "price": "0.2199"},
                {"type": "TIME", "price": "0.013"},
            ],
            "restrictions": {"start_time": "22:00", "end_time": "06:00"},
        },
        {"components": [{"type": "ENERGY", "price": "0.3999"}, {"type": "FLAT", "price": "0.35"}]},
        tax_rate="0.2",
    )
    readings = [(start, D(0)), (end, D(minutes * 183))]
    b = compute_cost(t, SessionTimeline(start, end, readings))
    assert b.energy + b.time + b.parking + b.flat == b.net
    assert b.net + b.tax == b.gross
    assert sum((p.seconds for p in b.periods), D(0)) == minutes * 60
    assert b.energy_wh == sum((p.energy_wh for p in b.periods), D(0))
    assert all(p.start.tzinfo is not None for p in b.periods)
    assert b.charging_ended_at.tzinfo == UTC or b.charging_ended_at.utcoffset() == timedelta(0)
