"""Charging profiles and composite schedules as version-neutral domain types.

OCPP 1.6 (§7.8 ChargingProfile, §7.13 ChargingSchedule, §7.14 ChargingSchedulePeriod) and 2.0.1 /
2.1 (part 2 §2 ChargingProfileType, ChargingScheduleType, ChargingSchedulePeriodType) describe the
same thing with different spellings: a profile has a purpose, a stack level, a kind (absolute,
recurring, relative), an optional validity window and one or more schedules of periods, each
period a limit in amperes per phase or watts in total. The version adapters translate payloads to
these types and back; the composite schedule (:mod:`opencsms.smartcharging.composite`) works on
them alone.

Addressing: ``evse`` 0 is the station itself (1.6 ``connectorId`` 0, 2.x ``evseId`` 0); a 1.6
connector *c* > 0 is EVSE *c* (one connector per EVSE, as in :mod:`opencsms.domain.model`).
Every ``datetime`` is timezone-aware UTC (ARCHITECTURE rule 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = [
    "DEFAULT_PHASES",
    "ChargingProfile",
    "ChargingSchedule",
    "CompositePeriod",
    "CompositeSchedule",
    "ProfileKind",
    "ProfilePurpose",
    "RateUnit",
    "RecurrencyKind",
    "SchedulePeriod",
]

DEFAULT_PHASES = 3
"""Phases assumed when a period gives no ``numberPhases`` (1.6 §7.12/§7.14, 2.0.1 K01.FR.49)."""


class ProfilePurpose(StrEnum):
    """What a profile limits; both versions' purposes map onto these.

    ========================  =====================  ==========================================
    domain                    1.6 (§7.10)            2.0.1 / 2.1 ChargingProfilePurposeEnumType
    ========================  =====================  ==========================================
    ``STATION_MAX``           ChargePointMaxProfile  ChargingStationMaxProfile
    ``EXTERNAL_CONSTRAINTS``  —                      ChargingStationExternalConstraints
    ``TX_DEFAULT``            TxDefaultProfile       TxDefaultProfile
    ``TX``                    TxProfile              TxProfile
    ``PRIORITY_CHARGING``     —                      PriorityCharging (2.1)
    ``LOCAL_GENERATION``      —                      LocalGeneration (2.1)
    ========================  =====================  ==========================================
    """

    STATION_MAX = "StationMax"
    EXTERNAL_CONSTRAINTS = "ExternalConstraints"
    TX_DEFAULT = "TxDefault"
    TX = "Tx"
    PRIORITY_CHARGING = "PriorityCharging"
    LOCAL_GENERATION = "LocalGeneration"


class ProfileKind(StrEnum):
    """How a schedule is anchored in time (1.6 §7.9, 2.0.1 ChargingProfileKindEnumType)."""

    ABSOLUTE = "Absolute"
    """Periods count from the schedule's ``start_schedule``."""
    RECURRING = "Recurring"
    """Periods count from ``start_schedule``, restarting every day or week."""
    RELATIVE = "Relative"
    """Periods count from the start of the transaction."""


class RecurrencyKind(StrEnum):
    """The recurrence period of a recurring profile (1.6 §7.38, 2.0.1 RecurrencyKindEnumType)."""

    DAILY = "Daily"
    WEEKLY = "Weekly"

    @property
    def seconds(self) -> int:
        """Length of one recurrence in seconds (UTC days: no daylight-saving shifts)."""
        return 86_400 if self is RecurrencyKind.DAILY else 7 * 86_400


class RateUnit(StrEnum):
    """Unit of a limit (1.6 §7.12, 2.0.1 ChargingRateUnitEnumType).

    ``A`` is amperes *per phase*; ``W`` is the *total* power over all phases.
    """

    A = "A"
    W = "W"


@dataclass(frozen=True, slots=True)
class SchedulePeriod:
    """One period of a schedule: from ``start_period`` seconds after the schedule start until
    the next period starts (1.6 §7.14, 2.0.1 ChargingSchedulePeriodType).

    ``limit`` is ``None`` only for a 2.1 period that sets no limit (e.g. only a setpoint): it
    then restricts nothing. ``number_phases`` ``None`` means 3 (:data:`DEFAULT_PHASES`).
    """

    start_period: int
    limit: float | None
    number_phases: int | None = None
    phase_to_use: int | None = None


@dataclass(frozen=True, slots=True)
class ChargingSchedule:
    """A list of periods with a unit and an optional start and duration.

    ``periods`` are in increasing ``start_period`` order, the first at 0 (1.6 errata 3.45,
    K01.FR.31, K01.FR.35: adapters refuse other profiles). Periods at or beyond ``duration`` are
    never executed; the last period lasts until ``duration`` ends, or forever when ``duration`` is
    ``None`` (1.6 §5.16.4 notes). ``schedule_id`` is the 2.x ChargingScheduleType.id (``None`` in
    1.6).
    """

    rate_unit: RateUnit
    periods: tuple[SchedulePeriod, ...]
    start_schedule: datetime | None = None
    duration: int | None = None
    min_charging_rate: float | None = None
    schedule_id: int | None = None


@dataclass(frozen=True, slots=True)
class ChargingProfile:
    """An installed charging profile (1.6 §7.8, 2.0.1 ChargingProfileType).

    ``evse`` 0 is the station. ``transaction_id`` binds a ``TX`` profile to one transaction (1.6
    integers are kept as text). ``valid_from`` / ``valid_to`` bound the instants at which the
    profile may prevail, ``[valid_from, valid_to)``; ``None`` is unbounded. 2.0.1 allows up to
    three schedules (for ISO 15118 to choose from); the composite schedule uses the first.
    """

    id: int
    stack_level: int
    purpose: ProfilePurpose
    kind: ProfileKind
    schedules: tuple[ChargingSchedule, ...]
    evse: int = 0
    recurrency: RecurrencyKind | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    transaction_id: str | None = None

    def __post_init__(self) -> None:
        if not self.schedules:
            raise ValueError("a charging profile needs at least one schedule")

    @property
    def schedule(self) -> ChargingSchedule:
        """The schedule in force: the first one."""
        return self.schedules[0]


@dataclass(frozen=True, slots=True)
class CompositePeriod:
    """One period of a composite schedule, ``start_period`` seconds after its start.

    ``limit`` ``None`` means nothing limits the power in this period (no profile applies and the
    hardware rating is unknown); the simulator always knows its rating, so it never reports one.
    """

    start_period: int
    limit: float | None
    number_phases: int | None = None


@dataclass(frozen=True, slots=True)
class CompositeSchedule:
    """The limits in force on one EVSE (or the whole station, ``evse`` 0) from ``start`` for
    ``duration`` seconds, in ``rate_unit`` (1.6 §5.7, 2.0.1 K08 CompositeScheduleType)."""

    evse: int
    start: datetime
    duration: int
    rate_unit: RateUnit
    periods: tuple[CompositePeriod, ...]
