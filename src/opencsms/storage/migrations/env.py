"""Alembic environment for OpenCSMS, async-capable.

Two ways in:

* :func:`opencsms.storage.migrate.migrate` (the server, on every start) opens the connection itself
  and passes it in ``config.attributes["connection"]``; this file then only runs the migrations.
* The ``alembic`` command line (``-x url=...`` or ``OPENCSMS_DATABASE_URL``) has no connection: this
  file creates an async engine and drives it with ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from opencsms.storage.db import create_engine
from opencsms.storage.tables import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode recreates the table for later revisions.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get(
        "OPENCSMS_DATABASE_URL"
    )
    if not url:
        raise SystemExit("give the database as -x url=... or OPENCSMS_DATABASE_URL")
    return url


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")

_connection = config.attributes.get("connection")
if _connection is not None:
    _run(_connection)
else:
    asyncio.run(_run_async(_url()))
