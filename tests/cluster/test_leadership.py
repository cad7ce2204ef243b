"""Leadership of the singleton work: one node at a time, and it moves when the leader dies."""

from __future__ import annotations

import asyncio
import contextlib
import random

import asyncpg  # type: ignore[import-untyped]

from opencsms.cluster.leadership import Leadership


async def test_one_leader_at_a_time_and_the_lock_moves_when_the_leader_dies(pg_dsn: str) -> None:
    key = random.randrange(1 << 30)  # a lock private to this test on the shared server
    running: list[str] = []
    overlap: list[str] = []

    def work(name: str):  # type: ignore[no-untyped-def]
        async def lead() -> None:
            if running:
                overlap.append(name)
            running.append(name)
            try:
                await asyncio.Event().wait()
            finally:
                running.remove(name)

        return lead

    a = Leadership(pg_dsn, work("a"), key=key, retry=0.1)
    b = Leadership(pg_dsn, work("b"), key=key, retry=0.1)
    task_a = asyncio.create_task(a.run())
    await asyncio.wait_for(a.leading.wait(), 5)
    task_b = asyncio.create_task(b.run())
    await asyncio.sleep(0.5)
    assert running == ["a"]
    assert not b.leading.is_set()

    # The leader's database session dies (as when its node is SIGKILLed): the server frees the
    # lock, the leader stops its work, the other node takes over.
    admin = await asyncpg.connect(pg_dsn)
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks "
            "WHERE locktype = 'advisory' AND objid = $1 AND granted",
            key,
        )
    finally:
        await admin.close()
    await asyncio.wait_for(b.leading.wait(), 5)
    await asyncio.sleep(0.3)
    assert "b" in running
    assert overlap == []

    for task in (task_a, task_b):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert running == [], (a.terms, b.terms, task_a, task_b)
