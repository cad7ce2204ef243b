"""The operator API over real HTTP: auth, station CRUD, audit log paging, OpenAPI."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest

from opencsms.app import Csms
from opencsms.config import UnknownStationPolicy
from opencsms.transport.gateway import StationGateway
from tests.wire import api_client, free_port, raw_station, settings_for

PASSWORD = "a-very-secret-password-1"


@pytest.mark.parametrize("token", [None, "wrong-token"])
async def test_requests_without_the_admin_token_get_401(csms: Csms, token: str | None) -> None:
    async with api_client(csms, token=token) as api:
        response = await api.get("/api/v1/stations")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "token" in response.json()["detail"]


async def test_openapi_document_is_served(csms: Csms) -> None:
    async with api_client(csms, token=None) as api:
        response = await api.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/stations" in paths
    assert "/api/v1/stations/{station_id}/messages" in paths


async def test_station_lifecycle(csms: Csms) -> None:
    async with api_client(csms) as api:
        created = await api.post(
            "/api/v1/stations",
            json={
                "id": "CS1",
                "password": PASSWORD,
                "registration": "Pending",
                "strictness": "tolerant",
            },
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["registration"] == "Pending"
        assert body["strictness"] == "tolerant"
        assert body["has_password"] is True
        assert "password" not in body
        assert body["connected"] is False
        assert body["evses"] == []

        duplicate = await api.post("/api/v1/stations", json={"id": "CS1"})
        assert duplicate.status_code == 409

        listing = (await api.get("/api/v1/stations")).json()
        assert listing["total"] == 1
        assert listing["items"][0]["id"] == "CS1"

        patched = await api.patch(
            "/api/v1/stations/CS1", json={"registration": "Accepted", "heartbeat_interval": 60}
        )
        assert patched.status_code == 200
        assert patched.json()["registration"] == "Accepted"
        assert patched.json()["heartbeat_interval"] == 60

        removed_pw = await api.patch("/api/v1/stations/CS1", json={"password": None})
        assert removed_pw.json()["has_password"] is False

        assert (await api.delete("/api/v1/stations/CS1")).status_code == 204
        assert (await api.get("/api/v1/stations/CS1")).status_code == 404
        assert (await api.delete("/api/v1/stations/CS1")).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"id": "A:B"},
        {"id": "X" * 49},
        {"id": "CS1", "password": "short"},
        {"id": "CS1", "registration": "Maybe"},
        {"id": "CS1", "strictness": "lax"},
        {"id": "CS1", "heartbeat_interval": 0},
        {"id": "CS1", "unexpected": 1},
        {},
    ],
)
async def test_invalid_station_definitions_get_422(csms: Csms, body: dict[str, object]) -> None:
    async with api_client(csms) as api:
        response = await api.post("/api/v1/stations", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


async def test_patch_rejects_null_registration_and_unknown_station(csms: Csms) -> None:
    async with api_client(csms) as api:
        await api.post("/api/v1/stations", json={"id": "CS1"})
        assert (
            await api.patch("/api/v1/stations/CS1", json={"registration": None})
        ).status_code == 422
        assert (
            await api.patch("/api/v1/stations/NOPE", json={"registration": "Accepted"})
        ).status_code == 404


async def test_deleting_a_connected_station_closes_its_connection(csms: Csms) -> None:
    async with api_client(csms) as api:
        await api.post("/api/v1/stations", json={"id": "CS1"})
        async with raw_station(csms, "CS1") as station:
            assert (await api.delete("/api/v1/stations/CS1")).status_code == 204
            await station.ws.wait_closed()
            assert station.ws.close_code == 1000


async def test_audit_log_records_every_frame_newest_first(csms: Csms) -> None:
    async with api_client(csms) as api:
        await api.post("/api/v1/stations", json={"id": "CS1"})
        async with raw_station(csms, "CS1") as station:
            for _ in range(3):
                await station.result("Heartbeat", {})
            await station.send_raw("not json")
            error = await station.recv()
            assert error[0] == 4
        page = (await api.get("/api/v1/stations/CS1/messages", params={"limit": 4})).json()
        assert [m["direction"] for m in page["items"]] == ["out", "in", "out", "in"]
        assert page["items"][1]["frame"] == "not json"
        assert page["items"][2]["action"] == "Heartbeat"
        assert page["items"][2]["message_type"] == 3
        assert page["items"][3]["action"] == "Heartbeat"
        assert page["items"][3]["message_type"] == 2
        older = (
            await api.get(
                "/api/v1/stations/CS1/messages", params={"before": page["next_before"], "limit": 10}
            )
        ).json()
        assert len(older["items"]) == 4
        assert older["next_before"] is None
        ids = [m["id"] for m in page["items"] + older["items"]]
        assert ids == sorted(ids, reverse=True)
        assert (await api.get("/api/v1/stations/NOPE/messages")).status_code == 404


async def test_health_needs_no_token(csms: Csms) -> None:
    async with api_client(csms, token=None) as api:
        response = await api.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_health_answers_only_once_stations_can_connect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A load balancer sends stations to a node once its health check passes: while the
    station listener is still starting, the health check must not pass."""
    starting, release = asyncio.Event(), asyncio.Event()
    start = StationGateway.start

    async def held_start(gateway: StationGateway, *args: Any, **kwargs: Any) -> int:
        starting.set()
        await release.wait()
        return await start(gateway, *args, **kwargs)

    monkeypatch.setattr(StationGateway, "start", held_start)
    http_port = free_port()
    csms = Csms(
        settings_for(tmp_path, http_port=http_port, unknown_stations=UnknownStationPolicy.ACCEPT)
    )
    entering = asyncio.create_task(csms.__aenter__())
    try:
        await starting.wait()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}") as client:
            with pytest.raises(httpx.TimeoutException):
                await client.get("/api/v1/health", timeout=0.5)
            release.set()
            await entering
            assert (await client.get("/api/v1/health", timeout=10)).status_code == 200
        async with raw_station(csms, "READY-1") as station:
            boot = await station.result(
                "BootNotification", {"chargePointModel": "M", "chargePointVendor": "V"}
            )
            assert boot["status"] == "Accepted"
    finally:
        release.set()
        await entering
        await csms.__aexit__(None, None, None)


async def test_a_node_that_fails_to_start_frees_its_api_port(tmp_path: Path) -> None:
    http_port = free_port()
    # Profile 3 without the CA to check client certificates against: refused at start.
    settings = settings_for(tmp_path, http_port=http_port, ocpp_mtls_port=free_port())
    with pytest.raises(ValueError, match="tls_client_ca_file") as failure:
        async with Csms(settings):
            pass
    # The traceback (still held) keeps the start's locals alive: the socket is closed, not
    # merely dropped for the garbage collector.
    assert failure.traceback
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", http_port))
