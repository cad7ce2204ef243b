"""Three OpenCSMS nodes as one system: the real PostgreSQL and NATS servers, a round-robin TCP
load balancer in front of the nodes' station ports, raw stations and the REST API.

Each test gets its own database and its own NATS subject prefix (``cluster_name``), so tests
never hear each other on the shared NATS server.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from opencsms.app import Csms
from opencsms.config import UnknownStationPolicy
from opencsms.storage.fencing import Fence, StaleLeaseError, current_fence
from opencsms.storage.tables import station_leases
from tests.api.test_webhooks_api import Receiver
from tests.polling import until
from tests.wire import RawStation, api_client, basic_auth, raw_station, settings_for


class RoundRobin:
    """A TCP load balancer: each new connection goes to the next node's station port."""

    def __init__(self, ports: list[int]) -> None:
        self._ports = itertools.cycle(ports)
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", next(self._ports))
        except OSError:
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(OSError):
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()


@dataclass
class Cluster:
    nodes: list[Csms]
    apis: list[httpx.AsyncClient]
    balancer: RoundRobin

    def node_of(self, station_id: str) -> int:
        """Which node holds the station's socket."""
        held = [i for i, n in enumerate(self.nodes) if n.registry.get(station_id) is not None]
        assert len(held) == 1, held
        return held[0]


@contextlib.asynccontextmanager
async def cluster(
    tmp_path: Path, pg_dsn: str, nats_url: str, size: int = 3, **overrides: Any
) -> AsyncIterator[Cluster]:
    name = f"test{uuid.uuid4().hex[:8]}"
    db = pg_dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    async with contextlib.AsyncExitStack() as stack:
        nodes = []
        for i in range(size):
            settings = settings_for(
                tmp_path / f"n{i}",
                db=db,
                cluster_nats_url=nats_url,
                cluster_name=name,
                node_id=f"node-{i}",
                cluster_heartbeat_interval=0.2,
                cluster_node_timeout=1.0,
                call_timeout=2.0,
                unknown_stations=UnknownStationPolicy.ACCEPT,
                **overrides,
            )
            (tmp_path / f"n{i}").mkdir(exist_ok=True)
            nodes.append(await stack.enter_async_context(Csms(settings)))
        apis = [await stack.enter_async_context(api_client(n)) for n in nodes]
        balancer = RoundRobin([n.ports.ocpp for n in nodes])
        await balancer.start()
        stack.push_async_callback(balancer.stop)
        yield Cluster(nodes, apis, balancer)


