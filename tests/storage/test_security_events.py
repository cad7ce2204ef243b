"""Contract tests of the security event repository (SQLite and PostgreSQL): a resent event is
stored once, lists are newest first per station or fleet-wide, filtered by criticality, and
keyset paging walks every event exactly once, ties on the timestamp included."""

from __future__ import annotations

from datetime import timedelta

from opencsms.domain.security_events import SecurityEvent, is_critical
from opencsms.storage import Storage

from .conftest import T0


def event(station: str, kind: str, minutes: int, info: str | None = None) -> SecurityEvent:
    return SecurityEvent(
        station_id=station,
        type=kind,
        timestamp=T0 + timedelta(minutes=minutes),
        tech_info=info,
        critical=is_critical(kind),
        received_at=T0 + timedelta(minutes=minutes, seconds=1),
    )


async def test_resent_event_is_stored_once_and_round_trips(storage: Storage) -> None:
    first = event("CS-1", "FirmwareUpdated", 1, "v2.0")
    await storage.security_events.add(first)
    await storage.security_events.add(first)  # the station resent it
    await storage.security_events.add(event("CS-1", "FirmwareUpdated", 1, "other text"))
    listed = await storage.security_events.list(station_id="CS-1")
    assert listed == [first]
    assert listed[0].critical is True


async def test_lists_newest_first_filtered_and_paged(storage: Storage) -> None:
    events = [
        event("CS-1", "StartupOfTheDevice", 0),
        event("CS-1", "FailedToAuthenticateAtCsms", 1),
        event("CS-2", "ResetOrReboot", 2),
        event("CS-1", "ResetOrReboot", 2),  # same instant on two stations
        event("CS-2", "InvalidMessages", 3),
    ]
    for item in events:
        await storage.security_events.add(item)
    repo = storage.security_events
    fleet = await repo.list()
    assert [(e.station_id, e.type) for e in fleet] == [
        ("CS-2", "InvalidMessages"),
        ("CS-1", "ResetOrReboot"),
        ("CS-2", "ResetOrReboot"),
        ("CS-1", "FailedToAuthenticateAtCsms"),
        ("CS-1", "StartupOfTheDevice"),
    ]
    critical = await repo.list(critical=True)
    assert [(e.station_id, e.type) for e in critical] == [
        ("CS-1", "ResetOrReboot"),
        ("CS-2", "ResetOrReboot"),
        ("CS-1", "StartupOfTheDevice"),
    ]
    assert [e.type for e in await repo.list(station_id="CS-2")] == [
        "InvalidMessages",
        "ResetOrReboot",
    ]
    paged: list[SecurityEvent] = []
    page = await repo.list(limit=2)
    while page:
        paged += page
        last = page[-1]
        page = await repo.list(after=(last.timestamp, last.station_id, last.type), limit=2)
    assert paged == fleet
