"""OCPP 1.6 OCTT test case document, Central System section, module "Local Authorization List
Management": TC_042_x_CSMS (GetLocalListVersion, §5.10) and TC_043_x_CSMS (SendLocalList, §5.15).

The "Manual Action" that makes the Central System send its list is the local-list API
(``POST /stations/{id}/local-list/sync``, docs/local-lists.md), which builds the list from the
id tokens the CSMS knows. A sync starts by asking the station's version (GetLocalListVersion)
and, once per station, its ``SendLocalListMaxLength`` (GetConfiguration): the OCTT charge point
answers both from its own state and configuration, as a real charge point would. Automatic syncs
are switched off (``local_lists = "off"``) so that only the manual actions send lists.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.octt import Call, Station
from tests.conformance.sut import CONFIGURED, Sut, start_sut
from tests.conformance.v16.states import PROTOCOL, booted, check, manual_action


@pytest.fixture
async def lists_sut(tmp_path: Path) -> AsyncIterator[Sut]:
    """The CSMS sending lists only when the operator asks."""
    async with start_sut(tmp_path, local_lists="off") as running:
        yield running


def _configuration(_call: Call) -> dict[str, Any]:
    """The OCTT charge point's configuration: SendLocalListMaxLength (§9.2.5)."""
    return {
        "configurationKey": [{"key": "SendLocalListMaxLength", "readonly": True, "value": "20"}]
    }


def _answers_list_queries(station: Station, version: int) -> None:
    """The OCTT answers GetLocalListVersion with the version it holds and GetConfiguration with
    its configuration (both come before SendLocalList in a sync)."""
    station.tolerate("GetLocalListVersion", {"listVersion": version})
    station.tolerate("GetConfiguration", _configuration)


def _sync(sut: Sut, station_id: str, mode: str = "auto") -> Any:
    return manual_action(sut.api.post(f"/stations/{station_id}/local-list/sync", {"mode": mode}))


async def test_TC_042_1_CSMS(lists_sut: Sut) -> None:
    """Get Local List Version (not supported): the charge point answers -1 (§5.10)."""
    sut = lists_sut
    await sut.provision("CP0421")
    async with sut.station("CP0421", PROTOCOL) as station:
        await booted(station)
        # Manual Action: the CPO asks the charge point for its local list version.
        asking = manual_action(sut.api.get("/stations/CP0421/local-list/version"))
        call = await station.expect("GetLocalListVersion")  # 1.
        check(call.payload == {}, f"GetLocalListVersion.req must be empty: {call.payload}")
        await station.respond(call, {"listVersion": -1})  # 2.
        record = await asking
        # The CSMS recorded that the charge point has no local list.
        assert record["station_version"] == -1, record


async def test_TC_042_2_CSMS(lists_sut: Sut) -> None:
    """Get Local List Version (empty): the charge point answers 0 (§5.10)."""
    sut = lists_sut
    await sut.provision("CP0422")
    async with sut.station("CP0422", PROTOCOL) as station:
        await booted(station)
        asking = manual_action(sut.api.get("/stations/CP0422/local-list/version"))
        call = await station.expect("GetLocalListVersion")  # 1.
        await station.respond(call, {"listVersion": 0})  # 2.
        record = await asking
        assert record["station_version"] == 0, record


async def _full_list_answered(sut: Sut, station_id: str, answer: str) -> tuple[Call, Any]:
    """A Full SendLocalList sent by the Manual Action and answered ``answer`` by the tool."""
    async with sut.station(station_id, PROTOCOL) as station:
        await booted(station)
        _answers_list_queries(station, 0)
        syncing = _sync(sut, station_id, "full")
        call = await station.expect("SendLocalList")  # 1.
        await station.respond(call, {"status": answer})  # 2.
        result = await syncing
    return call, result


async def test_TC_043_1_CSMS(lists_sut: Sut) -> None:
    """Send Local Authorization List - NotSupported: the CSMS handles the refusal."""
    sut = lists_sut
    await sut.provision("CP0431")
    await sut.add_token(CONFIGURED.valid_id_token)
    call, result = await _full_list_answered(sut, "CP0431", "NotSupported")
    # Step 1: updateType should be Full.
    check(call.payload["updateType"] == "Full", f"updateType {call.payload['updateType']}")
    # The CSMS records that the charge point does not support local lists.
    assert result["result"] == "NotSupported", result
    assert result["local_list"]["last_result"] == "NotSupported", result


