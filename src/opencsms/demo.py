"""The demo fleet of ``opencsms serve --demo`` (``make run``): the shipped ``demo`` scenario.

Five simulated stations (OCPP 1.6, 2.0.1 and 2.1) connect, boot, report their connectors, and
drivers arrive within seconds: they plug in, present a token, charge with meter values and
leave. The demo provisions what the scenario needs — its stations as Accepted and its drivers'
tokens as Accepted — so a newcomer sees whole sessions within a minute.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from opencsms.domain.model import RegistrationStatus
from opencsms.domain.stations import StationSpec
from opencsms.simulator.fleet import run_scenario
from opencsms.simulator.scenario import load_scenario

if TYPE_CHECKING:
    from opencsms.app import Csms

log = logging.getLogger("opencsms.demo")

DEMO_SCENARIO = "demo"


async def run_demo_fleet(csms: Csms) -> None:
    """Provision the demo scenario's stations and tokens, then run it until cancelled."""
    scenario = load_scenario(DEMO_SCENARIO)
    for group in scenario.groups:
        for station_id in group.station_ids():
            await csms.stations.seed(
                StationSpec(id=station_id, registration=RegistrationStatus.ACCEPTED)
            )
    for token in scenario.tokens:
        await csms.tokens.seed({"id_token": token, "type": "ISO14443", "status": "Accepted"})
    url = f"ws://127.0.0.1:{csms.ports.ocpp}/ocpp"
    log.info("demo: %s (%d stations)", scenario.name, scenario.station_count)
    await run_scenario(scenario, url, live=False)


async def run_demo_until(csms: Csms, stop: asyncio.Event) -> None:
    """Run the demo fleet until ``stop`` is set, then end it as part of the node's shutdown.

    The fleet runs in this process, so on Ctrl-C its stations leave before the CSMS closes: the
    node is marked stopping first, or every demo station would be left with an open "station
    offline" alert for the next start.
    """
    async with asyncio.TaskGroup() as tasks:
        fleet = tasks.create_task(run_demo_fleet(csms))
        await stop.wait()
        csms.shutdown_begins()
        fleet.cancel()
