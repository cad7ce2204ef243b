"""Station leases and node heartbeats against a real PostgreSQL server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from opencsms.cluster.leases import StaleLeaseError, StationLeases
from opencsms.storage.db import create_engine


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


async def test_each_takeover_raises_the_fencing_token_and_the_old_holder_is_refused(
    engine: AsyncEngine,
) -> None:
    clock = Clock()
    a = StationLeases(engine, "node-a", clock)  # type: ignore[arg-type]
    b = StationLeases(engine, "node-b", clock)  # type: ignore[arg-type]
    first = await a.acquire("CS-1")
    await a.check("CS-1", first)
    second = await b.acquire("CS-1")
    assert second == first + 1
    with pytest.raises(StaleLeaseError, match="node-a lost station CS-1"):
        await a.check("CS-1", first)
    await b.check("CS-1", second)
    holder = await b.holder("CS-1")
    assert holder is not None
    assert (holder.node_id, holder.token) == ("node-b", second)
    # The old holder's late release (its socket closing after the takeover) changes nothing.
    assert not await a.release("CS-1", first)
    assert (await b.holder("CS-1")).node_id == "node-b"  # type: ignore[union-attr]
    assert await b.release("CS-1", second)
    assert (await b.holder("CS-1")).node_id is None  # type: ignore[union-attr]
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
        await a.check("CS-2", token, conn)
        takeover = asyncio.create_task(b.acquire("CS-2"))
        await asyncio.sleep(0.2)
        assert not takeover.done()  # waits for the writing transaction (FOR SHARE)
    assert await takeover == token + 1
    with pytest.raises(StaleLeaseError):
        await a.check("CS-2", token)


async def test_leases_of_a_node_that_stopped_beating_are_nobodys(engine: AsyncEngine) -> None:
    clock = Clock()
    a = StationLeases(engine, "node-a", clock)  # type: ignore[arg-type]
    b = StationLeases(engine, "node-b", clock)  # type: ignore[arg-type]
    await a.heartbeat()
    await b.heartbeat()
    await a.acquire("CS-A")
    await b.acquire("CS-B")
    window = timedelta(seconds=10)
    assert await a.held(window) == {"CS-A": "node-a", "CS-B": "node-b"}
    clock.current += timedelta(seconds=8)
    await b.heartbeat()  # node-a is killed and beats no more
    clock.current += timedelta(seconds=5)
    assert await b.live_nodes(window) == {"node-b"}
    assert await b.held(window) == {"CS-B": "node-b"}
    await b.leave()
    assert await a.held(window) == {}
