"""Durations as operators write them: ``60``, ``"60s"``, ``"500ms"``, ``"5m"``, ``"1h"``,
``"1m30s"``. One parser for the load generator's options and the simulator's scenario files."""

from __future__ import annotations

import re

__all__ = ["parse_seconds"]

_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|s|m|min|h)?")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, None: 1.0}


def parse_seconds(text: str) -> float:
    """Seconds in ``text``; raises ``ValueError`` saying what is accepted."""
    text = text.strip().lower()
    if not text:
        raise ValueError("duration is empty; use e.g. 60s, 5m or 1h")
    position, total = 0, 0.0
    while position < len(text):
        match = _PART.match(text, position)
        if match is None:
            raise ValueError(f"duration must look like 60s, 5m, 1h, 1m30s or 500ms, got {text!r}")
        total += float(match.group(1)) * _SECONDS[match.group(2)]
        position = match.end()
    return total
