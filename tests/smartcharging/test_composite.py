"""The composite schedule: stacking, purposes, kinds, validity, units, the station total."""

from __future__ import annotations

from datetime import timedelta

import pytest

from opencsms.smartcharging import (
    ChargingProfile,
    EvseRating,
    EvseState,
    ProfileKind,
    ProfilePurpose,
    RateUnit,
    RecurrencyKind,
    StationState,
    composite_schedule,
    limit_at,
    lowest_of,
    next_change,
    station_budget,
)
from tests.smartcharging.builders import AC7, AC11, T0, at, profile, shape, station

W, A = RateUnit.W, RateUnit.A
TX, TX_DEFAULT = ProfilePurpose.TX, ProfilePurpose.TX_DEFAULT
STATION_MAX = ProfilePurpose.STATION_MAX


def composite(
    profiles: list[ChargingProfile],
    st: StationState | None = None,
    *,
    evse: int = 1,
    start: int = 0,
    duration: int = 3 * 3600,
    unit: RateUnit = W,
) -> list[tuple[int, float | None]]:
    return shape(
        composite_schedule(profiles, st or station(), evse, at(seconds=start), duration, unit)
    )


# ------------------------------------------------------------------------------ basics


def test_no_profile_is_the_evse_rating_in_either_unit() -> None:
    assert composite([]) == [(0, 11_000.0)]
    # 11 kW / (230 V · 3) = 15.94 A, rounded down so the report never exceeds the limit.
    assert composite([], unit=A) == [(0, 15.9)]
    unrated = StationState({1: EvseState(EvseRating(None))})
    assert composite([], unrated) == [(0, None)]


def test_result_carries_window_unit_and_phases() -> None:
    result = composite_schedule([profile()], station(), 1, T0, 600, A)
    assert (result.evse, result.start, result.duration, result.rate_unit) == (1, T0, 600, A)
    assert result.periods[0].number_phases == 3
    assert result.periods[0].limit == pytest.approx(14.4)  # 10 kW / 690 V


def test_unknown_evse_and_negative_duration_are_refused() -> None:
    with pytest.raises(KeyError):
        composite_schedule([], station(), 2, T0, 60, W)
    with pytest.raises(ValueError, match="negative"):
        composite_schedule([], station(), 1, T0, -1, W)


# ------------------------------------------------------------------------------ stacking


def test_higher_stack_level_prevails_and_falls_through_after_its_duration() -> None:
    base = profile(1, periods=[(0, 10_000)])
    exception = profile(2, stack=1, periods=[(0, 5_000)], start=at(hours=1), duration=1800)
    assert composite([base, exception]) == [(0, 10_000), (3600, 5_000), (5400, 10_000)]


def test_lower_stack_level_never_overrides_a_higher_one_without_duration() -> None:
    top = profile(1, stack=2, periods=[(0, 4_000)])
    below = profile(2, stack=1, periods=[(0, 2_000)], start=at(hours=1))
    assert composite([top, below]) == [(0, 4_000)]


def test_validity_window_bounds_a_profile() -> None:
    base = profile(1, periods=[(0, 9_000)])
    window = profile(
        2, stack=1, periods=[(0, 3_000)], valid_from=at(minutes=10), valid_to=at(minutes=20)
    )
    assert composite([base, window]) == [(0, 9_000), (600, 3_000), (1200, 9_000)]


def test_profile_before_its_start_schedule_lets_lower_levels_apply() -> None:
    later = profile(2, stack=5, periods=[(0, 1_000)], start=at(hours=2))
    assert composite([later], duration=4 * 3600) == [(0, 11_000), (7200, 1_000)]


def test_evse_specific_profile_beats_station_wide_at_the_same_stack_level() -> None:
    station_wide = profile(1, evse=0, periods=[(0, 8_000)])
    own = profile(2, evse=1, periods=[(0, 6_000)], start=at(hours=1), duration=600)
    assert composite([station_wide, own]) == [(0, 8_000), (3600, 6_000), (4200, 8_000)]
    # ...but a station-wide profile higher in the stack beats it (1.6 §3.13.2).
    higher = profile(3, evse=0, stack=1, periods=[(0, 7_000)])
    assert composite([station_wide, own, higher]) == [(0, 7_000)]


