"""A load-management group's time-varying limit (smartcharging/group_schedule.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opencsms.smartcharging import GroupSchedule, LimitPeriod, parse_schedule
from opencsms.smartcharging.group_schedule import limit_at, next_change

T0 = datetime(2025, 6, 2, tzinfo=UTC)  # a Monday, 00:00 UTC


def at(hours: float, days: int = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours)


DAILY: list[dict[str, Any]] = [
    {"daily": "07:00", "max_current_a": 16},
    {"daily": "22:00", "max_current_a": 32, "max_power_w": 20_000},
]

ONE_OFF: list[dict[str, Any]] = [
    {"start": "2025-06-03T17:00:00Z", "max_current_a": 80},
    {"start": "2025-06-03T19:00:00+00:00"},  # no limit from then on
]


def test_daily_schedule_repeats_and_wraps_round_midnight() -> None:
    assert limit_at(DAILY, at(6.99)) == (32.0, 20_000.0)  # yesterday's 22:00 period
    assert limit_at(DAILY, at(7)) == (16.0, None)
    assert limit_at(DAILY, at(21.5)) == (16.0, None)
    assert limit_at(DAILY, at(22)) == (32.0, 20_000.0)
    assert limit_at(DAILY, at(7, days=30)) == (16.0, None)
    assert next_change(DAILY, at(3)) == at(7)
    assert next_change(DAILY, at(7)) == at(22)
    assert next_change(DAILY, at(23)) == at(7, days=1)


def test_daily_times_with_an_offset_are_turned_into_utc() -> None:
    schedule = [{"daily": "09:00+02:00", "max_current_a": 10}, {"daily": "00:30+02:00"}]
    assert limit_at(schedule, at(7)) == (10.0, None)  # 09:00 at +02:00 is 07:00 UTC
    assert limit_at(schedule, at(6.99)) == (None, None)
    assert next_change(schedule, at(8)) == at(22.5)  # 00:30 at +02:00, the day before in UTC


def test_one_off_periods() -> None:
    assert limit_at(ONE_OFF, at(16.99, days=1)) == (None, None)  # before the first period
    assert limit_at(ONE_OFF, at(17, days=1)) == (80.0, None)
    assert limit_at(ONE_OFF, at(19, days=1)) == (None, None)
    assert next_change(ONE_OFF, at(0)) == at(17, days=1)
    assert next_change(ONE_OFF, at(18, days=1)) == at(19, days=1)
    assert next_change(ONE_OFF, at(19, days=1)) is None


def test_typed_schedules_with_an_origin() -> None:
    origin = at(12)
    schedule = GroupSchedule(
        (LimitPeriod(timedelta(hours=1), 40.0), LimitPeriod(timedelta(0), 20.0)), origin=origin
    )
    assert limit_at(schedule, at(11)) == (None, None)
    assert limit_at(schedule, at(12.5)) == (20.0, None)  # periods are put in order
    assert limit_at(schedule, at(13)) == (40.0, None)
    assert next_change(schedule, at(0)) == at(12)
    # A daily schedule counted from a local midnight (+02:00): nothing before its origin.
    local_midnight = at(-2)
    daily = GroupSchedule(
        (LimitPeriod(timedelta(hours=8), 11.0), LimitPeriod(timedelta(hours=20), 22.0)),
        daily=True,
        origin=local_midnight,
    )
    assert limit_at(daily, at(-3)) == (None, None)
    assert next_change(daily, at(-3)) == local_midnight  # the 20:00 period, wrapped round
    assert limit_at(daily, at(-1)) == (22.0, None)
    assert limit_at(daily, at(6)) == (11.0, None)  # 08:00 local
    assert limit_at(daily, at(18)) == (22.0, None)  # 20:00 local


def test_equal_neighbours_are_not_a_change() -> None:
    same = [{"daily": "07:00", "max_current_a": 16}, {"daily": "12:00", "max_current_a": 16}]
    assert next_change(same, at(8)) is None
    assert limit_at([], at(8)) == (None, None)
    assert next_change([], at(8)) is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"daily": "07:00"}, "a list of periods"),
        ("07:00", "a list of periods"),
        ([42], "is an object"),
        ([{"max_current_a": 10}], 'either "start" or "daily"'),
        ([{"daily": "07:00", "start": "2025-06-03T17:00:00Z"}], 'either "start" or "daily"'),
        ([{"daily": "7 am"}], "not a time of day"),
        ([{"daily": 700}], "time of day"),
        ([{"start": "tomorrow"}], "not an ISO 8601"),
        ([{"start": "2025-06-03T17:00:00"}], "must carry a timezone"),
        ([{"daily": "07:00", "max_current_a": -1}], "max_current_a must be 0 or more"),
        ([{"daily": "07:00", "max_power_w": "lots"}], "max_power_w must be a number"),
        ([{"daily": "07:00", "max_power_w": True}], "max_power_w must be a number"),
        ([{"daily": "07:00", "limit": 3}], "unknown period field"),
        ([{"daily": "07:00"}, {"daily": "07:00:00"}], "two periods start"),
        ([{"daily": "07:00"}, {"start": "2025-06-03T17:00:00Z"}], "do not mix"),
    ],
)
def test_bad_schedules_are_refused_clearly(raw: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_schedule(raw)
    with pytest.raises(ValueError, match=message):
        limit_at(raw, at(0))


def test_typed_rules() -> None:
    with pytest.raises(ValueError, match="needs an origin"):
        GroupSchedule((LimitPeriod(timedelta(hours=1), 1.0),)).check()
    with pytest.raises(ValueError, match="between 00:00 and 24:00"):
        GroupSchedule((LimitPeriod(timedelta(hours=25), 1.0),), daily=True).check()
    with pytest.raises(ValueError, match="time of day"):
        GroupSchedule((LimitPeriod(at(1), 1.0),), daily=True).check()
    with pytest.raises(ValueError, match="timezone"):
        GroupSchedule((LimitPeriod(datetime(2025, 1, 1), 1.0),)).check()
    with pytest.raises(ValueError, match="timezone"):
        limit_at(DAILY, datetime(2025, 1, 1))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 24 * 60 - 1), st.none() | st.integers(0, 100)),
        min_size=1,
        max_size=5,
        unique_by=lambda p: p[0],
    ),
    st.integers(0, 3 * 24 * 60 - 1),
)
def test_daily_limit_holds_until_the_next_change(
    periods: list[tuple[int, int | None]], minute: int
) -> None:
    schedule = [{"daily": f"{m // 60:02d}:{m % 60:02d}", "max_current_a": a} for m, a in periods]
    now = T0 + timedelta(minutes=minute)
    limit = limit_at(schedule, now)
    # The limit is one of the periods', and the one of the latest start at or before now.
    latest = max(periods, key=lambda p: (p[0] <= minute % 1440, p[0]))
    assert limit == (None if latest[1] is None else float(latest[1]), None)
    change = next_change(schedule, now)
    if change is None:
        assert len({a for _, a in periods}) == 1
    else:
        assert now < change <= now + timedelta(days=1)
        assert limit_at(schedule, change) != limit
        # Unchanged until then (probed every 17 minutes).
        probe = now
        while probe < change:
            assert limit_at(schedule, probe) == limit
            probe += timedelta(minutes=17)
