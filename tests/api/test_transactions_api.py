"""``/api/v1/transactions`` over real HTTP: paging, filters, detail, CSV and JSON export."""

from __future__ import annotations

import csv
import io

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from tests.handlers.builders import booted, meter_16, start_16, stop_16, tx_event
from tests.wire import api_client, raw_station


async def make_sessions(csms: Csms) -> list[int]:
    """Three 1.6 sessions on CP1 (one still active) and one 2.0.1 session on CS2."""
    await csms.stations.create(StationSpec(id="CP1"))
    await csms.stations.create(StationSpec(id="CS2"))
    ids = []
    async with raw_station(csms, "CP1") as cp:
        await booted(cp, "ocpp1.6")
        for n in range(3):
            at = f"2026-01-0{n + 1}T10:00:00Z"
            started = await cp.result("StartTransaction", start_16(connector=n + 1, at=at))
            ids.append(started["transactionId"])
        await cp.result("MeterValues", meter_16(ids[2], "2026-01-03T10:30:00Z", "1500"))
        await cp.result("StopTransaction", stop_16(ids[0], meter=1250))
        await cp.result("StopTransaction", stop_16(ids[1], meter=3000))
    async with raw_station(csms, "CS2", "ocpp2.0.1") as cs:
        await booted(cs, "ocpp2.0.1")
        await cs.result("TransactionEvent", tx_event("Started", 0, trigger="CablePluggedIn"))
    return ids


async def test_list_filters_and_pages(csms: Csms) -> None:
    ids = await make_sessions(csms)
    async with api_client(csms) as api:
        everything = (await api.get("/api/v1/transactions")).json()
        completed = (await api.get("/api/v1/transactions?station_id=CP1&status=Completed")).json()
        page = (await api.get("/api/v1/transactions?limit=2&offset=1")).json()
        bad = await api.get("/api/v1/transactions?status=Running")
    assert everything["total"] == 4
    assert [t["station_id"] for t in everything["items"]] == ["CS2", "CP1", "CP1", "CP1"]
    first = everything["items"][-1]
    for field in (
        "id",
        "station_id",
        "evse_id",
        "connector_id",
        "id_token",
        "status",
        "started_at",
        "stopped_at",
        "stop_reason",
        "energy_wh",
    ):
        assert field in first
    assert [(t["id"], t["energy_wh"]) for t in completed["items"]] == [
        (ids[1], 2000.0),
        (ids[0], 250.0),
    ]
    assert (page["total"], len(page["items"]), page["offset"]) == (4, 2, 1)
    assert bad.status_code == 422


async def test_detail_of_an_active_session_and_404(csms: Csms) -> None:
    ids = await make_sessions(csms)
    async with api_client(csms) as api:
        active = (await api.get(f"/api/v1/transactions/{ids[2]}")).json()
        soc = (await api.get(f"/api/v1/transactions/{ids[2]}?measurand=SoC")).json()
        missing = await api.get("/api/v1/transactions/999999")
    assert (active["status"], active["energy_wh"], active["evse_id"]) == ("Active", 500.0, 3)
    assert list(soc["series"]) == ["SoC"]
    assert missing.status_code == 404


async def test_export_csv_and_json(csms: Csms) -> None:
    ids = await make_sessions(csms)
    async with api_client(csms) as api:
        as_csv = await api.get("/api/v1/transactions/export?format=csv&station_id=CP1")
        as_json = await api.get("/api/v1/transactions/export?format=json")
        default = await api.get("/api/v1/transactions/export?status=Active")
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [int(r["id"]) for r in rows] == ids
    assert [r["energy_wh"] for r in rows] == ["250.0", "2000.0", ""]
    exported = as_json.json()
    assert [t["station_id"] for t in exported] == ["CP1", "CP1", "CP1", "CS2"]
    assert exported[0]["energy_wh"] == 250.0
    assert len(list(csv.DictReader(io.StringIO(default.text)))) == 2
