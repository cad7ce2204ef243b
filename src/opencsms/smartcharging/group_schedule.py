"""Time-varying limits of a load-management group: which limit is in force, and until when.

A schedule is a list of periods, each with a start and the group's limits from then on
(``max_current_a`` per phase, ``max_power_w`` in total; ``None``: no limit of that kind). A
period lasts until the next one starts; the last one lasts for ever (end it with a period
without limits). A start is either

* an **absolute** instant (timezone-aware), for one-off periods ("80 A on 3 June from 17:00
  to 19:00"), or
* an **offset** from the schedule's ``origin``; in a **daily** schedule the offsets are times
  of day (from ``origin``, by default midnight UTC) and the periods repeat every 24 h, wrapping
  round midnight ("16 A from 07:00, 32 A from 22:00" holds 32 A from 22:00 to 07:00).

Before the first period (or before the ``origin`` of a daily schedule) the schedule sets no
limit. The load-management service takes the lowest of a group's configured limit, its
schedule's limit (:func:`limit_at`) and any external signal, and re-plans at
:func:`next_change`. Same spirit as a RECURRING Daily charging profile (1.6 §7.9, 2.0.1
K01), but on a group of the site rather than on a station.

Stored as JSON (a list of objects, :func:`parse_schedule`): ``{"start": "2025-06-03T17:00:00Z",
"max_current_a": 80}`` for an absolute start, ``{"daily": "07:00", "max_current_a": 16}`` for a
time of day (``HH:MM[:SS]``, UTC unless it carries an offset such as ``07:00+02:00``; a fixed
offset, so a daylight-saving change is not followed). One schedule uses one kind.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

__all__ = [
    "DAY",
    "GroupSchedule",
    "LimitPeriod",
    "Limits",
    "ScheduleLike",
    "limit_at",
    "next_change",
    "parse_schedule",
]

DAY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Limits = tuple[float | None, float | None]
"""``(max_current_a, max_power_w)``; ``None``: no limit of that kind."""


@dataclass(frozen=True, slots=True)
class LimitPeriod:
    """From ``start`` on, the group's limits are ``max_current_a`` (A per phase) and
    ``max_power_w`` (W); ``start`` is an aware datetime or an offset from the origin."""

    start: datetime | timedelta
    max_current_a: float | None = None
    max_power_w: float | None = None

    @property
    def limits(self) -> Limits:
        return (self.max_current_a, self.max_power_w)


@dataclass(frozen=True, slots=True)
class GroupSchedule:
    """A group's time-varying limit (see the module docstring); :meth:`check` the rules."""

    periods: tuple[LimitPeriod, ...]
    daily: bool = False
    origin: datetime | None = None
    """Where offsets count from; a daily schedule's default is midnight UTC."""

    def check(self) -> None:
        """Raise :class:`ValueError` unless the schedule is well formed."""
        if self.origin is not None and self.origin.tzinfo is None:
            raise ValueError("the schedule's origin must carry a timezone")
        starts: set[datetime | timedelta] = set()
        for period in self.periods:
            for what, value in (
                ("max_current_a", period.max_current_a),
                ("max_power_w", period.max_power_w),
            ):
                if value is not None and not (value >= 0 and math.isfinite(value)):
                    raise ValueError(f"{what} must be 0 or more, not {value}")
            if isinstance(period.start, datetime):
                if self.daily:
                    raise ValueError("a daily schedule's periods start at a time of day")
                if period.start.tzinfo is None:
                    raise ValueError("a period's start must carry a timezone")
            elif self.daily and not timedelta(0) <= period.start < DAY:
                raise ValueError("a daily period starts between 00:00 and 24:00")
            elif not self.daily and (self.origin is None or period.start < timedelta(0)):
                raise ValueError("an offset start needs an origin and must not be negative")
            if period.start in starts:
                raise ValueError(f"two periods start at {period.start}")
            starts.add(period.start)

    def _timeline(self) -> list[tuple[datetime, Limits]]:
        """A one-off schedule's periods as (absolute start, limits), in order."""
        origin = self.origin or _EPOCH
        resolved = [
            (p.start if isinstance(p.start, datetime) else origin + p.start, p.limits)
            for p in self.periods
        ]
        return sorted(resolved, key=lambda item: item[0])

    def _day(self) -> list[tuple[timedelta, Limits]]:
        """A daily schedule's periods as (offset into the day, limits), in order."""
        day = [(p.start, p.limits) for p in self.periods if isinstance(p.start, timedelta)]
        return sorted(day, key=lambda item: item[0])


