"""Site load management as records: groups, their members, and the decisions taken.

A :class:`LoadGroup` is one level of a site's tree (site → feeder/circuit → station → EVSE
group), with a limit in A per phase and/or W, an optional time-varying schedule and an optional
external signal set through the API. A :class:`GroupMember` puts a station (``evse_id`` 0) or
one of its EVSEs under a group, with the EVSE's rating and wiring. A :class:`Decision` is one
allocation round that sent (or tried to send) charging profiles: what triggered it, the limits
in force, and per session what was decided, sent and answered (docs/load-management.md).

The checks here are pure (:func:`check_group`): the service calls them before storing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "MAX_GROUP_ID_LENGTH",
    "Decision",
    "DecisionEntry",
    "ExternalSignal",
    "GroupMember",
    "InvalidGroupError",
    "LoadGroup",
    "check_group",
    "check_member",
    "children_of",
    "root_of",
]

MAX_GROUP_ID_LENGTH = 64


class InvalidGroupError(ValueError):
    """A group, member or limit that breaks a rule; the message says which (API: 400)."""


@dataclass(frozen=True, slots=True)
class ExternalSignal:
    """A limit set by an outside system through the API (a grid operator's signal, a
    building EMS): it caps the group on top of its configured limit until ``until``."""

    max_current_a: float | None
    max_power_w: float | None
    set_at: datetime
    until: datetime | None = None

    def active(self, at: datetime) -> bool:
        return self.until is None or at < self.until


@dataclass(frozen=True, slots=True)
class LoadGroup:
    """One group of the tree. ``schedule`` is the time-varying limit as its JSON
    (:mod:`opencsms.smartcharging.group_schedule` reads it); ``priorities`` maps an id token or a
    token group id (case-insensitive) to a priority for the sessions under the group (higher is
    served first). ``phases`` / ``voltage_v`` are the defaults of the sessions under it."""

    id: str
    name: str
    created_at: datetime
    updated_at: datetime
    parent_id: str | None = None
    max_current_a: float | None = None
    max_power_w: float | None = None
    phases: int = 3
    voltage_v: float = 230.0
    schedule: list[dict[str, Any]] | None = None
    priorities: dict[str, int] = field(default_factory=dict)
    external: ExternalSignal | None = None


@dataclass(frozen=True, slots=True)
class GroupMember:
    """A station (``evse_id`` 0: all its EVSEs) or one EVSE under ``group_id``.

    ``max_current_a`` is the EVSE rating per phase (``None``: the configured default),
    ``phases`` how many phases it charges on (``None``: the group's), ``phase`` the grid phase
    (1-3) a single-phase EVSE is wired to (``None``: unknown, counted on every phase)."""

    station_id: str
    evse_id: int
    group_id: str
    updated_at: datetime
    max_current_a: float | None = None
    phases: int | None = None
    phase: int | None = None


@dataclass(frozen=True, slots=True)
class DecisionEntry:
    """What one round decided for one session (or, ``kind`` ``TxDefault``, for a station)."""

    station_id: str
    evse_id: int
    kind: str
    """``TxProfile`` or ``TxDefault``"""
    limit_a: float
    transaction_id: str | None = None
    previous_a: float | None = None
    measured_a: float | None = None
    status: str = "Planned"
    """Accepted, Rejected, Failed (no answer / offline), Deferred (a send to the station was
    still in flight), Unchanged (within the hysteresis: nothing sent)."""
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """One allocation round of the tree under root group ``group_id`` that sent something."""

    group_id: str
    at: datetime
    trigger: str
    groups: dict[str, Any]
    """Per group: effective limits and planned load (current per phase, power)."""
    entries: tuple[DecisionEntry, ...]
    id: int | None = None

    @property
    def sent(self) -> int:
        return sum(1 for e in self.entries if e.status in ("Accepted", "Rejected", "Failed"))

    @property
    def failed(self) -> int:
        return sum(1 for e in self.entries if e.status in ("Rejected", "Failed"))


def _check_limit(value: float | None, what: str) -> None:
    if value is not None and not value >= 0:  # also refuses NaN
        raise InvalidGroupError(f"{what} must be 0 or more")


def check_group(group: LoadGroup, existing: Mapping[str, LoadGroup]) -> None:
    """Raise :class:`InvalidGroupError` unless ``group`` fits the tree ``existing`` (which may
    hold an older version of it): a known parent, no cycle, sane limits."""
    if not group.id or len(group.id) > MAX_GROUP_ID_LENGTH or "/" in group.id:
        raise InvalidGroupError(f"a group id is 1 to {MAX_GROUP_ID_LENGTH} characters without '/'")
    _check_limit(group.max_current_a, "max_current_a")
    _check_limit(group.max_power_w, "max_power_w")
    if group.phases not in (1, 2, 3):
        raise InvalidGroupError("phases must be 1, 2 or 3")
    if not group.voltage_v > 0:
        raise InvalidGroupError("voltage_v must be more than 0")
    if group.external is not None:
        _check_limit(group.external.max_current_a, "external max_current_a")
        _check_limit(group.external.max_power_w, "external max_power_w")
    parent = group.parent_id
    seen = {group.id}
    while parent is not None:
        if parent in seen:
            raise InvalidGroupError(f"parent {group.parent_id!r} would make a cycle")
        seen.add(parent)
        above = existing.get(parent)
        if above is None:
            raise InvalidGroupError(f"unknown parent group {parent!r}")
        parent = above.parent_id


def check_member(member: GroupMember) -> None:
    """Raise :class:`InvalidGroupError` for an impossible rating or wiring."""
    if member.evse_id < 0:
        raise InvalidGroupError("evse_id must be 0 (the station) or more")
    _check_limit(member.max_current_a, "max_current_a")
    if member.phases is not None and member.phases not in (1, 2, 3):
        raise InvalidGroupError("phases must be 1, 2 or 3")
    if member.phase is not None and member.phase not in (1, 2, 3):
        raise InvalidGroupError("phase must be 1, 2 or 3")


def root_of(groups: Mapping[str, LoadGroup], group_id: str) -> str:
    """The root of the tree ``group_id`` belongs to (itself when it has no parent)."""
    current = group_id
    for _ in range(len(groups) + 1):  # a broken tree must not loop forever
        parent = groups[current].parent_id if current in groups else None
        if parent is None or parent not in groups:
            return current
        current = parent
    return current


def children_of(groups: Mapping[str, LoadGroup], group_id: str) -> list[str]:
    """The direct children of ``group_id``."""
    return sorted(g.id for g in groups.values() if g.parent_id == group_id)
