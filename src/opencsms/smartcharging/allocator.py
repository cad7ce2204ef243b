"""Site load management: sharing a tree of limits between charging sessions, fairly.

:func:`allocate` turns the site tree (:class:`~.site.GroupNode`) and the sessions under it
(:class:`~.site.SessionDemand`) into one current limit per session, which the load-management
service sends as a TxProfile (1.6 §3.13, 2.0.1 K01.FR.03 / K15) and re-sends only when
:func:`changed_enough` says so. The rules (docs/load-management-allocator.md explains them to
operators, with a worked example):

* **Limits.** Every group bounds the current on each phase (L1, L2, L3) of everything below it
  (``max_current_a``) and their total power (``max_power_w``, ``I × V × phases`` per session).
  No allocation ever exceeds a limit anywhere in the tree; a group without limits only adds up.
* **Phases.** A three-phase session at *I* A loads *I* on each phase. A single-phase session
  loads the phase it is wired to, or every phase when that is unknown. A two-phase session
  loads phases ``phase`` and the next one (``phase`` 1: L1+L2, 2: L2+L3, 3: L3+L1), and every
  phase when ``phase`` is unknown: like the single-phase case, the grid phases behind a
  station's L1/L2 depend on how it is wired (phase rotation), and guessing L1+L2 could overload
  L3 of a rotated station. The power of a session counts its own phases only.
* **Caps.** A session takes at most ``max_current_a``. An EV that draws clearly less than its
  last limit (``measured < previous_limit − headroom_a``) does not want more: it is capped at
  ``measured + headroom_a`` (never below its minimum, so a trickle-charging EV is not paused
  for it), and what it leaves goes to the others. An EV drawing near its limit may get more.
* **Fairness (max-min, progressive filling).** Within one priority, every session rises at the
  same pace from its minimum; a session stops rising when it reaches its cap or when a limit on
  its path is full. Computed event by event (the next cap, the next full limit), not in small
  steps: about ``O((n + g) log(n + g))`` for *n* sessions and *g* limits.
* **Priority.** Higher ``priority`` classes are served first and fully (fair among themselves,
  up to their caps); lower classes share what remains.
* **Minimum current** (IEC 61851-1: an AC EV cannot charge below about 6 A). A session that
  cannot get ``min_current_a`` is paused (0 A) and its capacity goes to the others. Within a
  priority, sessions are admitted in arrival order (``started_order``): a session is paused
  when its minimum does not fit on top of the minimums of those that arrived before it (and of
  what higher priorities took); so the lowest priority, then the latest arrival, is paused
  first, and an earlier arrival is never paused to make room for a later one. A session whose
  own cap is below its minimum is paused.
* **Steps.** Limits are floored to ``step_a`` (stations take one decimal): flooring only lowers
  a limit, so it never breaks one. Minimums are rounded up to a step so a floored limit still
  meets them.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass

from opencsms.smartcharging.site import (
    AllocationResult,
    GroupLoad,
    GroupNode,
    SessionAllocation,
    SessionDemand,
)

__all__ = ["allocate", "changed_enough"]

_EPS = 1e-9
"""Relative tolerance of comparisons and of flooring (float sums of limits)."""

_ALL_PHASES = (0, 1, 2)


def changed_enough(previous_a: float | None, new_a: float, *, threshold_a: float = 1.0) -> bool:
    """Whether a session's new limit must be sent, given the limit it was last sent.

    Hysteresis keeps a station from being sent a profile on every small change of the
    allocation (meter values move it a little every few seconds), but only where that is safe:

    * the first limit is always sent (``previous_a`` ``None``);
    * a pause or a resume (``0 ↔ > 0``) is always sent: it starts or stops charging;
    * a decrease of any size is sent at once: the other sessions' limits were computed on the
      assumption that this one takes less, so keeping the old limit could overload a group;
    * an increase is sent only when it is at least ``threshold_a``: keeping a lower limit for a
      while is safe, it only leaves a little capacity unused.
    """
    if previous_a is None:
        return True
    if (previous_a <= 0.0) != (new_a <= 0.0):
        return True
    if new_a < previous_a - _EPS:
        return True
    return new_a - previous_a >= threshold_a - _EPS


def _floor(value: float, step: float) -> float:
    return round(math.floor(value / step + _EPS) * step, 9)


def _ceil(value: float, step: float) -> float:
    return round(math.ceil(value / step - _EPS) * step, 9)


def _paths(groups: Sequence[GroupNode]) -> dict[str, tuple[str, ...]]:
    """Every group's path to its root (itself first); ValueError for a broken tree."""
    nodes: dict[str, GroupNode] = {}
    for group in groups:
        if group.id in nodes:
            raise ValueError(f"group {group.id!r} is given twice")
        for what, value in (
            ("max_current_a", group.max_current_a),
            ("max_power_w", group.max_power_w),
        ):
            if value is not None and not value >= 0:  # also refuses NaN
                raise ValueError(f"group {group.id!r}: {what} must be 0 or more, not {value}")
        nodes[group.id] = group
    paths: dict[str, tuple[str, ...]] = {}
    for group in groups:
        chain: list[str] = []
        current: str | None = group.id
        while current is not None and current not in paths:
            if current in chain:
                cycle = " → ".join([*chain[chain.index(current) :], current])
                raise ValueError(f"the group tree has a cycle: {cycle}")
            node = nodes.get(current)
            if node is None:
                raise ValueError(f"group {chain[-1]!r} has an unknown parent {current!r}")
            chain.append(current)
            current = node.parent
        tail = paths[current] if current is not None else ()
        for index in range(len(chain) - 1, -1, -1):
            tail = (chain[index], *tail)
            paths[chain[index]] = tail
    return paths


