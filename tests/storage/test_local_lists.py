"""Contract tests of the local list state repository (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from opencsms.domain.local_list_model import HeldEntry, LocalListState
from opencsms.storage import Storage

from .conftest import T0


async def test_state_round_trips_and_replaces_keeping_created_at(storage: Storage) -> None:
    assert await storage.local_lists.get("CS-1") is None
    state = LocalListState(
        station_id="CS-1",
        ocpp_version="1.6",
        version=4,
        sent_version=5,
        entries={"card-1": HeldEntry("Card-1", "0123abcd"), "pin": HeldEntry("PIN", "ffff")},
        in_sync=True,
        max_items=20,
        station_version=4,
        station_version_at=T0,
        last_result="Accepted",
        last_error=None,
        last_attempt_at=T0,
        synced_at=T0,
        created_at=T0,
        updated_at=T0,
    )
    await storage.local_lists.put(state)
    assert await storage.local_lists.get("CS-1") == state
    later = T0 + timedelta(minutes=5)
    changed = replace(
        state,
        entries={},
        in_sync=False,
        last_result="Error",
        last_error="no answer",
        created_at=later,
        updated_at=later,
    )
    await storage.local_lists.put(changed)
    assert await storage.local_lists.get("CS-1") == replace(changed, created_at=T0)


async def test_managed_stations_are_those_sent_a_list(storage: Storage) -> None:
    await storage.local_lists.put(
        LocalListState("SENT", sent_version=1, created_at=T0, updated_at=T0)
    )
    # a version query alone records the station without managing its list
    await storage.local_lists.put(
        LocalListState("ASKED", station_version=3, created_at=T0, updated_at=T0)
    )
    assert await storage.local_lists.managed() == {"SENT"}
