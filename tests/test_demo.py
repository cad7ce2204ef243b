"""The demo fleet of ``opencsms serve --demo``: every version boots, and drivers charge and leave
(a newcomer sees whole sessions within a minute)."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from opencsms.app import Csms
from opencsms.demo import DEMO_SCENARIO, run_demo_fleet, run_demo_until
from opencsms.domain.alert_model import AlertType
from opencsms.domain.fleet_events import BootReported
from opencsms.domain.model import ConnectorStatus
from opencsms.simulator.scenario import load_scenario
from tests.polling import until


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


async def test_demo_stations_leaving_at_shutdown_raise_no_offline_alert(csms: Csms) -> None:
    """``serve --demo`` stopped with Ctrl-C: the fleet runs in the CSMS's process, so its stations
    leave before the node closes; that is the node stopping, not five stations going offline."""
    scenario = load_scenario(DEMO_SCENARIO)
    stop = asyncio.Event()
    demo = asyncio.create_task(run_demo_until(csms, stop))
    try:
        await until(lambda: len(list(csms.registry)) == scenario.station_count, wait=30)
        stop.set()
        await asyncio.wait_for(demo, 30)
    finally:
        demo.cancel()
    await until(lambda: not list(csms.registry))
    # The alert service applies events in order: once this later event's alert is open, every
    # disconnect before it has been applied.
    csms.events.publish(BootReported("SENTINEL", "Rejected", csms.clock.now()))
    await until(lambda: any(a.station_id == "SENTINEL" for a in csms.alerts.open_alerts()))
    offline = [
        a.station_id for a in csms.alerts.open_alerts() if a.type is AlertType.STATION_OFFLINE
    ]
    assert offline == []
