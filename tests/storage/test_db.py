"""Engine construction, URL normalisation, timestamp codec, migrations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from opencsms.domain.model import MeterValueRecord
from opencsms.storage import Storage, create_engine, normalize_url
from opencsms.storage.migrate import migrate, migrate_engine
from opencsms.storage.repositories.meter import samples_digest
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
                "0020_meter_values_one_index"
            )
            assert await conn.run_sync(_schema_diff) == []
    finally:
        await engine.dispose()


async def test_meter_digest_migration_keeps_rows_and_gives_them_their_digest(
    fresh_db_url: str,
) -> None:
    """0004 adds the content digest to the meter-value identity: rows stored before it get
    their digest, so a resend of them after the upgrade is still recognised."""
    db_url = fresh_db_url
    engine = create_engine(db_url)
    try:
        await _meter_row_at(engine, "0003_local_lists_reservations", '[{"value":"12"}]')
        await migrate_engine(engine)
        async with engine.connect() as conn:
            rows = (
                await conn.execute(text("SELECT samples, samples_digest FROM meter_values"))
            ).all()
    finally:
        await engine.dispose()
    assert [(r.samples, r.samples_digest) for r in rows] == [
        ('[{"value":"12"}]', samples_digest('[{"value":"12"}]'))
    ]


async def test_one_meter_index_migration_keeps_rows_and_their_identity(fresh_db_url: str) -> None:
    """0020 re-keys the meter-value identity (transaction before time) and drops the second
    index: rows stored before it stay, and a resend of one after the upgrade is still
    recognised as such."""
    db_url = fresh_db_url
    engine = create_engine(db_url)
    samples = '[{"value":"12"}]'
    try:
        await _meter_row_at(engine, "0019_id_blocks", samples, samples_digest(samples))
        await migrate_engine(engine)
    finally:
        await engine.dispose()
    store = await Storage.open(db_url)
    try:
        resend = MeterValueRecord(
            station_id="CP-M",
            evse_id=1,
            connector_id=1,
            transaction_id="7",
            timestamp=datetime(2025, 1, 1, tzinfo=UTC),
            samples_json=samples,
            context="Sample.Periodic",
            received_at=datetime(2025, 1, 2, tzinfo=UTC),
        )
        await store.meter.add([resend])
        stored = await store.meter.for_transaction("CP-M", "7")
    finally:
        await store.aclose()
    assert [(r.samples_json, r.received_at) for r in stored] == [
        (samples, datetime(2025, 1, 1, tzinfo=UTC))  # the row from before, not the resend
    ]


async def _meter_row_at(
    engine: AsyncEngine, revision: str, samples: str, digest: str | None = None
) -> None:
    """Migrate to ``revision`` and store one meter value of station CP-M, session 7, as the
    schema of that revision takes it (before 0004 there is no digest column)."""
    await migrate_engine(engine, revision)
    columns = "station_id, evse_id, connector_id, transaction_id, timestamp, samples, context"
    values = "'CP-M', 1, 1, '7', :ts, :samples, 'Sample.Periodic'"
    params = {"ts": _ts_param(str(engine.url)), "samples": samples}
    if digest is not None:
        columns, values = f"{columns}, samples_digest", f"{values}, :digest"
        params["digest"] = digest
    async with engine.begin() as conn:
        await conn.execute(
            text(f"INSERT INTO meter_values ({columns}, received_at) VALUES ({values}, :ts)"),
            params,
        )


def _ts_param(db_url: str) -> object:
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    return encode_sqlite_timestamp(moment) if db_url.startswith("sqlite") else moment


def test_timestamp_text_is_isoformat_across_seconds_and_far_from_1970() -> None:
    """The encoder formats a second once and reuses it: neighbouring values on both sides of a
    second's edge, a month apart at the same time of day, and the first and last years all come
    out as the full isoformat would write them."""
    edge = datetime(2026, 11, 26, 7, 59, 59, 999_999, tzinfo=UTC)
    moments = [edge, edge + timedelta(microseconds=1), edge, edge + timedelta(seconds=1)]
    moments += [edge.replace(microsecond=0), edge.replace(microsecond=0) + timedelta(days=31)]
    for far in (datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)):
        moments += [far, far.replace(microsecond=999_999), far.replace(microsecond=1)]
    moments.append(datetime(2026, 1, 1, 2, tzinfo=timezone(timedelta(hours=2))))
    # A message mixes a few seconds (now, the station's sample time, the session's start), and
    # more distinct seconds than the memo keeps must start it over, not serve a stale one.
    moments += [edge, edge - timedelta(hours=5, microseconds=3), edge, edge - timedelta(hours=5)]
    moments += [edge + timedelta(seconds=n, microseconds=n) for n in range(5_000)]
    moments += [edge, edge - timedelta(hours=5, microseconds=3)]
    for moment in moments:
        expected = moment.astimezone(UTC).isoformat(timespec="microseconds")
        assert encode_sqlite_timestamp(moment) == expected
