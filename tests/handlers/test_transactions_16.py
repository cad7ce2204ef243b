"""OCPP 1.6 StartTransaction, StopTransaction and MeterValues over the wire (§4.7, §4.8, §4.10)."""

from __future__ import annotations

import asyncio
from typing import Any

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from tests.handlers.builders import add_token, booted, meter_16, register_16, start_16, stop_16
from tests.wire import api_client, raw_station


async def transactions(csms: Csms, **params: Any) -> list[dict[str, Any]]:
    async with api_client(csms) as api:
        body = (await api.get("/api/v1/transactions", params=params)).json()
    items: list[dict[str, Any]] = body["items"]
    return items


async def transaction(csms: Csms, pk: int) -> dict[str, Any]:
    async with api_client(csms) as api:
        response = await api.get(f"/api/v1/transactions/{pk}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_session_start_meter_stop_energy_from_registers(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CP1"))
    await add_token(csms, "TAG-1", group_id="FLEET")
    async with raw_station(csms, "CP1") as cp:
        await booted(cp, "ocpp1.6")
        started = await cp.result("StartTransaction", start_16(meter=1000))
        assert started["idTagInfo"] == {"status": "Accepted", "parentIdTag": "FLEET"}
        tx_id = started["transactionId"]
        assert isinstance(tx_id, int)
        # periodic samples in kWh; the energy must come from the registers, not their sum
        await cp.result("MeterValues", meter_16(tx_id, "2026-01-01T10:20:00Z", "2.5", "kWh"))
        await cp.result("MeterValues", meter_16(tx_id, "2026-01-01T10:40:00Z", "4.0", "kWh"))
        live = await transaction(csms, tx_id)
        assert live["status"] == "Active"
        assert live["energy_wh"] == 3000.0  # so far: 4.0 kWh − 1000 Wh
        end = register_16("2026-01-01T11:00:00Z", "5000", context="Transaction.End")
        stopped = await cp.result(
            "StopTransaction", stop_16(tx_id, meter=5000, id_tag="tag-1", data=[end])
        )
        assert stopped["idTagInfo"]["status"] == "Accepted"  # idTags are case-insensitive
    body = await transaction(csms, tx_id)
    assert body["status"] == "Completed"
    assert (body["meter_start_wh"], body["meter_stop_wh"], body["energy_wh"]) == (
        1000.0,
        5000.0,
        4000.0,
    )
    assert body["stop_reason"] == "Local"  # 1.6 §4.10: omitted reason means Local
    assert body["id_token"] == "TAG-1"
    assert body["group_id"] == "FLEET"
    assert body["evse_id"] == 1
    assert [p["value"] for p in body["series"]["Energy.Active.Import.Register"]] == [
        2500.0,
        4000.0,
        5000.0,
    ]
    assert [p["value"] for p in body["series"]["SoC"]] == [55.0, 55.0, 55.0]
    assert body["meter_values"][0]["sampled_value"][0]["unit"] == "kWh"  # verbatim


