"""A fleet of simulated stations against any CSMS, as ``opencsms simulate`` runs it.

The fleet starts ``count`` stations named ``{prefix}{n:04d}``, keeps them connected (each reconnects
by itself) for ``duration`` seconds or until cancelled, and reports what happened. On a terminal it
shows a live table (Rich); elsewhere it logs a line every few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from opencsms.errors import CallFailedError
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator.config import EvseConfig
from opencsms.simulator.drivers import drive_evse, flap_network, run_timeline
from opencsms.simulator.scenario import GroupSpec, ScenarioSpec
from opencsms.simulator.station import SimulatedStation

log = logging.getLogger("opencsms.simulate")

_REFRESH_SECONDS = 1.0
_LOG_EVERY_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class FleetSpec:
    """What ``opencsms simulate`` was asked for."""

    url: str
    count: int
    version: OcppVersion
    prefix: str = "SIM-"
    evses: int = 2
    password: str | None = None
    duration: float | None = None


@dataclass(frozen=True, slots=True)
class FleetReport:
    """The fleet's state when it stopped."""

    stations: int
    accepted: int
    connected: int
    connections: int
    heartbeats: int
    statuses: int
    sessions: int = 0
    """Transactions started (all stations)."""
    charging: int = 0
    """Transactions open now."""
    power_kw: float = 0.0
    energy_kwh: float = 0.0
    messages: int = 0
    """CALLs sent to the CSMS."""

    def summary(self) -> str:
        return (
            f"{self.accepted}/{self.stations} accepted, {self.connected} connected, "
            f"{self.connections} connections, {self.heartbeats} heartbeats, "
            f"{self.statuses} status notifications, {self.sessions} sessions "
            f"({self.charging} open, {self.power_kw:.1f} kW, {self.energy_kwh:.2f} kWh), "
            f"{self.messages} messages"
        )


def to_scenario(spec: FleetSpec) -> ScenarioSpec:
    """``--stations N`` as a one-group scenario: stations that boot and stay, no drivers."""
    group = GroupSpec(
        prefix=spec.prefix,
        count=spec.count,
        version=spec.version,
        evses=tuple(EvseConfig(max_power_w=22_000) for _ in range(spec.evses)),
        model="Simulated AC 22",
        password=spec.password,
    )
    return ScenarioSpec(name="fleet", groups=(group,), duration=spec.duration)


async def run_fleet(spec: FleetSpec, *, live: bool | None = None) -> FleetReport:
    """Run ``opencsms simulate --stations N``; see :func:`run_scenario`."""
    return await run_scenario(to_scenario(spec), spec.url, live=live)


async def run_scenario(
    scenario: ScenarioSpec,
    url: str,
    *,
    live: bool | None = None,
    seed: int | None = None,
    started: Callable[[list[SimulatedStation]], None] | None = None,
) -> FleetReport:
    """Run ``scenario`` against the CSMS at ``url`` until its duration has passed (or forever).

    Every station is started (each is up once its first BootNotification is answered), then
    the drivers, network flaps and timeline run. Cancelling the task (Ctrl-C in the CLI) stops
    every station cleanly and still reports. ``seed`` makes the drivers' random choices
    repeatable; ``started`` is told the stations once all are up (tests use it).
    """
    live = sys.stdout.isatty() if live is None else live
    rng = random.Random(seed)
    stations: list[SimulatedStation] = []
    async with contextlib.AsyncExitStack() as stack:
        behaviours: list[Callable[[], Coroutine[Any, Any, None]]] = []
        for group in scenario.groups:
            for config in group.configs(url):
                station = await stack.enter_async_context(
                    SimulatedStation(config, rng=random.Random(rng.random()))
                )
                stations.append(station)
                behaviours.extend(_behaviours(station, group, random.Random(rng.random())))
        by_id = {s.config.id: s for s in stations}
        if scenario.timeline:
            behaviours.append(lambda: run_timeline(by_id, scenario.timeline))
        if started is not None:
            started(stations)
        with contextlib.suppress(asyncio.CancelledError):
            async with _deadline(scenario.duration), asyncio.TaskGroup() as tasks:
                for behaviour in behaviours:
                    tasks.create_task(behaviour())
                if live:
                    tasks.create_task(_show_live(stations, scenario.name))
                else:
                    tasks.create_task(_log_progress(stations))
        await finish_sessions(stations)
        return report(stations)


