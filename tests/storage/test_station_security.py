"""Contract tests of the station security repository (SQLite and PostgreSQL): a state
round-trips with its timestamps, an upsert replaces it whole, delete removes it."""

from __future__ import annotations

from datetime import timedelta

from opencsms.domain.security_profiles import RotationStatus, StationSecurity
from opencsms.storage import Storage

from .conftest import T0


async def test_state_round_trips_is_replaced_and_deleted(storage: Storage) -> None:
    state = StationSecurity(
        station_id="CS-1",
        security_profile=2,
        pending_security_profile=3,
        pending_password_hash="sha256$00$11",
        rotation_status=RotationStatus.REBOOT_REQUIRED,
        rotation_requested_at=T0,
        rotation_finished_at=None,
        password_rotated_at=T0 - timedelta(days=1),
        updated_at=T0,
    )
    await storage.station_security.upsert(state)
    await storage.station_security.upsert(StationSecurity("CS-2", updated_at=T0))
    assert await storage.station_security.get("CS-1") == state

    settled = StationSecurity(
        station_id="CS-1",
        security_profile=3,
        rotation_status=RotationStatus.ACCEPTED,
        rotation_requested_at=T0,
        rotation_finished_at=T0 + timedelta(seconds=2),
        password_rotated_at=T0 + timedelta(seconds=2),
        updated_at=T0 + timedelta(seconds=2),
    )
    await storage.station_security.upsert(settled)
    assert await storage.station_security.list_all() == [
        settled,
        StationSecurity("CS-2", updated_at=T0),
    ]
    await storage.station_security.delete("CS-1")
    assert await storage.station_security.get("CS-1") is None
    assert [s.station_id for s in await storage.station_security.list_all()] == ["CS-2"]