async def test_duplicate_start_gets_the_same_transaction_id(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CP1"))
    await add_token(csms, "TAG-1")
    async with raw_station(csms, "CP1") as cp:
        await booted(cp, "ocpp1.6")
        first = await cp.result("StartTransaction", start_16())
        again = await cp.result("StartTransaction", start_16())  # answer was lost: resent
        other = await cp.result("StartTransaction", start_16(connector=2))
    assert again == first
    assert other["transactionId"] != first["transactionId"]
    assert len(await transactions(csms, station_id="CP1")) == 2


async def test_resent_start_after_the_stop_still_gets_its_id(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CP1"))
    async with raw_station(csms, "CP1") as cp:
        await booted(cp, "ocpp1.6")
        first = await cp.result("StartTransaction", start_16())
        await cp.result("StopTransaction", stop_16(first["transactionId"]))
        late = await cp.result("StartTransaction", start_16())
    assert late == first
    (only,) = await transactions(csms)
    assert only["status"] == "Completed"


async def test_duplicate_stop_stops_once(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CP1"))
    await add_token(csms, "TAG-1")
    async with raw_station(csms, "CP1") as cp:
        await booted(cp, "ocpp1.6")
        tx_id = (await cp.result("StartTransaction", start_16()))["transactionId"]
        data = [register_16("2026-01-01T11:00:00Z", "5000", context="Transaction.End")]
        stop = stop_16(tx_id, meter=5000, reason="EVDisconnected", data=data)
        assert await cp.result("StopTransaction", stop) == {}
        assert await cp.result("StopTransaction", stop) == {}  # resent
        later = stop_16(tx_id, meter=9000, at="2026-01-01T12:00:00Z", reason="Other")
        assert await cp.result("StopTransaction", later) == {}  # a second, different stop
    body = await transaction(csms, tx_id)
    assert (body["stop_reason"], body["meter_stop_wh"], body["energy_wh"]) == (
        "EVDisconnected",
        5000.0,
        4000.0,
    )
    assert len(body["meter_values"]) == 1


async def test_stop_without_start_is_an_orphan(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CP1"))
    await csms.stations.create(StationSpec(id="CP2"))
    await add_token(csms, "TAG-1")
    async with raw_station(csms, "CP2") as other:
        await booted(other, "ocpp1.6")
        foreign = (await other.result("StartTransaction", start_16()))["transactionId"]
    async with raw_station(csms, "CP1") as cp:
        await booted(cp, "ocpp1.6")
        answer = await cp.result("StopTransaction", stop_16(-1, id_tag="TAG-1"))
        assert answer == {"idTagInfo": {"status": "Accepted"}}
        await cp.result("StopTransaction", stop_16(-1, id_tag="TAG-1"))  # resent
        await cp.result("StopTransaction", stop_16(4711, meter=7))
        await cp.result("StopTransaction", stop_16(foreign, meter=8))  # CP2's number
    orphans = await transactions(csms, station_id="CP1", status="Orphaned")
    assert sorted((o["transaction_id"], o["meter_stop_wh"]) for o in orphans) == [
        ("-1", 5000.0),
        (str(foreign), 8.0),
        ("4711", 7.0),
    ]
    assert (await transaction(csms, foreign))["status"] == "Active"  # CP2's session untouched


async def test_refused_tags_still_get_a_transaction_id(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CP1"))
    await add_token(csms, "BLOCKED", status="Blocked")
    async with raw_station(csms, "CP1") as cp:
        await booted(cp, "ocpp1.6")
        unknown = await cp.result("StartTransaction", start_16("NOBODY"))
        blocked = await cp.result("StartTransaction", start_16("BLOCKED", connector=2))
    assert unknown["idTagInfo"] == {"status": "Invalid"}
    assert blocked["idTagInfo"] == {"status": "Blocked"}
    recorded = {t["transaction_id"]: t["auth_status"] for t in await transactions(csms)}
    assert recorded == {
        str(unknown["transactionId"]): "Invalid",
        str(blocked["transactionId"]): "Blocked",
    }


async def test_concurrent_session_limit(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CP1"))
    await add_token(csms, "TAG-1", max_concurrent=1)
    async with raw_station(csms, "CP1") as cp:
        await booted(cp, "ocpp1.6")
        first = await cp.result("StartTransaction", start_16(connector=1))
        second = await cp.result("StartTransaction", start_16(connector=2))
        assert first["idTagInfo"]["status"] == "Accepted"
        assert second["idTagInfo"]["status"] == "ConcurrentTx"
        assert second["transactionId"] != first["transactionId"]
        await cp.result("StopTransaction", stop_16(second["transactionId"]))
        await cp.result("StopTransaction", stop_16(first["transactionId"]))
        third = await cp.result(
            "StartTransaction", start_16(connector=2, at="2026-01-01T12:00:00Z")
        )
    assert third["idTagInfo"]["status"] == "Accepted"


async def test_concurrent_limit_holds_for_simultaneous_starts_at_two_stations(csms: Csms) -> None:
    """The same card at two stations at the same moment: one session, not two (the limit is
    decided for one start of a token at a time)."""
    for station_id in ("CP1", "CP2"):
        await csms.stations.create(StationSpec(id=station_id))
    await add_token(csms, "TAG-1", max_concurrent=1)
    async with raw_station(csms, "CP1") as cp1, raw_station(csms, "CP2") as cp2:
        await booted(cp1, "ocpp1.6")
        await booted(cp2, "ocpp1.6")
        answers = await asyncio.gather(
            cp1.result("StartTransaction", start_16(connector=1)),
            cp2.result("StartTransaction", start_16(connector=1)),
        )
    statuses = sorted(a["idTagInfo"]["status"] for a in answers)
    assert statuses == ["Accepted", "ConcurrentTx"]


async def test_reboot_mid_session_closes_it_from_what_comes_next(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CP1"))
    await add_token(csms, "TAG-1")
    async with raw_station(csms, "CP1") as cp:
        await booted(cp, "ocpp1.6")
        tx_id = (await cp.result("StartTransaction", start_16(meter=1000)))["transactionId"]
        await cp.result("MeterValues", meter_16(tx_id, "2026-01-01T10:30:00Z", "3500"))
    async with raw_station(csms, "CP1") as cp:  # rebooted: the session is gone
        await booted(cp, "ocpp1.6")
        charging = {"connectorId": 1, "errorCode": "NoError", "status": "Charging"}
        await cp.result("StatusNotification", {**charging, "connectorId": 2})
        assert (await transaction(csms, tx_id))["status"] == "Active"
        await cp.result("StatusNotification", {**charging, "status": "Available"})
        closed = await transaction(csms, tx_id)
        assert (closed["status"], closed["stop_source"], closed["stop_reason"]) == (
            "Completed",
            "csms",
            "Reboot",
        )
        assert (closed["meter_stop_wh"], closed["energy_wh"]) == (3500.0, 2500.0)
        assert closed["stopped_at"].startswith("2026-01-01T10:30:00")
        # the station's queued StopTransaction arrives after all: the real stop replaces ours
        await cp.result("StopTransaction", stop_16(tx_id, meter=3600, reason="PowerLoss"))
    final = await transaction(csms, tx_id)
    assert (final["stop_source"], final["stop_reason"], final["energy_wh"]) == (
        "station",
        "PowerLoss",
        2600.0,
    )


async def test_new_session_on_a_connector_ends_the_lost_one(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CP1"))
    await add_token(csms, "TAG-1")
    async with raw_station(csms, "CP1") as cp:
        await booted(cp, "ocpp1.6")
        old = (await cp.result("StartTransaction", start_16(meter=1000)))["transactionId"]
        new = await cp.result("StartTransaction", start_16(meter=1800, at="2026-01-01T12:00:00Z"))
    assert new["transactionId"] != old
    closed = await transaction(csms, old)
    assert (closed["status"], closed["stop_source"], closed["energy_wh"]) == (
        "Completed",
        "csms",
        800.0,
    )
    assert len(await transactions(csms, status="Active")) == 1
