"""Station leases and node heartbeats against a real PostgreSQL server: the fencing check the
writer runs (storage/fencing.py) and the leader's reaping of dead nodes (cluster/node.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from opencsms.cluster.leases import StaleLeaseError, StationLeases
from opencsms.cluster.node import ClusterNode
from opencsms.domain.fleet_events import FleetEvents, StationDisconnected
from opencsms.storage.db import create_engine
from opencsms.storage.fencing import Fence, check_fences
from opencsms.storage.tables import station_leases


class Clock:
    def __init__(self) -> None:
        self.current = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def monotonic(self) -> float:
        return self.current.timestamp()


@pytest.fixture
async def engine(pg_dsn: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(pg_dsn.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        yield engine
    finally:
        await engine.dispose()


async def check(engine: AsyncEngine, fence: Fence) -> None:
    async with engine.begin() as conn:
        await check_fences(conn, {fence})


async def holder(engine: AsyncEngine, station_id: str) -> tuple[str | None, int]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(station_leases.c.node_id, station_leases.c.token).where(
                    station_leases.c.station_id == station_id
                )
            )
        ).one()
    return row.node_id, int(row.token)


async def test_each_takeover_raises_the_fencing_token_and_the_old_holder_is_refused(
    engine: AsyncEngine,
) -> None:
    clock = Clock()
    a = StationLeases(engine, "node-a", clock)  # type: ignore[arg-type]
    b = StationLeases(engine, "node-b", clock)  # type: ignore[arg-type]
    first = await a.acquire("CS-1")
    await check(engine, Fence("CS-1", "node-a", first))
    second = await b.acquire("CS-1")
    assert second == first + 1
    with pytest.raises(StaleLeaseError, match="node-a lost station CS-1"):
        await check(engine, Fence("CS-1", "node-a", first))
    await check(engine, Fence("CS-1", "node-b", second))
    assert await holder(engine, "CS-1") == ("node-b", second)
    # The old holder's late release (its socket closing after the takeover) changes nothing.
    assert not await a.release("CS-1", first)
    assert await holder(engine, "CS-1") == ("node-b", second)
    assert await b.release("CS-1", second)
    assert await holder(engine, "CS-1") == (None, second)
    # Tokens keep growing after a release: a reconnect later is again newer than everything.
    assert await a.acquire("CS-1") == second + 1


async def test_a_write_checked_under_the_lease_holds_off_a_concurrent_takeover(
    engine: AsyncEngine,
) -> None:
    clock = Clock()
    a = StationLeases(engine, "node-a", clock)  # type: ignore[arg-type]
    b = StationLeases(engine, "node-b", clock)  # type: ignore[arg-type]
    token = await a.acquire("CS-2")
    async with engine.begin() as conn:
        await check_fences(conn, {Fence("CS-2", "node-a", token)})
        takeover = asyncio.create_task(b.acquire("CS-2"))
        await asyncio.sleep(0.2)  # long enough for the takeover to run, had it not to wait
        assert not takeover.done()  # waits for the writing transaction (FOR SHARE)
    assert await takeover == token + 1
    with pytest.raises(StaleLeaseError):
        await check(engine, Fence("CS-2", "node-a", token))


async def test_the_leader_reaps_the_stations_of_a_node_that_stopped_beating(
    engine: AsyncEngine,
) -> None:
    clock = Clock()
    events = FleetEvents()
    heard = events.subscribe()
    recorded: list[str] = []

    async def record_disconnected(station_id: str, at: datetime) -> None:
        recorded.append(station_id)

    def node(name: str) -> ClusterNode:
        return ClusterNode(
            node_id=name,
            nats_url="nats://unused",
            engine=engine,
            db_url="postgresql://unused",
            events=events,
            clock=clock,  # type: ignore[arg-type]
            call_timeout=1.0,
            heartbeat_interval=1.0,
            node_timeout=10.0,
            record_disconnected=record_disconnected,
        )

    a, b = node("node-a"), node("node-b")
    await a.leases.heartbeat()
    await b.leases.heartbeat()
    await a.leases.acquire("CS-A")
    token_b = await b.leases.acquire("CS-B")
    assert await b.reap_once() == 0  # both alive
    clock.current += timedelta(seconds=8)
    await b.leases.heartbeat()  # node-a is killed and beats no more
    clock.current += timedelta(seconds=5)
    assert await b.reap_once() == 1
    assert recorded == ["CS-A"]
    gone = heard.pending()
    assert [type(e) for e in gone] == [StationDisconnected]
    assert gone[0].station_id == "CS-A"  # type: ignore[union-attr]
    assert await holder(engine, "CS-A") == (None, 1)
    assert await holder(engine, "CS-B") == ("node-b", token_b)
    assert await b.reap_once() == 0  # reaped once
