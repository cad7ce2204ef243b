"""What every repository shares: the engine for reads, the writer for writes, value encoders."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from opencsms.errors import StorageError

from ..types import timestamp_encoder
from ..writer import GroupCommitWriter

__all__ = ["Repository", "dialect_insert", "storage_errors"]


def dialect_insert(dialect_name: str, table: Table) -> PgInsert | SqliteInsert:
    """An INSERT that supports ``ON CONFLICT`` on ``dialect_name`` (sqlite or postgresql)."""
    if dialect_name == "sqlite":
        return sqlite_insert(table)
    if dialect_name == "postgresql":
        return pg_insert(table)
    raise ValueError(f"unsupported dialect {dialect_name!r}")


@contextmanager
def storage_errors() -> Iterator[None]:
    """Translate SQLAlchemy exceptions into :class:`~opencsms.errors.StorageError`.

    Exceptions are translated at this one boundary so callers never import SQLAlchemy.
    """
    try:
        yield
    except SQLAlchemyError as exc:
        raise StorageError(f"database access failed: {exc}") from exc


class Repository:
    """Base of the repositories: reads go through the engine's pool, writes through the writer."""

    def __init__(self, engine: AsyncEngine, writer: GroupCommitWriter) -> None:
        self._engine = engine
        self._writer = writer
        self._dialect = engine.dialect.name
        self._ts: Callable[[datetime], Any] = timestamp_encoder(self._dialect)

    def _ts_or_none(self, value: datetime | None) -> Any:
        return None if value is None else self._ts(value)
