"""The background worker that keeps managed stations' local lists in sync.

Automatic syncs happen when

* a managed station boots (Accepted): its list may be gone after a reboot or a repair, so the
  sync asks GetLocalListVersion and sends the Full list if the version is not the one it last
  accepted, the changes otherwise, or nothing;
* a managed station reconnects without booting and is out of sync (a token changed while it was
  away, or its last sync failed);
* a token changes: after ``debounce`` seconds without further changes (a CSV import or a burst
  of API edits is one change), every connected managed station is queued.

Every sync goes through one queue served by ``concurrency`` consumers, so an operator with
10,000 connected stations who changes one token never has more than ``concurrency`` syncs (each
one CALL at a time) in flight, and a station queued twice is synced once. A station that is not
connected when its turn comes is skipped: it is synced when it comes back.

Policy (``local_lists`` setting): ``managed`` (default) syncs automatically only stations whose
list the CSMS manages already (an operator synced them once through the API); ``all`` also takes
every station that boots Accepted under management; ``off`` syncs only on request. A station that
said it has no local list is left alone by automatic syncs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Literal

from opencsms.domain.local_list_model import UpdateStatus
from opencsms.domain.local_lists import LocalListPort, LocalListService
from opencsms.errors import OpenCsmsError

__all__ = ["LocalListPolicy", "LocalListWorker"]

log = logging.getLogger("opencsms.local_lists")

LocalListPolicy = Literal["managed", "all", "off"]


class LocalListWorker:
    """Queues and runs automatic local-list syncs (see the module docstring)."""

    def __init__(
        self,
        service: LocalListService,
        port_for: Callable[[str], LocalListPort | None],
        *,
        policy: LocalListPolicy = "managed",
        debounce: float = 2.0,
        concurrency: int = 8,
    ) -> None:
        self._service = service
        self._port_for = port_for
        self._policy: LocalListPolicy = policy
        self._debounce = debounce
        self._concurrency = max(1, concurrency)
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._pending: dict[str, bool] = {}
        """Queued stations → whether the reason includes a boot."""
        self._changed = asyncio.Event()
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.syncs = 0
        """Syncs run (for tests and metrics)."""

    # ------------------------------------------------------------------ triggers

    def tokens_changed(self) -> None:
        """A token was created, changed or deleted."""
        self._service.tokens_changed()
        if self._policy != "off":
            self._changed.set()

    def station_booted(self, station_id: str) -> None:
        """The station's BootNotification was answered Accepted."""
        self._enqueue(station_id, boot=True)

    def station_connected(self, station_id: str) -> None:
        """The station connected (its registration is Accepted)."""
        self._enqueue(station_id, boot=False)

    def _enqueue(self, station_id: str, *, boot: bool) -> None:
        if self._policy == "off":
            return
        if station_id in self._pending:
            self._pending[station_id] = self._pending[station_id] or boot
            return
        self._pending[station_id] = boot
        self._idle.clear()
        self._queue.put_nowait(station_id)

    async def idle(self) -> None:
        """Return once no sync is queued or running (its result is stored by then)."""
        await self._idle.wait()

    # ------------------------------------------------------------------ running

    async def run(self) -> None:
        """Serve the queue until cancelled (owned by the node's task group)."""
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._debouncer(), name="local-lists-debounce")
            for n in range(self._concurrency):
                tasks.create_task(self._consume(), name=f"local-lists-{n}")

    async def _debouncer(self) -> None:
        while True:
            await self._changed.wait()
            while True:  # wait for a quiet period: a burst of edits is one change
                self._changed.clear()
                await asyncio.sleep(self._debounce)
                if not self._changed.is_set():
                    break
            try:
                managed = sorted(await self._service.managed())
            except OpenCsmsError as exc:
                log.warning("local lists: cannot read the managed stations: %s", exc)
                continue
            for station_id in managed:
                if self._port_for(station_id) is not None:
                    self._enqueue(station_id, boot=False)

    async def _consume(self) -> None:
        while True:
            station_id = await self._queue.get()
            boot = self._pending.pop(station_id, False)
            self._busy += 1
            try:
                await self._sync(station_id, boot=boot)
            except OpenCsmsError as exc:
                log.info("station %s: local list sync failed: %s", station_id, exc)
            except Exception:  # a bug must not stop the worker; the next trigger retries
                log.exception("station %s: local list sync failed", station_id)
            finally:
                self._busy -= 1
                if self._busy == 0 and self._queue.empty():
                    self._idle.set()

    async def _sync(self, station_id: str, *, boot: bool) -> None:
        port = self._port_for(station_id)
        if port is None:
            return
        service = self._service
        managed = station_id in await service.managed()
        if not managed and not (boot and self._policy == "all"):
            return
        if managed and not boot and not await service.needs_sync(station_id, port.ocpp_version):
            return
        state = await service.stored(station_id)
        if state is not None and state.last_result == UpdateStatus.NOT_SUPPORTED:
            return  # the station said it has no local list: only an operator's sync retries
        self.syncs += 1
        report = await service.sync(station_id, port)
        log.info(
            "station %s: local list %s (version %s, %d messages)",
            station_id,
            report.result,
            report.state.version,
            report.messages,
        )
