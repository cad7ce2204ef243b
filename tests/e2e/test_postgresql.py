"""The whole CSMS on the real PostgreSQL server: boot, status, audit log, and a restart keeps it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from opencsms.domain.stations import StationSpec
from tests.wire import api_client, raw_station, running_csms, settings_for

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
async def pg_database() -> AsyncIterator[str]:
    name = f"opencsms_e2e_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def test_station_session_on_postgresql_survives_restart(
    tmp_path: Path, pg_database: str
) -> None:
    settings = settings_for(tmp_path, db=pg_database)
    async with running_csms(settings) as csms:
        await csms.stations.create(StationSpec(id="PG-1"))
        async with raw_station(csms, "PG-1", "ocpp2.0.1") as station:
            boot = await station.result(
                "BootNotification",
                {"reason": "PowerUp", "chargingStation": {"vendorName": "V", "model": "M"}},
            )
            assert boot["status"] == "Accepted"
            await station.result(
                "StatusNotification",
                {
                    "timestamp": "2026-11-25T10:00:00Z",
                    "connectorStatus": "Available",
                    "evseId": 1,
                    "connectorId": 1,
                },
            )
            connection = csms.registry.get("PG-1")
            assert connection is not None
        async with asyncio.timeout(5):
            await connection.finished.wait()
    # a new node process on the same database sees everything that was acknowledged
    async with running_csms(settings) as csms, api_client(csms) as api:
        body = (await api.get("/api/v1/stations/PG-1")).json()
        messages = (await api.get("/api/v1/stations/PG-1/messages")).json()["items"]
    assert body["boot"]["vendor"] == "V"
    assert body["evses"][0]["connectors"][0]["status"] == "Available"
    assert body["last_disconnected_at"] is not None
    assert [m["action"] for m in messages] == [
        "StatusNotification",
        "StatusNotification",
        "BootNotification",
        "BootNotification",
    ]
