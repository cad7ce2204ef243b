"""Builders for smart-charging tests: profiles with sensible defaults, stations, instants."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from opencsms.smartcharging import (
    ChargingProfile,
    ChargingSchedule,
    CompositeSchedule,
    EvseRating,
    EvseState,
    ProfileKind,
    ProfilePurpose,
    RateUnit,
    RecurrencyKind,
    SchedulePeriod,
    StationState,
)

T0 = datetime(2025, 1, 6, tzinfo=UTC)
"""Monday 6 January 2025, 00:00 UTC."""

AC11 = EvseRating(max_power_w=11_000.0, phases=3, voltage_v=230.0)
"""A 16 A three-phase AC EVSE."""
AC7 = EvseRating(max_power_w=7_360.0, phases=1, voltage_v=230.0)
"""A 32 A single-phase AC EVSE."""


def at(**delta: float) -> datetime:
    """``T0`` plus a ``timedelta(**delta)``."""
    return T0 + timedelta(**delta)


Period = tuple[int, float] | tuple[int, float, int]


def profile(
    profile_id: int = 1,
    *,
    purpose: ProfilePurpose = ProfilePurpose.TX_DEFAULT,
    stack: int = 0,
    periods: Sequence[Period] = ((0, 10_000.0),),
    unit: RateUnit = RateUnit.W,
    kind: ProfileKind = ProfileKind.ABSOLUTE,
    start: datetime | None = T0,
    duration: int | None = None,
    evse: int = 1,
    recurrency: RecurrencyKind | None = None,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    transaction_id: str | None = None,
) -> ChargingProfile:
    """A profile; ``periods`` are ``(start_period, limit[, number_phases])``."""
    built = tuple(SchedulePeriod(p[0], p[1], p[2] if len(p) > 2 else None) for p in periods)
    if kind is ProfileKind.RELATIVE:
        start = None
    schedule = ChargingSchedule(unit, built, start_schedule=start, duration=duration)
    return ChargingProfile(
        id=profile_id,
        stack_level=stack,
        purpose=purpose,
        kind=kind,
        schedules=(schedule,),
        evse=evse,
        recurrency=recurrency,
        valid_from=valid_from,
        valid_to=valid_to,
        transaction_id=transaction_id,
    )


def station(
    *ratings: EvseRating,
    transactions: Mapping[int, tuple[str, datetime]] | None = None,
    max_power_w: float | None = None,
) -> StationState:
    """A station with ``ratings`` as EVSEs 1, 2, …; ``transactions`` maps EVSE → (id, start)."""
    running = transactions or {}
    evses = {}
    for number, rating in enumerate(ratings or (AC11,), start=1):
        tx_id, tx_start = running.get(number, (None, None))
        evses[number] = EvseState(rating, tx_id, tx_start)
    return StationState(evses, max_power_w=max_power_w)


def shape(schedule: CompositeSchedule) -> list[tuple[int, float | None]]:
    """``(start_period, limit)`` of a composite schedule's periods, for compact assertions."""
    return [(p.start_period, p.limit) for p in schedule.periods]
