"""The session time line: interpolated energy and when charging ended."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from opencsms.billing import SessionTimeline

D = Decimal


def t(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, 5, hour, minute, tzinfo=UTC)


def test_energy_is_interpolated_between_readings() -> None:
    line = SessionTimeline(t(10), t(12), [(t(10), D(1000)), (t(11), D(7000))])
    assert line.energy_at(t(10, 30)) == D(3000)
    assert line.energy_at(t(12)) == D(6000)  # flat after the last reading
    assert line.when_energy_reaches(D(4500)) == t(10, 45)
    assert line.when_energy_reaches(D(99_999)) is None


def test_a_register_that_goes_back_counts_no_energy() -> None:
    line = SessionTimeline(t(10), t(11), [(t(10), D(5000)), (t(11), D(100))])
    assert line.energy_at(t(11)) == 0


def test_charging_end_without_signals_is_the_end() -> None:
    assert SessionTimeline(t(10), t(12)).charging_ended() == t(12)
    # one reading says nothing about energy flow
    assert SessionTimeline(t(10), t(12), [(t(11), D(5))]).charging_ended() == t(12)


def test_charging_end_is_the_later_signal() -> None:
    readings = [(t(10), D(0)), (t(10, 30), D(900)), (t(11), D(900))]
    line = SessionTimeline(t(10), t(12), readings)
    assert line.charging_ended() == t(10, 30)
    later_state = SessionTimeline(t(10), t(12), readings, [(t(9), True), (t(11, 15), False)])
    assert later_state.charging_ended() == t(11, 15)
    still_charging = SessionTimeline(t(10), t(12), readings, [(t(10), True)])
    assert still_charging.charging_ended() == t(12)


def test_a_pause_mid_session_is_not_idle_time() -> None:
    states = [(t(10), True), (t(10, 20), False), (t(10, 40), True), (t(11, 30), False)]
    readings = [(t(10), D(0)), (t(10, 20), D(10)), (t(10, 40), D(10)), (t(11, 30), D(50))]
    assert SessionTimeline(t(10), t(12), readings, states).charging_ended() == t(11, 30)
