"""2.0.1 device model over real HTTP and real OCPP-J: reports stored part by part and browsable,
variables read and set in as many CALLs as the station's limits allow, desired variables applied
after boot, SetNetworkProfile, and the failure paths (offline, no answer, resent parts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from opencsms.simulator import SimulatedStation
from opencsms.simulator.customer import records
from tests.handlers.builders import booted
from tests.handlers.station_calls import NO_ANSWER, responding
from tests.simulator.helpers import sim_config
from tests.wire import RawStation, api_client, raw_station, running_csms, settings_for

OCPPCOMM = "OCPPCommCtrlr"


async def log_of(api: httpx.AsyncClient, station_id: str) -> list[dict[str, Any]]:
    """The station's command log, oldest first."""
    response = await api.get(f"/api/v1/stations/{station_id}/commands")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items[::-1]


async def full_report(api: httpx.AsyncClient, station_id: str) -> dict[str, Any]:
    """Ask for a FullInventory and wait (bounded) until every part is stored."""
    asked = await api.post(
        f"/api/v1/stations/{station_id}/device-model/report",
        json={"report_base": "FullInventory"},
    )
    assert asked.status_code == 200, asked.text
    request_id = asked.json()["request_id"]
    done = await api.get(
        f"/api/v1/stations/{station_id}/device-model/reports/{request_id}", params={"wait": 5}
    )
    assert done.status_code == 200
    report: dict[str, Any] = done.json()
    assert report["complete"], report
    return {"asked": asked.json(), "done": report}


async def test_full_inventory_in_parts_is_stored_and_browsable(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="DM-1"))
    async with (
        SimulatedStation(sim_config(csms, "DM-1")) as st,
        api_client(csms) as api,
    ):
        await st.wait_for(lambda s: s.registration == "Accepted")
        assert st.device_model is not None
        st.device_model.set("DeviceDataCtrlr", "ItemsPerMessage", "4")  # several parts
        report = await full_report(api, "DM-1")
        page = (await api.get("/api/v1/stations/DM-1/device-model", params={"limit": 5})).json()
        comm = (
            await api.get(
                "/api/v1/stations/DM-1/device-model", params={"component": "ocppcommctrlr"}
            )
        ).json()
        listed = (await api.get("/api/v1/stations/DM-1/device-model/reports")).json()
        notify = [c for c in st.received if c.action == "NotifyReport"]
    total = len(st.device_model.items())
    asked, done = report["asked"], report["done"]
    assert asked["status"] == "Accepted"
    assert asked["command"]["action"] == "GetBaseReport"
    assert asked["command"]["payload"] == {
        "requestId": asked["request_id"],
        "reportBase": "FullInventory",
    }
    assert asked["request_id"] == asked["command"]["id"]
    assert done["parts"] == -(-total // 4) > 1
    assert done["kind"] == "FullInventory"
    assert page["total"] == total
    assert len(page["items"]) == 5
    assert {i["component"] for i in comm["items"]} == {OCPPCOMM}
    heartbeat = next(i for i in comm["items"] if i["variable"] == "HeartbeatInterval")
    assert heartbeat["path"] == "OCPPCommCtrlr.HeartbeatInterval"
    assert heartbeat["value"] == str(st.heartbeat_interval)
    assert heartbeat["mutability"] == "ReadWrite"
    assert heartbeat["characteristics"]["data_type"] == "integer"
    assert heartbeat["report_id"] == asked["request_id"]
    assert [r["request_id"] for r in listed] == [asked["request_id"]]
    assert notify == []  # the station sent them; the CSMS never sends NotifyReport


async def test_variables_split_by_items_per_message(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="DM-2"))
    async with (
        SimulatedStation(sim_config(csms, "DM-2")) as st,
        api_client(csms) as api,
    ):
        await st.wait_for(lambda s: s.registration == "Accepted")
        assert st.device_model is not None
        st.device_model.set("DeviceDataCtrlr", "ItemsPerMessage", "2")
        await full_report(api, "DM-2")  # the CSMS learns the limit from the report
        items = [
            {"path": "OCPPCommCtrlr.HeartbeatInterval", "value": "100"},
            {"component": "SampledDataCtrlr", "variable": "TxUpdatedInterval", "value": "30"},
            {"path": "SecurityCtrlr.Identity", "value": "other"},  # read-only
            {"path": "NoSuchCtrlr.Thing", "value": "1"},
            {"path": "AuthCacheCtrlr.Enabled", "value": "false"},
        ]
        set_ = await api.post("/api/v1/stations/DM-2/variables/set", json={"items": items})
        get = await api.post(
            "/api/v1/stations/DM-2/variables/get",
            json={
                "items": [
                    {"path": i["path"]}
                    if "path" in i
                    else {k: i[k] for k in ("component", "variable")}
                    for i in items
                ]
            },
        )
        stored = (
            await api.get("/api/v1/stations/DM-2/device-model", params={"component": OCPPCOMM})
        ).json()
        log = await log_of(api, "DM-2")
        heartbeat_now = st.device_model.get(OCPPCOMM, "HeartbeatInterval")
    assert set_.status_code == 200, set_.text
    assert [(r["path"], r["status"]) for r in set_.json()["results"]] == [
        ("OCPPCommCtrlr.HeartbeatInterval", "Accepted"),
        ("SampledDataCtrlr.TxUpdatedInterval", "Accepted"),
        ("SecurityCtrlr.Identity", "Rejected"),
        ("NoSuchCtrlr.Thing", "UnknownComponent"),
        ("AuthCacheCtrlr.Enabled", "Accepted"),
    ]
    assert [len(c["payload"]["setVariableData"]) for c in set_.json()["commands"]] == [2, 2, 1]
    assert heartbeat_now == "100"
    assert get.status_code == 200, get.text
    assert [(r["status"], r["value"]) for r in get.json()["results"]] == [
        ("Accepted", "100"),
        ("Accepted", "30"),
        ("Accepted", "DM-2"),
        ("UnknownComponent", None),
        ("Accepted", "false"),
    ]
    assert [len(c["payload"]["getVariableData"]) for c in get.json()["commands"]] == [2, 2, 1]
    assert [c["action"] for c in log].count("SetVariables") == 3
    assert [c["action"] for c in log].count("GetVariables") == 3
    row = next(i for i in stored["items"] if i["variable"] == "HeartbeatInterval")
    assert row["value"] == "100"
    assert row["mutability"] == "ReadWrite"  # what the report said is kept


