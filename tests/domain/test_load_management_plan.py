"""build_plan as a pure function: effective limits, EV needs, external caps, safe TxDefault."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opencsms.domain.ev_charging_model import EvChargingNeeds, ExternalLimit
from opencsms.domain.load_management_model import ExternalSignal, GroupMember, LoadGroup
from opencsms.domain.load_management_plan import ActiveSession, Defaults, build_plan

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def group(gid: str, **fields: object) -> LoadGroup:
    return LoadGroup(gid, gid, T0, T0, **fields)  # type: ignore[arg-type]


def test_lowest_of_configured_schedule_and_signal_wins() -> None:
    site = group(
        "site",
        max_current_a=100.0,
        schedule=[{"daily": "07:00", "max_current_a": 40}, {"daily": "22:00"}],
        external=ExternalSignal(30.0, None, T0, T0 + timedelta(hours=1)),
    )
    members = [GroupMember("A", 0, "site", T0), GroupMember("B", 0, "site", T0)]
    sessions = [ActiveSession("A", 1, "1", 1), ActiveSession("B", 1, "2", 2)]
    plan = build_plan({"site": site}, members, sessions, at=T0, defaults=Defaults())
    assert plan.groups["site"].max_current_a == 30.0
    assert [p.limit_a for p in plan.sessions.values()] == [15.0, 15.0]
    later = build_plan(
        {"site": site}, members, sessions, at=T0 + timedelta(hours=2), defaults=Defaults()
    )
    assert [p.limit_a for p in later.sessions.values()] == [20.0, 20.0]  # schedule: 40 A
    assert later.tx_default == {"A": 0.0, "B": 0.0}  # full: new sessions start at 0 A


def test_needs_external_caps_priorities_and_unmanaged_sessions() -> None:
    groups = {"site": group("site", max_current_a=64.0, priorities={"vip": 3})}
    members = [GroupMember("A", 0, "site", T0), GroupMember("B", 0, "site", T0, 32.0)]
    sessions = [
        ActiveSession("A", 1, "1", 1),
        ActiveSession("B", 1, "2", 2, token_key="vip"),
        ActiveSession("C", 1, "3", 3),  # not in any group
    ]
    needs = {"A/1": EvChargingNeeds("A", 1, "AC_single_phase", T0, ac_max_current_a=16.0)}
    limits = {("B", 0): ExternalLimit("B", "EMS", T0, limit_a=20.0)}
    plan = build_plan(
        groups, members, sessions, at=T0, defaults=Defaults(), needs=needs, station_limits=limits
    )
    assert set(plan.sessions) == {"A/1", "B/1"}
    a, b = plan.sessions["A/1"], plan.sessions["B/1"]
    assert (a.demand.phases, a.limit_a) == (1, 16.0)
    assert (b.demand.priority, b.limit_a) == (3, 20.0)
    assert plan.tx_default == {"A": 6.0, "B": 6.0}
