"""Waiting in tests for state that changes in other tasks and announces itself with no event."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(condition: Callable[[], bool], wait: float = 5.0) -> None:
    """Return once ``condition()`` holds, re-reading it every 20 ms; fail after ``wait`` seconds."""
    async with asyncio.timeout(wait):
        while not condition():  # noqa: ASYNC110 (no event to await: the state is polled)
            await asyncio.sleep(0.02)
