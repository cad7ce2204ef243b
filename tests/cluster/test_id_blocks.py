"""Ids allocated by several nodes on one PostgreSQL database never collide (IdAllocator)."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from opencsms.storage.db import create_engine
from opencsms.storage.repositories.base import ID_BLOCK, IdAllocator
from opencsms.storage.tables import commands


async def test_nodes_take_disjoint_blocks_starting_after_the_existing_rows(pg_dsn: str) -> None:
    url = pg_dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    engines = [create_engine(url) for _ in range(3)]
    try:
        async with engines[0].begin() as conn:  # a row written before any allocation
            await conn.execute(
                sa.text(
                    "INSERT INTO commands (id, station_id, ocpp_version, action, payload, "
                    "requested_by, requested_at, status) VALUES (41, 'CS', '1.6', 'Reset', '{}', "
                    "'api', now(), 'Answered')"
                )
            )
        nodes = [IdAllocator(engine, commands.c.id) for engine in engines]

        async def take(allocator: IdAllocator, count: int) -> list[int]:
            return [await allocator.next() for _ in range(count)]

        taken = await asyncio.gather(*(take(n, ID_BLOCK * 2 + 7) for n in nodes))
        every = [i for ids in taken for i in ids]
        assert len(every) == len(set(every))  # no number handed out twice
        assert min(every) == 42  # after the existing row
        # A node whose number was taken anyway (rows written by other means) starts after them.
        async with engines[0].begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO commands (id, station_id, ocpp_version, action, payload, "
                    "requested_by, requested_at, status) VALUES (100000, 'CS', '1.6', 'Reset', "
                    "'{}', 'api', now(), 'Answered')"
                )
            )
        nodes[0].reseed()
        assert await nodes[0].next() > 100000
    finally:
        for engine in engines:
            await engine.dispose()
