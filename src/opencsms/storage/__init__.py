"""Storage: SQLAlchemy 2 (async) tables, Alembic migrations, a group-commit writer and repositories.

SQLite is the default, PostgreSQL the production database; the same contract tests run on both.
See ``docs/storage.md``.
"""

from .db import create_engine, normalize_url
from .migrate import migrate
from .store import Storage
from .writer import GroupCommitWriter, WriterStats

__all__ = [
    "GroupCommitWriter",
    "Storage",
    "WriterStats",
    "create_engine",
    "migrate",
    "normalize_url",
]
