"""The demo fleet of ``opencsms serve --demo`` boots on every version and reports its connectors."""

from __future__ import annotations

import asyncio
from collections import Counter

from opencsms.app import Csms
from opencsms.demo import DEMO_STATIONS, run_demo_fleet
from opencsms.domain.model import ConnectorStatus
from opencsms.ocpp.version import OcppVersion


async def test_demo_fleet_boots_and_reports(csms: Csms) -> None:
    # 1.6 stations also report connector 0 (the charge point as a whole)
    expected = {
        station_id: evses + (1 if version is OcppVersion.V16 else 0)
        for station_id, version, evses in DEMO_STATIONS
    }
    seen: Counter[str] = Counter()
    all_reported = asyncio.Event()
    report = csms.services.reports.connector_status

    async def observed(status: ConnectorStatus) -> None:
        await report(status)
        seen[status.station_id] += 1
        if all(seen[s] >= n for s, n in expected.items()):
            all_reported.set()

    csms.services.reports.connector_status = observed  # type: ignore[method-assign]
    fleet = asyncio.create_task(run_demo_fleet(csms))
    try:
        async with asyncio.timeout(20):
            await all_reported.wait()
    finally:
        fleet.cancel()
        await asyncio.gather(fleet, return_exceptions=True)
    for station_id, version, _evses in DEMO_STATIONS:
        station = await csms.storage.stations.get(station_id)
        assert station is not None
        assert station.boot is not None
        assert station.boot.model == "Demo AC 22"
        assert station.ocpp_version == version.value
