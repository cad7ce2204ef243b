"""Contract tests of the reservation repository (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from opencsms.domain.reservation_model import Reservation, ReservationStatus
from opencsms.storage import Storage

from .conftest import T0


def build(station: str = "CS-1", **fields: object) -> Callable[[int], Reservation]:
    def make(new_id: int) -> Reservation:
        values: dict[str, object] = {
            "id": new_id,
            "station_id": station,
            "ocpp_version": "2.0.1",
            "evse_id": 1,
            "id_token": "Card-1",
            "expires_at": T0 + timedelta(hours=1),
            "created_at": T0,
            "updated_at": T0,
        }
        values.update(fields)
        return Reservation(**values)  # type: ignore[arg-type]

    return make


async def test_ids_are_allocated_and_records_round_trip(storage: Storage) -> None:
    first = await storage.reservations.create(
        build(connector_type="cType2", id_token_type="ISO14443", group_id="FLEET")
    )
    second = await storage.reservations.create(build(station="CS-2"))
    assert second.id == first.id + 1
    assert await storage.reservations.get(first.id) == first
    assert first.status is ReservationStatus.REQUESTED
    used = replace(
        first,
        status=ReservationStatus.USED,
        reserve_status="Accepted",
        used_by=17,
        updated_at=T0 + timedelta(minutes=1),
    )
    await storage.reservations.save(used)
    assert await storage.reservations.get(first.id) == used
    assert await storage.reservations.get(999) is None


async def test_ids_continue_after_a_restart(storage: Storage, db_url: str) -> None:
    first = await storage.reservations.create(build())
    fresh = Storage(storage.engine, storage.writer)  # a new node/process: counter re-seeded
    again = await fresh.reservations.create(build())
    # first.id + 1 on SQLite; on PostgreSQL each node takes its own block of ids (gaps allowed).
    assert again.id > first.id


async def test_lists_open_and_due(storage: Storage) -> None:
    made = [await storage.reservations.create(build()) for _ in range(3)]
    active = replace(made[0], status=ReservationStatus.ACTIVE)
    late = replace(made[1], status=ReservationStatus.ACTIVE, expires_at=T0)
    done = replace(made[2], status=ReservationStatus.CANCELLED)
    await storage.reservations.save(active, late, done)
    assert [r.id for r in await storage.reservations.list(station_id="CS-1")] == [
        done.id,
        late.id,
        active.id,
    ]
    assert await storage.reservations.count(station_id="CS-1", status="Active") == 2
    assert [r.id for r in await storage.reservations.open()] == [active.id, late.id]
    assert [r.id for r in await storage.reservations.due(T0)] == [late.id]
