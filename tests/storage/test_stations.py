"""Contract tests of the stations repository (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from opencsms.domain.model import BootInfo, ConnectorStatus, RegistrationStatus, Strictness
from opencsms.errors import AlreadyExistsError, NotFoundError, StorageError
from opencsms.storage import Storage

from .conftest import T0, FixedClock, make_station


async def test_create_get_roundtrip(storage: Storage) -> None:
    station = make_station("CP-1", password_hash="h$1")
    await storage.stations.create(station)
    assert await storage.stations.get("CP-1") == station
    assert await storage.stations.get("nope") is None


async def test_create_twice_raises_already_exists(storage: Storage) -> None:
    await storage.stations.create(make_station("CP-1"))
    with pytest.raises(AlreadyExistsError):
        await storage.stations.create(make_station("CP-1", heartbeat_interval=5))
    got = await storage.stations.get("CP-1")
    assert got is not None
    assert got.heartbeat_interval == 300


async def test_list_is_ordered_and_paged_and_counted(storage: Storage) -> None:
    for station_id in ["c", "a", "d", "b"]:
        await storage.stations.create(make_station(station_id))
    assert [s.id for s in await storage.stations.list()] == ["a", "b", "c", "d"]
    assert [s.id for s in await storage.stations.list(offset=1, limit=2)] == ["b", "c"]
    assert await storage.stations.count() == 4


async def test_update_changes_fields_and_stamps_updated_at(
    storage: Storage, clock: FixedClock
) -> None:
    await storage.stations.create(make_station("CP-1"))
    clock.advance(60)
    updated = await storage.stations.update(
        "CP-1",
        registration=RegistrationStatus.PENDING,
        strictness=Strictness.TOLERANT,
        password_hash=None,
        heartbeat_interval=30,
    )
    assert updated.registration is RegistrationStatus.PENDING
    assert updated.strictness is Strictness.TOLERANT
    assert updated.heartbeat_interval == 30
    assert updated.updated_at == T0 + timedelta(seconds=60)
    assert updated.created_at == T0
    assert await storage.stations.get("CP-1") == updated


async def test_update_unknown_station_raises_not_found(storage: Storage) -> None:
    with pytest.raises(NotFoundError):
        await storage.stations.update("ghost", heartbeat_interval=10)


async def test_update_rejects_unknown_fields(storage: Storage) -> None:
    with pytest.raises(TypeError, match="created_at"):
        await storage.stations.update("CP-1", created_at=T0)


async def test_delete_removes_station_and_its_current_status(storage: Storage) -> None:
    await storage.stations.create(make_station("CP-1"))
    await storage.stations.create(make_station("CP-2"))
    for station_id in ("CP-1", "CP-2"):
        await storage.status.record(ConnectorStatus(station_id, 1, 1, "Available", received_at=T0))
    assert await storage.stations.delete("CP-1") is True
    assert await storage.stations.get("CP-1") is None
    assert await storage.status.for_station("CP-1") == []
    assert len(await storage.status.for_station("CP-2")) == 1
    assert await storage.stations.delete("CP-1") is False


async def test_record_boot_stores_boot_fields(storage: Storage) -> None:
    await storage.stations.create(make_station("CP-1"))
    boot = BootInfo(
        vendor="ACME",
        model="Fast-50",
        serial_number="SN1",
        charge_box_serial_number="CB1",
        firmware_version="1.2.3",
        iccid="8931",
        imsi="2620",
        meter_type="M",
        meter_serial_number="MS1",
        reason="PowerUp",
    )
    at = T0 + timedelta(minutes=5)
    await storage.stations.record_boot("CP-1", boot, at, "ocpp2.0.1")
    got = await storage.stations.get("CP-1")
    assert got is not None
    assert got.boot == boot
    assert got.booted_at == at
    assert got.ocpp_version == "ocpp2.0.1"
    with pytest.raises(NotFoundError):
        await storage.stations.record_boot("ghost", boot, at, "ocpp1.6")


async def test_connect_disconnect_and_last_seen(storage: Storage) -> None:
    await storage.stations.create(make_station("CP-1"))
    await storage.stations.create(make_station("CP-2"))
    t1, t2, t3 = (T0 + timedelta(seconds=s) for s in (10, 20, 30))
    await storage.stations.record_connected("CP-1", "ocpp1.6", t1)
    await storage.stations.touch_last_seen({"CP-1": t3, "CP-2": t2, "ghost": t2})
    await storage.stations.touch_last_seen({"CP-1": t2})  # never backwards
    await storage.stations.record_disconnected("CP-1", t3)
    one, two = await storage.stations.get("CP-1"), await storage.stations.get("CP-2")
    assert one is not None
    assert two is not None
    assert (one.ocpp_version, one.last_connected_at, one.last_disconnected_at) == (
        "ocpp1.6",
        t1,
        t3,
    )
    assert one.last_seen_at == t3
    assert two.last_seen_at == t2
    assert one.updated_at == T0  # connection bookkeeping is not a record change


async def test_timezones_round_trip_as_utc(storage: Storage) -> None:
    tokyo = timezone(timedelta(hours=9))
    local = datetime(2025, 6, 1, 9, 0, 0, 1, tzinfo=tokyo)
    await storage.stations.create(make_station("CP-1", at=local))
    got = await storage.stations.get("CP-1")
    assert got is not None
    assert got.created_at == local
    assert got.created_at.utcoffset() == timedelta(0)
    assert got.created_at == datetime(2025, 6, 1, 0, 0, 0, 1, tzinfo=UTC)


async def test_naive_datetime_is_refused(storage: Storage) -> None:
    naive = datetime(2025, 1, 1)
    with pytest.raises(ValueError, match="naive"):
        await storage.stations.create(replace(make_station("CP-1"), created_at=naive))


async def test_writes_after_close_raise_storage_error(storage: Storage) -> None:
    await storage.writer.aclose()
    with pytest.raises(StorageError):
        await storage.stations.create(make_station("late"))
