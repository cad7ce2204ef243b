"""Storage: SQLAlchemy 2 (async) tables, Alembic migrations, a group-commit writer and repositories.

SQLite is the default, PostgreSQL the production database; the same contract tests run on both.
See ``docs/storage.md``.

The public names are loaded lazily (PEP 562): the writer's child process imports
``opencsms.storage.sqlite_worker`` and must not pay for SQLAlchemy on every start. Run migrations
with ``opencsms.storage.migrate.migrate`` (the submodule's name would shadow a re-export).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .db import create_engine, normalize_url
    from .store import Storage
    from .writer import GroupCommitWriter, WriterStats

__all__ = [
    "GroupCommitWriter",
    "Storage",
    "WriterStats",
    "create_engine",
    "normalize_url",
]

_HOMES = {
    "GroupCommitWriter": ".writer",
    "WriterStats": ".writer",
    "Storage": ".store",
    "create_engine": ".db",
    "normalize_url": ".db",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home, __name__), name)
