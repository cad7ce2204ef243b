"""One allocation round as a pure function: the site tree and the live sessions in, the limit
of every session and the safe TxDefault of every managed station out.

:func:`build_plan` resolves each group's effective limit at an instant (configured limit,
time-varying schedule, external signal set through the API: the lowest wins), turns the
open transactions under managed groups into :class:`~opencsms.smartcharging.site.SessionDemand`
(EV needs from 2.0.1 K15 NotifyEVChargingNeeds, the EVSE rating, external limits reported by
the station through K12 NotifyChargingLimit, the measured current, priorities) and runs the
allocator (:func:`opencsms.smartcharging.allocator.allocate`). No I/O: the worker
(:mod:`opencsms.domain.load_management_worker`) feeds it and sends the result.

Safe TxDefault (docs/load-management.md): a new session starts under the TxDefaultProfile the
CSMS keeps on every managed station until its first allocation arrives. Its limit is the minimum
current when every group above the station still has room for one more session at the minimum
on top of the planned load, and 0 A otherwise, so a session starting while its groups are full
adds nothing during the reaction window.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opencsms.domain.ev_charging_model import EvChargingNeeds, ExternalLimit
from opencsms.domain.load_management_model import GroupMember, LoadGroup
from opencsms.smartcharging.allocator import allocate
from opencsms.smartcharging.group_schedule import limit_at
from opencsms.smartcharging.site import AllocationResult, GroupLoad, GroupNode, SessionDemand

__all__ = [
    "ActiveSession",
    "Defaults",
    "GroupState",
    "Plan",
    "PlannedSession",
    "build_plan",
    "departure_order",
    "effective_limits",
    "needed_current_a",
    "session_key",
]


def session_key(station_id: str, evse_id: int) -> str:
    """The allocator's key of the session on an EVSE (one session per EVSE)."""
    return f"{station_id}/{evse_id}"


@dataclass(frozen=True, slots=True)
class ActiveSession:
    """An open transaction on an EVSE (from the CSMS's transaction record)."""

    station_id: str
    evse_id: int
    transaction_id: str
    order: int
    """Arrival order: the CSMS's own transaction number."""
    token_key: str | None = None
    token_group: str | None = None
    energy_wh: float | None = None
    """Energy delivered so far in the session (``None``: not known yet)."""

    @property
    def key(self) -> str:
        return session_key(self.station_id, self.evse_id)


@dataclass(frozen=True, slots=True)
class Defaults:
    """What is assumed when neither the EV nor the member says (settings)."""

    min_current_a: float = 6.0
    evse_max_current_a: float = 32.0
    headroom_a: float = 2.0
    step_a: float = 0.1


@dataclass(frozen=True, slots=True)
class PlannedSession:
    """A session under a managed group and the limit the allocator gives it."""

    session: ActiveSession
    group_id: str
    root_id: str
    demand: SessionDemand
    limit_a: float


@dataclass(frozen=True, slots=True)
class GroupState:
    """A group's effective limits at the plan's instant and its planned load."""

    id: str
    root_id: str
    max_current_a: float | None
    max_power_w: float | None
    load: GroupLoad

    def summary(self) -> dict[str, Any]:
        return {
            "max_current_a": self.max_current_a,
            "max_power_w": self.max_power_w,
            "current_a": [round(x, 2) for x in self.load.current_a],
            "power_w": round(self.load.power_w, 1),
        }


@dataclass(frozen=True, slots=True)
class Plan:
    """The outcome of one round (see the module docstring)."""

    at: datetime
    sessions: dict[str, PlannedSession] = field(default_factory=dict)
    groups: dict[str, GroupState] = field(default_factory=dict)
    tx_default: dict[str, float] = field(default_factory=dict)
    """Managed station → the safe TxDefault limit (A per phase)."""
    station_roots: dict[str, str] = field(default_factory=dict)
    """Managed station → the root group it belongs to."""


def _lowest(*values: float | None) -> float | None:
    given = [v for v in values if v is not None]
    return min(given) if given else None


def effective_limits(group: LoadGroup, at: datetime) -> tuple[float | None, float | None]:
    """The group's limits in force at ``at`` (A per phase, W): the lowest of the configured
    limit, the schedule's limit and the external signal while it is active."""
    amps, watts = group.max_current_a, group.max_power_w
    if group.schedule:
        scheduled_a, scheduled_w = limit_at(group.schedule, at)
        amps, watts = _lowest(amps, scheduled_a), _lowest(watts, scheduled_w)
    signal = group.external
    if signal is not None and signal.active(at):
        amps, watts = _lowest(amps, signal.max_current_a), _lowest(watts, signal.max_power_w)
    return amps, watts


