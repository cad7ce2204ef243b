"""Sharing a station-wide budget between EVSEs (1.6 §3.13.3)."""

from __future__ import annotations

import pytest

from opencsms.smartcharging import share_power


def test_no_budget_leaves_the_caps() -> None:
    assert share_power(None, [11_000.0, None], [5_000.0, 0.0]) == [11_000.0, None]


def test_enough_budget_keeps_headroom_above_demand() -> None:
    limits = share_power(12_000.0, [11_000.0, 11_000.0], [4_000.0, 3_000.0])
    assert limits == [9_000.0, 8_000.0]
    assert sum(min(d, lim or 0) for d, lim in zip([4_000, 3_000], limits, strict=True)) <= 12_000


def test_scarce_budget_is_water_filled() -> None:
    # 10 kW for three EVSEs wanting 2, 11 and 11 kW: 2 kW, then 4 kW each for the others.
    limits = share_power(10_000.0, [11_000.0] * 3, [2_000.0, 11_000.0, 11_000.0])
    assert limits == pytest.approx([2_000.0, 4_000.0, 4_000.0])
    # An idle EVSE gets nothing while the others use the whole budget.
    assert share_power(6_000.0, [11_000.0, 11_000.0], [0.0, 9_000.0]) == [0.0, 6_000.0]


def test_caps_and_odd_inputs() -> None:
    assert share_power(20_000.0, [3_000.0, None], [9_000.0, 9_000.0]) == [3_000.0, 17_000.0]
    assert share_power(-5.0, [1_000.0], [500.0]) == [0.0]
    assert share_power(1_000.0, [], []) == []
    with pytest.raises(ValueError, match="one cap"):
        share_power(1_000.0, [1.0], [])