async def test_desired_variables_applied_on_boot(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="DM-3"))
    async with api_client(csms) as api:
        put = await api.put(
            "/api/v1/stations/DM-3/desired-configuration",
            json={
                "variables": {
                    "SampledDataCtrlr.TxUpdatedInterval": 15,
                    "AuthCacheCtrlr.Enabled": False,
                    "SecurityCtrlr.Identity": "renamed",  # read-only: Rejected
                    "NoSuchCtrlr.Thing": "1",  # UnknownComponent: not even set
                }
            },
        )
        assert put.status_code == 200, put.text
        async with SimulatedStation(sim_config(csms, "DM-3", meter_sample_interval=60)) as st:
            await st.wait_for(lambda s: s.registration == "Accepted")
            await csms.desired_config_worker.idle()
            assert st.device_model is not None
            interval = st.device_model.get("SampledDataCtrlr", "TxUpdatedInterval")
            cache = st.device_model.get("AuthCacheCtrlr", "Enabled")
            drift = (await api.get("/api/v1/stations/DM-3/drift", params={"all": 1})).json()
            log = await log_of(api, "DM-3")
    assert (interval, cache) == ("15", "false")
    assert [(c["action"], c["requested_by"]) for c in log] == [
        ("GetVariables", "csms"),
        ("SetVariables", "csms"),
    ]
    set_items = log[1]["payload"]["setVariableData"]
    assert {i["variable"]["name"] for i in set_items} == {
        "TxUpdatedInterval",
        "Enabled",
        "Identity",
    }
    entries = {e["key"]: (e["in_sync"], e["reason"]) for e in drift["entries"]}
    assert entries == {
        "AuthCacheCtrlr.Enabled": (True, None),
        "NoSuchCtrlr.Thing": (False, "UnknownComponent"),
        "SampledDataCtrlr.TxUpdatedInterval": (True, None),
        "SecurityCtrlr.Identity": (False, "Rejected"),
    }


async def test_set_network_profile(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="NP-1"))
    data = {
        "ocppVersion": "OCPP20",
        "ocppTransport": "JSON",
        "ocppCsmsUrl": "wss://csms2.example.com/ocpp",
        "messageTimeout": 30,
        "securityProfile": 2,
        "ocppInterface": "Wired0",
    }
    async with (
        SimulatedStation(sim_config(csms, "NP-1")) as st,
        api_client(csms) as api,
    ):
        await st.wait_for(lambda s: s.registration == "Accepted")
        url = "/api/v1/stations/NP-1/network-profile"
        accepted = await api.post(url, json={"configuration_slot": 1, "connection_data": data})
        rejected = await api.post(url, json={"configuration_slot": 9, "connection_data": data})
        invalid = await api.post(
            url, json={"configuration_slot": 1, "connection_data": {"ocppVersion": "OCPP20"}}
        )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["response"] == {"status": "Accepted"}
    assert records(st).profiles[1] == data
    assert rejected.json()["response"] == {
        "status": "Rejected",
        "statusInfo": {"reasonCode": "InvalidConfSlot"},
    }
    assert invalid.status_code == 400  # the schema refuses it: nothing sent
    assert invalid.json()["command"]["status"] == "Invalid"
    assert [c.action for c in st.received].count("SetNetworkProfile") == 2