async def boot(station: RawStation) -> None:
    answer = await station.result(
        "BootNotification",
        {"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}},
    )
    assert answer["status"] == "Accepted"


async def answer_next(station: RawStation, payload: dict[str, Any]) -> list[Any]:
    """Read the CSMS's next CALL and answer it with ``payload``; the CALL frame."""
    frame = await station.recv()
    assert frame[0] == 2, frame
    await station.send_raw(f'[3, "{frame[1]}", {_json(payload)}]')
    return frame


def _json(payload: dict[str, Any]) -> str:
    return orjson.dumps(payload).decode()


@pytest.fixture
async def three(tmp_path: Path, pg_dsn: str, nats_url: str) -> AsyncIterator[Cluster]:
    async with cluster(tmp_path, pg_dsn, nats_url) as running:
        yield running


async def test_a_command_through_any_node_reaches_the_station_wherever_it_is(
    three: Cluster,
) -> None:
    async with raw_station(three.nodes[0], "CS-X", "ocpp2.0.1") as station:
        await boot(station)
        holder = three.node_of("CS-X")
        for api in three.apis:  # through every node, the holder included
            request = asyncio.ensure_future(
                api.post("/api/v1/stations/CS-X/calls/ClearCache", json={})
            )
            frame = await answer_next(station, {"status": "Accepted"})
            assert frame[2] == "ClearCache"
            response = await request
            assert response.status_code == 200, response.text
            assert response.json()["response"] == {"status": "Accepted"}
        # The station's silence is a timeout through another node too (504, as on one node).
        other = three.apis[(holder + 1) % 3]
        silent = await other.post("/api/v1/stations/CS-X/calls/ClearCache", json={})
        assert silent.status_code == 504, silent.text
        await station.recv()  # the unanswered ClearCache
    # Gone: every node answers 409 (not connected), at once.
    for api in three.apis:
        await until(lambda: all(n.link("CS-X") is None for n in three.nodes))
        offline = await api.post("/api/v1/stations/CS-X/calls/ClearCache", json={})
        assert offline.status_code == 409, offline.text


async def test_stations_through_the_balancer_spread_and_all_are_reachable(three: Cluster) -> None:
    url = f"ws://127.0.0.1:{three.balancer.port}/ocpp"
    async with contextlib.AsyncExitStack() as stack:
        stations = []
        for i in range(6):
            ws = await stack.enter_async_context(
                connect(f"{url}/LB-{i}", subprotocols=[Subprotocol("ocpp1.6")], compression=None)
            )
            station = RawStation(ws, itertools.count(1))
            stations.append(station)
            answer = await station.result(
                "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}
            )
            assert answer["status"] == "Accepted"
        assert sorted(three.node_of(f"LB-{i}") for i in range(6)) == [0, 0, 1, 1, 2, 2]
        api = three.apis[0]
        for i, station in enumerate(stations):
            request = asyncio.ensure_future(
                api.post(f"/api/v1/stations/LB-{i}/calls/ClearCache", json={})
            )
            await answer_next(station, {"status": "Accepted"})
            assert (await request).status_code == 200


async def test_a_reconnect_to_another_node_takes_over_and_the_old_holder_is_fenced(
    three: Cluster,
) -> None:
    first = three.nodes[0]
    async with raw_station(first, "CS-T", "ocpp2.0.1") as old:
        await boot(old)
        async with first.storage.engine.connect() as conn:
            old_token = await conn.scalar(
                sa.select(station_leases.c.token).where(station_leases.c.station_id == "CS-T")
            )
        async with raw_station(three.nodes[1], "CS-T", "ocpp2.0.1") as new:
            await boot(new)
            # The old connection, on another node, is closed by the takeover.
            async with asyncio.timeout(5):
                await old.ws.wait_closed()
            assert old.ws.close_code == 1000
            await until(lambda: first.registry.get("CS-T") is None)
            assert three.node_of("CS-T") == 1
            # A stale holder can never write for the station: its fencing token is refused.
            token = current_fence.set(Fence("CS-T", "node-0", int(old_token)))
            try:
                with pytest.raises(StaleLeaseError, match="lost station CS-T"):
                    await first.storage.stations.record_disconnected("CS-T", first.clock.now())
            finally:
                current_fence.reset(token)
            # The cluster still sees the station connected (the old node did not record it gone).
            detail = (await three.apis[2].get("/api/v1/stations/CS-T")).json()
            assert detail["connected"] is True
            request = asyncio.ensure_future(
                three.apis[0].post("/api/v1/stations/CS-T/calls/ClearCache", json={})
            )
            await answer_next(new, {"status": "Accepted"})
            assert (await request).status_code == 200


async def test_events_fan_out_and_configuration_reaches_every_node(three: Cluster) -> None:
    # Provisioned through node 2: node 0 admits it with the password at once.
    created = await three.apis[2].post(
        "/api/v1/stations", json={"id": "CS-E", "password": "0123456789abcdef"}
    )
    assert created.status_code == 201, created.text
    watcher = three.nodes[2].events.subscribe(scope="remote")

    async with raw_station(
        three.nodes[0], "CS-E", "ocpp2.0.1", headers=basic_auth("CS-E", "0123456789abcdef")
    ) as station:
        await boot(station)
        await station.result(
            "StatusNotification",
            {
                "timestamp": "2026-11-26T01:00:00Z",
                "connectorStatus": "Occupied",
                "evseId": 1,
                "connectorId": 1,
            },
        )
        seen: list[str] = []
        async with asyncio.timeout(5):
            while "StatusChanged" not in seen:
                seen.append(type(await watcher.get()).__name__)
        assert seen[:2] == ["StationConnected", "BootReported"]
        # Every node's fleet view counts the station, whichever node holds it.
        for api in three.apis:
            summary = (await api.get("/api/v1/fleet/summary")).json()
            assert summary["connected"] == 1
            assert summary["connected_by_version"] == {"2.0.1": 1}
            assert summary["connectors_by_status"] == {"Occupied": 1}
    # A password changed through node 1 is the one node 0 checks next.
    changed = await three.apis[1].patch(
        "/api/v1/stations/CS-E", json={"password": "fedcba9876543210"}
    )
    assert changed.status_code == 200
    # The change crosses the bus: node 0 drops its cached access data of the station.
    await until(lambda: "CS-E" not in three.nodes[0].stations._access)
    with pytest.raises(Exception, match="401"):
        async with raw_station(
            three.nodes[0], "CS-E", "ocpp2.0.1", headers=basic_auth("CS-E", "0123456789abcdef")
        ):
            pass
    async with raw_station(
        three.nodes[0], "CS-E", "ocpp2.0.1", headers=basic_auth("CS-E", "fedcba9876543210")
    ) as station:
        await boot(station)


async def test_singleton_work_runs_on_one_node_and_moves_when_it_stops(
    tmp_path: Path, pg_dsn: str, nats_url: str
) -> None:
    async with cluster(tmp_path, pg_dsn, nats_url) as three:

        def leaders() -> list[int]:
            return [
                i
                for i, n in enumerate(three.nodes)
                if n.cluster is not None
                and n.cluster.leadership is not None
                and n.cluster.leadership.leading.is_set()
            ]

        await until(lambda: len(leaders()) == 1, wait=10)
        await asyncio.sleep(1.0)
        assert len(leaders()) == 1
        first = leaders()[0]
        # The leader's node stops: another takes the work over.
        await three.nodes[first].__aexit__(None, None, None)
        rest = [n for i, n in enumerate(three.nodes) if i != first]
        await until(
            lambda: (
                sum(
                    1
                    for n in rest
                    if n.cluster is not None
                    and n.cluster.leadership is not None
                    and n.cluster.leadership.leading.is_set()
                )
                == 1
            ),
            wait=15,
        )


async def test_webhooks_and_job_timeouts_happen_once_in_the_cluster(
    tmp_path: Path, pg_dsn: str, nats_url: str
) -> None:
    rx = Receiver()
    server = await asyncio.start_server(rx.handle, "127.0.0.1", 0)
    rx.port = server.sockets[0].getsockname()[1]
    async with (
        server,
        cluster(
            tmp_path, pg_dsn, nats_url, log_job_timeout=0.5, job_deadline_check_interval=0.2
        ) as three,
    ):
        hook = await three.apis[0].post(
            "/api/v1/webhooks",
            json={"url": rx.url, "event_types": ["station.connected", "alert.raised"]},
        )
        assert hook.status_code == 201, hook.text
        # Every node knows the subscription (created through node 0).
        await until(lambda: all(len(n.webhooks.subscriptions()) == 1 for n in three.nodes))
        async with contextlib.AsyncExitStack() as stack:
            for i, node in enumerate(three.nodes):  # one station on each node
                station = await stack.enter_async_context(
                    raw_station(node, f"CS-W{i}", "ocpp2.0.1")
                )
                await boot(station)
                if i == 1:
                    logged = station
            # A log job on the station of node 1, asked through node 2; the station accepts
            # and never reports: the deadline (a singleton job) ends it once.
            request = asyncio.ensure_future(
                three.apis[2].post(
                    "/api/v1/stations/CS-W1/jobs/log", json={"location": "http://x/y"}
                )
            )
            await answer_next(logged, {"status": "Accepted", "filename": "log.txt"})
            job = (await request).json()
            await until(lambda: any(b'"job_failed"' in r.body for r in rx.requests), wait=15)
            await asyncio.sleep(1.0)  # room for a duplicate to arrive, if there were one
        bodies = [orjson.loads(r.body)["event"] for r in rx.requests]
        connected = sorted(b["station_id"] for b in bodies if b["type"] == "station.connected")
        assert connected == ["CS-W0", "CS-W1", "CS-W2"]  # each event once, from its node
        # The deadline ran on one node (the leader): one job, failed once, one alert.
        failed = [
            b["data"]
            for b in bodies
            if b["type"] == "alert.raised" and b["data"]["type"] == "job_failed"
        ]
        assert len(failed) == 1, failed
        assert failed[0]["station_id"] == "CS-W1"
        assert str(job["id"]) in str(failed[0]["key"]) + str(failed[0]["details"])
        detail = (await three.apis[0].get(f"/api/v1/jobs/{job['id']}")).json()
        assert detail["state"] == "TimedOut"
    server.close()


async def test_a_registration_changed_through_another_node_reaches_the_live_connection(
    three: Cluster,
) -> None:
    created = await three.apis[1].post(
        "/api/v1/stations", json={"id": "CS-R", "registration": "Pending"}
    )
    assert created.status_code == 201, created.text
    async with raw_station(three.nodes[0], "CS-R", "ocpp2.0.1") as station:
        pending = await station.result(
            "BootNotification",
            {"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}},
        )
        assert pending["status"] == "Pending"
        # Accepted through node 2: node 0, which holds the socket, asks the station to boot.
        changed = await three.apis[2].patch(
            "/api/v1/stations/CS-R", json={"registration": "Accepted"}
        )
        assert changed.status_code == 200, changed.text
        frame = await answer_next(station, {"status": "Accepted"})
        assert frame[2:] == ["TriggerMessage", {"requestedMessage": "BootNotification"}]
        await boot(station)


async def test_desired_configuration_set_through_another_node_is_applied_by_the_holder(
    three: Cluster,
) -> None:
    async with raw_station(three.nodes[0], "CS-D", "ocpp1.6") as station:
        booted = await station.result(
            "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}
        )
        assert booted["status"] == "Accepted"
        await three.nodes[0].desired_config_worker.idle()
        changed = await three.apis[2].put(
            "/api/v1/stations/CS-D/desired-configuration",
            json={"configuration": {"MeterValueSampleInterval": "30"}},
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["apply_queued"] is True
        answers = {
            "GetConfiguration": {"configurationKey": [], "unknownKey": []},
            "ChangeConfiguration": {"status": "Accepted"},
        }
        async with asyncio.timeout(10):
            while True:
                frame = await station.recv()
                await station.send_raw(f'[3, "{frame[1]}", {_json(answers[frame[2]])}]')
                if frame[2] == "ChangeConfiguration":
                    assert frame[3] == {"key": "MeterValueSampleInterval", "value": "30"}
                    break


async def test_an_offline_alert_raised_on_one_node_is_resolved_by_another(three: Cluster) -> None:
    async with raw_station(three.nodes[0], "CS-O", "ocpp2.0.1") as station:
        await boot(station)
    # Disconnected from node 0: node 0 raises the alert.
    await until(lambda: any(a.station_id == "CS-O" for a in three.nodes[0].alerts.open_alerts()))
    await until(lambda: any(a.station_id == "CS-O" for a in three.nodes[1].alerts.open_alerts()))
    async with raw_station(three.nodes[1], "CS-O", "ocpp2.0.1") as station:
        await boot(station)
        # Back on node 1: node 1 resolves the alert node 0 raised, and every node sees it.
        for node in three.nodes:
            await until(lambda n=node: all(a.station_id != "CS-O" for a in n.alerts.open_alerts()))
        listed = (await three.apis[2].get("/api/v1/alerts", params={"station_id": "CS-O"})).json()
        assert [a["status"] for a in listed["items"]] == ["resolved"]


async def test_load_groups_made_through_any_node_reach_every_node(three: Cluster) -> None:
    made = await three.apis[1].post("/api/v1/load-groups", json={"id": "site", "max_current_a": 63})
    assert made.status_code == 201, made.text
    # The allocator runs on the leader, wherever that is: every node has the group.
    for node in three.nodes:
        await until(lambda n=node: "site" in n.load_management.groups)
    assert three.nodes[0].load_management.group("site").max_current_a == 63


async def test_a_station_removed_through_another_node_is_disconnected(three: Cluster) -> None:
    async with raw_station(three.nodes[0], "CS-DEL", "ocpp2.0.1") as station:
        await boot(station)
        removed = await three.apis[2].delete("/api/v1/stations/CS-DEL")
        assert removed.status_code == 204, removed.text
        async with asyncio.timeout(5):
            await station.ws.wait_closed()
        assert station.ws.close_code == 1000
