"""Site load management as plain data: a tree of groups with limits, and the sessions under it.

A site (its grid connection) contains feeders or circuits, which contain stations, which contain
EVSEs; every level is a :class:`GroupNode` with optional limits, and a charging session hangs
under the innermost group its EVSE belongs to. The allocator (:mod:`.allocator`) turns the tree
and the sessions into one current limit per session. No I/O and no OCPP here: the load-management
service (:mod:`opencsms.domain.load_management`) builds these from the store and live sessions,
and sends the result as charging profiles.

Units: currents are amperes *per phase* (what a 1.6 / 2.x profile in ``A`` limits), powers are
watts in total. A three-phase session at *I* A loads each of the three phases with *I* A and
draws ``3 × I × V`` W; a single-phase session loads one phase (the one it is wired to, when
known; otherwise it is counted on every phase, which is safe when the wiring is unknown).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "DEFAULT_MIN_CURRENT_A",
    "DEFAULT_VOLTAGE_V",
    "AllocationResult",
    "GroupLoad",
    "GroupNode",
    "SessionAllocation",
    "SessionDemand",
]

DEFAULT_MIN_CURRENT_A = 6.0
"""The lowest current an AC EV charges at (IEC 61851-1 control pilot minimum)."""

DEFAULT_VOLTAGE_V = 230.0
"""Nominal phase-to-neutral voltage used to turn currents into powers."""


@dataclass(frozen=True, slots=True)
class GroupNode:
    """One level of the site tree (site, feeder/circuit, station, EVSE group).

    ``max_current_a`` bounds the current on *each* phase of everything below the group;
    ``max_power_w`` bounds their total power. ``None`` means no limit of that kind. Limits here
    are the effective ones at the moment of allocation: a time-varying schedule or an external
    signal is resolved by the caller before the allocator runs.
    """

    id: str
    parent: str | None = None
    max_current_a: float | None = None
    max_power_w: float | None = None


@dataclass(frozen=True, slots=True)
class SessionDemand:
    """A charging session as the allocator sees it.

    ``key`` identifies the session (the service uses ``"{station_id}/{evse_id}"``); ``group`` is
    the innermost :class:`GroupNode` it hangs under. ``max_current_a`` is the most it could take
    (lowest of EVSE rating, cable and the EV's own limit when known). ``measured_current_a`` is
    what it drew per phase recently (``None``: unknown, assume it takes all it is given) and
    ``previous_limit_a`` the limit it was last sent (``None``: none yet): an EV drawing clearly
    less than its limit does not want more, and what it leaves is shared among the others.
    ``priority``: higher is served first (priority tokens); equal priorities share fairly.
    """

    key: str
    group: str
    phases: int = 3
    phase: int | None = None
    """For a single-phase session, the grid phase (1-3) it loads; ``None``: unknown."""
    min_current_a: float = DEFAULT_MIN_CURRENT_A
    max_current_a: float = 32.0
    measured_current_a: float | None = None
    previous_limit_a: float | None = None
    priority: int = 0
    voltage_v: float = DEFAULT_VOLTAGE_V
    started_order: int = 0
    """Arrival order (smaller: earlier); among equals, the latest arrival is paused first."""


@dataclass(frozen=True, slots=True)
class SessionAllocation:
    """The current limit one session gets (``0``: paused, it cannot get its minimum)."""

    key: str
    current_a: float

    @property
    def paused(self) -> bool:
        return self.current_a <= 0.0


@dataclass(frozen=True, slots=True)
class GroupLoad:
    """What the allocation puts on one group: current per phase (L1, L2, L3) and total power."""

    current_a: tuple[float, float, float]
    power_w: float


@dataclass(frozen=True, slots=True)
class AllocationResult:
    """One limit per session, and the resulting planned load of every group."""

    sessions: dict[str, SessionAllocation] = field(default_factory=dict)
    groups: dict[str, GroupLoad] = field(default_factory=dict)
