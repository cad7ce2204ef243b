"""Column types and value codecs shared by the tables, the repositories and the writer.

Timestamps
----------
PostgreSQL stores them as ``timestamp with time zone``. SQLite has no time-zone type, so there they
are stored as fixed-width ISO-8601 UTC text, ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00`` (always 32
characters). The fixed width makes text order equal time order, so ``<``, ``ORDER BY`` and
``max()`` work on the column, and the text stays readable in the ``sqlite3`` shell. Naive datetimes
are rejected, never guessed (ARCHITECTURE.md rule 4); aware ones in another zone are converted.

The hot write path bypasses SQLAlchemy's type system (it sends driver-level tuples), so the same
conversion is also available as a plain function per dialect: :func:`timestamp_encoder`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = [
    "UtcDateTime",
    "decode_sqlite_timestamp",
    "encode_sqlite_timestamp",
    "ensure_utc",
    "timestamp_encoder",
]


def ensure_utc(value: datetime) -> datetime:
    """Return ``value`` in UTC; raise ``ValueError`` for a naive datetime."""
    offset = value.utcoffset()
    if offset is None:
        raise ValueError(f"naive datetime {value!r}: the store only takes timezone-aware UTC")
    if offset or value.tzinfo is not UTC:
        return value.astimezone(UTC)
    return value


def encode_sqlite_timestamp(value: datetime) -> str:
    """Encode an aware datetime as the fixed-width ISO-8601 UTC text stored in SQLite."""
    if value.tzinfo is not UTC:
        return ensure_utc(value).isoformat(timespec="microseconds")
    # Four to nine of these per station message, nearly all in a few distinct seconds (now, the
    # station's sample time, the session's start): the date and time of day of each second are
    # formatted once (isoformat goes through C's printf machinery, ~1.5 us). One remembered
    # second missed every time a message mixed the station's times with the CSMS's.
    second = (value.second, value.minute, value.hour, value.day, value.month, value.year)
    text = _seconds.get(second)
    if text is None:
        if len(_seconds) >= _SECONDS_KEPT:
            _seconds.clear()
        text = _seconds[second] = value.replace(microsecond=0, tzinfo=None).isoformat()
    return f"{text}.{value.microsecond:06d}+00:00"


_SECONDS_KEPT = 4_096
"""Formatted seconds remembered (a session's start time is one per open session; past this the
memo starts over)."""

_seconds: dict[tuple[int, ...], str] = {}
"""Whole seconds already formatted (the event loop's thread is the only writer)."""


def decode_sqlite_timestamp(value: str) -> datetime:
    """Decode the text written by :func:`encode_sqlite_timestamp` to an aware UTC datetime."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:  # written by hand in the sqlite3 shell: UTC by convention
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC) if parsed.utcoffset() else parsed.replace(tzinfo=UTC)


def timestamp_encoder(dialect_name: str) -> Callable[[datetime], Any]:
    """Return the function turning an aware datetime into a driver-level parameter.

    asyncpg takes aware datetimes for ``timestamptz`` as they are; SQLite takes our text form.
    """
    if dialect_name == "sqlite":
        return encode_sqlite_timestamp
    return ensure_utc


class UtcDateTime(TypeDecorator[datetime]):
    """An aware-UTC datetime column: ``timestamptz`` on PostgreSQL, ISO-8601 text on SQLite."""

    impl = String(32)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Pick the storage type per dialect (see the module docstring)."""
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(TIMESTAMP(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        """Convert to the driver value; reject naive datetimes."""
        if value is None:
            return None
        if dialect.name == "sqlite":
            return encode_sqlite_timestamp(value)
        return ensure_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime whatever the backend handed back."""
        if value is None:
            return None
        if isinstance(value, str):
            return decode_sqlite_timestamp(value)
        if isinstance(value, datetime):
            return ensure_utc(value) if value.tzinfo else value.replace(tzinfo=UTC)
        raise TypeError(f"unexpected timestamp value {value!r}")