async def test_TC_043_3_CSMS(lists_sut: Sut) -> None:
    """Send Local Authorization List - Failed: the CSMS handles the failure."""
    sut = lists_sut
    await sut.provision("CP0433")
    await sut.add_token(CONFIGURED.valid_id_token)
    call, result = await _full_list_answered(sut, "CP0433", "Failed")
    check(call.payload["updateType"] == "Full", f"updateType {call.payload['updateType']}")
    assert result["result"] == "Failed", result
    record = result["local_list"]
    assert record["last_result"] == "Failed", record
    assert not record["in_sync"], record


async def test_TC_043_4_CSMS(lists_sut: Sut) -> None:
    """Send Local Authorization List - Full."""
    sut = lists_sut
    await sut.provision("CP0434")
    # Prerequisite: at least 1 IdToken to add to the local authorization list.
    await sut.add_token(CONFIGURED.valid_id_token)
    await sut.add_token(CONFIGURED.blocked_id_token, status="Blocked")
    call, result = await _full_list_answered(sut, "CP0434", "Accepted")
    # Step 1: UpdateType should be Full; all localAuthorizationList entries have an idTagInfo.
    check(call.payload["updateType"] == "Full", f"updateType {call.payload['updateType']}")
    entries = call.payload.get("localAuthorizationList", [])
    check(bool(entries), "the Full list is empty although the CSMS has id tokens")
    check(
        all("idTagInfo" in entry for entry in entries),
        f"every entry of a Full list needs an idTagInfo: {entries}",
    )
    tags = {entry["idTag"]: entry["idTagInfo"]["status"] for entry in entries}
    assert tags == {CONFIGURED.valid_id_token: "Accepted", CONFIGURED.blocked_id_token: "Blocked"}
    record = result["local_list"]
    assert record["in_sync"], record
    assert record["version"] == call.payload["listVersion"], record


async def test_TC_043_5_CSMS(lists_sut: Sut) -> None:
    """Send Local Authorization List - Differential."""
    sut = lists_sut
    await sut.provision("CP0435")
    await sut.add_token(CONFIGURED.valid_id_token)
    async with sut.station("CP0435", PROTOCOL) as station:
        await booted(station)
        # Memory State: set the initial local authorization list using update type Full.
        station.tolerate("GetLocalListVersion", {"listVersion": 0})
        station.tolerate("GetConfiguration", _configuration)
        syncing = _sync(sut, "CP0435", "full")
        initial = await station.expect("SendLocalList")
        check(initial.payload["updateType"] == "Full", "the initial list is sent Full")
        await station.respond(initial, {"status": "Accepted"})
        await syncing
        initial_version = initial.payload["listVersion"]

        # 1./2. (optional) GetLocalListVersion: the tool holds the version the CSMS provided.
        station.tolerate("GetLocalListVersion", {"listVersion": initial_version})
        # Manual Action: a Differential update for an idToken not already on the list.
        await sut.add_token("OCTTLOCAL02")
        syncing = _sync(sut, "CP0435", "auto")
        call = await station.expect("SendLocalList")  # 3.
        await station.respond(call, {"status": "Accepted"})  # 4.
        result = await syncing

    # Step 3: updateType Differential; only the specified idToken, with an idTagInfo;
    # versionNumber greater than the initial listVersion.
    check(call.payload["updateType"] == "Differential", f"updateType {call.payload}")
    entries = call.payload.get("localAuthorizationList", [])
    check(
        [entry["idTag"] for entry in entries] == ["OCTTLOCAL02"],
        f"the Differential update must hold only the new idToken: {entries}",
    )
    check("idTagInfo" in entries[0], f"the new entry needs an idTagInfo: {entries}")
    check(
        call.payload["listVersion"] > initial_version,
        f"listVersion {call.payload['listVersion']} is not above {initial_version}",
    )
    assert result["update_type"] == "Differential", result
    assert result["local_list"]["in_sync"], result
