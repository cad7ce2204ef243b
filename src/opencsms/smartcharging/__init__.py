"""Smart charging as pure domain code: charging profiles, composite schedules, power sharing.

No I/O and no OCPP payloads: version adapters (the simulator's :mod:`opencsms.simulator.charging`,
later the CSMS's handlers) translate 1.6 / 2.0.1 / 2.1 payloads to :mod:`.model` types and back.

* :mod:`.model` — profiles, schedules, periods, composite schedules.
* :mod:`.composite` — the composite schedule of an EVSE or the station, the limit at an instant,
  the next instant a limit may change.
* :mod:`.rules` — profile checks shared by the versions, replacement/conflict slots, criteria.
* :mod:`.allocation` — sharing a station-wide budget between EVSEs.
* :mod:`.site` / :mod:`.allocator` — site load management: a tree of group limits shared fairly
  between sessions; :mod:`.group_schedule` — a group's time-varying limit (its ``limit_at`` and
  ``next_change`` are imported from that module: the names here are the composite's).
"""

from opencsms.smartcharging.allocation import share_power
from opencsms.smartcharging.allocator import allocate, changed_enough
from opencsms.smartcharging.composite import (
    EvseRating,
    EvseState,
    Limit,
    StationState,
    composite_schedule,
    limit_at,
    lowest_of,
    next_change,
    station_budget,
)
from opencsms.smartcharging.group_schedule import GroupSchedule, LimitPeriod, parse_schedule
from opencsms.smartcharging.model import (
    ChargingProfile,
    ChargingSchedule,
    CompositePeriod,
    CompositeSchedule,
    ProfileKind,
    ProfilePurpose,
    RateUnit,
    RecurrencyKind,
    SchedulePeriod,
)
from opencsms.smartcharging.rules import Capabilities, Criteria, Rejection, check_profile
from opencsms.smartcharging.site import (
    AllocationResult,
    GroupLoad,
    GroupNode,
    SessionAllocation,
    SessionDemand,
)

__all__ = [
    "AllocationResult",
    "Capabilities",
    "ChargingProfile",
    "ChargingSchedule",
    "CompositePeriod",
    "CompositeSchedule",
    "Criteria",
    "EvseRating",
    "EvseState",
    "GroupLoad",
    "GroupNode",
    "GroupSchedule",
    "Limit",
    "LimitPeriod",
    "ProfileKind",
    "ProfilePurpose",
    "RateUnit",
    "RecurrencyKind",
    "Rejection",
    "SchedulePeriod",
    "SessionAllocation",
    "SessionDemand",
    "StationState",
    "allocate",
    "changed_enough",
    "check_profile",
    "composite_schedule",
    "limit_at",
    "lowest_of",
    "next_change",
    "parse_schedule",
    "share_power",
    "station_budget",
]
