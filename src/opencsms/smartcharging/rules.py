"""What makes a charging profile acceptable, and which installed profiles a new one meets.

Checks shared by both versions (the version adapters add their purpose/EVSE/transaction rules):
:func:`check_profile` finds the first problem of a profile against a station's capabilities and
names it with a 2.x reasonCode (2.0.1 part 2 appendix 5), which 1.6 simply answers as
``Rejected``. :func:`same_slot` and :func:`overlapping` say which installed profile a new one
replaces (1.6) or conflicts with (2.x); :class:`Criteria` selects profiles for
ClearChargingProfile and GetChargingProfiles.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from opencsms.smartcharging.model import (
    ChargingProfile,
    ChargingSchedule,
    ProfileKind,
    ProfilePurpose,
    RateUnit,
)

__all__ = ["Capabilities", "Criteria", "Rejection", "check_profile", "overlapping", "same_slot"]


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a profile is refused: a 2.x ``reasonCode`` and a human-readable ``detail``."""

    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a station accepts (1.6 §9.4 keys, 2.0.1 SmartChargingCtrlr variables).

    ``strict_start`` applies 2.0.1 K01.FR.40/41 (Absolute/Recurring need ``startSchedule``,
    Relative must not have one); 1.6 lets an absolute schedule omit it (§7.13: relative to the
    start of charging).
    """

    max_stack_level: int
    max_periods: int
    rate_units: Collection[RateUnit] = (RateUnit.A, RateUnit.W)
    strict_start: bool = True
    phase_switching: bool = False


def check_profile(profile: ChargingProfile, caps: Capabilities) -> Rejection | None:
    """The first reason to refuse ``profile``, or None when its shape is acceptable."""
    if not 0 <= profile.stack_level <= caps.max_stack_level:
        return Rejection("InvalidStackLevel", f"stackLevel must be 0..{caps.max_stack_level}")
    if _not_after(profile.valid_to, profile.valid_from):
        return Rejection("InvalidProfile", "validTo must be after validFrom")
    if (profile.kind is ProfileKind.RECURRING) != (profile.recurrency is not None):
        # 1.6 errata 3.56: recurrencyKind exactly when the kind is Recurring.
        return Rejection("InvalidProfile", "recurrencyKind goes with a Recurring profile only")
    for schedule in profile.schedules:
        problem = _check_schedule(profile.kind, schedule, caps)
        if problem is not None:
            return problem
    return None


def _check_schedule(
    kind: ProfileKind, schedule: ChargingSchedule, caps: Capabilities
) -> Rejection | None:
    if schedule.rate_unit not in caps.rate_units:  # K01.FR.26, 1.6 §9.4.2
        return Rejection("UnsupportedRateUnit", f"{schedule.rate_unit} is not supported")
    has_start = schedule.start_schedule is not None
    if kind is ProfileKind.RECURRING and not has_start:
        return Rejection("InvalidSchedule", "a Recurring profile needs startSchedule")
    if caps.strict_start and kind is ProfileKind.ABSOLUTE and not has_start:  # K01.FR.40
        return Rejection("InvalidSchedule", "an Absolute profile needs startSchedule")
    if caps.strict_start and kind is ProfileKind.RELATIVE and has_start:  # K01.FR.41
        return Rejection("InvalidSchedule", "a Relative profile takes no startSchedule")
    if schedule.duration is not None and schedule.duration < 0:
        return Rejection("InvalidSchedule", "duration must not be negative")
    if schedule.min_charging_rate is not None and schedule.min_charging_rate < 0:
        return Rejection("InvalidSchedule", "minChargingRate must not be negative")
    periods = schedule.periods
    if not periods:
        return Rejection("InvalidSchedule", "a schedule needs at least one period")
    if len(periods) > caps.max_periods:  # 1.6 §9.4.3 / SmartChargingCtrlr.PeriodsPerSchedule
        return Rejection("TooManyElements", f"at most {caps.max_periods} periods per schedule")
    if periods[0].start_period != 0:  # 1.6 errata 3.45, K01.FR.31
        return Rejection("InvalidSchedule", "the first period must start at 0")
    for before, after in itertools.pairwise(periods):
        if after.start_period <= before.start_period:  # K01.FR.35
            return Rejection("InvalidSchedule", "startPeriod must increase")
    for period in periods:
        if period.limit is not None and period.limit < 0:
            return Rejection("InvalidSchedule", "limit must not be negative")
        if period.number_phases is not None and period.number_phases not in (1, 2, 3):
            return Rejection("InvalidSchedule", "numberPhases must be 1, 2 or 3")
        if period.phase_to_use is not None:
            if period.number_phases != 1:  # K01.FR.19
                return Rejection("InvalidSchedule", "phaseToUse needs numberPhases 1")
            if not caps.phase_switching:  # K01.FR.20 (ACPhaseSwitchingSupported)
                return Rejection("InvalidSchedule", "phase switching is not supported")
    return None


def _not_after(first: datetime | None, second: datetime | None) -> bool:
    """``first <= second``, false when either is unbounded (None)."""
    return first is not None and second is not None and first <= second


def same_slot(a: ChargingProfile, b: ChargingProfile) -> bool:
    """Same purpose, stack level and EVSE (and, for TX, transaction): the combination 1.6
    §3.13.2 allows once — a new profile in an occupied slot replaces the installed one."""
    return (
        a.purpose is b.purpose
        and a.stack_level == b.stack_level
        and a.evse == b.evse
        and (a.purpose is not ProfilePurpose.TX or a.transaction_id == b.transaction_id)
    )


def overlapping(a: ChargingProfile, b: ChargingProfile) -> bool:
    """Whether the validity windows ``[valid_from, valid_to)`` of ``a`` and ``b`` overlap
    (2.0.1 K01.FR.06 refuses a second profile in the same slot when they do)."""
    return not (_not_after(a.valid_to, b.valid_from) or _not_after(b.valid_to, a.valid_from))


@dataclass(frozen=True, slots=True)
class Criteria:
    """A selection of installed profiles; every given field must match (1.6 errata 3.25/3.26
    "logical AND"), an absent one matches all.

    ``evse`` 0 selects the station-wide profiles; ``ids`` any of the listed profile ids;
    ``sources`` the 2.x chargingLimitSource of the profile (``source`` argument of
    :meth:`matches`, ``CSO`` for profiles the CSMS installed).
    """

    ids: frozenset[int] | None = None
    evse: int | None = None
    purpose: ProfilePurpose | None = None
    stack_level: int | None = None
    sources: frozenset[str] | None = None

    def matches(self, profile: ChargingProfile, source: str = "CSO") -> bool:
        """Whether ``profile`` (installed by ``source``) is selected."""
        return (
            (self.ids is None or profile.id in self.ids)
            and (self.evse is None or profile.evse == self.evse)
            and (self.purpose is None or profile.purpose is self.purpose)
            and (self.stack_level is None or profile.stack_level == self.stack_level)
            and (self.sources is None or source in self.sources)
        )