def _phases_of(session: SessionDemand) -> tuple[int, ...]:
    """The grid phases (0-2) a session loads (see the module docstring)."""
    if session.phases not in (1, 2, 3):
        raise ValueError(f"session {session.key!r}: phases must be 1, 2 or 3")
    if session.phase is not None and session.phase not in (1, 2, 3):
        raise ValueError(f"session {session.key!r}: phase must be 1, 2, 3 or None")
    if session.phases == 3 or session.phase is None:
        return _ALL_PHASES
    if session.phases == 1:
        return (session.phase - 1,)
    return (session.phase - 1, session.phase % 3)


def _cap(session: SessionDemand, headroom_a: float) -> float:
    """The most a session takes: its maximum, or what it draws plus headroom when it draws
    clearly less than its last limit (never below its minimum)."""
    cap = max(0.0, session.max_current_a)
    measured, previous = session.measured_current_a, session.previous_limit_a
    if measured is not None and previous is not None and measured < previous - headroom_a:
        cap = min(cap, max(max(0.0, measured) + headroom_a, session.min_current_a))
    return cap


@dataclass(slots=True)
class _Problem:
    """The allocation as flat arrays: constraints (one per limited phase or power of a group)
    with their limit and committed load, and per session its (constraint, coefficient) list:
    1 A of the session adds ``coefficient`` to the constraint (1 for a phase, V × phases for
    power)."""

    limit: list[float]
    load: list[float]
    terms: list[list[tuple[int, float]]]
    floor: list[float]
    cap: list[float]


