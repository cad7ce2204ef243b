"""A site with a 100 A limit and 20 simulated stations (10 OCPP 1.6, 10 OCPP 2.0.1) whose EVs
follow the profiles they receive; sessions start and stop over time. From the simulator's
meters (what the EVs really draw): the sum of current never exceeds 100 A beyond the reaction
window after a start, and once settled the EVs charging at the same time get equal shares."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from pathlib import Path

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import EvseConfig, SimulatedStation
from opencsms.simulator.ev import EvModel
from tests.domain.load_management_wire import lm_settings
from tests.simulator.helpers import sim_config
from tests.wire import api_client, running_csms

SITE_A = 100.0
STATIONS = 20
RATED_W = 32 * 3 * 230.0  # 32 A three-phase EVSEs and EVs
REACTION_S = 3.0
"""After a session starts, the CSMS may take this long to lower the others (debounce, round,
SetChargingProfile round trips)."""
STEP_A = 0.1


def drawn_a(station: SimulatedStation) -> float:
    """What the EV on EVSE 1 draws now, A per phase."""
    return station.meter(1).power_w / (3 * 230.0)


class Watch:
    """Samples the site's total current every 20 ms and notes every excess over the limit
    that is not within the reaction window after a session start."""

    def __init__(self, stations: list[SimulatedStation]) -> None:
        self.stations = stations
        self.starts: list[float] = []
        self.violations: list[tuple[float, float]] = []
        self.peak = 0.0
        self.samples = 0

    async def run(self) -> None:
        while True:
            now = time.monotonic()
            total = sum(drawn_a(s) for s in self.stations)
            self.samples += 1
            self.peak = max(self.peak, total)
            reacting = any(0 <= now - t <= REACTION_S for t in self.starts)
            if total > SITE_A + 1e-6 and not reacting:
                self.violations.append((now, total))
            await asyncio.sleep(0.02)


async def settled_shares(charging: list[SimulatedStation], wait: float = 10.0) -> list[float]:
    """Wait until every charging EV draws the fair share of the site; return the currents."""
    share = min(32.0, math.floor(SITE_A / len(charging) / STEP_A + 1e-9) * STEP_A)
    deadline = time.monotonic() + wait
    while True:
        currents = [drawn_a(s) for s in charging]
        if all(abs(c - share) <= STEP_A + 1e-6 for c in currents):
            return currents
        if time.monotonic() > deadline:
            raise AssertionError(f"shares did not settle at {share} A: {currents}")
        await asyncio.sleep(0.05)


async def test_hundred_amp_site_with_twenty_stations(tmp_path: Path) -> None:
    began = time.monotonic()
    settings = lm_settings(tmp_path, load_management_debounce=0.2, call_timeout=5.0)
    async with contextlib.AsyncExitStack() as stack:
        csms: Csms = await stack.enter_async_context(running_csms(settings))
        api = await stack.enter_async_context(api_client(csms))
        made = await api.post("/api/v1/load-groups", json={"id": "site", "max_current_a": SITE_A})
        assert made.status_code == 201, made.text
        stations: list[SimulatedStation] = []
        for n in range(STATIONS):
            station_id = f"SITE-{n:02d}"
            version = OcppVersion.V16 if n % 2 else OcppVersion.V201
            await csms.stations.create(StationSpec(id=station_id))
            put = await api.put(
                f"/api/v1/load-groups/site/members/{station_id}", json={"max_current_a": 32}
            )
            assert put.status_code == 200, put.text
            config = sim_config(
                csms,
                station_id,
                version,
                evses=(EvseConfig(max_power_w=RATED_W),),
                meter_sample_interval=1,
            )
            stations.append(await stack.enter_async_context(SimulatedStation(config)))
        for station in stations:
            await station.wait_for(lambda s: s.registration == "Accepted")
        # Every station holds the TxDefault new sessions start under before any session.
        async with asyncio.timeout(15):
            while any(  # noqa: ASYNC110 - the simulators' state, polled
                not [p for p in s.charging.profiles if p.purpose.value == "TxDefault"]
                for s in stations
            ):
                await asyncio.sleep(0.05)

        watch = Watch(stations)
        watcher = asyncio.get_running_loop().create_task(watch.run())
        try:

            async def start(station: SimulatedStation, n: int) -> None:
                watch.starts.append(time.monotonic())
                await station.plug_in(1, EvModel(max_power_w=RATED_W))
                await station.start_transaction(1, f"TAG-{n}")

            # 1. Eight sessions arrive 0.3 s apart: 100 A / 8 = 12.5 A each.
            for n in range(8):
                await start(stations[n], n)
                await asyncio.sleep(0.3)  # arrivals spread over time, not synchronisation
            first = await settled_shares(stations[:8])

            # 2. Eight more arrive while three of the first leave: 13 share 7.6 A.
            for n in range(8, 16):
                await start(stations[n], n)
                if n in (9, 11, 13):
                    await stations[n - 9].unplug(1)
                await asyncio.sleep(0.3)
            charging = [s for s in stations if s.transaction(1) is not None]
            assert len(charging) == 13
            second = await settled_shares(charging)

            # 3. Nine leave: the four left rise to 25 A each.
            for station in charging[:9]:
                await station.unplug(1)
            third = await settled_shares(charging[9:])
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

        assert watch.samples > 100
        assert watch.violations == [], f"over {SITE_A} A outside the reaction window"
        assert [round(c, 1) for c in first] == [12.5] * 8
        assert [round(c, 1) for c in second] == [7.6] * 13
        assert [round(c, 1) for c in third] == [25.0] * 4

        # The CSMS shows what it decided: the allocation now and the rounds that sent (once
        # the answers the EVs already follow are recorded: a send lands in its own task).
        async with asyncio.timeout(10):
            await csms.load_manager.settled()
        allocation = (await api.get("/api/v1/load-groups/site/allocation")).json()
        assert sorted(s["limit_a"] for s in allocation["sessions"]) == [25.0] * 4
        assert [s["sent_a"] for s in allocation["sessions"]] == [25.0] * 4
        decisions = (await api.get("/api/v1/load-groups/site/decisions?limit=1000")).json()
        assert 10 < decisions["total"] == len(decisions["items"])
        # A TxDefault sent before the station first connected fails (recorded, then retried).
        # A TxProfile is Rejected only when the station had already ended its transaction (a
        # stop the CSMS had not heard of yet), never because it did not know its transaction
        # yet: the simulator takes its 1.6 transactionId as the StartTransaction CALLRESULT is
        # read, before the TxProfile that may follow it.
        failed = [
            e
            for d in decisions["items"]
            for e in d["sessions"]
            if e["status"] in ("Rejected", "Failed")
        ]
        assert all(
            (e["kind"], e["status"]) in {("TxDefault", "Failed"), ("TxProfile", "Rejected")}
            for e in failed
        ), [(e["station_id"], e["kind"], e["status"], e["detail"]) for e in failed]
        refused = [r for s in stations for r in s.charging.tx_rejections]
        assert all(r.ended for r in refused), refused
        assert len(refused) == sum(1 for e in failed if e["kind"] == "TxProfile")
    assert time.monotonic() - began < 60
    print(f"peak {watch.peak:.1f} A, {watch.samples} samples, {len(failed)} failed sends")
