"""``opencsms simulate``: a fleet of simulated stations against a running CSMS."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from opencsms.config import UnknownStationPolicy
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator.fleet import FleetSpec, run_fleet
from tests.wire import running_csms, settings_for

OPENCSMS = str(Path(sys.executable).with_name("opencsms"))


async def test_fleet_boots_every_station_and_reports(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, unknown_stations=UnknownStationPolicy.ACCEPT)
    async with running_csms(settings) as csms:
        spec = FleetSpec(
            url=f"ws://127.0.0.1:{csms.ports.ocpp}/ocpp",
            count=3,
            version=OcppVersion.V201,
            prefix="FLEET-",
            duration=0.2,
        )
        report = await run_fleet(spec, live=True)
        assert report.stations == 3
        assert report.accepted == 3
        assert report.statuses >= 3 * 2  # every connector of every station reported
        for n in (1, 2, 3):
            stored = await csms.storage.stations.get(f"FLEET-000{n}")
            assert stored is not None
            assert stored.boot is not None
            assert stored.boot.model == "Simulated AC 22"


async def test_simulate_command_against_a_running_csms(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, unknown_stations=UnknownStationPolicy.ACCEPT)
    async with running_csms(settings) as csms:
        process = await asyncio.create_subprocess_exec(
            OPENCSMS,
            "simulate",
            "--url",
            f"ws://127.0.0.1:{csms.ports.ocpp}/ocpp",
            "--stations",
            "2",
            "--version",
            "1.6",
            "--duration",
            "0.2",
            "--no-live",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        async with asyncio.timeout(30):
            out, _ = await process.communicate()
        text = out.decode()
        assert process.returncode == 0, text
        assert "simulated fleet: 2/2 accepted" in text
        assert await csms.storage.stations.get("SIM-0002") is not None


async def test_simulate_rejects_an_unknown_version() -> None:
    process = await asyncio.create_subprocess_exec(
        OPENCSMS,
        "simulate",
        "--url",
        "ws://127.0.0.1:9/ocpp",
        "--version",
        "3.0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    assert process.returncode != 0
    assert "1.6, 2.0.1 or 2.1" in out.decode()