def _build(
    paths: dict[str, tuple[str, ...]],
    groups: Sequence[GroupNode],
    sessions: Sequence[SessionDemand],
    headroom_a: float,
    step_a: float,
) -> _Problem:
    limit: list[float] = []
    currents: dict[str, tuple[int, int, int]] = {}
    powers: dict[str, int] = {}
    for group in groups:
        if group.max_current_a is not None:
            currents[group.id] = (len(limit), len(limit) + 1, len(limit) + 2)
            limit.extend([group.max_current_a] * 3)
        if group.max_power_w is not None:
            powers[group.id] = len(limit)
            limit.append(group.max_power_w)
    # Sessions under the same group, on the same phases, at the same voltage share one list
    # of terms (read only): most of a large site's sessions look alike.
    shared: dict[tuple[str, tuple[int, ...], float], list[tuple[int, float]]] = {}
    terms: list[list[tuple[int, float]]] = []
    floors: list[float] = []
    caps: list[float] = []
    for session in sessions:
        phases = _phases_of(session)
        watts_per_amp = session.voltage_v * session.phases
        found = shared.get((session.group, phases, watts_per_amp))
        if found is None:
            path = paths.get(session.group)
            if path is None:
                raise ValueError(
                    f"session {session.key!r} is under an unknown group {session.group!r}"
                )
            found = [(currents[g][p], 1.0) for g in path if g in currents for p in phases]
            found.extend((powers[g], watts_per_amp) for g in path if g in powers)
            shared[(session.group, phases, watts_per_amp)] = found
        terms.append(found)
        floors.append(_ceil(max(0.0, session.min_current_a), step_a))
        caps.append(_floor(_cap(session, headroom_a), step_a))
    return _Problem(limit, [0.0] * len(limit), terms, floors, caps)


def _admit(problem: _Problem, members: list[int]) -> list[int]:
    """The members (in arrival order) whose minimum fits on top of the earlier ones'."""
    load, terms, floor = problem.load, problem.terms, problem.floor
    ceiling = [x + _EPS * max(1.0, x) for x in problem.limit]
    extra = [0.0] * len(ceiling)
    admitted: list[int] = []
    for i in members:
        minimum = floor[i]
        for c, a in terms[i]:
            if load[c] + extra[c] + a * minimum > ceiling[c]:
                break
        else:
            admitted.append(i)
            for c, a in terms[i]:
                extra[c] += a * minimum
    return admitted


_WAITING, _RISING, _FROZEN = 0, 1, 2


def _fill(problem: _Problem, members: list[int], out: list[float]) -> None:
    """Progressive filling of ``members`` (all of whose minimums fit) into ``out``.

    A level *t* rises; a session waits at its minimum until *t* reaches it, then follows *t*
    until its cap or until a constraint it is in is full (``load(t) = base + t × rate``, with
    ``rate`` the sum of the coefficients of the rising sessions). The next event is the
    nearest of: a waiting session's minimum, a rising session's cap, a constraint's
    saturation level ``(limit − base) / rate``; keys of constraints are kept in a heap and
    invalidated by a version number when a session joins or leaves them.
    """
    limit, terms, floor, cap = problem.limit, problem.terms, problem.floor, problem.cap
    size = len(limit)
    base = list(problem.load)
    rate = [0.0] * size
    rising = [0] * size
    version = [0] * size
    holders: dict[int, list[int]] = {}
    state = dict.fromkeys(members, _WAITING)
    for i in members:
        for c, a in terms[i]:
            base[c] += a * floor[i]
            if c in holders:
                holders[c].append(i)
            else:
                holders[c] = [i]
    waiting = sorted(members, key=floor.__getitem__)
    next_waiting = 0
    caps: list[tuple[float, int]] = []
    full: list[tuple[float, int, int]] = []
    dirty: set[int] = set()
    push, pop = heapq.heappush, heapq.heappop
    level = 0.0
    left = len(members)

    def freeze(i: int, x: float) -> None:
        nonlocal left
        if state[i] == _RISING:
            for c, a in terms[i]:
                base[c] += a * x
                rising[c] -= 1
                rate[c] = 0.0 if rising[c] == 0 else rate[c] - a
                dirty.add(c)
        state[i] = _FROZEN
        out[i] = x
        left -= 1

    while left:
        for c in dirty:
            version[c] += 1
            if rising[c]:
                push(full, (max(level, (limit[c] - base[c]) / rate[c]), version[c], c))
        dirty.clear()
        while full and full[0][1] != version[full[0][2]]:
            pop(full)
        while caps and state[caps[0][1]] == _FROZEN:
            pop(caps)
        at_floor = floor[waiting[next_waiting]] if next_waiting < len(waiting) else math.inf
        at_cap = caps[0][0] if caps else math.inf
        at_full = full[0][0] if full else math.inf
        level = max(level, min(at_floor, at_cap, at_full))
        if at_full <= level:
            # Every constraint full at this level (keys of the others are still valid: only
            # the constraints of the sessions frozen here change, and they are skipped).
            while full and full[0][0] <= level:
                _, stamp, c = pop(full)
                if stamp != version[c] or c in dirty:
                    continue
                for i in holders[c]:
                    if state[i] != _FROZEN:
                        freeze(i, level if state[i] == _RISING else floor[i])
        elif at_cap <= level:
            while caps and caps[0][0] <= level:
                _, i = pop(caps)
                if state[i] != _FROZEN:
                    freeze(i, cap[i])
        else:
            while next_waiting < len(waiting) and floor[waiting[next_waiting]] <= level:
                i = waiting[next_waiting]
                next_waiting += 1
                if state[i] != _WAITING:
                    continue  # frozen at its minimum by a full constraint
                if cap[i] <= level:
                    freeze(i, cap[i])
                    continue
                state[i] = _RISING
                push(caps, (cap[i], i))
                for c, a in terms[i]:
                    base[c] -= a * floor[i]
                    rate[c] += a
                    rising[c] += 1
                    dirty.add(c)


