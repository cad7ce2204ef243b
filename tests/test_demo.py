"""The demo fleet of ``opencsms serve --demo``: every version boots, and drivers charge and leave
(a newcomer sees whole sessions within a minute)."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from opencsms.app import Csms
from opencsms.demo import DEMO_SCENARIO, run_demo_fleet
from opencsms.domain.model import ConnectorStatus
from opencsms.simulator.scenario import load_scenario


async def test_demo_fleet_boots_charges_and_stops(csms: Csms) -> None:
    scenario = load_scenario(DEMO_SCENARIO)
    versions = {g.version.value for g in scenario.groups}
    assert versions == {"1.6", "2.0.1", "2.1"}
    history: dict[tuple[str, int], list[str]] = defaultdict(list)
    session_seen = asyncio.Event()
    report = csms.services.reports.connector_status

    async def observed(status: ConnectorStatus) -> None:
        await report(status)
        seen = history[status.station_id, status.evse_id]
        seen.append(status.status)
        # 1.6 §4.9: Charging, then Finishing once the transaction stopped.
        if "Charging" in seen and "Finishing" in seen[seen.index("Charging") :]:
            session_seen.set()

    csms.services.reports.connector_status = observed  # type: ignore[method-assign]
    fleet = asyncio.create_task(run_demo_fleet(csms))
    try:
        async with asyncio.timeout(60):
            await session_seen.wait()
    finally:
        fleet.cancel()
        await asyncio.gather(fleet, return_exceptions=True)
    for group in scenario.groups:
        for station_id in group.station_ids():
            station = await csms.storage.stations.get(station_id)
            assert station is not None
            assert station.boot is not None
            assert station.ocpp_version == group.version.value
