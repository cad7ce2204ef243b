"""1.6 configuration over real HTTP and real OCPP-J: keys read and stored with their read-only
flags, keys changed with each answer a station can give, desired configuration applied after
boot (and a refused key left as drift instead of resent), configuration profiles matched on
vendor and model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from opencsms.app import Csms
from opencsms.domain.desired_config import ProfileSeed
from opencsms.domain.stations import StationSpec
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import SimulatedStation
from tests.handlers.builders import booted
from tests.handlers.station_calls import responding
from tests.simulator.helpers import sim_config
from tests.wire import api_client, raw_station, running_csms, settings_for

V16 = OcppVersion.V16


async def log_of(api: httpx.AsyncClient, station_id: str) -> list[dict[str, Any]]:
    """The station's command log, oldest first."""
    response = await api.get(f"/api/v1/stations/{station_id}/commands")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items[::-1]


def keys_of(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k["key"]: k for k in body["keys"]}


async def test_refresh_stores_keys_with_readonly_flags(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CFG-1"))
    async with (
        SimulatedStation(sim_config(csms, "CFG-1", V16, heartbeat_interval=300)) as st,
        api_client(csms) as api,
    ):
        await st.wait_for(lambda s: s.registration == "Accepted")
        before = await api.get("/api/v1/stations/CFG-1/configuration")
        full = await api.post("/api/v1/stations/CFG-1/configuration/refresh")
        some = await api.post(
            "/api/v1/stations/CFG-1/configuration/refresh",
            json={"keys": ["HeartbeatInterval", "NoSuchKey"]},
        )
        log = await log_of(api, "CFG-1")
    assert before.status_code == 200
    assert before.json()["keys"] == []  # nothing read yet
    assert full.status_code == 200, full.text
    keys = keys_of(full.json()["configuration"])
    assert st.keys is not None
    known, _ = st.keys.get_configuration(None)
    assert set(keys) == {str(k["key"]) for k in known}
    assert keys["HeartbeatInterval"]["value"] == "300"
    assert keys["HeartbeatInterval"]["readonly"] is False
    assert keys["NumberOfConnectors"]["readonly"] is True
    assert keys["HeartbeatInterval"]["desired"] is None
    assert full.json()["command"]["payload"] == {}  # every key
    assert some.status_code == 200, some.text
    assert some.json()["unknown_keys"] == ["NoSuchKey"]
    assert some.json()["command"]["payload"] == {"key": ["HeartbeatInterval", "NoSuchKey"]}
    assert [(c["action"], c["requested_by"]) for c in log] == [("GetConfiguration", "api")] * 2


async def test_change_key_answers(tmp_path: Path) -> None:
    """Accepted (stored), Rejected (read-only), NotSupported (unknown key) from the simulator;
    RebootRequired from a raw station (the old value stays until the station reports the new
    one; remembered as desired, the drift says why)."""
    async with running_csms(settings_for(tmp_path)) as csms, api_client(csms) as api:
        await csms.stations.create(StationSpec(id="CHG-1"))
        await csms.stations.create(StationSpec(id="CHG-RAW"))
        async with SimulatedStation(sim_config(csms, "CHG-1", V16)) as st:
            await st.wait_for(lambda s: s.registration == "Accepted")
            base = "/api/v1/stations/CHG-1/configuration"
            await api.post(f"{base}/refresh")
            accepted = await api.put(f"{base}/HeartbeatInterval", json={"value": "120"})
            readonly = await api.put(f"{base}/NumberOfConnectors", json={"value": "4"})
            unknown = await api.put(f"{base}/NoSuchKey", json={"value": "1"})
            view = keys_of((await api.get(base)).json())
        assert st.keys is not None
        assert accepted.json()["status"] == "Accepted"
        assert st.keys.get("HeartbeatInterval") == "120"
        assert view["HeartbeatInterval"]["value"] == "120"  # stored from the answer
        assert readonly.json()["status"] == "Rejected"
        assert view["NumberOfConnectors"]["value"] == "1"
        assert unknown.json()["status"] == "NotSupported"
        assert "NoSuchKey" not in view
        assert accepted.json()["command"]["payload"] == {"key": "HeartbeatInterval", "value": "120"}

        async with raw_station(csms, "CHG-RAW") as raw:
            await booted(raw, "ocpp1.6")
            answers = {
                "GetConfiguration": {
                    "configurationKey": [
                        {"key": "WebSocketPingInterval", "readonly": False, "value": "60"}
                    ]
                },
                "ChangeConfiguration": {"status": "RebootRequired"},
            }
            async with responding(raw, answers):
                base = "/api/v1/stations/CHG-RAW/configuration"
                await api.post(f"{base}/refresh")
                reboot = await api.put(
                    f"{base}/WebSocketPingInterval",
                    params={"desired": "true"},
                    json={"value": "30"},
                )
                view = keys_of((await api.get(base)).json())
    assert reboot.status_code == 200, reboot.text
    assert reboot.json()["status"] == "RebootRequired"
    assert reboot.json()["desired"] is True
    ping = view["WebSocketPingInterval"]
    assert ping["value"] == "60"
    assert ping["desired"] == "30"
    assert ping["in_sync"] is False
    assert ping["drift_reason"] == "RebootRequired"


async def test_desired_keys_applied_on_boot_and_refusals_kept_as_drift(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="DES-1"))
    async with api_client(csms) as api:
        put = await api.put(
            "/api/v1/stations/DES-1/desired-configuration",
            json={
                "configuration": {
                    "ConnectionTimeOut": 90,
                    "MeterValueSampleInterval": "often",  # not a number: the station refuses
                    "NumberOfConnectors": "4",  # read-only: not even sent
                }
            },
        )
        assert put.status_code == 200, put.text
        assert put.json()["apply_queued"] is False  # not connected
        # Not HeartbeatInterval: a 1.6 station takes that from each BootNotification answer
        # (the station's heartbeat_interval), so a desired one would be re-applied every boot.
        config = sim_config(csms, "DES-1", V16)
        async with SimulatedStation(config) as st:
            await st.wait_for(lambda s: s.registration == "Accepted")
            await csms.desired_config_worker.idle()
            assert st.keys is not None
            assert st.keys.get("ConnectionTimeOut") == "90"
            drift = (await api.get("/api/v1/stations/DES-1/drift")).json()
            first = await log_of(api, "DES-1")

            boots = st.boots_answered
            reset = await api.post("/api/v1/stations/DES-1/commands/reset", json={"type": "soft"})
            assert reset.status_code == 200
            await st.wait_for(lambda s: s.boots_answered > boots and s.connected)
            await csms.desired_config_worker.idle()
            second = (await log_of(api, "DES-1"))[len(first) + 1 :]
            everything = (await api.get("/api/v1/stations/DES-1/drift", params={"all": 1})).json()

    assert [(c["action"], c["requested_by"]) for c in first] == [
        ("GetConfiguration", "csms"),
        ("ChangeConfiguration", "csms"),
        ("ChangeConfiguration", "csms"),
    ]
    assert [c["payload"]["key"] for c in first[1:]] == [
        "ConnectionTimeOut",
        "MeterValueSampleInterval",
    ]
    assert drift["in_sync"] is False
    reasons = {e["key"]: (e["reason"], e["actual"]) for e in drift["entries"]}
    assert reasons == {
        "MeterValueSampleInterval": ("Rejected", "60"),
        "NumberOfConnectors": ("Rejected", "1"),
    }
    # After the reboot the refused values are not sent again (no retry loop): only the read.
    assert [c["action"] for c in second] == ["GetConfiguration"]
    assert {e["key"]: e["in_sync"] for e in everything["entries"]} == {
        "ConnectionTimeOut": True,
        "MeterValueSampleInterval": False,
        "NumberOfConnectors": False,
    }


