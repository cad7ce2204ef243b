"""Authorize and the authorization inside Start/Stop/TransactionEvent, over the wire, both versions
(1.6 §4.1/§4.8/§4.10, 2.0.1 C01/C04-C06/C12/C16, TC_C_02/06/07/08/47-49_CSMS)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from opencsms.app import Csms
from opencsms.config import TokenSeed
from opencsms.domain.stations import StationSpec
from tests.handlers.builders import add_token, booted, start_16, stop_16, tx_event
from tests.wire import RawStation, api_client, raw_station, running_csms, settings_for

VERSIONS = ["ocpp1.6", "ocpp2.0.1"]
PAST = datetime(2020, 1, 1, tzinfo=UTC)
FUTURE = datetime(2099, 1, 1, tzinfo=UTC)


async def authorize(
    station: RawStation, subprotocol: str, token: str, kind: str = "ISO14443"
) -> Any:
    """The idTagInfo / idTokenInfo answered to an Authorize."""
    if subprotocol == "ocpp1.6":
        return (await station.result("Authorize", {"idTag": token}))["idTagInfo"]
    payload = {"idToken": {"idToken": token, "type": kind}}
    return (await station.result("Authorize", payload))["idTokenInfo"]


@pytest.mark.parametrize("subprotocol", VERSIONS)
async def test_token_statuses(csms: Csms, subprotocol: str) -> None:
    await csms.stations.create(StationSpec(id="CS1"))
    await add_token(csms, "GOOD", group_id="FLEET", expires_at=FUTURE)
    await add_token(csms, "BLOCKED", status="Blocked")
    await add_token(csms, "LAPSED", expires_at=PAST)
    await add_token(csms, "MARKED", status="Expired")
    await add_token(csms, "BROKE", status="NoCredit")
    async with raw_station(csms, "CS1", subprotocol) as cs:
        await booted(cs, subprotocol)
        good = await authorize(cs, subprotocol, "good")  # case-insensitive match
        statuses = [
            (await authorize(cs, subprotocol, token))["status"]
            for token in ("NOBODY", "BLOCKED", "LAPSED", "MARKED", "BROKE")
        ]
    is16 = subprotocol == "ocpp1.6"
    assert statuses == [
        "Invalid",
        "Blocked",
        "Expired",
        "Expired",
        "Blocked" if is16 else "NoCredit",
    ]
    assert good["status"] == "Accepted"
    if is16:
        assert good == {
            "status": "Accepted",
            "parentIdTag": "FLEET",
            "expiryDate": "2099-01-01T00:00:00.000Z",
        }
    else:
        assert good == {
            "status": "Accepted",
            "groupIdToken": {"idToken": "FLEET", "type": "Central"},
            "cacheExpiryDateTime": "2099-01-01T00:00:00.000Z",
        }


@pytest.mark.parametrize("subprotocol", VERSIONS)
async def test_station_and_evse_restrictions(csms: Csms, subprotocol: str) -> None:
    await csms.stations.create(StationSpec(id="CS1"))
    await csms.stations.create(StationSpec(id="CS2"))
    await add_token(csms, "LOCAL", allowed_locations=["CS2", "CS1/2"])
    await add_token(csms, "ELSEWHERE", allowed_locations=["CS2"])
    async with raw_station(csms, "CS1", subprotocol) as cs:
        await booted(cs, subprotocol)
        here = await authorize(cs, subprotocol, "LOCAL")
        there = await authorize(cs, subprotocol, "ELSEWHERE")
        if subprotocol == "ocpp1.6":
            wrong_evse = await cs.result("StartTransaction", start_16("LOCAL", connector=1))
            right_evse = await cs.result("StartTransaction", start_16("LOCAL", connector=2))
        else:
            wrong_evse = await cs.result(
                "TransactionEvent", tx_event("Started", 0, tx="A", evse=1, id_token="LOCAL")
            )
            right_evse = await cs.result(
                "TransactionEvent", tx_event("Started", 0, tx="B", evse=2, id_token="LOCAL")
            )
    refused = "Invalid" if subprotocol == "ocpp1.6" else "NotAtThisLocation"
    key = "idTagInfo" if subprotocol == "ocpp1.6" else "idTokenInfo"
    assert here["status"] == "Accepted"
    assert there["status"] == refused
    assert wrong_evse[key]["status"] == refused
    assert right_evse[key]["status"] == "Accepted"


async def test_201_token_type_is_part_of_the_identity(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CS1"))
    await add_token(csms, "CARD", type="ISO14443")
    await add_token(csms, "ANY")
    async with raw_station(csms, "CS1", "ocpp2.0.1") as cs:
        await booted(cs, "ocpp2.0.1")
        wrong = await authorize(cs, "ocpp2.0.1", "CARD", "KeyCode")
        untyped = await authorize(cs, "ocpp2.0.1", "ANY", "eMAID")
        free = await authorize(cs, "ocpp2.0.1", "", "NoAuthorization")
    assert (wrong["status"], untyped["status"], free["status"]) == (
        "Invalid",
        "Accepted",
        "Accepted",
    )


async def test_cached_token_in_transaction_event(csms: Csms) -> None:
    """TC_C_08/TC_C_20_CSMS: a token authorized from the station's cache is checked again."""
    await csms.stations.create(StationSpec(id="CS1"))
    await add_token(csms, "CACHED")
    await add_token(csms, "STALE", status="Blocked")
    async with raw_station(csms, "CS1", "ocpp2.0.1") as cs:
        await booted(cs, "ocpp2.0.1")
        await cs.result(
            "TransactionEvent", tx_event("Started", 0, tx="A", trigger="CablePluggedIn")
        )
        ok = await cs.result("TransactionEvent", tx_event("Updated", 1, tx="A", id_token="CACHED"))
        await cs.result(
            "TransactionEvent", tx_event("Started", 0, tx="B", evse=2, trigger="CablePluggedIn")
        )
        stale = await cs.result(
            "TransactionEvent", tx_event("Updated", 1, tx="B", evse=2, id_token="STALE")
        )
    assert ok == {"idTokenInfo": {"status": "Accepted"}}
    assert stale == {"idTokenInfo": {"status": "Blocked"}}