def test_later_installed_profile_wins_a_tie() -> None:
    first = profile(1, periods=[(0, 5_000)])
    second = profile(2, periods=[(0, 4_000)])
    assert composite([first, second]) == [(0, 4_000)]
    assert composite([second, first]) == [(0, 5_000)]


# ------------------------------------------------------------------------------ periods


def test_periods_beyond_the_schedule_duration_are_not_executed() -> None:
    p = profile(periods=[(0, 5_000), (600, 4_000), (1200, 3_000)], duration=1000)
    assert composite([p]) == [(0, 5_000), (600, 4_000), (1000, 11_000)]


def test_last_period_lasts_until_duration_ends() -> None:
    p = profile(periods=[(0, 5_000), (600, 4_000)], duration=3600)
    assert composite([p]) == [(0, 5_000), (600, 4_000), (3600, 11_000)]


def test_window_cuts_periods_and_starts_mid_period() -> None:
    p = profile(periods=[(0, 5_000), (600, 4_000), (1200, 3_000)])
    assert composite([p], start=300, duration=600) == [(0, 5_000), (300, 4_000)]


def test_equal_adjacent_periods_are_merged() -> None:
    p = profile(periods=[(0, 5_000), (600, 5_000), (1200, 4_000)])
    assert composite([p]) == [(0, 5_000), (1200, 4_000)]
    # and a limit above the rating equals the rating
    above = profile(periods=[(0, 20_000), (600, 11_000)])
    assert composite([above]) == [(0, 11_000)]


def test_sub_second_boundary_is_reported_from_its_second() -> None:
    p = profile(periods=[(0, 5_000)], start=at(seconds=10.5))
    result = composite([p], duration=60)
    assert result == [(0, 11_000), (10, 5_000)]


# ------------------------------------------------------------------------------ kinds


def test_daily_recurrence_across_midnight() -> None:
    night = profile(
        kind=ProfileKind.RECURRING,
        recurrency=RecurrencyKind.DAILY,
        start=at(days=-5, hours=22),  # 1 January 22:00
        duration=4 * 3600,
        periods=[(0, 6_000), (3 * 3600, 2_000)],
    )
    # From 20:00 on 6 January for 8 hours: nothing, 22:00-01:00 6 kW, 01:00-02:00 2 kW, nothing.
    assert composite([night], start=20 * 3600, duration=8 * 3600) == [
        (0, 11_000),
        (7200, 6_000),
        (18000, 2_000),
        (21600, 11_000),
    ]


def test_recurrence_does_not_run_before_its_start_schedule() -> None:
    daily = profile(
        kind=ProfileKind.RECURRING,
        recurrency=RecurrencyKind.DAILY,
        start=at(hours=2),
        periods=[(0, 3_000)],
        duration=3600,
    )
    assert composite([daily], duration=86_400 + 4 * 3600) == [
        (0, 11_000),
        (7200, 3_000),
        (10800, 11_000),
        (86_400 + 7200, 3_000),
        (86_400 + 10800, 11_000),
    ]


def test_weekly_recurrence_restarts_on_monday() -> None:
    week = profile(
        kind=ProfileKind.RECURRING,
        recurrency=RecurrencyKind.WEEKLY,
        start=T0,  # Monday 00:00
        periods=[(0, 3_000), (5 * 86_400, 7_000)],  # weekdays 3 kW, weekend 7 kW
    )
    sunday_night = 6 * 86_400 + 22 * 3600
    assert composite([week], start=sunday_night, duration=4 * 3600) == [(0, 7_000), (7200, 3_000)]


def test_schedule_longer_than_its_recurrence_is_cut() -> None:
    # 1.6 errata 3.44: a 30-hour daily schedule restarts after 24 h; its hour 25 never runs.
    daily = profile(
        kind=ProfileKind.RECURRING,
        recurrency=RecurrencyKind.DAILY,
        duration=30 * 3600,
        periods=[(0, 5_000), (25 * 3600, 1_000)],
    )
    assert composite([daily], duration=2 * 86_400) == [(0, 5_000)]


