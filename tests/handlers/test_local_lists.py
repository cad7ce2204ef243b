"""Local authorization lists over the wire, with the simulator as the station (1.6 §5.10/§5.15,
2.0.1 D01/D02) and raw frames where a station must misbehave: Full, Differential and empty
updates, version mismatches, parts cut to the station's limit, automatic re-syncs, ClearCache."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import SimulatedStation
from tests.handlers.builders import BOOT_16, booted
from tests.handlers.station_calls import responding
from tests.simulator.helpers import sim_config
from tests.wire import api_client, raw_station, running_csms, settings_for

VERSIONS = [OcppVersion.V16, OcppVersion.V201]


@pytest.fixture
async def csms(tmp_path: Path) -> AsyncIterator[Csms]:
    """A CSMS that syncs lists only when asked (``local_lists = "off"``): the tests decide when
    a list moves, whatever the debounce timer does on a slow machine."""
    async with running_csms(settings_for(tmp_path, local_lists="off")) as node:
        yield node


async def sync(csms: Csms, station_id: str, mode: str = "auto") -> dict[str, Any]:
    async with api_client(csms) as api:
        response = await api.post(
            f"/api/v1/stations/{station_id}/local-list/sync", json={"mode": mode}
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def local_list(csms: Csms, station_id: str, **params: Any) -> dict[str, Any]:
    async with api_client(csms) as api:
        response = await api.get(f"/api/v1/stations/{station_id}/local-list", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def held(st: SimulatedStation) -> dict[str, tuple[str, str | None]]:
    """The simulator's list: token → (status, group)."""
    return {token: (e.status, e.group) for token, e in st.sessions.auth.entries.items()}


def sent_lists(st: SimulatedStation) -> list[dict[str, Any]]:
    return [call.payload for call in st.received if call.action == "SendLocalList"]


def update_type(payload: dict[str, Any]) -> tuple[str, int, int]:
    version: int = payload["listVersion"] if "listVersion" in payload else payload["versionNumber"]
    return payload["updateType"], version, len(payload.get("localAuthorizationList", []))


@pytest.mark.parametrize("version", VERSIONS)
async def test_full_then_differential_then_empty(csms: Csms, version: OcppVersion) -> None:
    station_id = f"LL-{version.name}"
    await csms.stations.create(StationSpec(id=station_id))
    await csms.tokens.create({"id_token": "DRIVER-A"})
    await csms.tokens.create({"id_token": "STOLEN-B", "status": "Blocked", "group_id": "FLEET"})
    await csms.tokens.create({"id_token": "OTHER-SITE", "allowed_locations": ["ELSEWHERE"]})
    async with SimulatedStation(sim_config(csms, station_id, version)) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        first = await sync(csms, station_id)
        assert (first["result"], first["update_type"], first["messages"]) == ("Accepted", "Full", 1)
        assert st.sessions.auth.version == first["local_list"]["version"] == 1
        # Blocked tokens are listed too, so the station refuses them offline
        assert held(st) == {"DRIVER-A": ("Accepted", None), "STOLEN-B": ("Blocked", "FLEET")}

        await csms.tokens.update("DRIVER-A", {"status": "Blocked"})
        await csms.tokens.create({"id_token": "DRIVER-C"})
        await csms.tokens.delete("STOLEN-B")
        second = await sync(csms, station_id)
        assert (second["result"], second["update_type"], second["entries_sent"]) == (
            "Accepted",
            "Differential",
            3,
        )
        assert st.sessions.auth.version == 2
        assert held(st) == {"DRIVER-A": ("Blocked", None), "DRIVER-C": ("Accepted", None)}
        diff_payload = sent_lists(st)[-1]
        removal = [
            item
            for item in diff_payload["localAuthorizationList"]
            if "idTagInfo" not in item and "idTokenInfo" not in item
        ]
        assert len(removal) == 1  # the deleted token: an entry without info

        unchanged = await sync(csms, station_id)
        assert (unchanged["result"], unchanged["messages"]) == ("UpToDate", 0)
        assert len(sent_lists(st)) == 2

        for token in ("DRIVER-A", "DRIVER-C", "OTHER-SITE"):
            await csms.tokens.delete(token)
        empty = await sync(csms, station_id, mode="full")
        assert (empty["result"], empty["update_type"]) == ("Accepted", "Full")
        assert update_type(sent_lists(st)[-1]) == ("Full", 3, 0)  # no list: clear it (§6.41)
        assert st.sessions.auth.entries == {}
        assert st.sessions.auth.version == 3
    state = await local_list(csms, station_id)
    assert (state["in_sync"], state["version"], state["entries"], state["managed"]) == (
        True,
        3,
        0,
        True,
    )


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_station_that_lost_its_list_gets_it_whole(csms: Csms, version: OcppVersion) -> None:
    station_id = f"LOST-{version.name}"
    await csms.stations.create(StationSpec(id=station_id))
    await csms.tokens.create({"id_token": "DRIVER-A"})
    async with SimulatedStation(sim_config(csms, station_id, version)) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        await sync(csms, station_id)
        st.sessions.auth.version, st.sessions.auth.entries = 0, {}  # a repaired controller
        async with api_client(csms) as api:
            asked = (await api.get(f"/api/v1/stations/{station_id}/local-list/version")).json()
        assert (asked["station_version"], asked["version"], asked["in_sync"]) == (0, 1, False)
        await csms.tokens.create({"id_token": "DRIVER-B"})
        again = await sync(csms, station_id)
        assert (again["result"], again["update_type"]) == ("Accepted", "Full")
        assert update_type(sent_lists(st)[-1]) == ("Full", 2, 2)
        assert set(held(st)) == {"DRIVER-A", "DRIVER-B"}


