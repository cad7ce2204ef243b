"""Work that must run on exactly one node at a time, under a PostgreSQL advisory lock.

Offline detection, reservation expiry, job deadlines, webhook delivery and load allocation each
must run once in the cluster. The node that holds the session-level advisory lock ``key`` runs
them; the others keep trying every ``retry`` seconds. The lock belongs to one database
connection, held open for as long as the node leads: when the node dies (even SIGKILL) the
server sees the connection close and frees the lock, and another node takes over within a retry
period. A leader checks its connection every ``retry`` seconds and stops its work when the check
fails or takes longer than ``2 × retry``; a new leader waits ``4 × retry`` after taking the lock
before it starts, so the old leader has stopped by then and two nodes never lead together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import asyncpg  # type: ignore[import-untyped]

__all__ = ["Leadership"]

log = logging.getLogger(__name__)

LEADER_LOCK_KEY = 0x0C5_0C5_10
"""The advisory lock of the cluster's singleton work (any constant no other software uses)."""


class Leadership:
    """Run ``work`` while this node holds the cluster's leader lock."""

    def __init__(
        self,
        dsn: str,
        work: Callable[[], Coroutine[Any, Any, None]],
        *,
        key: int = LEADER_LOCK_KEY,
        retry: float = 1.0,
    ) -> None:
        self._dsn = dsn
        self._work = work
        self._key = key
        self._retry = retry
        self.leading = asyncio.Event()
        self.terms = 0
        """How many times this node became leader."""

    async def run(self) -> None:
        """Try to lead forever; lead while the lock is held (cancel to stop)."""
        me = asyncio.current_task()
        while True:
            try:
                await self._term()
            except Exception as exc:  # a lost server or connection: never stop trying to lead
                log.warning("leader election: %s: %s; retrying", type(exc).__name__, exc)
            # Python 3.11's wait_for (inside asyncpg.connect) can swallow a cancellation that
            # races with its own completion; the request is still counted on the task.
            if me is not None and me.cancelling():
                raise asyncio.CancelledError
            await asyncio.sleep(self._retry)

    async def _term(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        try:
            # Polling is the point: the lock is the server's, there is no local event to await.
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._key):  # noqa: ASYNC110
                await asyncio.sleep(self._retry)
            # The previous leader may not know yet that it lost the lock: it finds out at its
            # next connection check, at most ``2 × retry`` later (the check's timeout) plus the
            # check period. Starting only after that keeps two leaders from ever overlapping.
            await asyncio.sleep(self._retry * 4)
            await conn.fetchval("SELECT 1", timeout=self._retry * 2)
            self.terms += 1
            self.leading.set()
            log.info("this node leads the cluster's singleton work")
            work: asyncio.Task[None] = asyncio.create_task(self._work(), name="leader-work")
            try:
                while not work.done():
                    # The lock lives as long as this connection: check it, stop when it is gone.
                    await conn.fetchval("SELECT 1", timeout=self._retry * 2)
                    await asyncio.wait({work}, timeout=self._retry)
                work.result()
            finally:
                self.leading.clear()
                await _stop(work)
        finally:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)


async def _stop(work: asyncio.Task[None]) -> None:
    """Cancel ``work`` and wait until it has finished its cleanup, even if the caller is itself
    cancelled meanwhile (the caller's cancellation is passed on afterwards): the next leader
    must never find this one's work still running."""
    work.cancel()
    interrupted = False
    while not work.done():
        try:
            await asyncio.wait({work})
        except asyncio.CancelledError:
            interrupted = True
    if not work.cancelled() and work.exception() is not None:
        log.error("the leader's work failed", exc_info=work.exception())
    if interrupted:
        raise asyncio.CancelledError