def allocate(
    groups: Sequence[GroupNode],
    sessions: Sequence[SessionDemand],
    *,
    headroom_a: float = 2.0,
    step_a: float = 0.1,
) -> AllocationResult:
    """One current limit per session (A per phase, ``0``: paused) and the planned load of
    every group, by the rules of the module docstring.

    Raises :class:`ValueError` for a session under an unknown group, a group whose parent is
    unknown, a cycle in the tree, a group or session given twice, a negative limit, or
    impossible phases.
    """
    if not step_a > 0:
        raise ValueError("step_a must be more than 0")
    if not headroom_a >= 0:
        raise ValueError("headroom_a must be 0 or more")
    keys = [session.key for session in sessions]
    if len(set(keys)) != len(keys):
        raise ValueError("a session key is given twice")
    paths = _paths(groups)
    problem = _build(paths, groups, sessions, headroom_a, step_a)
    allocation = [0.0] * len(sessions)
    by_priority: dict[int, list[int]] = {}
    for i, session in enumerate(sessions):
        if problem.cap[i] > 0 and problem.cap[i] >= problem.floor[i]:
            by_priority.setdefault(session.priority, []).append(i)
    for priority in sorted(by_priority, reverse=True):
        members = sorted(
            by_priority[priority], key=lambda i: (sessions[i].started_order, sessions[i].key)
        )
        admitted = _admit(problem, members)
        _fill(problem, admitted, allocation)
        for i in admitted:
            # Floor before committing: the lower priorities get what the floored limits leave.
            allocation[i] = _floor(allocation[i], step_a)
            for c, a in problem.terms[i]:
                problem.load[c] += a * allocation[i]
    return AllocationResult(
        sessions={
            s.key: SessionAllocation(s.key, x) for s, x in zip(sessions, allocation, strict=True)
        },
        groups=_group_loads(paths, sessions, allocation),
    )


def _group_loads(
    paths: dict[str, tuple[str, ...]], sessions: Sequence[SessionDemand], allocation: list[float]
) -> dict[str, GroupLoad]:
    """The planned per-phase current and power of every group (ancestors included)."""
    currents = {group_id: [0.0, 0.0, 0.0] for group_id in paths}
    powers = dict.fromkeys(paths, 0.0)
    for session, x in zip(sessions, allocation, strict=True):
        if x <= 0:
            continue
        # A session whose wiring is unknown is planned on every phase it may load, like the
        # limits count it; its power counts only the phases it draws on.
        phases = _phases_of(session)
        power = x * session.voltage_v * session.phases
        for group_id in paths[session.group]:
            current = currents[group_id]
            for p in phases:
                current[p] += x
            powers[group_id] += power
    return {
        group_id: GroupLoad((c[0], c[1], c[2]), powers[group_id])
        for group_id, c in currents.items()
    }
