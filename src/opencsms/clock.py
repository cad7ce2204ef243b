"""Injected sources of time and identity.

Domain code never calls ``datetime.now()`` itself (ARCHITECTURE rule 3): it is handed a ``Clock`` so
that tests can freeze or advance time, and every timestamp it produces is timezone-aware UTC (rule
4).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Wall-clock time for records and a monotonic clock for deadlines."""

    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; only differences are meaningful."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


def utc_iso(moment: datetime) -> str:
    """Render an aware datetime as OCPP expects: RFC 3339, millisecond precision, 'Z'."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )
