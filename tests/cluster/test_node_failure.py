"""A node killed with SIGKILL under load: three ``opencsms serve`` processes on the real
PostgreSQL and NATS servers behind a round-robin TCP load balancer, stations in the middle of
charging sessions. The dead node's stations reconnect through the balancer to the others and
finish their sessions; nothing the cluster acknowledged is lost; a station that does not come
back is seen offline by the whole cluster within the node timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from tests.cluster.test_nodes import RoundRobin
from tests.wire import ADMIN_TOKEN, RawStation, free_port

NODES = 3
STATIONS = 6
UPDATES = 3


class Node:
    """One ``opencsms serve`` process."""

    def __init__(self, index: int, db: str, nats_url: str, cluster: str, tmp: Path) -> None:
        self.index = index
        self.ocpp = free_port()
        self.http = free_port()
        config = tmp / f"node{index}.toml"
        config.write_text(
            "[server]\n"
            f'node_id = "node-{index}"\n'
            f'cluster_name = "{cluster}"\n'
            "cluster_heartbeat_interval = 0.2\n"
            "cluster_node_timeout = 1.5\n"
            "ping_interval = 0\n"
            # Raw stations read the CSMS's frames in order (as tests/wire.py settings_for).
            "charging_profile_reconcile_on_boot = false\n"
            'sqlite_writer = "thread"\n'
            f'files_dir = "{tmp / f"files{index}"}"\n'
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from opencsms.cli import app; app()",
                "serve",
                "--db",
                db,
                "--cluster-nats-url",
                nats_url,
                "--ocpp-port",
                str(self.ocpp),
                "--http-port",
                str(self.http),
                "--host",
                "127.0.0.1",
                "--config",
                str(config),
                "--unknown-stations",
                "accept",
                "--admin-token",
                ADMIN_TOKEN,
                "--log-level",
                "WARNING",
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(tmp / f"node{index}.log", "wb"),  # noqa: SIM115 (closed with the process)
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def api(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{self.http}",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=10,
        )

    async def ready(self) -> None:
        async with self.api() as api, asyncio.timeout(30):
            while True:
                assert self.process.poll() is None, "the node exited"
                with contextlib.suppress(httpx.HTTPError):
                    if (await api.get("/api/v1/health")).status_code == 200:
                        return
                await asyncio.sleep(0.1)

    async def stations_connected(self) -> int:
        """How many stations this node holds (its health check counts only its own)."""
        async with self.api() as api:
            return int((await api.get("/api/v1/health")).json()["stations_connected"])

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@pytest.fixture
def nodes(tmp_path: Path, pg_dsn: str, nats_url: str) -> Iterator[list[Node]]:
    db = pg_dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    cluster = f"kill{uuid.uuid4().hex[:8]}"
    started = [Node(i, db, nats_url, cluster, tmp_path) for i in range(NODES)]
    try:
        yield started
    finally:
        for node in started:
            node.stop()


@contextlib.asynccontextmanager
async def station_via(balancer: RoundRobin, station_id: str) -> AsyncIterator[RawStation]:
    """Connect through the balancer, skipping a dead node (the next connection goes elsewhere)."""
    url = f"ws://127.0.0.1:{balancer.port}/ocpp/{station_id}"
    failures: list[Exception] = []
    for _ in range(NODES * 2):
        try:
            ws = await connect(url, subprotocols=[Subprotocol("ocpp2.0.1")], compression=None)
        except Exception as exc:  # the balancer dropped it (a dead node): the next goes elsewhere
            failures.append(exc)
            continue
        try:
            yield RawStation(ws, itertools.count(1))
        finally:
            await ws.close()
        return
    raise AssertionError(f"no live node took {station_id}: {failures}")


def event(tx: str, seq: int, kind: str, trigger: str, wh: float) -> dict[str, Any]:
    return {
        "eventType": kind,
        "timestamp": f"2026-11-26T02:{seq:02d}:00Z",
        "triggerReason": trigger,
        "seqNo": seq,
        "transactionInfo": {"transactionId": tx},
        "evse": {"id": 1, "connectorId": 1},
        "meterValue": [
            {
                "timestamp": f"2026-11-26T02:{seq:02d}:00Z",
                "sampledValue": [{"value": wh, "measurand": "Energy.Active.Import.Register"}],
            }
        ],
    }


async def test_a_killed_node_loses_nothing_and_its_stations_carry_on_elsewhere(
    nodes: list[Node],
) -> None:
    await asyncio.gather(*(n.ready() for n in nodes))
    balancer = RoundRobin([n.ocpp for n in nodes])
    await balancer.start()
    acknowledged: dict[str, int] = {}
    try:
        async with contextlib.AsyncExitStack() as stack:
            stations: dict[str, RawStation] = {}
            holder: dict[str, Node] = {}  # found, not assumed: a refused connection shifts it
            held = [await n.stations_connected() for n in nodes]
            for i in range(STATIONS):
                sid = f"K-{i}"
                stations[sid] = await stack.enter_async_context(station_via(balancer, sid))
                boot = await stations[sid].result(
                    "BootNotification",
                    {"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}},
                )
                assert boot["status"] == "Accepted"
                now = [await n.stations_connected() for n in nodes]
                gained = [n for n, old, new in zip(nodes, held, now, strict=True) if new > old]
                assert len(gained) == 1, (sid, held, now)
                holder[sid], held = gained[0], now
            victim = holder["K-0"]
            # A station of the victim's that does not come back.
            others = [sid for sid, n in holder.items() if n is victim and sid != "K-0"]
            assert others, f"K-0's node holds no other station: {holder}"
            away = others[0]
            survivor, other_survivor = (n for n in nodes if n is not victim)
            for seq in range(UPDATES + 1):
                for sid, station in stations.items():
                    kind, trigger = (
                        ("Started", "CablePluggedIn")
                        if seq == 0
                        else ("Updated", "MeterValuePeriodic")
                    )
                    await station.result(
                        "TransactionEvent", event(f"tx-{sid}", seq, kind, trigger, 1000.0 * seq)
                    )
                    acknowledged[sid] = seq + 1

            victim.kill()  # mid-session
            # K-0 comes back through the balancer (to a live node) without a new boot and
            # finishes its session; the other station stays away.
            async with asyncio.timeout(10):
                for sid in ("K-0", away):
                    with contextlib.suppress(Exception):
                        await stations[sid].ws.wait_closed()
            del stations[away]
            stations["K-0"] = await stack.enter_async_context(station_via(balancer, "K-0"))
            for sid, station in stations.items():
                seq = UPDATES + 1
                await station.result(
                    "TransactionEvent",
                    {
                        **event(f"tx-{sid}", seq, "Ended", "EVCommunicationLost", 1000.0 * seq),
                        "transactionInfo": {
                            "transactionId": f"tx-{sid}",
                            "stoppedReason": "EVDisconnected",
                        },
                    },
                )
                acknowledged[sid] = seq + 1

            async with survivor.api() as api:
                # Nothing acknowledged is lost: every event of every session is stored.
                for i in range(STATIONS):
                    sid = f"K-{i}"
                    page = (
                        await api.get("/api/v1/transactions", params={"station_id": sid})
                    ).json()
                    assert page["total"] == 1, (sid, page)
                    detail = (
                        await api.get(f"/api/v1/transactions/{page['items'][0]['id']}")
                    ).json()
                    assert len(detail["events"]) == acknowledged[sid], (sid, detail["events"])
                    assert detail["status"] == ("Active" if sid == away else "Completed")

                # The cluster sees the station that stayed away offline within the node
                # timeout (no reconnect needed), and K-0 connected on its new node; every live
                # node agrees.
                async def connected(sid: str) -> bool:
                    body = (await api.get(f"/api/v1/stations/{sid}")).json()
                    return bool(body["connected"])

                async with asyncio.timeout(15):
                    while await connected(away):  # noqa: ASYNC110 (state of other processes)
                        await asyncio.sleep(0.1)
                assert await connected("K-0")
                offline = await api.post(f"/api/v1/stations/{away}/calls/ClearCache", json={})
                assert offline.status_code == 409
            async with other_survivor.api() as other:
                assert (await other.get(f"/api/v1/stations/{away}")).json()["connected"] is False
                assert (await other.get("/api/v1/stations/K-0")).json()["connected"] is True
    finally:
        await balancer.stop()
