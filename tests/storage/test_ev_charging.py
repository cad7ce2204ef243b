"""Contract tests of the EV charging repository (SQLite and PostgreSQL): external limits are
replaced and cleared per (EVSE, source) keeping their history; needs are one row per EVSE;
EV schedules are one row per time base; everything round-trips."""

from __future__ import annotations

from datetime import timedelta

from opencsms.domain.ev_charging import LimitState, StoredLimit, StoredNeeds
from opencsms.domain.ev_charging_model import EvChargingNeeds, EvChargingSchedule, ExternalLimit
from opencsms.storage import Storage

from .conftest import T0


def limit(source: str, evse: int, minutes: int, amps: float | None = None) -> ExternalLimit:
    return ExternalLimit(
        station_id="CS-1",
        source=source,
        received_at=T0 + timedelta(minutes=minutes),
        evse_id=evse,
        grid_critical=True,
        limit_a=amps,
    )


async def test_limits_replaced_cleared_and_kept_as_history(storage: Storage) -> None:
    repo = storage.ev_charging
    schedules = [{"id": 1, "chargingRateUnit": "A", "chargingSchedulePeriod": []}]
    first = StoredLimit(limit("EMS", 1, 0, 16.0), schedules)
    await repo.add_limit(first, ended_at=first.limit.received_at)
    assert await repo.current_limits("CS-1") == [first]
    second = StoredLimit(limit("EMS", 1, 1, 10.0), None)
    await repo.add_limit(second, ended_at=second.limit.received_at)
    other = StoredLimit(limit("SO", 0, 2), None)
    await repo.add_limit(other, ended_at=other.limit.received_at)
    assert await repo.current_limits("CS-1") == [other, second]
    await repo.clear_limits("CS-1", 1, "EMS", T0 + timedelta(minutes=3))
    assert await repo.current_limits("CS-1") == [other]
    history = await repo.limits("CS-1")
    assert [(h.limit.source, h.state) for h in history] == [
        ("SO", LimitState.CURRENT),
        ("EMS", LimitState.CLEARED),
        ("EMS", LimitState.REPLACED),
    ]
    assert history[1].limit.cleared is True
    assert history[1].ended_at == T0 + timedelta(minutes=3)
    assert history[2].schedules == schedules
    assert history[2].ended_at == T0 + timedelta(minutes=1)


async def test_needs_one_row_per_evse(storage: Storage) -> None:
    repo = storage.ev_charging
    needs = EvChargingNeeds(
        station_id="CS-1",
        evse_id=1,
        requested_energy_transfer="DC",
        received_at=T0,
        departure_time=T0 + timedelta(hours=3),
        energy_amount_wh=40000.0,
        dc_max_power_w=150000.0,
        state_of_charge=30,
        max_schedule_tuples=5,
        transaction_id="TX-9",
    )
    await repo.save_needs(StoredNeeds(needs, "Accepted", {"evseId": 1}))
    newer = StoredNeeds(needs, "Rejected", {"evseId": 1, "x": 1}, "TxNotFound")
    await repo.save_needs(newer)
    assert await repo.needs("CS-1", 1) == newer
    assert await repo.needs("CS-1", 2) is None
    assert await repo.needs_of_station("CS-1") == [newer]


async def test_schedules_one_row_per_time_base(storage: Storage) -> None:
    repo = storage.ev_charging
    record = EvChargingSchedule(
        station_id="CS-1",
        evse_id=1,
        time_base=T0,
        schedule={"id": 1, "chargingRateUnit": "W", "chargingSchedulePeriod": []},
        received_at=T0,
        transaction_id="TX-9",
    )
    await repo.save_schedule(record)
    await repo.save_schedule(record)  # resent
    later = EvChargingSchedule(
        station_id="CS-1",
        evse_id=1,
        time_base=T0 + timedelta(minutes=5),
        schedule={"id": 2},
        received_at=T0 + timedelta(minutes=5),
        within_limits=False,
        reason="ValueTooHigh",
        detail="too much",
    )
    await repo.save_schedule(later)
    assert await repo.schedules("CS-1") == [later, record]