@pytest.mark.parametrize("version", VERSIONS)
async def test_updates_are_cut_to_the_stations_limit(csms: Csms, version: OcppVersion) -> None:
    station_id = f"SPLIT-{version.name}"
    await csms.stations.create(StationSpec(id=station_id))
    for n in range(5):
        await csms.tokens.create({"id_token": f"CARD-{n}"})
    st = SimulatedStation(sim_config(csms, station_id, version))
    if st.keys is not None:
        st.keys.set("SendLocalListMaxLength", "2")
    else:
        assert st.device_model is not None
        st.device_model.set("LocalAuthListCtrlr", "ItemsPerMessage", "2")
    async with st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        report = await sync(csms, station_id)
        assert (report["result"], report["messages"], report["entries_sent"]) == ("Accepted", 3, 5)
        assert [update_type(p) for p in sent_lists(st)] == [
            ("Full", 1, 2),
            ("Differential", 2, 2),
            ("Differential", 3, 1),
        ]
        assert len(st.sessions.auth.entries) == 5
        assert report["local_list"]["max_items"] == 2


@pytest.mark.parametrize("version", VERSIONS)
async def test_token_changes_reach_connected_and_returning_stations(
    tmp_path: Path, version: OcppVersion
) -> None:
    station_id = f"AUTO-{version.name}"
    settings = settings_for(tmp_path, local_list_debounce=0.0)
    async with running_csms(settings) as csms:
        await csms.stations.create(StationSpec(id=station_id))
        await csms.tokens.create({"id_token": "DRIVER-A"})
        async with SimulatedStation(sim_config(csms, station_id, version)) as st:
            await st.wait_for(lambda s: s.registration == "Accepted")
            await sync(csms, station_id)  # from now on the CSMS manages this station's list
            await csms.tokens.update("DRIVER-A", {"status": "Blocked"})
            await st.wait_for(lambda s: held(s).get("DRIVER-A") == ("Blocked", None))
            assert update_type(sent_lists(st)[-1]) == ("Differential", 2, 1)
            # the station has it; the CSMS records the result (else it still counts as pending)
            await csms.local_list_worker.idle()

            await st.go_offline()
            await csms.tokens.create({"id_token": "DRIVER-B"})  # while the station is away
            state = await local_list(csms, station_id)
            assert (state["in_sync"], state["pending_changes"]) == (False, 1)
            st.go_online()
            await st.wait_for(lambda s: "DRIVER-B" in s.sessions.auth.entries)
            assert update_type(sent_lists(st)[-1]) == ("Differential", 3, 1)
            await csms.local_list_worker.idle()  # the station has it; the CSMS records the result
        state = await local_list(csms, station_id, entries="true")
        assert state["in_sync"] is True
        assert state["items"] == [
            {"id_token": "DRIVER-A", "current": True},
            {"id_token": "DRIVER-B", "current": True},
        ]
        assert state["changes"] == []


