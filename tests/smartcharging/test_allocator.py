"""The site allocator (smartcharging/allocator.py): hand-computed cases, then Hypothesis
properties over random trees, limits and sessions (docs/load-management-allocator.md)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opencsms.smartcharging import (
    AllocationResult,
    GroupNode,
    SessionDemand,
    allocate,
    changed_enough,
)

STEP = 0.1
TOL = 1e-6


def limits(result: AllocationResult) -> dict[str, float]:
    return {key: allocation.current_a for key, allocation in result.sessions.items()}


def ev(key: str, group: str = "site", **fields: object) -> SessionDemand:
    return SessionDemand(key=key, group=group, **fields)  # type: ignore[arg-type]


# --- hand-computed cases -------------------------------------------------------------------


def test_equal_share_floored_to_the_step() -> None:
    # 32 A for three EVs: 10.67 A each, floored to 10.6 A (the wire takes one decimal).
    result = allocate([GroupNode("site", max_current_a=32.0)], [ev("a"), ev("b"), ev("c")])
    assert limits(result) == {"a": 10.6, "b": 10.6, "c": 10.6}
    assert result.groups["site"].current_a == pytest.approx((31.8, 31.8, 31.8))
    assert result.groups["site"].power_w == pytest.approx(31.8 * 3 * 230)


def test_plenty_of_room_gives_every_ev_its_maximum() -> None:
    result = allocate(
        [GroupNode("site", max_current_a=100.0)], [ev("a", max_current_a=16.0), ev("b")]
    )
    assert limits(result) == {"a": 16.0, "b": 32.0}


def test_an_ev_drawing_less_leaves_its_share_to_the_others() -> None:
    # "a" was given 16 A but draws 5 A: capped at 5 + 2 (headroom) = 7 A; "b" gets the rest.
    site = [GroupNode("site", max_current_a=32.0)]
    slow = ev("a", measured_current_a=5.0, previous_limit_a=16.0)
    assert limits(allocate(site, [slow, ev("b")])) == {"a": 7.0, "b": 25.0}
    # Drawing near its limit (15 A of 16 A: within the headroom): it may take more.
    busy = ev("a", measured_current_a=15.0, previous_limit_a=16.0)
    assert limits(allocate(site, [busy, ev("b")])) == {"a": 16.0, "b": 16.0}
    # An EV that stopped drawing keeps its minimum (it is not paused for it).
    idle = ev("a", measured_current_a=0.0, previous_limit_a=16.0)
    assert limits(allocate(site, [idle, ev("b")])) == {"a": 6.0, "b": 26.0}
    # A wider headroom keeps more for it.
    assert limits(allocate(site, [slow, ev("b")], headroom_a=4.0)) == {"a": 9.0, "b": 23.0}
    # Unknown measurement or no previous limit: assume it takes all it is given.
    assert limits(allocate(site, [ev("a", measured_current_a=1.0), ev("b")])) == {
        "a": 16.0,
        "b": 16.0,
    }


def test_single_phase_sessions_load_their_own_phase() -> None:
    site = [GroupNode("site", max_current_a=16.0)]
    one_per_phase = [ev(k, phases=1, phase=p) for k, p in (("l1", 1), ("l2", 2), ("l3", 3))]
    assert limits(allocate(site, one_per_phase)) == {"l1": 16.0, "l2": 16.0, "l3": 16.0}

    two_on_l1 = [ev("a", phases=1, phase=1), ev("b", phases=1, phase=1), ev("c", phases=1, phase=2)]
    result = allocate(site, two_on_l1)
    assert limits(result) == {"a": 8.0, "b": 8.0, "c": 16.0}
    assert result.groups["site"].current_a == (16.0, 16.0, 0.0)
    assert result.groups["site"].power_w == pytest.approx(32.0 * 230)

    # Wiring unknown: counted on every phase (safe), so it shares L1 with "a"; power counts
    # the one phase it draws on.
    result = allocate(site, [ev("a", phases=1, phase=1), ev("u", phases=1)])
    assert limits(result) == {"a": 8.0, "u": 8.0}
    assert result.groups["site"].current_a == (16.0, 8.0, 8.0)
    assert result.groups["site"].power_w == pytest.approx(16.0 * 230)


def test_two_phase_sessions() -> None:
    site = [GroupNode("site", max_current_a=16.0)]
    # Known rotation: phase 2 → L2 + L3, so it does not share L1 with "a".
    result = allocate(site, [ev("a", phases=1, phase=1), ev("t", phases=2, phase=2)])
    assert limits(result) == {"a": 16.0, "t": 16.0}
    assert result.groups["site"].current_a == (16.0, 16.0, 16.0)
    assert result.groups["site"].power_w == pytest.approx(16.0 * 230 * 3)
    # Unknown: every phase.
    result = allocate(site, [ev("a", phases=1, phase=1), ev("t", phases=2)])
    assert limits(result) == {"a": 8.0, "t": 8.0}


def test_power_limit() -> None:
    # 11,040 W = 16 A × 3 × 230 V: two three-phase EVs get 8 A each.
    site = [GroupNode("site", max_power_w=11_040.0)]
    assert limits(allocate(site, [ev("a"), ev("b")])) == {"a": 8.0, "b": 8.0}
    # A single-phase EV (230 W/A) and a three-phase one (690 W/A) get the same current:
    # 12 A × (230 + 690) = 11,040 W.
    result = allocate(site, [ev("a", phases=1, phase=1), ev("b")])
    assert limits(result) == {"a": 12.0, "b": 12.0}
    assert result.groups["site"].power_w == pytest.approx(11_040.0)
    # Both kinds of limit: the tighter one decides.
    both = [GroupNode("site", max_current_a=14.0, max_power_w=11_040.0)]
    assert limits(allocate(both, [ev("a"), ev("b")])) == {"a": 7.0, "b": 7.0}
    both = [GroupNode("site", max_current_a=20.0, max_power_w=11_040.0)]
    assert limits(allocate(both, [ev("a"), ev("b")])) == {"a": 8.0, "b": 8.0}


def test_nested_limits_and_groups_that_only_add_up() -> None:
    groups = [
        GroupNode("site", max_current_a=40.0),
        GroupNode("feeder", "site", max_current_a=20.0),
        GroupNode("station", "feeder"),  # no limit: it only adds up
        GroupNode("empty", "site", max_current_a=10.0),
    ]
    sessions = [ev("a", "station"), ev("b", "station"), ev("c", "feeder"), ev("d", "site")]
    result = allocate(groups, sessions)
    # The feeder's 20 A over three EVs (6.67 → 6.6 A); the site's other 20 A to "d".
    assert limits(result) == {"a": 6.6, "b": 6.6, "c": 6.6, "d": 20.0}
    assert result.groups["station"].current_a == pytest.approx((13.2, 13.2, 13.2))
    assert result.groups["feeder"].current_a == pytest.approx((19.8, 19.8, 19.8))
    assert result.groups["site"].current_a == pytest.approx((39.8, 39.8, 39.8))
    assert result.groups["empty"].current_a == (0.0, 0.0, 0.0)
    assert result.groups["empty"].power_w == 0.0


def test_below_minimum_the_latest_arrival_is_paused() -> None:
    site = [GroupNode("site", max_current_a=16.0)]
    sessions = [ev("late", started_order=3), ev("first", started_order=1), ev("b", started_order=2)]
    result = allocate(site, sessions)
    assert limits(result) == {"late": 0.0, "first": 8.0, "b": 8.0}
    assert result.sessions["late"].paused
    assert not result.sessions["first"].paused


def test_the_session_paused_is_the_one_that_cannot_get_its_minimum() -> None:
    # "a" and "b" share a 10 A feeder: one of them must pause, the later one ("b"); "c",
    # the latest overall, is under the site only and keeps charging.
    groups = [GroupNode("site", max_current_a=32.0), GroupNode("feeder", "site", max_current_a=10)]
    sessions = [
        ev("a", "feeder", started_order=1),
        ev("b", "feeder", started_order=2),
        ev("c", "site", started_order=3),
    ]
    assert limits(allocate(groups, sessions)) == {"a": 10.0, "b": 0.0, "c": 22.0}


def test_an_ev_whose_own_maximum_is_below_its_minimum_is_paused() -> None:
    site = [GroupNode("site", max_current_a=32.0)]
    sessions = [ev("a", max_current_a=4.0), ev("z", max_current_a=0.0), ev("b")]
    assert limits(allocate(site, sessions)) == {"a": 0.0, "z": 0.0, "b": 32.0}
    # A minimum of 0 (a DC charger, a test) lets a small maximum through.
    assert limits(allocate(site, [ev("a", max_current_a=4.0, min_current_a=0.0)])) == {"a": 4.0}


def test_minimums_that_differ() -> None:
    # "a" needs 10 A, "b" 6 A, 20 A in all: both start at their minimum and rise together.
    site = [GroupNode("site", max_current_a=20.0)]
    sessions = [ev("a", min_current_a=10.0), ev("b", min_current_a=6.0)]
    assert limits(allocate(site, sessions)) == {"a": 10.0, "b": 10.0}
    site = [GroupNode("site", max_current_a=18.0)]
    assert limits(allocate(site, sessions)) == {"a": 10.0, "b": 8.0}
    # A minimum off the step is rounded up, so the floored limit still meets it.
    site = [GroupNode("site", max_current_a=12.1)]
    sessions = [
        ev("a", min_current_a=6.05, started_order=1),
        ev("b", min_current_a=6.05, started_order=2),
    ]
    assert limits(allocate(site, sessions)) == {"a": 12.1, "b": 0.0}


def test_higher_priority_is_served_first() -> None:
    site = [GroupNode("site", max_current_a=32.0)]
    sessions = [ev("vip", priority=1, max_current_a=20.0), ev("a"), ev("b")]
    assert limits(allocate(site, sessions)) == {"vip": 20.0, "a": 6.0, "b": 6.0}
    # The higher class takes all it can: the lower one pauses, even if it came first.
    sessions = [ev("a", started_order=1), ev("vip1", priority=2), ev("vip2", priority=2)]
    assert limits(allocate(site, sessions)) == {"a": 0.0, "vip1": 16.0, "vip2": 16.0}
    # Negative priorities are served after the default 0.
    sessions = [ev("low", priority=-1), ev("a", max_current_a=20.0)]
    assert limits(allocate(site, sessions)) == {"low": 12.0, "a": 20.0}


def test_step_flooring_never_breaks_a_limit() -> None:
    site = [GroupNode("site", max_current_a=10.0)]
    sessions = [ev(k, min_current_a=0.0) for k in "abc"]
    result = allocate(site, sessions)
    assert limits(result) == {"a": 3.3, "b": 3.3, "c": 3.3}
    assert max(result.groups["site"].current_a) <= 10.0
    # A coarser step: whole amperes.
    result = allocate(site, sessions, step_a=1.0)
    assert limits(result) == {"a": 3.0, "b": 3.0, "c": 3.0}
    # A limit of 0 pauses everything under it.
    assert limits(allocate([GroupNode("site", max_current_a=0.0)], [ev("a")])) == {"a": 0.0}


def test_no_sessions_and_no_groups() -> None:
    result = allocate([GroupNode("site", max_current_a=10.0)], [])
    assert result.sessions == {}
    assert result.groups["site"].current_a == (0.0, 0.0, 0.0)
    assert allocate([], []) == AllocationResult()


@pytest.mark.parametrize(
    ("groups", "sessions", "message"),
    [
        ([GroupNode("site")], [ev("a", "nowhere")], "unknown group 'nowhere'"),
        ([GroupNode("a", "b"), GroupNode("b", "a")], [], "cycle"),
        ([GroupNode("a", "a")], [], "cycle: a → a"),
        ([GroupNode("a", "ghost")], [], "unknown parent 'ghost'"),
        ([GroupNode("a"), GroupNode("a")], [], "given twice"),
        ([GroupNode("site")], [ev("a"), ev("a")], "session key is given twice"),
        ([GroupNode("site", max_current_a=-1.0)], [], "max_current_a must be 0 or more"),
        ([GroupNode("site", max_power_w=math.nan)], [], "max_power_w must be 0 or more"),
        ([GroupNode("site")], [ev("a", phases=4)], "phases must be 1, 2 or 3"),
        ([GroupNode("site")], [ev("a", phases=1, phase=0)], "phase must be 1, 2, 3"),
    ],
)
def test_bad_input_is_refused_clearly(
    groups: list[GroupNode], sessions: list[SessionDemand], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        allocate(groups, sessions)


def test_bad_parameters() -> None:
    with pytest.raises(ValueError, match="step_a"):
        allocate([], [], step_a=0.0)
    with pytest.raises(ValueError, match="headroom_a"):
        allocate([], [], headroom_a=-1.0)


def test_hysteresis() -> None:
    assert changed_enough(None, 16.0)  # the first limit
    assert changed_enough(None, 0.0)
    assert changed_enough(16.0, 0.0)  # pause
    assert changed_enough(0.0, 6.0)  # resume
    assert changed_enough(16.0, 15.9)  # any decrease: limits are honoured at once
    assert not changed_enough(16.0, 16.0)
    assert not changed_enough(16.0, 16.9)  # a small increase waits
    assert changed_enough(16.0, 17.0)  # at the threshold
    assert changed_enough(16.0, 16.5, threshold_a=0.5)
    assert not changed_enough(0.0, 0.0)


# --- properties ------------------------------------------------------------------------------


@st.composite
def sites(draw: st.DrawFn) -> tuple[list[GroupNode], list[SessionDemand]]:
    """A random tree (depth 1-4) with random A and/or W limits, and random sessions under it,
    some of them twins (same constraints, other arrival) to check fairness."""
    depth = draw(st.integers(1, 4))
    groups: list[GroupNode] = []
    level = [None]
    for d in range(depth):
        next_level: list[str | None] = []
        for parent in level:
            for n in range(draw(st.integers(1, 3 if d else 1))):
                gid = f"g{d}.{len(groups)}.{n}"
                amps = draw(st.none() | st.floats(0.0, 120.0))
                watts = draw(st.none() | st.floats(0.0, 80_000.0))
                groups.append(GroupNode(gid, parent, amps, watts))
                next_level.append(gid)
        level = next_level
    ids = [g.id for g in groups]
    sessions: list[SessionDemand] = []
    for n in range(draw(st.integers(0, 14))):
        phases = draw(st.sampled_from([1, 1, 2, 3, 3, 3]))
        previous = draw(st.none() | st.floats(0.0, 32.0))
        session = SessionDemand(
            key=f"s{n}",
            group=draw(st.sampled_from(ids)),
            phases=phases,
            phase=draw(st.none() | st.integers(1, 3)) if phases < 3 else None,
            min_current_a=draw(st.sampled_from([0.0, 6.0, 6.0, 8.0, 10.0])),
            max_current_a=draw(st.floats(0.0, 63.0)),
            measured_current_a=draw(st.none() | st.floats(0.0, 32.0)),
            previous_limit_a=previous,
            priority=draw(st.sampled_from([0, 0, 0, 1, 2])),
            voltage_v=draw(st.sampled_from([230.0, 230.0, 220.0, 240.0])),
            started_order=draw(st.integers(0, 1_000)),
        )
        sessions.append(session)
        if draw(st.integers(0, 4)) == 0:
            twin = SessionDemand(**{**_fields(session), "key": f"t{n}", "started_order": n})
            sessions.append(twin)
    return groups, sessions


def _fields(session: SessionDemand) -> dict[str, object]:
    return {name: getattr(session, name) for name in SessionDemand.__slots__}


def _path(groups: Sequence[GroupNode], group: str) -> list[GroupNode]:
    by_id = {g.id: g for g in groups}
    path = [by_id[group]]
    while path[-1].parent is not None:
        path.append(by_id[path[-1].parent])
    return path


def _loaded_phases(s: SessionDemand) -> list[int]:
    if s.phases == 3 or s.phase is None:
        return [0, 1, 2]
    return [s.phase - 1] if s.phases == 1 else [s.phase - 1, s.phase % 3]


def _cap(s: SessionDemand, headroom: float = 2.0) -> float:
    cap = max(0.0, s.max_current_a)
    m, p = s.measured_current_a, s.previous_limit_a
    if m is not None and p is not None and m < p - headroom:
        cap = min(cap, max(m + headroom, s.min_current_a))
    return cap


class Loads:
    """Each group's load recomputed from the sessions' limits (not trusting the result)."""

    def __init__(self, groups: Sequence[GroupNode], sessions: Sequence[SessionDemand]) -> None:
        self.groups, self.sessions = groups, sessions
        self.current = {g.id: [0.0, 0.0, 0.0] for g in groups}
        self.power = {g.id: 0.0 for g in groups}
        self.members = {g.id: [0, 0, 0] for g in groups}
        self.watts_per_amp = {g.id: 0.0 for g in groups}

    def add(self, s: SessionDemand, x: float) -> None:
        for g in _path(self.groups, s.group):
            for p in _loaded_phases(s):
                self.current[g.id][p] += x
                self.members[g.id][p] += 1
            self.power[g.id] += x * s.voltage_v * s.phases
            self.watts_per_amp[g.id] += s.voltage_v * s.phases


def _check_properties(groups: list[GroupNode], sessions: list[SessionDemand]) -> None:
    result = allocate(groups, sessions)
    given = limits(result)
    assert set(given) == {s.key for s in sessions}
    loads = Loads(groups, sessions)
    for s in sessions:
        loads.add(s, given[s.key])

    # (1) No group's per-phase current or power exceeds its limit; the reported loads agree.
    for g in groups:
        if g.max_current_a is not None:
            assert max(loads.current[g.id]) <= g.max_current_a + TOL
        if g.max_power_w is not None:
            assert loads.power[g.id] <= g.max_power_w + TOL
        assert result.groups[g.id].current_a == pytest.approx(loads.current[g.id], abs=TOL)
        assert result.groups[g.id].power_w == pytest.approx(loads.power[g.id], abs=TOL)

    for s in sessions:
        x = given[s.key]
        # (2) No session exceeds its cap; limits are whole steps.
        assert 0.0 <= x <= _cap(s) + TOL
        assert abs(x / STEP - round(x / STEP)) < 1e-6
        # (3) A session that charges gets at least its minimum.
        if x > 0:
            assert x >= s.min_current_a - TOL

    def saturated(g: GroupNode, s: SessionDemand, extra_a: float) -> bool:
        """Whether ``extra_a`` more for ``s`` would not fit in ``g`` (within the flooring)."""
        if g.max_current_a is not None:
            for p in _loaded_phases(s):
                slack = STEP * max(1, loads.members[g.id][p])
                if loads.current[g.id][p] + extra_a > g.max_current_a - slack + TOL:
                    return True
        if g.max_power_w is not None:
            slack = STEP * max(loads.watts_per_amp[g.id], s.voltage_v * s.phases)
            if loads.power[g.id] + extra_a * s.voltage_v * s.phases > g.max_power_w - slack + TOL:
                return True
        return False

    for s in sessions:
        x = given[s.key]
        path = _path(groups, s.group)
        # (4) Work-conserving: a charging session below its cap is held by a full group.
        if x > 0 and x < _cap(s) - STEP - TOL:
            assert any(saturated(g, s, 0.0) for g in path), s
        # A paused session (that could charge at its minimum) had no room for its minimum.
        can_charge = _cap(s) >= math.ceil(s.min_current_a / STEP - 1e-9) * STEP - TOL
        if x == 0 and can_charge and _cap(s) >= STEP:
            minimum = max(s.min_current_a, STEP)
            assert any(saturated(g, s, minimum) for g in path), s

    # (5) Fairness: twins (same constraints and priority) that both charge get the same limit.
    twins: dict[tuple[object, ...], list[float]] = {}
    for s in sessions:
        if given[s.key] > 0:
            fields = _fields(s)
            fields.pop("key")
            fields.pop("started_order")
            twins.setdefault(tuple(fields.values()), []).append(given[s.key])
    for values in twins.values():
        assert max(values) - min(values) <= STEP + TOL


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sites())
def test_properties_of_random_sites(site: tuple[list[GroupNode], list[SessionDemand]]) -> None:
    _check_properties(*site)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 12), st.floats(0.0, 100.0), st.integers(0, 3))
def test_equal_sessions_share_equally(count: int, limit: float, priority: int) -> None:
    sessions = [ev(f"s{n}", priority=priority, started_order=n) for n in range(count)]
    given = limits(allocate([GroupNode("site", max_current_a=limit)], sessions))
    charging = [given[f"s{n}"] for n in range(count) if given[f"s{n}"] > 0]
    # As many as fit at 6 A charge, the earliest ones, at the same limit.
    assert len(charging) == min(count, int(limit / 6.0 + 1e-9))
    assert all(given[f"s{n}"] > 0 for n in range(len(charging)))
    if charging:
        assert max(charging) == min(charging)
        assert sum(charging) <= limit + TOL
        assert sum(charging) > min(limit, 32.0 * count) - STEP * count - TOL