async def finish_sessions(stations: list[SimulatedStation], timeout: float = 5.0) -> int:  # noqa: ASYNC109
    """Stopping the simulator ends its open sessions like drivers would (Local), so the CSMS is
    not left with sessions that never end; returns how many were still unacknowledged after
    ``timeout`` seconds (a CSMS that is gone, say)."""

    async def finish(station: SimulatedStation) -> None:
        station.go_online()  # a network flap cut short by the end must not strand the stops
        for evse in range(1, station.evse_count + 1):
            if station.transaction(evse) is not None:
                with contextlib.suppress(CallFailedError, ValueError):
                    await station.stop_transaction(evse, "Local")

    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await asyncio.gather(*(finish(s) for s in stations))
            for station in stations:  # the stops are queued: wait until they are delivered
                await station.wait_for(lambda s: s.queued == 0, timeout=None)
    return sum(s.queued for s in stations)


def _behaviours(
    station: SimulatedStation, group: GroupSpec, rng: random.Random
) -> list[Callable[[], Coroutine[Any, Any, None]]]:
    out: list[Callable[[], Coroutine[Any, Any, None]]] = []
    sessions = group.sessions
    if sessions is not None:
        for evse in range(1, station.evse_count + 1):
            evse_rng = random.Random(rng.random())
            out.append(functools.partial(drive_evse, station, evse, sessions, evse_rng))
    if group.network is not None:
        out.append(functools.partial(flap_network, station, group.network, rng))
    return out


def report(stations: list[SimulatedStation]) -> FleetReport:
    """Counts over the fleet's stations."""
    open_tx = [
        tx
        for s in stations
        for evse in range(1, s.evse_count + 1)
        if (tx := s.transaction(evse)) is not None
    ]
    return FleetReport(
        stations=len(stations),
        accepted=sum(s.registration == "Accepted" for s in stations),
        connected=sum(s.connected for s in stations),
        connections=sum(s.connections for s in stations),
        heartbeats=sum(s.heartbeats_sent for s in stations),
        statuses=sum(s.statuses_sent for s in stations),
        sessions=sum(len(s.sessions.history) for s in stations),
        charging=len(open_tx),
        power_kw=sum(s.meter(evse).power_w for s in stations for evse in range(1, s.evse_count + 1))
        / 1000.0,
        energy_kwh=sum(
            s.meter(evse).energy_wh for s in stations for evse in range(1, s.evse_count + 1)
        )
        / 1000.0,
        messages=sum(s.counters.calls_sent for s in stations),
    )


@contextlib.asynccontextmanager
async def _deadline(duration: float | None) -> AsyncIterator[None]:
    if duration is None:
        yield
        return
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(duration):
            yield


async def _show_live(stations: list[SimulatedStation], name: str) -> None:
    with Live(_table(stations, name), console=Console(), refresh_per_second=2) as view:
        while True:
            await asyncio.sleep(_REFRESH_SECONDS)  # a display refresh, not synchronisation
            view.update(_table(stations, name))


async def _log_progress(stations: list[SimulatedStation]) -> None:
    while True:
        await asyncio.sleep(_LOG_EVERY_SECONDS)  # a progress line, not synchronisation
        log.info("fleet: %s", report(stations).summary())


def _table(stations: list[SimulatedStation], name: str = "fleet") -> Table:
    table = Table(title=f"OpenCSMS simulator — {name}: {report(stations).summary()}")
    columns = ("station", "version", "registration", "link", "connectors", "kW", "kWh")
    for column in (*columns, "sessions", "messages"):
        table.add_column(column)
    for station in stations[:50]:  # a terminal shows a sample; the title counts them all
        evses = range(1, station.evse_count + 1)
        table.add_row(
            station.config.id,
            station.version.value,
            station.registration or "-",
            "up" if station.connected else "down",
            " ".join(station.status(evse) for evse in evses),
            f"{sum(station.meter(e).power_w for e in evses) / 1000:.1f}",
            f"{sum(station.meter(e).energy_wh for e in evses) / 1000:.2f}",
            str(len(station.sessions.history)),
            str(station.counters.calls_sent),
        )
    return table
