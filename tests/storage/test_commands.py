"""The command log's repository: the same contract on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from opencsms.domain.commands import CommandRecord, CommandService, CommandStatus
from opencsms.storage import Storage
from opencsms.storage.repositories import commands as commands_repository
from tests.storage.conftest import T0, FixedClock


def command(
    command_id: int, station_id: str = "CP-1", seconds: float = 0, **changes: Any
) -> CommandRecord:
    values: dict[str, Any] = {
        "id": command_id,
        "station_id": station_id,
        "ocpp_version": "2.0.1",
        "action": "Reset",
        "payload": {"type": "Immediate", "evseId": 1},
        "requested_by": "api",
        "user_id": None,
        "requested_at": T0 + timedelta(seconds=seconds),
        "status": CommandStatus.ANSWERED,
        "response": {"status": "Accepted", "statusInfo": {"reasonCode": "ä-ok"}},
        "duration_ms": 12.5,
    }
    values.update(changes)
    return CommandRecord(**values)


async def test_a_command_reads_back_as_stored(storage: Storage) -> None:
    answered = command(await storage.commands.allocate())
    failed = command(
        await storage.commands.allocate(),
        seconds=1,
        action="UnlockConnector",
        payload={"evseId": 1, "connectorId": 1},
        status=CommandStatus.CALL_ERROR,
        response=None,
        error_code="NotSupported",
        error_description="no lock here",
        user_id="alice",
    )
    assert await storage.commands.add(answered) == answered
    assert await storage.commands.add(failed) == failed
    assert await storage.commands.get(answered.id) == answered
    assert await storage.commands.get(failed.id) == failed
    assert await storage.commands.get(999) is None


async def test_ids_grow_and_survive_a_restart_of_the_counter(storage: Storage) -> None:
    first = await storage.commands.allocate()
    second = await storage.commands.allocate()
    assert second == first + 1
    await storage.commands.add(command(second))
    storage.commands._next_id = None  # as after a restart: seeded from the table
    assert await storage.commands.allocate() == second + 1


async def test_an_id_taken_by_another_node_gets_the_next_free_one(storage: Storage) -> None:
    taken = await storage.commands.allocate()
    await storage.commands.add(command(taken, action="ClearCache"))
    stored = await storage.commands.add(command(taken, action="Reset"))  # same id, other node
    # The next free number: taken + 1 on SQLite; on PostgreSQL the start of a fresh id block.
    assert stored.id > taken
    assert (await storage.commands.get(stored.id)) == stored
    assert (await storage.commands.get(taken)).action == "ClearCache"  # type: ignore[union-attr]


async def test_pages_are_newest_request_first_per_station(storage: Storage) -> None:
    # ids in another order than the request times (a slow command is stored after a fast one),
    # two requests in the same instant, and another station's commands in between
    for command_id, seconds in ((1, 10), (2, 30), (3, 20), (4, 20), (5, 40)):
        await storage.commands.add(command(command_id, seconds=seconds))
    await storage.commands.add(command(6, "CP-2", seconds=25))
    first = await storage.commands.page("CP-1", None, 2)
    assert [c.id for c in first] == [5, 2]
    second = await storage.commands.page("CP-1", first[-1].id, 2)
    assert [c.id for c in second] == [4, 3]
    third = await storage.commands.page("CP-1", second[-1].id, 2)
    assert [c.id for c in third] == [1]
    assert await storage.commands.page("CP-1", 6, 10) == []  # another station's cursor
    assert [c.id for c in await storage.commands.page("CP-2", None, 10)] == [6]


async def test_the_station_index_exists(storage: Storage) -> None:
    async with storage.engine.connect() as conn:
        if storage.engine.dialect.name == "sqlite":
            rows = (await conn.execute(text("PRAGMA index_info('ix_commands_station')"))).all()
            columns = [row[2] for row in rows]
        else:
            definition = await conn.scalar(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_commands_station'")
            )
            columns = (
                ["station_id", "requested_at"]
                if "(station_id, requested_at)" in str(definition)
                else []
            )
    assert columns == ["station_id", "requested_at"]


async def test_purge_deletes_commands_requested_before_the_cutoff(storage: Storage) -> None:
    # ids out of request order, and more rows than one purge chunk holds
    for command_id, seconds in ((1, 50), (2, 10), (3, 30), (4, 60), (5, 40)):
        await storage.commands.add(command(command_id, seconds=seconds))
    await storage.commands.add(command(6, "CP-2", seconds=20))
    assert await storage.commands.purge_older_than(T0 + timedelta(seconds=35)) == 3
    assert [c.id for c in await storage.commands.page("CP-1", None, 10)] == [4, 1, 5]
    assert await storage.commands.page("CP-2", None, 10) == []
    assert await storage.commands.purge_older_than(T0 + timedelta(seconds=35)) == 0
    assert await storage.commands.purge_older_than(T0 + timedelta(seconds=40)) == 0  # strictly
    assert await storage.commands.purge_older_than(T0 + timedelta(seconds=41)) == 1
    assert [c.id for c in await storage.commands.page("CP-1", None, 10)] == [4, 1]


async def test_purge_runs_in_chunks(storage: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commands_repository, "PURGE_CHUNK_ROWS", 3)
    for command_id in range(1, 9):
        await storage.commands.add(command(command_id, seconds=command_id))
    commits = storage.writer.commits
    assert await storage.commands.purge_older_than(T0 + timedelta(seconds=8)) == 7
    assert storage.writer.commits - commits == 3  # 3 + 3 + 1 rows
    assert [c.id for c in await storage.commands.page("CP-1", None, 10)] == [8]


async def test_the_service_keeps_commands_for_the_retention_period(
    storage: Storage, clock: FixedClock
) -> None:
    await storage.commands.add(command(1, seconds=0))
    await storage.commands.add(command(2, seconds=3600))
    forever = CommandService(storage, clock, retention_days=0)
    ninety_days = CommandService(storage, clock, retention_days=90)
    clock.advance(90 * 86400 + 1800)  # 90 days after the first, half an hour before the second
    assert await forever.purge() == 0
    assert await ninety_days.purge() == 1
    assert [c.id for c in await ninety_days.page("CP-1", None, 10)] == [2]
    clock.advance(3600)
    assert await forever.purge() == 0
    assert await ninety_days.purge() == 1
