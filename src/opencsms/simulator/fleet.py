"""A fleet of simulated stations against any CSMS, as ``opencsms simulate`` runs it.

The fleet starts ``count`` stations named ``{prefix}{n:04d}``, keeps them connected (each reconnects
by itself) for ``duration`` seconds or until cancelled, and reports what happened. On a terminal it
shows a live table (Rich); elsewhere it logs a line every few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass

from rich.console import Console
from rich.live import Live
from rich.table import Table

from opencsms.ocpp.version import OcppVersion
from opencsms.simulator.config import EvseConfig, StationConfig
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

    def summary(self) -> str:
        return (
            f"{self.accepted}/{self.stations} accepted, {self.connected} connected, "
            f"{self.connections} connections, {self.heartbeats} heartbeats, "
            f"{self.statuses} status notifications"
        )


def station_configs(spec: FleetSpec) -> list[StationConfig]:
    """One configuration per simulated station of ``spec``."""
    return [
        StationConfig(
            id=f"{spec.prefix}{n:04d}",
            version=spec.version,
            csms_url=spec.url,
            vendor="OpenCSMS",
            model="Simulated AC 22",
            serial_number=f"{spec.prefix}{n:04d}",
            evses=tuple(EvseConfig(max_power_w=22_000) for _ in range(spec.evses)),
            password=spec.password,
        )
        for n in range(1, spec.count + 1)
    ]


async def run_fleet(spec: FleetSpec, *, live: bool | None = None) -> FleetReport:
    """Run the fleet until ``spec.duration`` has passed (or forever) and report its state.

    Cancelling the task (Ctrl-C in the CLI) stops every station cleanly and still reports.
    """
    live = sys.stdout.isatty() if live is None else live
    stations: list[SimulatedStation] = []
    async with contextlib.AsyncExitStack() as stack:
        for config in station_configs(spec):
            stations.append(await stack.enter_async_context(SimulatedStation(config)))
        with contextlib.suppress(asyncio.CancelledError):
            async with _deadline(spec.duration):
                if live:
                    await _show_live(stations)
                else:
                    await _log_progress(stations)
        return report(stations)


def report(stations: list[SimulatedStation]) -> FleetReport:
    """Counts over the fleet's stations."""
    return FleetReport(
        stations=len(stations),
        accepted=sum(s.registration == "Accepted" for s in stations),
        connected=sum(s.connected for s in stations),
        connections=sum(s.connections for s in stations),
        heartbeats=sum(s.heartbeats_sent for s in stations),
        statuses=sum(s.statuses_sent for s in stations),
    )


@contextlib.asynccontextmanager
async def _deadline(duration: float | None) -> AsyncIterator[None]:
    if duration is None:
        yield
        return
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(duration):
            yield


async def _show_live(stations: list[SimulatedStation]) -> None:
    with Live(_table(stations), console=Console(), refresh_per_second=2) as view:
        while True:
            await asyncio.sleep(_REFRESH_SECONDS)  # a display refresh, not synchronisation
            view.update(_table(stations))


async def _log_progress(stations: list[SimulatedStation]) -> None:
    while True:
        await asyncio.sleep(_LOG_EVERY_SECONDS)  # a progress line, not synchronisation
        log.info("fleet: %s", report(stations).summary())


def _table(stations: list[SimulatedStation]) -> Table:
    table = Table(title=f"OpenCSMS simulator: {report(stations).summary()}")
    for column in ("station", "version", "registration", "link", "connectors", "heartbeats"):
        table.add_column(column)
    for station in stations[:50]:  # a terminal shows a sample; the title counts them all
        table.add_row(
            station.config.id,
            station.version.value,
            station.registration or "-",
            "up" if station.connected else "down",
            " ".join(station.status(evse) for evse in range(1, station.evse_count + 1)),
            str(station.heartbeats_sent),
        )
    return table
