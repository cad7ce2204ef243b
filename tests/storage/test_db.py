"""Engine construction, URL normalisation, timestamp codec, migrations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from opencsms.storage import create_engine, normalize_url
from opencsms.storage.migrate import migrate
from opencsms.storage.tables import metadata
from opencsms.storage.types import decode_sqlite_timestamp, encode_sqlite_timestamp, ensure_utc


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("sqlite:////abs/x.db", "sqlite+aiosqlite:////abs/x.db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgres://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite+pysqlite:///x.db", "sqlite+pysqlite:///x.db"),
    ],
)
def test_normalize_url(given: str, expected: str) -> None:
    assert normalize_url(given) == expected


@pytest.mark.parametrize("bad", ["x.db", "mysql://h/db"])
def test_normalize_url_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match=r"URL|unsupported"):
        normalize_url(bad)


async def test_sqlite_pragmas(tmp_path: object) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/p.db")
    try:
        async with engine.connect() as conn:
            assert (await conn.scalar(text("PRAGMA journal_mode"))) == "wal"
            assert (await conn.scalar(text("PRAGMA synchronous"))) == 2  # FULL
            assert (await conn.scalar(text("PRAGMA foreign_keys"))) == 1
            assert (await conn.scalar(text("PRAGMA busy_timeout"))) == 10_000
    finally:
        await engine.dispose()


def test_timestamp_text_is_fixed_width_utc_and_ordered() -> None:
    cest = timezone(timedelta(hours=2))
    a = datetime(2025, 1, 1, 0, 0, tzinfo=UTC)
    b = datetime(2025, 1, 1, 1, 30, 0, 5, tzinfo=cest)  # earlier than a: 23:30 UTC the day before
    ea, eb = encode_sqlite_timestamp(a), encode_sqlite_timestamp(b)
    assert ea == "2025-01-01T00:00:00.000000+00:00"
    assert eb == "2024-12-31T23:30:00.000005+00:00"
    assert len(ea) == len(eb) == 32
    assert eb < ea
    assert decode_sqlite_timestamp(eb) == b
    assert decode_sqlite_timestamp(eb).tzinfo is UTC


def test_naive_datetime_is_rejected() -> None:
    with pytest.raises(ValueError, match="naive"):
        ensure_utc(datetime(2025, 1, 1))


def _schema_diff(conn: Connection) -> list[object]:
    context = MigrationContext.configure(conn, opts={"compare_type": False})
    return list(compare_metadata(context, metadata))


async def test_migrations_apply_twice_and_match_tables(db_url: str) -> None:
    await migrate(db_url)
    await migrate(db_url)  # at head already: a no-op, as on every server start
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT version_num FROM alembic_version")) == (
                "0003_local_lists_reservations"
            )
            assert await conn.run_sync(_schema_diff) == []
    finally:
        await engine.dispose()