async def test_master_pass_stops_others_sessions_but_starts_none(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, master_pass_group_id="MASTER")
    async with running_csms(settings) as csms:
        await csms.stations.create(StationSpec(id="CS16"))
        await csms.stations.create(StationSpec(id="CS201"))
        await add_token(csms, "DRIVER")
        await add_token(csms, "POLICE", group_id="MASTER")
        async with raw_station(csms, "CS201", "ocpp2.0.1") as cs:
            await booted(cs, "ocpp2.0.1")
            auth = await authorize(cs, "ocpp2.0.1", "POLICE")
            await cs.result("TransactionEvent", tx_event("Started", 0, id_token="DRIVER"))
            ended = await cs.result(
                "TransactionEvent",
                tx_event(
                    "Ended",
                    1,
                    trigger="StopAuthorized",
                    id_token="POLICE",
                    stopped_reason="MasterPass",
                ),
            )
            own = await cs.result(
                "TransactionEvent", tx_event("Started", 0, tx="T2", evse=2, id_token="POLICE")
            )
        async with raw_station(csms, "CS16", "ocpp1.6") as cp:
            await booted(cp, "ocpp1.6")
            start = await cp.result("StartTransaction", start_16("POLICE"))
            driver = await cp.result("StartTransaction", start_16("DRIVER", connector=2))
            stop = await cp.result(
                "StopTransaction", stop_16(driver["transactionId"], id_tag="POLICE")
            )
        async with api_client(csms) as api:
            items = (await api.get("/api/v1/transactions", params={"station_id": "CS201"})).json()[
                "items"
            ]
    master = {"status": "Accepted", "groupIdToken": {"idToken": "MASTER", "type": "Central"}}
    assert auth == master
    assert ended == {"idTokenInfo": master}
    assert own["idTokenInfo"]["status"] == "Invalid"
    assert start["idTagInfo"] == {"status": "Invalid", "parentIdTag": "MASTER"}
    assert stop == {"idTagInfo": {"status": "Accepted", "parentIdTag": "MASTER"}}
    stopped = next(t for t in items if t["transaction_id"] == "TX-1")
    assert (stopped["id_token"], stopped["stop_id_token"], stopped["stop_reason"]) == (
        "DRIVER",
        "POLICE",
        "MasterPass",
    )


@pytest.mark.parametrize("subprotocol", VERSIONS)
async def test_unknown_token_policy_accept(tmp_path: Path, subprotocol: str) -> None:
    async with running_csms(settings_for(tmp_path, unknown_tokens="accept")) as csms:
        await csms.stations.create(StationSpec(id="CS1"))
        await add_token(csms, "BLOCKED", status="Blocked")
        async with raw_station(csms, "CS1", subprotocol) as cs:
            await booted(cs, subprotocol)
            unknown = await authorize(cs, subprotocol, "STRANGER")
            blocked = await authorize(cs, subprotocol, "BLOCKED")
    assert (unknown["status"], blocked["status"]) == ("Accepted", "Blocked")


@pytest.mark.parametrize("subprotocol", VERSIONS)
async def test_provisioned_tokens_and_api_changes_apply_at_once(
    tmp_path: Path, subprotocol: str
) -> None:
    seeds = (TokenSeed(id_token="SEEDED", group_id="G1"),)
    async with running_csms(settings_for(tmp_path, id_tokens=seeds)) as csms:
        await csms.stations.create(StationSpec(id="CS1"))
        async with raw_station(csms, "CS1", subprotocol) as cs:
            await booted(cs, subprotocol)
            before = await authorize(cs, subprotocol, "SEEDED")
            async with api_client(csms) as api:
                patched = await api.patch("/api/v1/id-tokens/seeded", json={"status": "Blocked"})
                assert patched.status_code == 200, patched.text
            after = await authorize(cs, subprotocol, "SEEDED")
            async with api_client(csms) as api:
                assert (await api.delete("/api/v1/id-tokens/SEEDED")).status_code == 204
            gone = await authorize(cs, subprotocol, "SEEDED")
    assert (before["status"], after["status"], gone["status"]) == ("Accepted", "Blocked", "Invalid")
