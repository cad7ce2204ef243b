"""Profile checks, replacement slots, validity overlap, selection criteria."""

from __future__ import annotations

import dataclasses

from opencsms.smartcharging import (
    Capabilities,
    ChargingProfile,
    Criteria,
    ProfileKind,
    ProfilePurpose,
    RateUnit,
    RecurrencyKind,
    SchedulePeriod,
    check_profile,
)
from opencsms.smartcharging.rules import overlapping, same_slot
from tests.smartcharging.builders import at, profile

CAPS = Capabilities(max_stack_level=3, max_periods=4)


def reason(p: ChargingProfile, caps: Capabilities = CAPS) -> str | None:
    found = check_profile(p, caps)
    return None if found is None else found.reason


def with_periods(p: ChargingProfile, *periods: SchedulePeriod) -> ChargingProfile:
    schedule = dataclasses.replace(p.schedule, periods=periods)
    return dataclasses.replace(p, schedules=(schedule,))


def test_a_well_formed_profile_passes() -> None:
    assert check_profile(profile(periods=[(0, 10.0), (60, 20.0)]), CAPS) is None
    daily = profile(kind=ProfileKind.RECURRING, recurrency=RecurrencyKind.DAILY)
    assert check_profile(daily, CAPS) is None
    assert check_profile(profile(kind=ProfileKind.RELATIVE), CAPS) is None


def test_stack_level_beyond_the_maximum() -> None:
    assert reason(profile(stack=4)) == "InvalidStackLevel"
    assert reason(profile(stack=-1)) == "InvalidStackLevel"
    assert reason(profile(stack=3)) is None


def test_schedule_shape_problems() -> None:
    assert reason(profile(periods=[(0, 1.0)] * 1 + [(60, 1.0)] * 4)) == "TooManyElements"
    assert reason(profile(periods=[(10, 1.0)])) == "InvalidSchedule"  # K01.FR.31
    assert reason(profile(periods=[(0, 1.0), (60, 2.0), (60, 3.0)])) == "InvalidSchedule"
    assert reason(profile(periods=[(0, -1.0)])) == "InvalidSchedule"
    assert reason(profile(periods=[(0, 1.0, 4)])) == "InvalidSchedule"
    assert reason(with_periods(profile())) == "InvalidSchedule"  # no period at all
    assert reason(profile(duration=-5)) == "InvalidSchedule"


def test_rate_unit_must_be_supported() -> None:
    watts_only = Capabilities(max_stack_level=3, max_periods=4, rate_units=(RateUnit.W,))
    assert reason(profile(unit=RateUnit.A), watts_only) == "UnsupportedRateUnit"
    assert reason(profile(unit=RateUnit.W), watts_only) is None


def test_start_schedule_rules_depend_on_the_version() -> None:
    loose = profile(start=None)
    assert reason(loose) == "InvalidSchedule"  # 2.x K01.FR.40
    assert reason(loose, dataclasses.replace(CAPS, strict_start=False)) is None  # 1.6 §7.13
    relative = profile(kind=ProfileKind.RELATIVE)
    relative_with_start = dataclasses.replace(
        relative, schedules=(dataclasses.replace(relative.schedule, start_schedule=at()),)
    )
    assert reason(relative_with_start) == "InvalidSchedule"  # K01.FR.41
    recurring = profile(kind=ProfileKind.RECURRING, recurrency=RecurrencyKind.DAILY, start=None)
    assert reason(recurring, dataclasses.replace(CAPS, strict_start=False)) == "InvalidSchedule"


def test_recurrency_kind_goes_with_recurring_only() -> None:
    assert reason(profile(kind=ProfileKind.RECURRING)) == "InvalidProfile"
    assert reason(profile(recurrency=RecurrencyKind.WEEKLY)) == "InvalidProfile"


def test_validity_window_must_not_be_empty() -> None:
    assert reason(profile(valid_from=at(hours=1), valid_to=at(hours=1))) == "InvalidProfile"
    assert reason(profile(valid_from=at(hours=1), valid_to=at(hours=2))) is None


def test_phase_to_use_needs_one_phase_and_switching() -> None:
    base = profile()
    one = with_periods(base, SchedulePeriod(0, 10.0, number_phases=1, phase_to_use=2))
    three = with_periods(base, SchedulePeriod(0, 10.0, number_phases=3, phase_to_use=2))
    assert reason(one) == "InvalidSchedule"  # K01.FR.20: no phase switching here
    assert reason(one, dataclasses.replace(CAPS, phase_switching=True)) is None
    assert reason(three, dataclasses.replace(CAPS, phase_switching=True)) == "InvalidSchedule"


def test_same_slot_is_purpose_stack_level_evse_and_transaction() -> None:
    a = profile(1, stack=1, evse=1)
    assert same_slot(a, profile(2, stack=1, evse=1))
    assert not same_slot(a, profile(2, stack=2, evse=1))
    assert not same_slot(a, profile(2, stack=1, evse=0))
    assert not same_slot(a, profile(2, stack=1, evse=1, purpose=ProfilePurpose.TX))
    tx1 = profile(3, purpose=ProfilePurpose.TX, transaction_id="T1")
    assert same_slot(tx1, profile(4, purpose=ProfilePurpose.TX, transaction_id="T1"))
    assert not same_slot(tx1, profile(4, purpose=ProfilePurpose.TX, transaction_id="T2"))


def test_overlapping_validity_windows() -> None:
    open_ended = profile(1)
    morning = profile(2, valid_from=at(hours=6), valid_to=at(hours=12))
    afternoon = profile(3, valid_from=at(hours=12), valid_to=at(hours=18))
    assert overlapping(open_ended, morning)
    assert not overlapping(morning, afternoon)  # [6, 12) and [12, 18) only touch
    assert not overlapping(afternoon, morning)
    assert overlapping(morning, profile(4, valid_to=at(hours=7)))
    assert not overlapping(morning, profile(4, valid_to=at(hours=6)))


def test_criteria_match_with_logical_and() -> None:
    p = profile(7, stack=2, evse=1)
    assert Criteria().matches(p)
    assert Criteria(ids=frozenset({7, 8})).matches(p)
    assert not Criteria(ids=frozenset({8})).matches(p)
    assert Criteria(evse=1, purpose=ProfilePurpose.TX_DEFAULT, stack_level=2).matches(p)
    assert not Criteria(evse=1, stack_level=1).matches(p)
    assert not Criteria(evse=0).matches(p)
    assert Criteria(sources=frozenset({"CSO"})).matches(p)
    assert not Criteria(sources=frozenset({"EMS"})).matches(p)
    assert Criteria(sources=frozenset({"EMS"})).matches(p, source="EMS")