ScheduleLike = GroupSchedule | Sequence[Mapping[str, Any]]
"""A :class:`GroupSchedule`, or its stored JSON form (a list of period objects)."""


def _number(raw: Mapping[str, Any], key: str) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number")
    return float(value)


def _time_of_day(text: Any) -> timedelta:
    if not isinstance(text, str):
        raise ValueError('"daily" is a time of day, such as "07:00"')
    try:
        clock = time.fromisoformat(text)
    except ValueError:
        raise ValueError(f'"daily" {text!r} is not a time of day such as "07:00"') from None
    seconds = clock.hour * 3600 + clock.minute * 60 + clock.second
    offset = clock.utcoffset()
    if offset is not None:
        seconds -= int(offset.total_seconds())
    return timedelta(seconds=seconds % 86_400, microseconds=clock.microsecond)


def _instant(text: Any) -> datetime:
    if not isinstance(text, str):
        raise ValueError('"start" is an ISO 8601 date and time, such as "2025-06-03T17:00:00Z"')
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f'"start" {text!r} is not an ISO 8601 date and time') from None
    if instant.tzinfo is None:
        raise ValueError(f'"start" {text!r} must carry a timezone (such as Z)')
    return instant.astimezone(UTC)


def parse_schedule(raw: ScheduleLike) -> GroupSchedule:
    """The schedule of its JSON form (see the module docstring), checked; :class:`ValueError`
    with a message fit for an API answer when it is not well formed."""
    if isinstance(raw, GroupSchedule):
        raw.check()
        return raw
    if isinstance(raw, str | bytes) or not isinstance(raw, Sequence):
        raise ValueError("a schedule is a list of periods")
    periods: list[LimitPeriod] = []
    kinds: set[str] = set()
    for item in raw:
        if not isinstance(item, Mapping):
            raise ValueError("each period of a schedule is an object")
        unknown = set(item) - {"start", "daily", "max_current_a", "max_power_w"}
        if unknown:
            raise ValueError(f"unknown period field(s): {', '.join(sorted(unknown))}")
        if ("start" in item) == ("daily" in item):
            raise ValueError('each period has either "start" or "daily"')
        start: datetime | timedelta
        if "daily" in item:
            kinds.add("daily")
            start = _time_of_day(item["daily"])
        else:
            kinds.add("start")
            start = _instant(item["start"])
        periods.append(
            LimitPeriod(start, _number(item, "max_current_a"), _number(item, "max_power_w"))
        )
    if len(kinds) > 1:
        raise ValueError('a schedule is either daily or absolute: do not mix "daily" and "start"')
    schedule = GroupSchedule(tuple(periods), daily=kinds == {"daily"})
    schedule.check()
    return schedule


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("instants must carry a timezone (UTC)")
    return at


def limit_at(schedule: ScheduleLike, at: datetime) -> Limits:
    """The schedule's ``(max_current_a, max_power_w)`` in force at ``at``."""
    plan = parse_schedule(schedule)
    at = _aware(at)
    if not plan.periods:
        return (None, None)
    if not plan.daily:
        current: Limits = (None, None)
        for start, limits in plan._timeline():
            if start > at:
                break
            current = limits
        return current
    origin = plan.origin or _EPOCH
    if at < origin:
        return (None, None)
    into_day = (at - origin) % DAY
    day = plan._day()
    current = day[-1][1]  # before the day's first period, yesterday's last one still holds
    for offset, limits in day:
        if offset > into_day:
            break
        current = limits
    return current


def _boundaries(plan: GroupSchedule, at: datetime) -> list[datetime]:
    """The instants after ``at`` where a period starts (one full day ahead for a daily one)."""
    if not plan.daily:
        return [start for start, _ in plan._timeline() if start > at]
    origin = plan.origin or _EPOCH
    if at < origin:
        first_day = origin
        candidates = [origin]
    else:
        first_day = at - (at - origin) % DAY
        candidates = []
    for day in (first_day, first_day + DAY):
        candidates.extend(day + offset for offset, _ in plan._day())
    return sorted(c for c in candidates if c > at)


def next_change(schedule: ScheduleLike, at: datetime) -> datetime | None:
    """The first instant after ``at`` at which the limit in force changes (``None``: never):
    the load-management service re-plans then."""
    plan = parse_schedule(schedule)
    at = _aware(at)
    now = limit_at(plan, at)
    for boundary in _boundaries(plan, at):
        if limit_at(plan, boundary) != now:
            return boundary
    return None