@pytest.mark.parametrize("version", VERSIONS)
async def test_policy_all_lists_every_station_at_boot(tmp_path: Path, version: OcppVersion) -> None:
    station_id = f"ALL-{version.name}"
    async with running_csms(settings_for(tmp_path, local_lists="all")) as csms:
        await csms.stations.create(StationSpec(id=station_id))
        await csms.tokens.create({"id_token": "DRIVER-A"})
        async with SimulatedStation(sim_config(csms, station_id, version)) as st:
            await st.wait_for(lambda s: "DRIVER-A" in s.sessions.auth.entries)
            assert st.sessions.auth.version == 1


@pytest.mark.parametrize("version", VERSIONS)
async def test_clear_cache(csms: Csms, version: OcppVersion) -> None:
    station_id = f"CACHE-{version.name}"
    await csms.stations.create(StationSpec(id=station_id))
    await csms.tokens.create({"id_token": "DRIVER-A"})
    async with SimulatedStation(sim_config(csms, station_id, version)) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        await st.authorize("DRIVER-A")
        assert "DRIVER-A" in st.sessions.auth.cache
        async with api_client(csms) as api:
            response = await api.post(f"/api/v1/stations/{station_id}/clear-cache")
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "Accepted"}
        assert st.sessions.auth.cache == {}


async def test_a_station_without_local_lists_is_recorded_and_left_alone(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="NOLIST"))
    await csms.tokens.create({"id_token": "DRIVER-A"})
    st = SimulatedStation(sim_config(csms, "NOLIST", OcppVersion.V16))
    assert st.keys is not None
    st.keys.set("LocalAuthListEnabled", "false")
    async with st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        report = await sync(csms, "NOLIST")
        assert report["result"] == "NotSupported"
        state = await local_list(csms, "NOLIST")
        assert (state["last_result"], state["in_sync"]) == ("NotSupported", False)
        # the worker leaves it alone after a boot (only an operator's sync tries again)
        assert not await csms.local_lists.needs_sync("NOLIST", "1.6")


async def test_a_refused_differential_is_followed_by_the_full_list(csms: Csms) -> None:
    """1.6 §5.15: Failed or VersionMismatch to a Differential → the Full list (raw frames: the
    simulator never refuses a newer version)."""
    await csms.stations.create(StationSpec(id="PICKY"))
    await csms.tokens.create({"id_token": "DRIVER-A"})
    versions = iter([0, 1])
    answers = {
        "GetLocalListVersion": lambda _p: {"listVersion": next(versions)},
        "GetConfiguration": {"unknownKey": ["SendLocalListMaxLength"]},
        "SendLocalList": lambda p: {
            "status": "VersionMismatch" if p["updateType"] == "Differential" else "Accepted"
        },
    }
    async with raw_station(csms, "PICKY") as cp:
        await booted(cp, "ocpp1.6")
        async with responding(cp, answers) as station:
            assert (await sync(csms, "PICKY"))["update_type"] == "Full"
            await csms.tokens.create({"id_token": "DRIVER-B"})
            report = await sync(csms, "PICKY")
        assert [update_type(p) for p in station.payloads("SendLocalList")] == [
            ("Full", 1, 1),
            ("Differential", 2, 1),
            ("Full", 3, 2),
        ]
        assert (report["result"], report["update_type"], report["messages"]) == (
            "Accepted",
            "Full",
            2,
        )
        # the default cut was used: the station did not report SendLocalListMaxLength
        assert report["local_list"]["max_items"] == csms.settings.local_list_items_per_message
        assert report["local_list"]["version"] == 3


async def test_long_tokens_and_groups_stay_off_a_16_list(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="OLD"))
    await csms.tokens.create({"id_token": "EMAID-WAY-TOO-LONG-FOR-1.6", "type": "eMAID"})
    await csms.tokens.create({"id_token": "SHORT", "group_id": "A-GROUP-NAME-OF-25-CHARS"})
    answers = {
        "GetLocalListVersion": {"listVersion": 0},
        "GetConfiguration": {
            "configurationKey": [{"key": "SendLocalListMaxLength", "readonly": True, "value": "9"}]
        },
        "SendLocalList": {"status": "Accepted"},
    }
    async with raw_station(csms, "OLD") as cp:
        assert (await cp.result("BootNotification", BOOT_16))["status"] == "Accepted"
        async with responding(cp, answers) as station:
            report = await sync(csms, "OLD")
    [sent] = station.payloads("SendLocalList")
    assert sent["localAuthorizationList"] == [
        {"idTag": "SHORT", "idTagInfo": {"status": "Accepted"}}
    ]
    assert report["local_list"]["max_items"] == 9