def test_relative_profile_counts_from_the_transaction_start() -> None:
    rel = profile(kind=ProfileKind.RELATIVE, periods=[(0, 4_000), (600, 8_000)])
    running = station(AC11, transactions={1: ("T1", at(seconds=-300))})
    assert composite([rel], running) == [(0, 4_000), (300, 8_000)]
    # Without a transaction: as if one started at the start of the window.
    assert composite([rel]) == [(0, 4_000), (600, 8_000)]


def test_absolute_profile_without_start_schedule_is_relative_to_charging() -> None:
    # 1.6 §7.13: "If absent the schedule will be relative to start of charging."
    loose = profile(start=None, periods=[(0, 2_000), (60, 3_000)])
    running = station(AC11, transactions={1: ("T1", at(seconds=-30))})
    assert composite([loose], running) == [(0, 2_000), (30, 3_000)]


# ------------------------------------------------------------------------------ purposes


def test_tx_profile_overrides_tx_default_then_falls_back() -> None:
    default = profile(1, periods=[(0, 6_000)])
    tx = profile(2, purpose=TX, transaction_id="T1", periods=[(0, 2_000)], duration=600)
    running = station(AC11, transactions={1: ("T1", T0)})
    assert composite([default, tx], running) == [(0, 2_000), (600, 6_000)]
    # A TxProfile overrules TxDefault even at a lower stack level (1.6 §3.13.1).
    high_default = profile(3, stack=9, periods=[(0, 9_000)])
    assert composite([high_default, tx], running) == [(0, 2_000), (600, 9_000)]


def test_tx_profile_needs_its_own_transaction() -> None:
    default = profile(1, periods=[(0, 6_000)])
    tx = profile(2, purpose=TX, transaction_id="T1", periods=[(0, 2_000)])
    assert composite([default, tx]) == [(0, 6_000)]  # no transaction
    other = station(AC11, transactions={1: ("T2", T0)})
    assert composite([default, tx], other) == [(0, 6_000)]


def test_composite_is_the_minimum_of_station_max_and_tx_default() -> None:
    default = profile(1, periods=[(0, 5_000)])
    station_max = profile(2, evse=0, purpose=STATION_MAX, unit=A, periods=[(0, 10.0)])
    assert composite([default, station_max]) == [(0, 5_000)]  # 10 A · 690 V = 6900 W
    lower = profile(3, evse=0, purpose=STATION_MAX, stack=1, unit=A, periods=[(0, 6.0)])
    assert composite([default, station_max, lower]) == [(0, 4_140)]
    assert composite([default, station_max, lower], unit=A) == [(0, 6.0)]


def test_minimum_changes_hands_over_time() -> None:
    default = profile(1, periods=[(0, 5_000), (3600, 9_000)])
    station_max = profile(2, evse=0, purpose=STATION_MAX, periods=[(0, 7_000), (7200, 3_000)])
    assert composite([default, station_max]) == [(0, 5_000), (3600, 7_000), (7200, 3_000)]


def test_external_constraints_also_limit() -> None:
    ext = profile(1, purpose=ProfilePurpose.EXTERNAL_CONSTRAINTS, evse=1, periods=[(0, 3_500)])
    assert composite([ext, profile(2)]) == [(0, 3_500)]


def test_unsupported_purposes_are_not_combined() -> None:
    priority = profile(1, purpose=ProfilePurpose.PRIORITY_CHARGING, periods=[(0, 100)])
    assert composite([priority]) == [(0, 11_000)]


# ------------------------------------------------------------------------------ units


def test_ampere_limit_on_fewer_phases_converts_with_those_phases() -> None:
    one_phase = profile(unit=A, periods=[(0, 16.0, 1)])
    result = composite_schedule([one_phase], station(), 1, T0, 60, W)
    assert shape(result) == [(0, 3_680)]  # 16 A · 230 V · 1 phase
    assert result.periods[0].number_phases == 1
    assert shape(composite_schedule([one_phase], station(), 1, T0, 60, A)) == [(0, 16.0)]


def test_more_phases_than_the_evse_has_are_not_assumed() -> None:
    # 1.6 errata 3.34: the limit applies to the phases that can be used.
    three = profile(unit=A, periods=[(0, 20.0, 3)])
    single = station(AC7)
    assert composite([three], single) == [(0, 4_600)]  # 20 A · 230 V · 1 phase
    watts = profile(periods=[(0, 4_600)])
    assert composite([watts], single, unit=A) == [(0, 20.0)]