def _root(groups: Mapping[str, LoadGroup], group_id: str) -> str:
    current = group_id
    for _ in range(len(groups) + 1):
        parent = groups[current].parent_id
        if parent is None or parent not in groups:
            break
        current = parent
    return current


def _chain(groups: Mapping[str, LoadGroup], group_id: str) -> list[str]:
    chain = [group_id]
    for _ in range(len(groups)):
        parent = groups[chain[-1]].parent_id
        if parent is None or parent not in groups or parent in chain:
            break
        chain.append(parent)
    return chain


def _priority(groups: Mapping[str, LoadGroup], group_id: str, s: ActiveSession) -> int:
    names = [n.lower() for n in (s.token_key, s.token_group) if n]
    for gid in _chain(groups, group_id):
        table = {k.lower(): v for k, v in groups[gid].priorities.items()}
        for name in names:
            if name in table:
                return table[name]
    return 0


def needed_current_a(
    need: EvChargingNeeds,
    *,
    delivered_wh: float | None,
    at: datetime,
    phases: int,
    voltage_v: float,
) -> float | None:
    """The current per phase the EV needs on average to get its energy by its departure
    (2.0.1 K15: ``energyAmount`` and ``departureTime`` of NotifyEVChargingNeeds).

    ``(energy_amount_wh − delivered_wh) / (hours left × voltage × phases)``. ``None`` when the
    EV gives no energy or no departure (it is not departure-constrained); ``0`` when what it
    asked for is already delivered (it needs nothing more); when the departure has passed, the
    hours left are taken as one minute, so the need is as high as the EV can take.
    """
    if need.energy_amount_wh is None or need.departure_time is None:
        return None
    remaining = need.energy_amount_wh - max(0.0, delivered_wh or 0.0)
    if remaining <= 0:
        return 0.0
    hours = max((need.departure_time - at).total_seconds(), 60.0) / 3600.0
    return remaining / (hours * voltage_v * max(1, phases))


_URGENT_ORDER_BASE = 1 << 40
"""Admission rank of departure-constrained sessions: below every arrival order (the CSMS's
transaction numbers are positive and far smaller), earliest departure first."""


def departure_order(departure: datetime) -> int:
    """The ``started_order`` of a departure-constrained session: negative, so it is admitted
    before every session without a departure among equal priorities, earliest departure first
    (Unix seconds stay far below ``2**40``)."""
    return int(departure.timestamp()) - _URGENT_ORDER_BASE


def _path_capacity_a(
    nodes: Mapping[str, GroupNode], parent: str, phases: int, voltage_v: float
) -> float:
    """The most one session could get on its path alone (the tightest limit above it)."""
    capacity = math.inf
    seen: set[str] = set()
    current: str | None = parent
    while current is not None and current in nodes and current not in seen:
        seen.add(current)
        node = nodes[current]
        if node.max_current_a is not None:
            capacity = min(capacity, node.max_current_a)
        if node.max_power_w is not None:
            capacity = min(capacity, node.max_power_w / (max(1, phases) * voltage_v))
        current = node.parent
    return capacity


