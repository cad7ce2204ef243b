"""The live fleet state over the wire: summary and per-station view follow what stations do
(connections, connector status, sessions with power from meter values), seeded from the store
after a restart; status history per station."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from opencsms.domain.stations import StationSpec
from tests.handlers.builders import add_token, booted, start_16, stop_16
from tests.wire import api_client, raw_station, running_csms, settings_for


def power_meter(tx: int, watts: str, wh: str) -> dict[str, Any]:
    return {
        "connectorId": 1,
        "transactionId": tx,
        "meterValue": [
            {
                "timestamp": "2026-01-01T10:05:00Z",
                "sampledValue": [
                    {"value": watts, "measurand": "Power.Active.Import", "unit": "W"},
                    {"value": wh, "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                ],
            }
        ],
    }


async def until(api: httpx.AsyncClient, path: str, check: Any) -> Any:
    """GET ``path`` until ``check(body)`` holds (the state follows fleet events)."""
    async with asyncio.timeout(10):
        while True:
            body = (await api.get(path)).json()
            if check(body):
                return body
            await asyncio.sleep(0.02)


async def test_live_state_follows_stations_and_sessions(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    async with running_csms(settings) as csms, api_client(csms) as api:
        await csms.stations.create(StationSpec(id="LIVE1"))
        await csms.stations.create(StationSpec(id="IDLE"))
        await add_token(csms, "TAG-F")
        async with raw_station(csms, "LIVE1") as cp:
            await booted(cp, "ocpp1.6")
            await cp.result(
                "StatusNotification",
                {"connectorId": 1, "errorCode": "NoError", "status": "Charging"},
            )
            tx = (await cp.result("StartTransaction", start_16(meter=1000)))["transactionId"]
            await cp.result("MeterValues", power_meter(tx, "7400", "3500"))
            summary = await until(api, "/api/v1/fleet/summary", lambda b: b["power_w"] == 7400)
            live = await until(api, "/api/v1/fleet/live?station=LIVE1", lambda b: b[0]["sessions"])
            connected_only = (await api.get("/api/v1/fleet/live?connected=true")).json()
            now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            await cp.result("StopTransaction", stop_16(tx, meter=5000, at=now))
            ended = await until(api, "/api/v1/fleet/summary", lambda b: b["active_sessions"] == 0)
        history = await api.get("/api/v1/stations/LIVE1/status-history")
        unknown = await api.get("/api/v1/stations/NOPE/status-history")
    assert summary["connected"] == 1
    assert summary["connected_by_version"] == {"1.6": 1}
    assert summary["connectors_by_status"] == {"Charging": 1}
    assert summary["active_sessions"] == 1
    assert summary["energy_today_wh"] == 2500  # 3500 - meterStart 1000
    (station,) = live
    assert station["connected"]
    assert station["ocpp_version"] == "1.6"
    assert station["last_seen"] is not None
    assert station["connectors"][0]["status"] == "Charging"
    (session,) = station["sessions"]
    assert (session["transaction_id"], session["power_w"], session["energy_wh"]) == (
        str(tx),
        7400,
        2500,
    )
    assert station["power_w"] == 7400
    assert [s["id"] for s in connected_only] == ["LIVE1"]
    assert ended["energy_today_wh"] == 4000  # the ended session's energy
    assert ended["power_w"] == 0
    assert history.status_code == 200
    assert history.json()[0]["status"] == "Charging"
    assert unknown.status_code == 404
    # a new node seeds its state from the store
    async with running_csms(settings) as again, api_client(again) as api:
        summary = (await api.get("/api/v1/fleet/summary")).json()
        live = (await api.get("/api/v1/fleet/live")).json()
    assert summary["stations"] == 2
    assert summary["connected"] == 0
    assert summary["energy_today_wh"] == 4000
    assert summary["connectors_by_status"] == {"Charging": 1}
    assert [s["id"] for s in live] == ["IDLE", "LIVE1"]
    assert live[1]["last_disconnected_at"] is not None
