"""The background worker that applies desired configuration to connected stations
(docs/configuration-management.md).

A station is queued when

* it boots Accepted (its configuration may have been reset, or it is new): the apply runs after
  the BootNotification is answered, as the node's own command (``requested_by`` ``csms`` in the
  command log);
* an operator changes what it should run with (its own entries, or a profile: then every
  connected station is queued, and those the profile does not match have nothing to do).

One queue, served by ``concurrency`` consumers: a reconnect storm of thousands of stations never
has more than ``concurrency`` applies (each one CALL at a time) in flight, and a station queued
twice is applied once. A station that is gone when its turn comes is skipped; its next boot
queues it again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from opencsms.domain.desired_config_service import DesiredConfigService, StationPort
from opencsms.errors import OpenCsmsError

__all__ = ["DesiredConfigWorker"]

log = logging.getLogger("opencsms.configuration")


class DesiredConfigWorker:
    """Queues and runs automatic applies of desired configuration (module docstring)."""

    def __init__(
        self,
        service: DesiredConfigService,
        port_for: Callable[[str], StationPort | None],
        connected: Callable[[], Iterable[str]],
        *,
        on_boot: bool = True,
        concurrency: int = 4,
    ) -> None:
        self._service = service
        self._port_for = port_for
        self._connected = connected
        self._on_boot = on_boot
        self._concurrency = max(1, concurrency)
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.applies = 0
        """Applies run (for tests and metrics)."""

    # ------------------------------------------------------------------ triggers

    def station_booted(self, station_id: str) -> None:
        """The station's BootNotification was answered Accepted."""
        if self._on_boot:
            self._enqueue(station_id)

    def station_changed(self, station_id: str) -> None:
        """An operator changed the station's own desired configuration."""
        self._enqueue(station_id)

    def profiles_changed(self) -> None:
        """A profile was created, changed or deleted: every connected station may be concerned."""
        for station_id in sorted(self._connected()):
            self._enqueue(station_id)

    def _enqueue(self, station_id: str) -> None:
        if station_id in self._queued:
            return
        self._queued.add(station_id)
        self._idle.clear()
        self._queue.put_nowait(station_id)

    async def idle(self) -> None:
        """Return once no apply is queued or running (its results are stored by then)."""
        await self._idle.wait()

    # ------------------------------------------------------------------ running

    async def run(self) -> None:
        """Serve the queue until cancelled (owned by the node's task group)."""
        async with asyncio.TaskGroup() as tasks:
            for n in range(self._concurrency):
                tasks.create_task(self._consume(), name=f"desired-config-{n}")

    async def _consume(self) -> None:
        while True:
            station_id = await self._queue.get()
            self._queued.discard(station_id)
            self._busy += 1
            try:
                await self._apply(station_id)
            except OpenCsmsError as exc:
                log.info("station %s: desired configuration not applied: %s", station_id, exc)
            except Exception:  # a bug must not stop the worker; the next trigger retries
                log.exception("station %s: desired configuration not applied", station_id)
            finally:
                self._busy -= 1
                if self._busy == 0 and self._queue.empty():
                    self._idle.set()

    async def _apply(self, station_id: str) -> None:
        port = self._port_for(station_id)
        if port is None:
            return
        self.applies += 1
        report = await self._service.apply(station_id, port)
        if report.kind is None:
            return
        drifting = [d.key for d in report.drift if not d.in_sync]
        log.info(
            "station %s: desired configuration applied (%d sent, %d skipped, %d drifting%s)",
            station_id,
            len(report.attempts),
            len(report.skipped),
            len(drifting),
            f": {', '.join(drifting)}" if drifting else "",
        )