def build_plan(
    groups: Mapping[str, LoadGroup],
    members: Sequence[GroupMember],
    sessions: Sequence[ActiveSession],
    *,
    at: datetime,
    defaults: Defaults,
    measured: Mapping[str, float] | None = None,
    previous: Mapping[str, float] | None = None,
    needs: Mapping[str, EvChargingNeeds] | None = None,
    station_limits: Mapping[tuple[str, int], ExternalLimit] | None = None,
) -> Plan:
    """Allocate every managed session (see the module docstring). ``measured`` / ``previous``
    / ``needs`` are by session key; ``station_limits`` by (station, EVSE; 0: the station)."""
    measured, previous, needs = measured or {}, previous or {}, needs or {}
    station_limits = station_limits or {}
    by_place = {(m.station_id, m.evse_id): m for m in members if m.group_id in groups}
    nodes: dict[str, GroupNode] = {}
    for group in groups.values():
        amps, watts = effective_limits(group, at)
        nodes[group.id] = GroupNode(group.id, group.parent_id, amps, watts)
    for (station_id, evse_id), limit in station_limits.items():
        station_member = by_place.get((station_id, 0))
        if evse_id == 0 and station_member is not None and not limit.cleared:
            # The station's external limit (K12) caps everything under it: an extra node.
            node_id = f"station/{station_id}"
            nodes[node_id] = GroupNode(
                node_id, station_member.group_id, limit.limit_a, limit.limit_w
            )

    demands: list[SessionDemand] = []
    placed: dict[str, tuple[ActiveSession, str]] = {}
    for s in sessions:
        member = by_place.get((s.station_id, s.evse_id)) or by_place.get((s.station_id, 0))
        if member is None:
            continue  # not under load management
        group = groups[member.group_id]
        parent = member.group_id
        if member.evse_id == 0 and f"station/{s.station_id}" in nodes:
            parent = f"station/{s.station_id}"
        need = needs.get(s.key)
        phases = member.phases or group.phases
        minimum, maximum = defaults.min_current_a, member.max_current_a
        maximum = defaults.evse_max_current_a if maximum is None else maximum
        if need is not None:
            phases = min(phases, need.phases)
            if need.ac_min_current_a is not None:
                minimum = need.ac_min_current_a
            if need.ac_max_current_a is not None:
                maximum = min(maximum, need.ac_max_current_a)
        cap = station_limits.get((s.station_id, s.evse_id))
        if cap is not None and not cap.cleared:
            # An EVSE's own external limit caps only this session.
            if cap.limit_a is not None:
                maximum = min(maximum, cap.limit_a)
            if cap.limit_w is not None:
                maximum = min(maximum, cap.limit_w / (phases * group.voltage_v))
        order = s.order
        if need is not None:
            needed = needed_current_a(
                need, delivered_wh=s.energy_wh, at=at, phases=phases, voltage_v=group.voltage_v
            )
            # Energy already delivered (needed == 0): no precedence; the allocator's measured
            # cap already gives it no more than it takes.
            if needed is not None and needed > 0 and need.departure_time is not None:
                # Departure rule (docs/load-management.md): the EV's minimum becomes the
                # current it needs, as far as its own maximum and the limits on its path
                # allow, and it is admitted before EVs without a departure.
                capacity = _path_capacity_a(nodes, parent, phases, group.voltage_v)
                minimum = max(minimum, min(needed, maximum, capacity))
                order = departure_order(need.departure_time)
        demand = SessionDemand(
            key=s.key,
            group=parent,
            phases=phases,
            phase=member.phase if phases == 1 else None,
            min_current_a=minimum,
            max_current_a=max(maximum, 0.0),
            measured_current_a=measured.get(s.key),
            previous_limit_a=previous.get(s.key),
            priority=_priority(groups, member.group_id, s),
            voltage_v=group.voltage_v,
            started_order=order,
        )
        demands.append(demand)
        placed[s.key] = (s, member.group_id)

    result: AllocationResult = allocate(
        list(nodes.values()), demands, headroom_a=defaults.headroom_a, step_a=defaults.step_a
    )
    plan = Plan(at=at)
    empty = GroupLoad((0.0, 0.0, 0.0), 0.0)
    for group in groups.values():
        node = nodes[group.id]
        plan.groups[group.id] = GroupState(
            group.id,
            _root(groups, group.id),
            node.max_current_a,
            node.max_power_w,
            result.groups.get(group.id, empty),
        )
    for demand in demands:
        session, group_id = placed[demand.key]
        allocation = result.sessions.get(demand.key)
        plan.sessions[demand.key] = PlannedSession(
            session,
            group_id,
            _root(groups, group_id),
            demand,
            0.0 if allocation is None else allocation.current_a,
        )
    _safe_defaults(plan, groups, by_place, nodes, defaults)
    return plan


def _safe_defaults(
    plan: Plan,
    groups: Mapping[str, LoadGroup],
    by_place: Mapping[tuple[str, int], GroupMember],
    nodes: Mapping[str, GroupNode],
    defaults: Defaults,
) -> None:
    """Fill ``plan.tx_default``: the minimum where every group above has room for it."""
    minimum = defaults.min_current_a
    for (station_id, _evse), member in sorted(by_place.items()):
        group = groups[member.group_id]
        phases = member.phases or group.phases
        fits = plan.tx_default.get(station_id, minimum) > 0
        for gid in _chain(groups, member.group_id):
            state = plan.groups[gid]
            if state.max_current_a is not None:
                fits &= max(state.load.current_a) + minimum <= state.max_current_a + 1e-9
            if state.max_power_w is not None:
                extra = minimum * phases * groups[gid].voltage_v
                fits &= state.load.power_w + extra <= state.max_power_w + 1e-9
        cap = nodes.get(f"station/{station_id}")
        if cap is not None and cap.max_current_a is not None:
            fits &= cap.max_current_a >= minimum
        plan.tx_default[station_id] = minimum if fits else 0.0
        plan.station_roots.setdefault(station_id, _root(groups, member.group_id))
