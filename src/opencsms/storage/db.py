"""Engine construction: URL normalisation and per-backend connection settings.

SQLite (the default) runs in WAL mode with ``synchronous=FULL``: a station's message is acknowledged
only after what it reported is durable, and the group-commit writer (:mod:`.writer`) amortises the
fsync over every message that arrived while the previous commit was in flight. PostgreSQL (for
production and clusters) uses a bounded connection pool.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from .sqlite_worker import SQLITE_BUSY_TIMEOUT_MS, configure_sqlite_connection

__all__ = [
    "SQLITE_BUSY_TIMEOUT_MS",
    "configure_sqlite_connection",
    "create_engine",
    "normalize_url",
]

"""How long a SQLite connection waits for the write lock before failing with ``database is locked``.

The writer holds the lock for one batch (milliseconds); maintenance such as the audit purge works
in bounded chunks, so 10 s is only ever reached when something is badly wrong."""

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def normalize_url(url: str) -> str:
    """Give a database URL the async driver OpenCSMS uses.

    ``sqlite:///x.db`` becomes ``sqlite+aiosqlite:///x.db``; ``postgresql://`` and ``postgres://``
    become ``postgresql+asyncpg://``. A URL that already names a driver is returned unchanged.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL: {url!r}")
    if "+" in scheme:
        return url
    driver = _DRIVERS.get(scheme.lower())
    if driver is None:
        raise ValueError(f"unsupported database {scheme!r}: use sqlite or postgresql")
    return f"{driver}://{rest}"


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    configure_sqlite_connection(dbapi_connection)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create the async engine for ``url`` (normalised with :func:`normalize_url`).

    Extra keyword arguments go to :func:`sqlalchemy.ext.asyncio.create_async_engine` and override
    the defaults chosen here.
    """
    normalized = make_url(normalize_url(url))
    backend = normalized.get_backend_name()
    options: dict[str, Any] = {}
    if backend == "sqlite":
        # The aiosqlite dialect's own timeout is the sqlite3 ``timeout`` argument (seconds); keep
        # it in step with busy_timeout so whichever fires first says the same thing.
        options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    elif backend == "postgresql":
        # One writer connection plus API reads; pre-ping survives a server restart.
        options.update(pool_size=10, max_overflow=10, pool_pre_ping=True, pool_recycle=1800)
    options.update(kwargs)
    engine = create_async_engine(normalized, **options)
    if backend == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
    return engine
