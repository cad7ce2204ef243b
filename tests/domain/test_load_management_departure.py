"""Departure-aware planning (K15 NotifyEVChargingNeeds energyAmount + departureTime): the
needed current, its precedence among equals and its limits (docs/load-management.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opencsms.domain.ev_charging_model import EvChargingNeeds
from opencsms.domain.load_management_model import GroupMember, LoadGroup
from opencsms.domain.load_management_plan import (
    ActiveSession,
    Defaults,
    build_plan,
    needed_current_a,
)
from tests.domain.load_management_wire import duplex, limit_of, lm_settings
from tests.domain.test_load_management import site as make_site
from tests.domain.test_load_management import tx_201
from tests.wire import running_csms

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def site(limit_a: float = 32.0, **fields: object) -> dict[str, LoadGroup]:
    return {"site": LoadGroup("site", "site", T0, T0, max_current_a=limit_a, **fields)}  # type: ignore[arg-type]


MEMBERS = [GroupMember("A", 0, "site", T0), GroupMember("B", 0, "site", T0)]


def urgent(minutes: float = 30, wh: float = 10_000) -> EvChargingNeeds:
    return EvChargingNeeds(
        "B",
        1,
        "AC_three_phase",
        T0,
        departure_time=T0 + timedelta(minutes=minutes),
        energy_amount_wh=wh,
    )


def test_needed_current_formula() -> None:
    need = urgent(60, 6_900)
    assert needed_current_a(need, delivered_wh=0, at=T0, phases=3, voltage_v=230) == 10.0
    # Energy already delivered counts: half delivered, half the current.
    assert needed_current_a(need, delivered_wh=3_450, at=T0, phases=3, voltage_v=230) == 5.0
    assert needed_current_a(need, delivered_wh=7_000, at=T0, phases=3, voltage_v=230) == 0.0
    # Past departure: one minute left, as much as it can take.
    late = T0 + timedelta(hours=2)
    assert needed_current_a(need, delivered_wh=0, at=late, phases=1, voltage_v=230) == (
        pytest.approx(6_900 / (230 / 60))
    )
    no_departure = EvChargingNeeds("B", 1, "AC_three_phase", T0, energy_amount_wh=5_000)
    assert needed_current_a(no_departure, delivered_wh=0, at=T0, phases=3, voltage_v=230) is None


def test_near_departure_is_served_first_among_equals() -> None:
    # B arrived later and would be paused first; its departure in 30 min (10 kWh: ~29 A)
    # makes it go first, and it gets at least what it needs.
    sessions = [ActiveSession("A", 1, "1", 1), ActiveSession("B", 1, "2", 2)]
    plan = build_plan(
        site(), MEMBERS, sessions, at=T0, defaults=Defaults(), needs={"B/1": urgent()}
    )
    a, b = plan.sessions["A/1"].limit_a, plan.sessions["B/1"].limit_a
    assert b > a
    assert b >= 10_000 / (0.5 * 230 * 3) - 0.1
    assert a + b <= 32.0
    # Without departure both share fairly.
    fair = build_plan(site(), MEMBERS, sessions, at=T0, defaults=Defaults())
    assert [p.limit_a for p in fair.sessions.values()] == [16.0, 16.0]


def test_a_moderate_need_keeps_sharing_fairly_above_it() -> None:
    # 10 kWh in 2 h: ~7.2 A needed; both rise at the same pace from their minimums.
    sessions = [ActiveSession("A", 1, "1", 1), ActiveSession("B", 1, "2", 2)]
    plan = build_plan(
        site(), MEMBERS, sessions, at=T0, defaults=Defaults(), needs={"B/1": urgent(120)}
    )
    a, b = plan.sessions["A/1"].limit_a, plan.sessions["B/1"].limit_a
    assert a > 6.0
    assert b >= a
    assert a + b <= 32.0


def test_delivered_energy_gives_no_precedence() -> None:
    sessions = [ActiveSession("A", 1, "1", 1), ActiveSession("B", 1, "2", 2, energy_wh=10_000)]
    plan = build_plan(
        site(), MEMBERS, sessions, at=T0, defaults=Defaults(), needs={"B/1": urgent()}
    )
    assert plan.sessions["B/1"].demand.min_current_a == 6.0
    assert plan.sessions["B/1"].demand.started_order == 2
    assert [p.limit_a for p in plan.sessions.values()] == [16.0, 16.0]


def test_need_beyond_the_site_is_clamped_not_paused() -> None:
    # 20 A site: the ~29 A need cannot be met; the EV gets what the site can give, never 0.
    sessions = [ActiveSession("A", 1, "1", 1), ActiveSession("B", 1, "2", 2)]
    plan = build_plan(
        site(20.0), MEMBERS, sessions, at=T0, defaults=Defaults(), needs={"B/1": urgent()}
    )
    assert plan.sessions["B/1"].demand.min_current_a == 20.0
    assert plan.sessions["B/1"].limit_a == 20.0
    assert plan.sessions["A/1"].limit_a == 0.0


def test_token_priority_still_comes_first() -> None:
    sessions = [ActiveSession("A", 1, "1", 1, token_key="vip"), ActiveSession("B", 1, "2", 2)]
    plan = build_plan(
        site(priorities={"vip": 1}),
        MEMBERS,
        sessions,
        at=T0,
        defaults=Defaults(),
        needs={"B/1": urgent()},
    )
    assert plan.sessions["A/1"].limit_a == 32.0
    assert plan.sessions["B/1"].limit_a == 0.0


def test_earliest_departure_admitted_first() -> None:
    members = [*MEMBERS, GroupMember("C", 0, "site", T0)]
    sessions = [ActiveSession("B", 1, "2", 2), ActiveSession("C", 1, "3", 3)]
    later = EvChargingNeeds(
        "C",
        1,
        "AC_three_phase",
        T0,
        departure_time=T0 + timedelta(minutes=20),
        energy_amount_wh=8_000,
    )
    plan = build_plan(
        site(),
        members,
        sessions,
        at=T0,
        defaults=Defaults(),
        needs={"B/1": urgent(), "C/1": later},
    )
    # C leaves first (20 min, ~35 A needed, clamped to 32): admitted first, B is paused.
    assert plan.sessions["C/1"].limit_a == 32.0
    assert plan.sessions["B/1"].limit_a == 0.0


async def test_departure_over_the_wire(tmp_path: Path) -> None:
    """Two 2.0.1 EVs on a 32 A site share it; one then reports (K15) 10 kWh needed with its
    departure in 30 min: its TxProfile goes up, the other's down."""
    async with (
        running_csms(lm_settings(tmp_path)) as csms,
        duplex(csms, "DEP-A", "ocpp2.0.1") as a,
        duplex(csms, "DEP-B", "ocpp2.0.1") as b,
    ):
        await make_site(csms, 32, "DEP-A", "DEP-B")
        await a.call("TransactionEvent", tx_201("Started", 0, "TX-A", chargingState="Charging"))
        await a.wait_profiles(1, "TxProfile")
        await b.call("TransactionEvent", tx_201("Started", 0, "TX-B", chargingState="Charging"))
        await b.wait_profiles(1, "TxProfile")
        await a.wait_until(lambda: [limit_of(p) for p in a.profiles("TxProfile")][-1:] == [16.0])
        assert limit_of(b.profiles("TxProfile")[-1]) == 16.0

        departure = datetime.now(UTC) + timedelta(minutes=30)
        needs = {
            "evseId": 1,
            "chargingNeeds": {
                "requestedEnergyTransfer": "AC_three_phase",
                "departureTime": departure.isoformat().replace("+00:00", "Z"),
                "acChargingParameters": {
                    "energyAmount": 10000,
                    "evMinCurrent": 6,
                    "evMaxCurrent": 32,
                    "evMaxVoltage": 400,
                },
            },
        }
        assert (await b.call("NotifyEVChargingNeeds", needs))["status"] == "Accepted"
        await b.wait_profiles(2, "TxProfile")
        await a.wait_until(lambda: limit_of(a.profiles("TxProfile")[-1]) < 16.0)
        urgent, other = limit_of(b.profiles("TxProfile")[-1]), limit_of(a.profiles("TxProfile")[-1])
        assert urgent > other
        assert urgent >= 10_000 / (0.5 * 230 * 3) - 0.5  # at least what it needs
        assert urgent + other <= 32.0