async def test_operator_apply_retries_and_change_of_desired_applies(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="DES-2"))
    await csms.desired_config.set_station("DES-2", {"MeterValueSampleInterval": "often"}, None)
    async with (
        SimulatedStation(sim_config(csms, "DES-2", V16)) as st,
        api_client(csms) as api,
    ):
        await st.wait_for(lambda s: s.registration == "Accepted")
        await csms.desired_config_worker.idle()
        retried = await api.post("/api/v1/stations/DES-2/desired-configuration/apply", json={})
        changed = await api.put(
            "/api/v1/stations/DES-2/desired-configuration",
            json={"configuration": {"MeterValueSampleInterval": "30"}},
        )
        await csms.desired_config_worker.idle()
        drift = (await api.get("/api/v1/stations/DES-2/drift")).json()
    assert retried.status_code == 200, retried.text
    assert [(a["key"], a["status"]) for a in retried.json()["attempts"]] == [
        ("MeterValueSampleInterval", "Rejected")
    ]
    assert [c["requested_by"] for c in retried.json()["commands"]] == ["api", "api"]
    assert changed.json()["apply_queued"] is True
    assert st.keys is not None
    assert st.keys.get("MeterValueSampleInterval") == "30"
    assert drift == {"station_id": "DES-2", "ocpp_version": "1.6", "in_sync": True, "entries": []}


