"""Fixtures: the same contract tests run on SQLite (a temp file) and PostgreSQL (a real server).

PostgreSQL: a fresh, uniquely named database is created on the server at 127.0.0.1:5432 (user
postgres, trust auth) through the existing ``test`` database, migrated once per session, emptied
before each test, and dropped at the end. Set ``OPENCSMS_TEST_PG`` to another admin DSN to move it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest

from opencsms.domain.model import RegistrationStatus, Station, Strictness
from opencsms.storage import Storage
from opencsms.storage.migrate import migrate
from opencsms.storage.tables import metadata

PG_ADMIN_DSN = os.environ.get("OPENCSMS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")

T0 = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
"""A fixed instant: tests never read the wall clock."""


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, now: datetime = T0) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def monotonic(self) -> float:
        return self.current.timestamp()

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


def make_station(station_id: str = "CP-1", *, at: datetime = T0, **overrides: object) -> Station:
    """Builder for a provisioned station."""
    fields: dict[str, object] = {
        "id": station_id,
        "password_hash": None,
        "registration": RegistrationStatus.ACCEPTED,
        "strictness": Strictness.STRICT,
        "heartbeat_interval": 300,
        "created_at": at,
        "updated_at": at,
    }
    fields.update(overrides)
    return Station(**fields)  # type: ignore[arg-type]


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A migrated PostgreSQL database private to this test session."""
    name = f"opencsms_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL not reachable at {PG_ADMIN_DSN}: {exc}")
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    try:
        asyncio.run(migrate(url))
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
async def fresh_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty, never migrated database of each backend (for migration tests)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"opencsms_fresh_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "sqlite-thread", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated-or-migratable database of each backend.

    ``sqlite`` commits in the writer's child process (the default), ``sqlite-thread`` in a thread.
    """
    if request.param.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'opencsms.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def sqlite_process(request: pytest.FixtureRequest) -> bool:
    callspec = getattr(request.node, "callspec", None)
    return not (callspec is not None and callspec.params.get("db_url") == "sqlite-thread")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
async def storage(db_url: str, clock: FixedClock, sqlite_process: bool) -> AsyncIterator[Storage]:
    """An open :class:`Storage` on an empty database."""
    store = await Storage.open(db_url, clock=clock, sqlite_process=sqlite_process)
    if store.engine.dialect.name == "postgresql":
        names = ", ".join(table.name for table in metadata.sorted_tables)
        async with store.engine.begin() as conn:
            await conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY")
    try:
        yield store
    finally:
        await store.aclose()