# ------------------------------------------------------------------------------ station


def test_station_composite_sums_the_evses_under_the_station_limit() -> None:
    two = station(AC11, AC7)
    assert composite([], two, evse=0) == [(0, 18_360)]
    station_max = profile(1, evse=0, purpose=STATION_MAX, periods=[(0, 12_000)])
    assert composite([station_max], two, evse=0) == [(0, 12_000)]
    evse_one = profile(2, evse=1, periods=[(0, 2_000)])
    assert composite([station_max, evse_one], two, evse=0) == [(0, 9_360)]
    assert composite([], station(AC11, max_power_w=9_000), evse=0) == [(0, 9_000)]


def test_station_total_in_amperes_uses_the_station_supply() -> None:
    station_max = profile(1, evse=0, purpose=STATION_MAX, unit=A, periods=[(0, 32.0)])
    assert composite([station_max], station(AC11, AC11), evse=0, unit=A) == [(0, 31.8)]
    # 2 · 11 kW = 22 kW = 31.88 A on 3 phases, below 32 A


# ------------------------------------------------------------------------------ instants


def test_limit_at_an_instant() -> None:
    default = profile(1, periods=[(0, 5_000), (600, 7_000)])
    station_max = profile(2, evse=0, purpose=STATION_MAX, periods=[(0, 6_000)])
    st = station(AC11, AC7)
    assert limit_at([default, station_max], st, 1, at(seconds=599)).watts == 5_000
    assert limit_at([default, station_max], st, 1, at(seconds=600)).watts == 6_000
    assert limit_at([default, station_max], st, 0, at(seconds=0)).watts == 6_000
    single = limit_at([profile(unit=A, periods=[(0, 10.0, 1)])], st, 1, T0)
    assert (single.watts, single.phases) == (2_300, 1)
    assert single.value(A, 230.0) == pytest.approx(10.0)
    with pytest.raises(KeyError):
        limit_at([], st, 3, T0)


def test_station_budget_is_the_station_wide_limit_alone() -> None:
    st = station(AC11, AC11, max_power_w=20_000)
    assert station_budget([], st, T0) == 20_000
    station_max = profile(1, evse=0, purpose=STATION_MAX, unit=A, periods=[(0, 16.0)])
    assert station_budget([station_max, profile(2)], st, T0) == pytest.approx(11_040)
    assert station_budget([], station(AC11), T0) is None


def test_next_change_finds_the_next_boundary() -> None:
    p = profile(periods=[(0, 5_000), (600, 7_000)], duration=1800, valid_to=at(hours=5))
    st = station()
    assert next_change([p], st, T0) == at(seconds=600)
    assert next_change([p], st, at(seconds=600)) == at(seconds=1800)
    assert next_change([p], st, at(seconds=1800)) == at(hours=5)
    assert next_change([p], st, at(hours=5)) is None


def test_next_change_of_recurring_and_relative_profiles() -> None:
    daily = profile(
        kind=ProfileKind.RECURRING,
        recurrency=RecurrencyKind.DAILY,
        periods=[(0, 5_000), (8 * 3600, 2_000)],
    )
    assert next_change([daily], station(), at(hours=9)) == at(days=1)
    rel = profile(kind=ProfileKind.RELATIVE, periods=[(0, 4_000), (600, 8_000)])
    assert next_change([rel], station(), T0) is None  # no transaction: nothing moves
    running = station(AC11, transactions={1: ("T1", at(seconds=-100))})
    assert next_change([rel], running, T0) == at(seconds=500)
    assert next_change([rel], running, T0, horizon=timedelta(seconds=100)) is None


def test_lowest_of_takes_the_minimum_period_by_period() -> None:
    st = station()
    a = composite_schedule([profile(periods=((0, 8_000.0), (600, 3_000.0)))], st, 1, T0, 1800, W)
    b = composite_schedule(
        [profile(periods=((0, 5_000.0), (900, 9_000.0), (1200, 2_000.0)))], st, 1, T0, 1800, W
    )
    assert shape(lowest_of(a, b)) == [(0, 5_000.0), (600, 3_000.0), (1200, 2_000.0)]
    assert shape(lowest_of(a)) == shape(a)
