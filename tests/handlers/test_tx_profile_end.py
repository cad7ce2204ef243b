"""A TxProfile leaves the CSMS's record when its transaction ends (1.6 §3.13.1, 2.0.1 K01),
over the wire for both versions: set through the API on a raw station, the transaction stopped
by the station, the record checked through the API. Other profiles stay."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from opencsms.app import Csms
from opencsms.clock import utc_iso
from opencsms.domain.stations import StationSpec
from tests.handlers.builders import booted, start_16, stop_16, tx_event
from tests.handlers.station_calls import responding
from tests.wire import RawStation, api_client, raw_station

ACCEPT = {"SetChargingProfile": {"status": "Accepted"}}


def schedule_16(limit: float) -> dict[str, Any]:
    begin = utc_iso(datetime.now(UTC) - timedelta(seconds=10))
    return {
        "chargingRateUnit": "A",
        "startSchedule": begin,
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
    }


def profile_16(profile_id: int, purpose: str, **extra: Any) -> dict[str, Any]:
    return {
        "chargingProfileId": profile_id,
        "stackLevel": profile_id,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Absolute",
        "chargingSchedule": schedule_16(16.0),
    } | extra


def profile_201(profile_id: int, purpose: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": profile_id,
        "stackLevel": profile_id,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Absolute",
        "chargingSchedule": [schedule_16(16.0) | {"id": 1}],
    } | extra


async def set_profiles(
    csms: Csms, cs: RawStation, station_id: str, *profiles: tuple[int, dict[str, Any]]
) -> None:
    async with responding(cs, ACCEPT), api_client(csms) as api:
        for evse, profile in profiles:
            body = {"evse_id": evse, "charging_profile": profile}
            answer = await api.post(f"/api/v1/stations/{station_id}/charging-profiles", json=body)
            assert answer.status_code == 200, answer.text
            assert answer.json()["recorded"] is True


async def held(api: httpx.AsyncClient, station_id: str) -> list[int]:
    response = await api.get(f"/api/v1/stations/{station_id}/charging-profiles")
    assert response.status_code == 200, response.text
    return sorted(p["profile_id"] for p in response.json())


async def until_held(csms: Csms, station_id: str, expected: list[int]) -> None:
    """Wait (at most 5 s) until the record is ``expected``: the worker removes TxProfiles after
    the transaction's fleet event, so the answer to StopTransaction may come first."""
    async with api_client(csms) as api:
        for _ in range(250):  # polling the condition, at most 5 s
            now = await held(api, station_id)
            if now == expected:
                return
            await asyncio.sleep(0.02)
    assert now == expected


async def test_16_tx_profile_removed_when_the_transaction_stops(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="T16"))
    async with raw_station(csms, "T16", "ocpp1.6") as cs:
        await booted(cs, "ocpp1.6")
        started = await cs.result("StartTransaction", start_16("TAG-1"))
        tx = started["transactionId"]
        await set_profiles(
            csms,
            cs,
            "T16",
            (1, profile_16(1, "TxProfile", transactionId=tx)),
            (2, profile_16(2, "TxProfile")),  # no transactionId: the connector's, on connector 2
            (1, profile_16(3, "TxDefaultProfile")),
            (0, profile_16(4, "ChargePointMaxProfile")),
        )
        await until_held(csms, "T16", [1, 2, 3, 4])
        assert await cs.result("StopTransaction", stop_16(tx)) == {}
        await until_held(csms, "T16", [2, 3, 4])  # connector 2 had no transaction


async def test_16_tx_profile_without_id_belongs_to_its_connector(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="T16B"))
    async with raw_station(csms, "T16B", "ocpp1.6") as cs:
        await booted(cs, "ocpp1.6")
        tx = (await cs.result("StartTransaction", start_16("TAG-1", connector=2)))["transactionId"]
        await set_profiles(csms, cs, "T16B", (2, profile_16(5, "TxProfile")))
        assert await cs.result("StopTransaction", stop_16(tx)) == {}
        await until_held(csms, "T16B", [])


async def test_201_tx_profile_removed_when_the_transaction_ends(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="T201"))
    async with raw_station(csms, "T201", "ocpp2.0.1") as cs:
        await booted(cs, "ocpp2.0.1")
        for seq, (tx, evse) in enumerate((("TX-A", 1), ("TX-B", 2))):
            event = tx_event("Started", seq, tx=tx, evse=evse, state="EVConnected")
            assert await cs.result("TransactionEvent", event) == {}
        await set_profiles(
            csms,
            cs,
            "T201",
            (1, profile_201(1, "TxProfile", transactionId="TX-A")),
            (2, profile_201(2, "TxProfile", transactionId="TX-B")),
            (1, profile_201(3, "TxDefaultProfile")),
        )
        # An update of a running transaction keeps its profile.
        charging = tx_event(
            "Updated", 1, tx="TX-A", trigger="ChargingStateChanged", state="Charging"
        )
        assert await cs.result("TransactionEvent", charging) == {}
        ended = tx_event(
            "Ended", 2, tx="TX-A", trigger="EVDeparted", stopped_reason="EVDisconnected"
        )
        assert await cs.result("TransactionEvent", ended) == {}
        await until_held(csms, "T201", [2, 3])
        ended_b = tx_event("Ended", 3, tx="TX-B", evse=2, trigger="EVDeparted")
        assert await cs.result("TransactionEvent", ended_b) == {}
        await until_held(csms, "T201", [3])
