"""Security profile upgrade over OCPP, over real sockets and real TLS (A05).

The operator asks through ``POST .../security-profile/upgrade``; a raw station answers the CSMS's
CALLs (2.0.1: SetNetworkProfile, SetVariables NetworkConfigurationPriority, Reset; 1.6:
ChangeConfiguration SecurityProfile), then reconnects on the TLS listener; the gateway's answers
show which profiles the CSMS admits at each step.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from websockets.exceptions import InvalidStatus

from opencsms.app import Csms
from opencsms.config import StationSeed
from tests.transport.tls_pki import TestPki, make_pki, tls_station
from tests.wire import RawStation, api_client, basic_auth, running_csms, settings_for

PW = "upgrade-password-000001"
BOOT_16 = {"chargePointVendor": "ACME", "chargePointModel": "Wallbox 1"}
BOOT_201 = {
    "reason": "PowerUp",
    "chargingStation": {"vendorName": "ACME", "model": "Wallbox 2"},
}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
async def csms(tmp_path: Path, pki: TestPki) -> AsyncIterator[Csms]:
    settings = settings_for(
        tmp_path,
        ocpp_tls_port=0,
        tls_cert_file=str(pki.server_rsa.cert_file),
        tls_key_file=str(pki.server_rsa.key_file),
        stations=(
            StationSeed(id="U16", password=PW),
            StationSeed(id="U201", password=PW),
            StationSeed(id="NOPW"),
        ),
    )
    async with running_csms(settings) as node:
        yield node


async def _answer(station: RawStation, action: str, payload: dict[str, Any]) -> list[Any]:
    """Receive the CSMS's next CALL (it must be ``action``) and answer it with ``payload``."""
    call = await station.recv()
    assert call[0] == 2, call
    assert call[2] == action, call
    await station.send_raw(orjson.dumps([3, call[1], payload]).decode())
    return call


def _variable_result(call: list[Any], status: str, key: str = "setVariableData") -> dict[str, Any]:
    item = call[3][key][0]
    result = {
        "attributeStatus": status,
        "component": item["component"],
        "variable": item["variable"],
    }
    if key == "getVariableData":
        result["attributeValue"] = "1"
    return {("setVariableResult" if key == "setVariableData" else "getVariableResult"): [result]}


async def _refused(port: int, station_id: str, context: Any, version: str) -> int:
    with pytest.raises(InvalidStatus) as refused:
        async with tls_station(
            port, station_id, context, version, headers=basic_auth(station_id, PW)
        ):
            pass
    return refused.value.response.status_code


async def test_201_upgrade_runs_a05_and_the_station_reconnects_at_profile_2(
    csms: Csms, pki: TestPki
) -> None:
    assert csms.ports.tls is not None
    url = f"wss://127.0.0.1:{csms.ports.tls}/ocpp"
    auth = basic_auth("U201", PW)
    async with tls_station(csms.ports.ocpp, "U201", None, "ocpp2.0.1", headers=auth) as station:
        assert (await station.result("BootNotification", BOOT_201))["status"] == "Accepted"
        async with api_client(csms) as api:
            request = asyncio.create_task(
                api.post(
                    "/api/v1/stations/U201/security-profile/upgrade",
                    json={"profile": 2, "ocpp_csms_url": url},
                )
            )
            get = await station.recv()
            assert get[2] == "GetVariables"
            assert get[3]["getVariableData"][0]["variable"]["name"] == (
                "NetworkConfigurationPriority"
            )
            await station.send_raw(
                orjson.dumps(
                    [3, get[1], _variable_result(get, "Accepted", "getVariableData")]
                ).decode()
            )
            network = await _answer(station, "SetNetworkProfile", {"status": "Accepted"})
            assert network[3]["configurationSlot"] == 2  # one above the slot in use
            data = network[3]["connectionData"]
            assert data["securityProfile"] == 2
            assert data["ocppCsmsUrl"] == url
            assert data["ocppVersion"] == "OCPP20"
            assert data["ocppTransport"] == "JSON"
            priority = await station.recv()
            assert priority[2] == "SetVariables"
            item = priority[3]["setVariableData"][0]
            assert item["component"]["name"] == "OCPPCommCtrlr"
            assert item["attributeValue"] == "2,1"  # the new slot first, the old as fallback
            await station.send_raw(
                orjson.dumps([3, priority[1], _variable_result(priority, "Accepted")]).decode()
            )
            reset = await _answer(station, "Reset", {"status": "Accepted"})
            assert reset[3] == {"type": "OnIdle"}
            response = await request
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["sent"] is True
        assert body["pending_security_profile"] == 2
        assert [s["action"] for s in body["steps"]] == [
            "GetVariables",
            "SetNetworkProfile",
            "SetVariables",
            "Reset",
        ]
    # Pending: the old profile still gets in (the station falls back, A05.FR.08).
    async with tls_station(csms.ports.ocpp, "U201", None, "ocpp2.0.1", headers=auth):
        pass
    # The station reconnects at profile 2: from now on profile 1 is refused (A05.FR.09).
    async with tls_station(csms.ports.tls, "U201", pki.client_context(), "ocpp2.0.1", headers=auth):
        pass
    assert csms.security.profile_of("U201") == 2
    assert await _refused(csms.ports.ocpp, "U201", None, "ocpp2.0.1") == 403
    async with api_client(csms) as api:
        state = (await api.get("/api/v1/stations/U201/security")).json()
        commands = (await api.get("/api/v1/stations/U201/commands")).json()
    assert state["security_profile"] == 2
    assert state["pending_security_profile"] is None
    recorded = {c["action"]: c["requested_by"] for c in commands["items"]}
    assert {"SetNetworkProfile", "SetVariables", "Reset"} <= recorded.keys()
    assert recorded["Reset"] != "api"  # the CSMS's own command


