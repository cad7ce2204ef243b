"""A load run: ramp the stations up, hold while driving the mix, shut down cleanly, report.

Phases:

1. **ramp** — stations start at ``options.ramp`` per second (``None``: all at once), at most
   ``connect_concurrency`` handshakes in flight; each connects and boots. The ramp ends when every
   station is Accepted, or ``ramp_timeout`` seconds after the last one started.
2. **hold** — for ``duration`` seconds the stations drive the mix (or only heartbeat when idle).
   Mix CALLs are counted by the phase they were *sent* in, so every counted CALL has its answer.
3. **stop** — no new CALLs; the ones in flight are answered, every connection is closed with a
   close handshake. A second :meth:`LoadRun.stop` (Ctrl-C twice) cuts the wait short.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opencsms.load.options import LoadOptions, OptionError
from opencsms.load.report import build_report
from opencsms.load.station import LoadStation, Shared
from opencsms.load.stats import LoadStats

__all__ = ["LoadRun", "Snapshot", "raise_open_files_limit"]

log = logging.getLogger("opencsms.load")

#: Descriptors beyond one per station: the loop, logging, a JSON report, the CSMS test process...
SPARE_DESCRIPTORS = 256


def raise_open_files_limit(needed: int) -> int:
    """Lift the soft RLIMIT_NOFILE to the hard limit when ``needed`` descriptors do not fit.

    Returns the soft limit in force. Raises :class:`OptionError` when even the hard limit is
    too low: every station is one socket, and a run that fails with EMFILE halfway through would
    report a CSMS problem that is really ours.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return soft
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise OptionError(
            f"{needed} open files are needed but the hard limit is {hard}; "
            f"raise it (ulimit -Hn, or LimitNOFILE= for a service) or run fewer stations"
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return int(hard) if hard != resource.RLIM_INFINITY else needed


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the progress view shows; read from the counters, never synchronised on."""

    phase: str
    stations: int
    started: int
    connected: int
    accepted: int
    answered: int
    errors: int
    reconnects: int
    elapsed: float
    hold_elapsed: float
    duration: float | None


class LoadRun:
    """One run of ``options``: ``report = await LoadRun(options).run()``.

    :meth:`stop` may be called at any time (a signal handler does); :meth:`wait_for` lets a
    caller (a test, a benchmark) wait for a state of the fleet, woken on connection-level events.
    """

    def __init__(self, options: LoadOptions) -> None:
        self.options = options
        self.stats = LoadStats()
        self.stations: list[LoadStation] = []
        self.phase = "starting"
        self._changed = asyncio.Event()
        self._stop_requests = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._running = 0
        self._launched = False
        self._t0 = 0.0
        self._all_accepted_at: float | None = None
        self._ramp_ended_at: float | None = None
        self._hold_started_at: float | None = None
        self._hold_ended_at: float | None = None
        self._cpu: dict[str, float] = {}

    # ------------------------------------------------------------------ control

    def stop(self) -> None:
        """End the run: the first call stops cleanly, a second one stops waiting for stragglers."""
        self._stop_requests += 1
        self._notify()

    @property
    def stop_requested(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stop_requests > 0

    async def wait_for(self, predicate: Callable[[LoadRun], bool], timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Return once ``predicate(self)`` holds; re-checked on every connect, accept and drop.

        Raises ``TimeoutError`` after ``timeout`` seconds.
        """
        async with asyncio.timeout(timeout):
            await self._until(lambda: predicate(self))

    def snapshot(self) -> Snapshot:
        """The counters right now, for a progress display."""
        now = time.monotonic()
        stats = self.stats
        totals = [(k.answered, sum(k.errors.values())) for k in stats.kinds.values()]
        hold_start = self._hold_started_at
        hold_end = self._hold_ended_at or now
        return Snapshot(
            phase=self.phase,
            stations=self.options.stations,
            started=len(self.stations),
            connected=stats.connected,
            accepted=stats.accepted,
            answered=sum(a for a, _ in totals),
            errors=sum(e for _, e in totals),
            reconnects=stats.reconnects,
            elapsed=now - self._t0 if self._t0 else 0.0,
            hold_elapsed=hold_end - hold_start if hold_start is not None else 0.0,
            duration=self.options.duration,
        )

    # ------------------------------------------------------------------ the run

    async def run(self) -> dict[str, Any]:
        """Ramp, hold, stop; return the JSON-ready report (see :func:`build_report`)."""
        options = self.options
        raise_open_files_limit(options.stations + SPARE_DESCRIPTORS)
        shared = Shared(options, self.stats, self._notify)
        self._t0 = time.monotonic()
        self._cpu["start"] = time.process_time()
        async with asyncio.TaskGroup() as tasks:
            self.phase = "ramp"
            launcher = tasks.create_task(self._launch(shared, tasks), name="load-launcher")
            await self._ramp()
            self._ramp_ended_at = time.monotonic()
            if not self.stop_requested:
                await self._hold(shared)
            self.phase = "stopping"
            shared.stopping = True
            shared.stop_event.set()
            launcher.cancel()
            await self._shutdown()
        self._cpu["end"] = time.process_time()
        self.phase = "done"
        return build_report(
            options,
            self.stats,
            started=len(self.stations),
            wall_seconds=time.monotonic() - self._t0,
            ramp_seconds=self._ramp_ended_at - self._t0,
            all_accepted_seconds=(
                self._all_accepted_at - self._t0 if self._all_accepted_at is not None else None
            ),
            hold_seconds=(
                self._hold_ended_at - self._hold_started_at
                if self._hold_started_at is not None and self._hold_ended_at is not None
                else None
            ),
            cpu=self._cpu,
        )

    async def _launch(self, shared: Shared, tasks: asyncio.TaskGroup) -> None:
        """Start the stations at the ramp rate (each task then lives until the run stops)."""
        ramp = self.options.ramp
        start = time.monotonic()
        for index in range(self.options.stations):
            if shared.stopping or self.stop_requested:
                break
            if ramp is not None:
                delay = start + index / ramp - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)  # pacing the ramp, not synchronisation
            station = LoadStation(shared, index)
            self.stations.append(station)
            task = tasks.create_task(station.run(), name=f"load-{station.station_id}")
            self._running += 1
            task.add_done_callback(self._station_done)
            self._tasks.append(task)
        self._launched = True
        self._notify()

    def _station_done(self, _task: asyncio.Task[None]) -> None:
        self._running -= 1
        self._notify()

    async def _ramp(self) -> None:
        """Until every station is Accepted; at most ``ramp_timeout`` after the last started."""
        everyone = self.options.stations
        await self._until(lambda: self._launched or self.stop_requested)
        if self.stats.accepted >= everyone or self.stop_requested:
            return
        try:
            async with asyncio.timeout(self.options.ramp_timeout):
                await self._until(lambda: self.stats.accepted >= everyone or self.stop_requested)
        except TimeoutError:
            log.warning(
                "%d of %d stations not Accepted %g s after the last one started; holding anyway",
                everyone - self.stats.accepted,
                everyone,
                self.options.ramp_timeout,
            )

    async def _hold(self, shared: Shared) -> None:
        """Drive the mix for ``duration`` seconds (or until stopped)."""
        self.phase = "hold"
        self._cpu["hold_start"] = time.process_time()
        self._hold_started_at = time.monotonic()
        shared.measuring = True
        for station in self.stations:
            station.wake()
        duration = self.options.duration
        try:
            async with asyncio.timeout(duration):
                await self._until(lambda: self.stop_requested)
        except TimeoutError:
            pass
        shared.measuring = False
        self._hold_ended_at = time.monotonic()
        self._cpu["hold_end"] = time.process_time()

    async def _shutdown(self) -> None:
        """Let CALLs in flight finish and connections close; cut short by a second stop."""
        for station in self.stations:
            station.wake()
        options = self.options
        grace = max(options.call_timeout, options.open_timeout) + options.close_timeout
        try:
            async with asyncio.timeout(grace):
                await self._until(lambda: self._running == 0 or self._stop_requests > 1)
        except TimeoutError:
            pass
        stragglers = [task for task in self._tasks if not task.done()]
        if stragglers:
            log.warning("%d stations did not stop in time; cancelling them", len(stragglers))
            for task in stragglers:
                task.cancel()

    # ------------------------------------------------------------------ notifications

    def _notify(self) -> None:
        """A connection-level change: record when the last station got Accepted, wake waiters."""
        if self._all_accepted_at is None and self.stats.accepted >= self.options.stations:
            self._all_accepted_at = time.monotonic()
        self._changed.set()

    async def _until(self, condition: Callable[[], bool]) -> None:
        while True:
            self._changed.clear()
            if condition():
                return
            await self._changed.wait()