async def test_offline_timeout_and_wrong_version(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path, call_timeout=0.5)) as csms:
        for station_id in ("GONE", "MUTE", "OLD"):
            await csms.stations.create(StationSpec(id=station_id))
        get = {"items": [{"path": "OCPPCommCtrlr.HeartbeatInterval"}]}
        async with api_client(csms) as api:
            offline = await api.post("/api/v1/stations/GONE/variables/get", json=get)
            async with raw_station(csms, "MUTE", "ocpp2.0.1") as raw:
                await booted(raw, "ocpp2.0.1")
                async with responding(raw, {"GetVariables": NO_ANSWER}):
                    silent = await api.post("/api/v1/stations/MUTE/variables/get", json=get)
            async with raw_station(csms, "OLD", "ocpp1.6") as raw16:
                await booted(raw16, "ocpp1.6")
                old = await api.post("/api/v1/stations/OLD/variables/get", json=get)
            bad_path = await api.post(
                "/api/v1/stations/MUTE/variables/get", json={"items": [{"path": "no-dot"}]}
            )
    assert offline.status_code == 409
    assert silent.status_code == 504, silent.text
    assert silent.json()["command"]["status"] == "Timeout"
    assert silent.json()["commands"] == []
    assert old.status_code == 400
    assert bad_path.status_code == 422


async def _notify(
    raw: RawStation, request_id: int, seq_no: int, tbc: bool, names: list[str]
) -> None:
    payload = {
        "requestId": request_id,
        "generatedAt": "2026-01-01T10:00:00Z",
        "seqNo": seq_no,
        "tbc": tbc,
        "reportData": [
            {
                "component": {"name": "TestCtrlr"},
                "variable": {"name": name},
                "variableAttribute": [{"type": "Actual", "value": "1", "mutability": "ReadWrite"}],
                "variableCharacteristics": {"dataType": "integer", "supportsMonitoring": False},
            }
            for name in names
        ],
    }
    assert await raw.result("NotifyReport", payload) == {}


async def test_notify_report_stored_before_answer_resend_idempotent_full_replaces(
    csms: Csms,
) -> None:
    await csms.stations.create(StationSpec(id="RAW-DM"))
    async with raw_station(csms, "RAW-DM", "ocpp2.0.1") as raw, api_client(csms) as api:
        await booted(raw, "ocpp2.0.1")
        url = "/api/v1/stations/RAW-DM/device-model"

        async def ask(body: dict[str, Any]) -> int:
            async with responding(
                raw, {"GetBaseReport": {"status": "Accepted"}, "GetReport": {"status": "Accepted"}}
            ):
                asked = await api.post(f"{url}/report", json=body)
            assert asked.status_code == 200, asked.text
            request_id: int = asked.json()["request_id"]
            return request_id

        async def names() -> list[str]:
            page = (await api.get(url, params={"component": "TestCtrlr"})).json()
            return [i["variable"] for i in page["items"]]

        first = await ask({"report_base": "FullInventory"})
        await _notify(raw, first, 0, True, ["A", "B"])
        assert await names() == ["A", "B"]  # answered only once stored
        await _notify(raw, first, 1, False, ["C"])
        await _notify(raw, first, 1, False, ["C"])  # resent: nothing twice
        await _notify(raw, first, 0, True, ["A", "B"])
        report = (await api.get(f"{url}/reports/{first}")).json()
        assert (report["parts"], report["complete"]) == (2, True)
        assert await names() == ["A", "B", "C"]

        custom = await ask({"component_variables": [{"component": "TestCtrlr", "variable": "D"}]})
        await _notify(raw, custom, 0, False, ["D"])
        assert await names() == ["A", "B", "C", "D"]  # a GetReport adds what it carries

        second = await ask({"report_base": "FullInventory"})
        await _notify(raw, second, 0, True, ["B"])
        assert await names() == ["A", "B", "C", "D"]  # incomplete: nothing removed yet
        await _notify(raw, second, 1, False, ["E"])
        assert await names() == ["B", "E"]  # complete FullInventory: replaces
        unasked = 999_999
        await _notify(raw, unasked, 0, False, ["F"])
        listed = (await api.get(f"{url}/reports")).json()
    assert await_kinds(listed) == [
        ("Unsolicited", None),
        ("FullInventory", "Accepted"),
        ("GetReport", "Accepted"),
        ("FullInventory", "Accepted"),
    ]


def await_kinds(listed: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(r["kind"], r["status"]) for r in listed]