async def test_profile_applies_to_matching_models_only(tmp_path: Path) -> None:
    profile = ProfileSeed(
        name="sim-ac",
        vendor="opencsms",  # vendors match without case
        model="SimCharger AC",
        configuration={"HeartbeatInterval": "90"},
        variables={},
    )
    settings = settings_for(tmp_path, configuration_profiles=(profile,))
    async with running_csms(settings) as csms, api_client(csms) as api:
        await csms.stations.create(StationSpec(id="AC-1"))
        await csms.stations.create(StationSpec(id="DC-1"))
        ac = sim_config(csms, "AC-1", V16, heartbeat_interval=300)
        dc = sim_config(csms, "DC-1", V16, heartbeat_interval=300, model="SimCharger DC")
        async with SimulatedStation(ac) as st_ac, SimulatedStation(dc) as st_dc:
            await st_ac.wait_for(lambda s: s.registration == "Accepted")
            await st_dc.wait_for(lambda s: s.registration == "Accepted")
            await csms.desired_config_worker.idle()
            desired_ac = (await api.get("/api/v1/stations/AC-1/desired-configuration")).json()
            desired_dc = (await api.get("/api/v1/stations/DC-1/desired-configuration")).json()
            listed = (await api.get("/api/v1/configuration-profiles")).json()
            log_dc = await log_of(api, "DC-1")
        assert st_ac.keys is not None
        assert st_dc.keys is not None
        assert st_ac.keys.get("HeartbeatInterval") == "90"
        assert st_dc.keys.get("HeartbeatInterval") == "300"
    assert desired_ac["profiles"] == ["sim-ac"]
    assert desired_ac["effective"] == [
        {"kind": "key", "key": "HeartbeatInterval", "value": "90", "source": "profile:sim-ac"}
    ]
    assert desired_dc["profiles"] == []
    assert log_dc == []  # nothing desired: nothing sent
    assert [p["name"] for p in listed] == ["sim-ac"]


async def test_profiles_crud_and_station_entries_override(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="OVR-1"))
    async with api_client(csms) as api:
        created = await api.put(
            "/api/v1/configuration-profiles/acme-all",
            json={"vendor": "ACME", "configuration": {"HeartbeatInterval": 600, "A": True}},
        )
        bad = await api.put(
            "/api/v1/configuration-profiles/acme-bad",
            json={"vendor": "ACME", "variables": {"not a path": "1"}},
        )
        await api.put(
            "/api/v1/stations/OVR-1/desired-configuration",
            json={"configuration": {"heartbeatinterval": "60"}},
        )
        async with raw_station(csms, "OVR-1") as raw:  # boots as ACME (the profile matches)
            await booted(raw, "ocpp1.6")
            desired = (await api.get("/api/v1/stations/OVR-1/desired-configuration")).json()
        missing = await api.get("/api/v1/configuration-profiles/nope")
        deleted = await api.delete("/api/v1/configuration-profiles/acme-all")
        again = await api.delete("/api/v1/configuration-profiles/acme-all")
        cleared = await api.delete("/api/v1/stations/OVR-1/desired-configuration")
        after = (await api.get("/api/v1/stations/OVR-1/desired-configuration")).json()
    assert created.status_code == 200, created.text
    assert created.json()["configuration"] == {"HeartbeatInterval": "600", "A": "true"}
    assert created.json()["model"] is None
    assert bad.status_code == 422
    assert "not a variable path" in bad.json()["detail"]
    assert desired["profiles"] == ["acme-all"]
    assert {e["key"]: (e["value"], e["source"]) for e in desired["effective"]} == {
        "A": ("true", "profile:acme-all"),
        "heartbeatinterval": ("60", "station"),  # the station's own entry wins
    }
    assert missing.status_code == 404
    assert (deleted.status_code, again.status_code, cleared.status_code) == (204, 404, 204)
    assert after["configuration"] == {}
    assert after["effective"] == []


async def test_unknown_offline_and_wrong_version(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="OFF-1"))
    await csms.stations.create(StationSpec(id="V2-1"))
    async with api_client(csms) as api:
        unknown = await api.post("/api/v1/stations/NOPE/configuration/refresh")
        offline = await api.post("/api/v1/stations/OFF-1/configuration/refresh")
        async with raw_station(csms, "V2-1", "ocpp2.0.1") as raw:
            await booted(raw, "ocpp2.0.1")
            wrong = await api.put("/api/v1/stations/V2-1/configuration/X", json={"value": "1"})
    assert unknown.status_code == 404
    assert offline.status_code == 409
    assert offline.json()["detail"] == "station 'OFF-1' is not connected"
    assert wrong.status_code == 400
    assert "device model" in wrong.json()["detail"]