async def test_16_upgrade_sets_the_security_profile_key_and_the_station_reconnects(
    csms: Csms, pki: TestPki
) -> None:
    assert csms.ports.tls is not None
    auth = basic_auth("U16", PW)
    async with tls_station(csms.ports.ocpp, "U16", None, headers=auth) as station:
        assert (await station.result("BootNotification", BOOT_16))["status"] == "Accepted"
        async with api_client(csms) as api:
            request = asyncio.create_task(
                api.post("/api/v1/stations/U16/security-profile/upgrade", json={"profile": 2})
            )
            change = await _answer(station, "ChangeConfiguration", {"status": "Accepted"})
            assert change[3] == {"key": "SecurityProfile", "value": "2"}
            response = await request
        assert response.status_code == 200, response.text
        assert response.json()["sent"] is True
        assert response.json()["steps"][0]["status"] == "Accepted"
        # Nothing in the inventory: the CSMS says what the station will probably miss.
        assert "A05.FR.03" in response.json()["warnings"][0]
    async with tls_station(csms.ports.tls, "U16", pki.client_context(), headers=auth) as station:
        assert (await station.result("BootNotification", BOOT_16))["status"] == "Accepted"
    assert csms.security.profile_of("U16") == 2
    assert await _refused(csms.ports.ocpp, "U16", None, "ocpp1.6") == 403


async def test_a_rejected_step_drops_the_pending_profile(csms: Csms) -> None:
    auth = basic_auth("U16", PW)
    async with (
        tls_station(csms.ports.ocpp, "U16", None, headers=auth) as station,
        api_client(csms) as api,
    ):
        request = asyncio.create_task(
            api.post("/api/v1/stations/U16/security-profile/upgrade", json={"profile": 2})
        )
        # A05.FR.03: no CentralSystemRootCertificate installed on the station.
        await _answer(station, "ChangeConfiguration", {"status": "Rejected"})
        response = await request
    body = response.json()
    assert response.status_code == 200
    assert body["sent"] is False
    assert body["pending_security_profile"] is None
    assert csms.security.accepted_profiles("U16") == frozenset({1})


async def test_upgrade_refusals(csms: Csms) -> None:
    async with api_client(csms) as api:
        url = "/api/v1/stations/{}/security-profile/upgrade"
        unknown = await api.post(url.format("NOPE"), json={"profile": 2})
        assert unknown.status_code == 404
        same = await api.post(url.format("U16"), json={"profile": 1})
        assert same.status_code == 409
        assert "already" in same.json()["detail"]
        no_mtls = await api.post(url.format("U16"), json={"profile": 3})
        assert no_mtls.status_code == 409
        assert "ocpp_mtls_port" in no_mtls.json()["detail"]
        no_password = await api.post(url.format("NOPW"), json={"profile": 2})
        assert no_password.status_code == 409
        assert "A05.FR.02" in no_password.json()["detail"]
        offline = await api.post(url.format("U16"), json={"profile": 2})
        assert offline.status_code == 409
        assert "not connected" in offline.json()["detail"]
        await csms.security.set_profile("U16", 2)
        await csms.security.connected("U16", 2)
        down = await api.post(url.format("U16"), json={"profile": 1})
        assert down.status_code == 400
        assert "A00.FR.005" in down.json()["detail"]
        auth = basic_auth("U201", PW)
        async with tls_station(csms.ports.ocpp, "U201", None, "ocpp2.0.1", headers=auth):
            no_url = await api.post(url.format("U201"), json={"profile": 2})
        assert no_url.status_code == 400
        assert "ocpp_csms_url" in no_url.json()["detail"]
