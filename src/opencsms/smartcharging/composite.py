"""The composite schedule: which limit is in force, on which EVSE, at which instant.

The rules, from 1.6 §3.13 and 2.0.1 K01/K08 ("Combining charging profile purposes"):

* **Stacking** (1.6 §3.13.2): among the profiles of one purpose that apply to an EVSE, the one with
  the highest ``stack_level`` that has a period in force at an instant prevails at that instant.
  A profile is in force between ``valid_from`` and ``valid_to`` and while its schedule runs:
  before its start or after its ``duration`` the next lower stack level takes over (1.6 §5.16.4
  note, errata 3.43). A profile for the EVSE itself beats a station-wide (evse 0) one at the same
  stack level (1.6 §3.13.1: an EVSE's TxDefaultProfile replaces the station's for that EVSE).
* **Tx over TxDefault** (1.6 §3.13.1, 2.0.1 K01): while a ``TX`` profile of the EVSE's running
  transaction is in force it overrules ``TX_DEFAULT``; where it is not, ``TX_DEFAULT`` applies.
* **Minimum of purposes** (1.6 §3.13.3, 2.0.1 K08): the limit is the lowest of the prevailing
  ``STATION_MAX`` (station-wide), ``EXTERNAL_CONSTRAINTS`` (station-wide and the EVSE's own),
  ``TX`` / ``TX_DEFAULT`` and the EVSE's rated power. 2.1 ``PRIORITY_CHARGING`` and
  ``LOCAL_GENERATION`` profiles are not combined (not supported yet).
* **Kinds**: ``ABSOLUTE`` runs from ``start_schedule``; ``RECURRING`` restarts every day / week
  from ``start_schedule`` (never before it) and a schedule longer than the recurrence is cut
  (1.6 errata 3.44); ``RELATIVE`` runs from the transaction start, or — with no transaction — from
  the start of the requested window ("if a transaction started now"). A 1.6 schedule without
  ``start_schedule`` is relative to the start of charging (1.6 §7.13).
* **Units** (1.6 §7.12): A is per phase, W is total; P = U · I · n, with U the EVSE's nominal
  voltage and n the period's ``number_phases`` (3 when absent) but no more than the EVSE has
  (1.6 errata 3.34). Limits are combined in watts and reported in the requested unit.
* **Station (evse 0)** (1.6 §5.7 "the total expected power or current the Charge Point expects to
  consume from the grid", K08): the lowest of the station-wide limits and the sum of every EVSE's
  own limit.

Reported limits are rounded *down* to 0.1 (the wire allows one decimal, 1.6 §7.14) so a report
never exceeds a limit; equal adjacent periods are merged. Times are UTC; a day is 86,400 s.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from opencsms.smartcharging.model import (
    DEFAULT_PHASES,
    ChargingProfile,
    CompositePeriod,
    CompositeSchedule,
    ProfileKind,
    ProfilePurpose,
    RateUnit,
    SchedulePeriod,
)

__all__ = [
    "EvseRating",
    "EvseState",
    "Limit",
    "StationState",
    "composite_schedule",
    "limit_at",
    "lowest_of",
    "next_change",
    "station_budget",
]


@dataclass(frozen=True, slots=True)
class EvseRating:
    """What an EVSE can deliver: ``max_power_w`` (``None``: unknown), phases, nominal voltage
    (phase to neutral, the "set voltage for the area" of 1.6 §7.12)."""

    max_power_w: float | None = None
    phases: int = 3
    voltage_v: float = 230.0


@dataclass(frozen=True, slots=True)
class EvseState:
    """An EVSE as the composite needs it: its rating and the transaction running on it."""

    rating: EvseRating = field(default_factory=EvseRating)
    transaction_id: str | None = None
    transaction_start: datetime | None = None
    """Start of the running transaction: the origin of relative profiles."""


@dataclass(frozen=True, slots=True)
class StationState:
    """The station: its EVSEs by id (1-based), its grid rating and nominal supply."""

    evses: Mapping[int, EvseState]
    max_power_w: float | None = None
    voltage_v: float = 230.0
    phases: int = 3


@dataclass(frozen=True, slots=True)
class Limit:
    """An instantaneous limit: ``watts`` (``None``: nothing limits) using at most ``phases``."""

    watts: float | None
    phases: int

    def value(self, unit: RateUnit, voltage_v: float) -> float | None:
        """The limit in ``unit``: amperes per phase are W / (U · phases)."""
        if self.watts is None or unit is RateUnit.W:
            return self.watts
        return self.watts / (voltage_v * self.phases)


def composite_schedule(
    profiles: Sequence[ChargingProfile],
    station: StationState,
    evse: int,
    start: datetime,
    duration: int,
    unit: RateUnit,
) -> CompositeSchedule:
    """The composite schedule of ``evse`` (0: the station) over ``[start, start + duration)``.

    ``profiles`` are the installed ones in installation order (a later one wins a tie).
    Raises ``KeyError`` for an unknown EVSE and ``ValueError`` for a negative duration.
    """
    if duration < 0:
        raise ValueError("duration must not be negative")
    evses = _targets(station, evse)
    end = start + timedelta(seconds=duration)
    anchors = {start} | {a for e in evses if (a := station.evses[e].transaction_start)}
    points = {start}
    for profile in profiles:
        for anchor in anchors:
            points.update(_boundaries(profile, start, end, anchor))
    voltage, _ = _supply(station, evse)
    by_offset: dict[int, tuple[float | None, int]] = {}
    for point in sorted(points):
        limit = _limit(profiles, station, evse, point, default_anchor=start)
        value = limit.value(unit, voltage)
        offset = int((point - start) // timedelta(seconds=1))
        by_offset[offset] = (None if value is None else _floor_tenth(value), limit.phases)
    periods: list[CompositePeriod] = []
    for offset, (value, phases) in sorted(by_offset.items()):
        if periods and (periods[-1].limit, periods[-1].number_phases) == (value, phases):
            continue  # equal adjacent periods are one period
        periods.append(CompositePeriod(offset, value, phases))
    return CompositeSchedule(evse, start, duration, unit, tuple(periods))


def lowest_of(first: CompositeSchedule, *others: CompositeSchedule) -> CompositeSchedule:
    """The period-by-period minimum of composite schedules of one EVSE, window and unit: what
    several limits that all apply at once allow (e.g. external limits from several sources,
    2.0.1 K12, each of which the station must respect). ``None`` limits nothing; the phases are
    the fewest any of them allows."""
    schedules = (first, *others)
    offsets = sorted({p.start_period for s in schedules for p in s.periods})
    periods: list[CompositePeriod] = []
    for offset in offsets:
        found = [[p for p in s.periods if p.start_period <= offset][-1] for s in schedules]
        limit = _lowest(p.limit for p in found)
        phases = min((p.number_phases for p in found if p.number_phases), default=None)
        if periods and (periods[-1].limit, periods[-1].number_phases) == (limit, phases):
            continue
        periods.append(CompositePeriod(offset, limit, phases))
    return CompositeSchedule(
        first.evse, first.start, first.duration, first.rate_unit, tuple(periods)
    )


def limit_at(
    profiles: Sequence[ChargingProfile], station: StationState, evse: int, at: datetime
) -> Limit:
    """The composite limit of ``evse`` (0: the station) at the instant ``at``."""
    _targets(station, evse)
    return _limit(profiles, station, evse, at, default_anchor=at)


def station_budget(
    profiles: Sequence[ChargingProfile], station: StationState, at: datetime
) -> float | None:
    """Watts all EVSEs together may draw at ``at``: the station-wide limits alone (1.6 §3.13.3
    "the combined energy flow of all connectors SHALL NOT be greater" than ChargePointMaxProfile),
    ``None`` when nothing limits them."""
    found = _station_periods(profiles, at, at)
    watts = [station.max_power_w]
    for period, unit in found:
        watts.append(_to_watts(period, unit, station.voltage_v, station.phases)[0])
    return _lowest(watts)


def next_change(
    profiles: Sequence[ChargingProfile],
    station: StationState,
    after: datetime,
    horizon: timedelta = timedelta(days=8),
) -> datetime | None:
    """The first instant after ``after`` (within ``horizon``) at which a limit may change.

    Relative profiles move only with a running transaction: without one they are evaluated
    from "now" whenever asked, so they bring no instant of their own.
    """
    end = after + horizon
    anchors: set[datetime | None] = {
        a for state in station.evses.values() if (a := state.transaction_start)
    }
    found = None
    for profile in profiles:
        for anchor in anchors or {None}:
            for point in _boundaries(profile, after, end, anchor):
                found = point if found is None else min(found, point)
    return found


# ------------------------------------------------------------------------------ evaluation


def _targets(station: StationState, evse: int) -> list[int]:
    if evse == 0:
        return sorted(station.evses)
    if evse not in station.evses:
        raise KeyError(f"no EVSE {evse}")
    return [evse]


def _supply(station: StationState, evse: int) -> tuple[float, int]:
    if evse == 0:
        return station.voltage_v, station.phases
    rating = station.evses[evse].rating
    return rating.voltage_v, rating.phases


def _limit(
    profiles: Sequence[ChargingProfile],
    station: StationState,
    evse: int,
    at: datetime,
    *,
    default_anchor: datetime,
) -> Limit:
    """The limit of ``evse`` (0: station total) at ``at``; relative profiles of an EVSE without a
    transaction count from ``default_anchor``."""
    station_found = _station_periods(profiles, at, default_anchor)
    if evse != 0:
        return _evse_limit(profiles, station, evse, at, default_anchor, station_found)
    watts: list[float | None] = [station.max_power_w]
    phases = [station.phases]
    for period, unit in station_found:
        w, n = _to_watts(period, unit, station.voltage_v, station.phases)
        watts.append(w)
        phases.append(n)
    total: float | None = 0.0
    for each in sorted(station.evses):
        own = _evse_limit(profiles, station, each, at, default_anchor, []).watts
        total = None if total is None or own is None else total + own
    watts.append(total)
    return Limit(_lowest(watts), min(phases))


def _evse_limit(
    profiles: Sequence[ChargingProfile],
    station: StationState,
    evse: int,
    at: datetime,
    default_anchor: datetime,
    station_found: list[tuple[SchedulePeriod, RateUnit]],
) -> Limit:
    state = station.evses[evse]
    rating = state.rating
    anchor = state.transaction_start or default_anchor

    def own(profile: ChargingProfile) -> bool:
        return profile.evse == evse

    def tx(profile: ChargingProfile) -> bool:
        # A TX profile belongs to the EVSE's running transaction (1.6 §3.13.1, K01.FR.03).
        return (
            profile.evse == evse
            and state.transaction_id is not None
            and (profile.transaction_id in (None, state.transaction_id))
        )

    def tx_default(profile: ChargingProfile) -> bool:
        return profile.evse in (0, evse)  # evse 0: "applicable to all connectors" (1.6 §3.13.1)

    found = list(station_found)
    chosen = _prevailing(profiles, ProfilePurpose.TX, tx, evse, at, anchor)
    if chosen is None:
        chosen = _prevailing(profiles, ProfilePurpose.TX_DEFAULT, tx_default, evse, at, anchor)
    external = _prevailing(profiles, ProfilePurpose.EXTERNAL_CONSTRAINTS, own, evse, at, anchor)
    found.extend(f for f in (chosen, external) if f is not None)
    watts: list[float | None] = [rating.max_power_w]
    phases = [rating.phases]
    for period, unit in found:
        w, n = _to_watts(period, unit, rating.voltage_v, rating.phases)
        watts.append(w)
        phases.append(n)
    return Limit(_lowest(watts), min(phases))


def _station_periods(
    profiles: Sequence[ChargingProfile], at: datetime, anchor: datetime
) -> list[tuple[SchedulePeriod, RateUnit]]:
    """The prevailing station-wide limits: STATION_MAX and EXTERNAL_CONSTRAINTS on evse 0."""

    def station_wide(profile: ChargingProfile) -> bool:
        return profile.evse == 0

    found = []
    for purpose in (ProfilePurpose.STATION_MAX, ProfilePurpose.EXTERNAL_CONSTRAINTS):
        hit = _prevailing(profiles, purpose, station_wide, 0, at, anchor)
        if hit is not None:
            found.append(hit)
    return found


def _prevailing(
    profiles: Sequence[ChargingProfile],
    purpose: ProfilePurpose,
    applies: Callable[[ChargingProfile], bool],
    evse: int,
    at: datetime,
    anchor: datetime,
) -> tuple[SchedulePeriod, RateUnit] | None:
    """The period in force of the highest-ranked profile of ``purpose`` that has one (1.6
    §3.13.2); rank: stack level, then EVSE-specific over station-wide, then installed later."""
    ranked = sorted(
        (
            (p.stack_level, p.evse == evse and evse != 0, index, p)
            for index, p in enumerate(profiles)
            if p.purpose is purpose and applies(p)
        ),
        key=lambda item: item[:3],
        reverse=True,
    )
    for *_, profile in ranked:
        period = _period_at(profile, at, anchor)
        if period is not None:
            return period, profile.schedule.rate_unit
    return None


def _period_at(profile: ChargingProfile, at: datetime, anchor: datetime) -> SchedulePeriod | None:
    """The period of ``profile`` in force at ``at``, or None (not valid, not started, ended)."""
    if profile.valid_from is not None and at < profile.valid_from:
        return None
    if profile.valid_to is not None and at >= profile.valid_to:
        return None
    start = _origin(profile, anchor)
    step = _recurrence(profile)
    if step is not None:
        if at < start:
            return None  # a recurrence starts at its startSchedule, not before
        start += (at - start) // step * step
    offset = at - start
    span = _span(profile)
    if offset < timedelta(0) or (span is not None and offset >= span):
        return None
    found = None
    for period in profile.schedule.periods:
        if timedelta(seconds=period.start_period) > offset:
            break
        found = period
    return found


def _boundaries(
    profile: ChargingProfile, lo: datetime, hi: datetime, anchor: datetime | None
) -> Iterator[datetime]:
    """Instants in ``(lo, hi)`` at which ``profile``'s period in force may change.

    ``anchor`` None skips anchor-relative schedules (see :func:`next_change`).
    """
    for edge in (profile.valid_from, profile.valid_to):
        if edge is not None and lo < edge < hi:
            yield edge
    if anchor is None and _relative(profile):
        return
    start = _origin(profile, anchor or lo)
    span = _span(profile)
    step = _recurrence(profile)
    origins = [start]
    if step is not None:
        k = max(0, (lo - start) // step)  # the first run that may reach into the window
        origins = []
        while (origin := start + k * step) < hi:
            origins.append(origin)
            k += 1
    for origin in origins:
        for period in profile.schedule.periods:
            offset = timedelta(seconds=period.start_period)
            if span is not None and offset >= span:
                break
            if lo < origin + offset < hi:
                yield origin + offset
        if span is not None and lo < origin + span < hi:
            yield origin + span


def _relative(profile: ChargingProfile) -> bool:
    """Whether the schedule counts from the transaction start (1.6 §7.13: no startSchedule)."""
    return profile.kind is ProfileKind.RELATIVE or profile.schedule.start_schedule is None


def _origin(profile: ChargingProfile, anchor: datetime) -> datetime:
    start = profile.schedule.start_schedule
    return anchor if _relative(profile) or start is None else start


def _recurrence(profile: ChargingProfile) -> timedelta | None:
    if profile.kind is not ProfileKind.RECURRING or profile.recurrency is None:
        return None
    return timedelta(seconds=profile.recurrency.seconds)


def _span(profile: ChargingProfile) -> timedelta | None:
    """How long one run of the schedule lasts: its duration, cut at the recurrence period
    (1.6 errata 3.44: the remainder is not executed); None is forever."""
    duration = profile.schedule.duration
    span = None if duration is None else timedelta(seconds=duration)
    step = _recurrence(profile)
    if step is not None and (span is None or span > step):
        span = step
    return span


def _to_watts(
    period: SchedulePeriod, unit: RateUnit, voltage_v: float, phases_available: int
) -> tuple[float | None, int]:
    """A period's limit in watts and the phases it allows (1.6 §7.12, errata 3.34)."""
    phases = min(period.number_phases or DEFAULT_PHASES, phases_available)
    if period.limit is None or unit is RateUnit.W:
        return period.limit, phases
    return period.limit * voltage_v * phases, phases


def _lowest(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None


def _floor_tenth(value: float) -> float:
    """Round down to 0.1 (the epsilon keeps 16.1 from becoming 16.0 through float noise)."""
    return round(math.floor(value * 10 + 1e-6) / 10, 1)
