"""A small demo fleet for ``opencsms serve --demo``: simulated stations of every OCPP version that
connect, boot, report the status of their connectors and send heartbeats, so a newcomer's first
``make run`` shows a live fleet. The stations are :mod:`opencsms.simulator` stations; scripted
charging scenarios come with the simulator's scenario files.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from opencsms.domain.model import RegistrationStatus
from opencsms.domain.stations import StationSpec
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import EvseConfig, SimulatedStation, StationConfig

if TYPE_CHECKING:
    from opencsms.app import Csms

log = logging.getLogger("opencsms.demo")

DEMO_STATIONS: tuple[tuple[str, OcppVersion, int], ...] = (
    ("DEMO-16-001", OcppVersion.V16, 2),
    ("DEMO-16-002", OcppVersion.V16, 1),
    ("DEMO-201-001", OcppVersion.V201, 2),
    ("DEMO-201-002", OcppVersion.V201, 1),
    ("DEMO-21-001", OcppVersion.V21, 1),
)


async def run_demo_fleet(csms: Csms) -> None:
    """Provision the demo stations and keep them connected until cancelled."""
    for station_id, _version, _evses in DEMO_STATIONS:
        await csms.stations.seed(
            StationSpec(id=station_id, registration=RegistrationStatus.ACCEPTED)
        )
    url = f"ws://127.0.0.1:{csms.ports.ocpp}/ocpp"
    async with asyncio.TaskGroup() as tasks:
        for station_id, version, evses in DEMO_STATIONS:
            config = StationConfig(
                id=station_id,
                version=version,
                csms_url=url,
                vendor="OpenCSMS",
                model="Demo AC 22",
                evses=tuple(EvseConfig(max_power_w=22_000) for _ in range(evses)),
            )
            tasks.create_task(_keep_running(config))


async def _keep_running(config: StationConfig) -> None:
    # The simulated station reconnects by itself; it only has to be kept open.
    async with SimulatedStation(config):
        log.info("demo station %s is up (%s)", config.id, config.version.subprotocol)
        await asyncio.Event().wait()
