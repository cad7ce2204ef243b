"""Fixtures of the cluster tests: a fresh PostgreSQL database (migrated) and the NATS server,
both the real servers at 127.0.0.1 (``OPENCSMS_TEST_PG``, ``OPENCSMS_TEST_NATS`` move them)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import asyncpg  # type: ignore[import-untyped]
import pytest

from opencsms.storage.migrate import migrate

PG_ADMIN_DSN = os.environ.get("OPENCSMS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
NATS_URL = os.environ.get("OPENCSMS_TEST_NATS", "nats://127.0.0.1:4222")


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
async def pg_dsn() -> AsyncIterator[str]:
    """A fresh database migrated to head; its plain ``postgresql://`` DSN."""
    name = f"cluster_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}"')
    dsn = f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    try:
        await migrate(dsn.replace("postgresql://", "postgresql+asyncpg://", 1))
        yield dsn
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def nats_url() -> str:
    return NATS_URL
