"""Plain-text tables and field lists for people: aligned columns, ``-`` for nothing, times in UTC
(marked ``Z``).

No colours and no box drawing, so the output reads the same in a terminal, a log file and an
e-mail; scripts use ``--json`` instead of parsing these.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

NOTHING = "-"

Column = tuple[str, Callable[[dict[str, Any]], Any]]
"""A column: its header and how to get its cell from one item."""


def table(items: Iterable[dict[str, Any]], columns: Sequence[Column]) -> str:
    """``items`` as rows under upper-case headers, each column as wide as its widest cell."""
    rows = [[header.upper() for header, _ in columns]]
    rows += [[cell(get(item)) for _, get in columns] for item in items]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def fields(pairs: Sequence[tuple[str, Any]]) -> str:
    """A record as ``name  value`` lines, names aligned."""
    width = max((len(name) for name, _ in pairs), default=0)
    return "\n".join(f"{name.ljust(width)}  {cell(value)}".rstrip() for name, value in pairs)


def cell(value: Any) -> str:
    """One value as text: ``-`` for None or empty, yes/no for booleans."""
    if value is None or value == "":
        return NOTHING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value) or NOTHING
    return str(value)


def when(value: Any) -> str | None:
    """An API date-time (``2026-11-25T10:00:03.120000Z``) as ``2026-11-25 10:00:03Z``; None
    stays None and anything that is not a date-time is shown as it came."""
    if not isinstance(value, str):
        return None if value is None else str(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S") + "Z"


def kwh(wh: Any) -> str | None:
    """Watt-hours as kWh with three decimals (what a meter display shows)."""
    if not isinstance(wh, int | float):
        return None
    return f"{wh / 1000:.3f}"


def shorten(text: Any, width: int) -> str | None:
    """``text`` cut to ``width`` characters with ``…`` when longer (for wide cells)."""
    if text is None:
        return None
    whole = str(text)
    return whole if len(whole) <= width else whole[: width - 1] + "…"


def page_footer(shown: int, total: int | None, noun: str, hint: str) -> str | None:
    """``100 of 250 stations shown; --all for every one`` when a list was cut, else None."""
    if total is None or shown >= total:
        return None
    return f"{shown} of {total} {noun} shown; {hint}"


def with_footer(body: str, footer: str | None) -> str:
    return body if footer is None else f"{body}\n\n{footer}"
