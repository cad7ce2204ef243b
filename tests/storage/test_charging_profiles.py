"""Contract tests of the charging profile repository (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from opencsms.domain.charging_profiles import StoredProfile
from opencsms.smartcharging import (
    ChargingProfile,
    ChargingSchedule,
    ProfileKind,
    ProfilePurpose,
    RateUnit,
    RecurrencyKind,
    SchedulePeriod,
)
from opencsms.storage import Storage

from .conftest import T0


def stored(
    profile_id: int, station: str = "CS-1", report_id: int | None = None, **fields: object
) -> StoredProfile:
    schedule = ChargingSchedule(
        rate_unit=RateUnit.W,
        periods=(SchedulePeriod(0, 11_000.0), SchedulePeriod(900, 3_700.5, 1, 2)),
        start_schedule=T0,
        duration=3600,
        min_charging_rate=1_000.0,
        schedule_id=4,
    )
    values: dict[str, object] = {
        "id": profile_id,
        "stack_level": 1,
        "purpose": ProfilePurpose.TX_DEFAULT,
        "kind": ProfileKind.RECURRING,
        "schedules": (schedule,),
        "evse": 1,
        "recurrency": RecurrencyKind.DAILY,
        "valid_from": T0,
        "valid_to": T0 + timedelta(days=1),
        "transaction_id": None,
    }
    values.update(fields)
    profile = ChargingProfile(**values)  # type: ignore[arg-type]
    payload = {"id": profile_id, "note": "as sent"}
    return StoredProfile(station, profile, payload, "2.0.1", T0, "CSO", report_id)


async def test_round_trip_replace_by_id_and_delete(storage: Storage) -> None:
    first, second = stored(1), stored(2, transaction_id="tx-1", recurrency=None)
    other_station = stored(1, station="CS-2")
    await storage.charging_profiles.save(first, replace(second, updated_at=T0 + timedelta(1)))
    await storage.charging_profiles.save(other_station)
    listed = await storage.charging_profiles.list("CS-1")
    assert listed[0] == first
    assert listed[1].profile == second.profile
    assert listed[1].updated_at == T0 + timedelta(1)

    changed = stored(1, stack_level=3, evse=0)
    await storage.charging_profiles.save(replace(changed, updated_at=T0 + timedelta(2)))
    assert [
        (s.profile.id, s.profile.stack_level) for s in await storage.charging_profiles.list("CS-1")
    ] == [(2, 1), (1, 3)]

    await storage.charging_profiles.delete("CS-1", [1, 2])
    assert await storage.charging_profiles.list("CS-1") == []
    assert await storage.charging_profiles.list("CS-2") == [other_station]


async def test_replace_keeps_only_what_the_report_holds(storage: Storage) -> None:
    """The last part of a report keeps the rows of earlier parts of the same request and
    drops every other row of that station (never reported, or reported by another request)."""
    await storage.charging_profiles.save(stored(1), stored(2, report_id=6), stored(3, report_id=7))
    await storage.charging_profiles.save(stored(9, station="CS-2"))
    await storage.charging_profiles.replace("CS-1", 7, [stored(4, report_id=7)])
    assert [s.profile.id for s in await storage.charging_profiles.list("CS-1")] == [3, 4]
    await storage.charging_profiles.replace("CS-1", 8, [])
    assert await storage.charging_profiles.list("CS-1") == []
    assert [s.profile.id for s in await storage.charging_profiles.list("CS-2")] == [9]
