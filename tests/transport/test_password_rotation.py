"""Basic-auth password rotation over the wire (1.6 security whitepaper A01, 2.0.1 A01).

The operator asks through the API; a raw station receives the ChangeConfiguration /
SetVariables, answers, and reconnects; the gateway's answers to the old and the new password show
which one the CSMS accepts at each step.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from websockets.exceptions import InvalidStatus

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from tests.wire import RawStation, api_client, basic_auth, raw_station

OLD = "the-old-password-000001"
NEW = "the-new-password-000002"


def _password_answer(version: str, call: list[Any], status: str) -> dict[str, Any]:
    if version == "ocpp1.6":
        return {"status": status}
    item = call[3]["setVariableData"][0]
    return {
        "setVariableResult": [
            {
                "attributeStatus": status,
                "component": item["component"],
                "variable": item["variable"],
            }
        ]
    }


def _sent_password(version: str, call: list[Any]) -> str:
    if version == "ocpp1.6":
        assert call[2] == "ChangeConfiguration"
        assert call[3]["key"] == "AuthorizationKey"  # A01.FR.02
        value: str = call[3]["value"]
        return value
    assert call[2] == "SetVariables"
    (item,) = call[3]["setVariableData"]
    assert item["component"] == {"name": "SecurityCtrlr"}
    assert item["variable"] == {"name": "BasicAuthPassword"}
    value = item["attributeValue"]
    return value


async def _rotate(
    csms: Csms, station: RawStation, version: str, status: str, password: str | None = NEW
) -> tuple[dict[str, Any], str]:
    """Ask for a rotation, answer the station's CALL with ``status``; the API's answer and the
    password the station was sent."""
    async with api_client(csms) as api:
        body = {"password": password} if password is not None else {}
        request = asyncio.create_task(api.post("/api/v1/stations/RS/password/rotate", json=body))
        call = await station.recv()
        sent = _sent_password(version, call)
        answer = _password_answer(version, call, status)
        await station.send_raw(orjson.dumps([3, call[1], answer]).decode())
        response = await request
    assert response.status_code == 200, response.text
    return response.json(), sent


async def _admitted(csms: Csms, version: str, password: str) -> bool:
    """True: let in; False: refused with 401 (anything else fails the test)."""
    try:
        async with raw_station(csms, "RS", version, headers=basic_auth("RS", password)):
            return True
    except InvalidStatus as refused:
        status = refused.response.status_code
    assert status == 401
    return False


VERSIONS = ["ocpp1.6", "ocpp2.0.1"]


@pytest.mark.parametrize("version", VERSIONS)
async def test_an_accepted_rotation_makes_the_new_password_the_only_one(
    csms: Csms, version: str
) -> None:
    await csms.stations.create(StationSpec(id="RS", password=OLD))
    async with raw_station(csms, "RS", version, headers=basic_auth("RS", OLD)) as station:
        answer, sent = await _rotate(csms, station, version, "Accepted")
    assert sent == NEW
    assert answer["station_status"] == "Accepted"
    assert answer["rotation"]["status"] == "accepted"
    assert answer["rotation"]["new_password_pending"] is False
    # A01.FR.03: the old credentials are no longer accepted; the new ones are.
    assert not await _admitted(csms, version, OLD)
    assert await _admitted(csms, version, NEW)
    # A01.FR.09: neither the audit log nor the command log holds the password.
    async with api_client(csms) as api:
        frames = (await api.get("/api/v1/stations/RS/messages")).text
        commands = (await api.get("/api/v1/stations/RS/commands")).text
    assert NEW not in frames
    assert "********" in frames
    assert NEW not in commands


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_rejected_rotation_keeps_the_old_password(csms: Csms, version: str) -> None:
    await csms.stations.create(StationSpec(id="RS", password=OLD))
    async with raw_station(csms, "RS", version, headers=basic_auth("RS", OLD)) as station:
        answer, _ = await _rotate(csms, station, version, "Rejected")
    assert answer["rotation"]["status"] == "rejected"
    # A01.FR.04: the CSMS keeps accepting the old credentials, and only them.
    assert await _admitted(csms, version, OLD)
    assert not await _admitted(csms, version, NEW)


@pytest.mark.parametrize("version", VERSIONS)
async def test_after_reboot_required_both_are_valid_until_the_new_one_is_used(
    csms: Csms, version: str
) -> None:
    await csms.stations.create(StationSpec(id="RS", password=OLD))
    async with raw_station(csms, "RS", version, headers=basic_auth("RS", OLD)) as station:
        answer, _ = await _rotate(csms, station, version, "RebootRequired")
    assert answer["rotation"]["status"] == "reboot_required"
    assert answer["rotation"]["new_password_pending"] is True
    assert await _admitted(csms, version, OLD)  # not rebooted yet
    assert await _admitted(csms, version, NEW)  # rebooted: the new one settles it
    assert not await _admitted(csms, version, OLD)
    assert csms.security.get("RS").rotation_status == "accepted"


async def test_a_station_that_applies_the_password_and_reconnects_before_answering(
    csms: Csms,
) -> None:
    """Both passwords are valid while the answer is outstanding: a station that takes the new one
    and reconnects at once (A01 steps 3-4) is let in, and that settles the rotation even though
    its answer never arrives."""
    await csms.stations.create(StationSpec(id="RS", password=OLD))
    async with (
        raw_station(csms, "RS", headers=basic_auth("RS", OLD)) as station,
        api_client(csms) as api,
    ):
        request = asyncio.create_task(api.post("/api/v1/stations/RS/password/rotate", json={}))
        call = await station.recv()
        generated = _sent_password("ocpp1.6", call)
        # 1.6 AuthorizationKey: 20 random bytes as 40 hex digits (whitepaper §7.2).
        assert len(generated) == 40
        int(generated, 16)
        async with raw_station(csms, "RS", headers=basic_auth("RS", generated)) as again:
            response = await request  # the old connection was replaced: no answer
            assert response.status_code == 200
            assert response.json()["station_status"] is None
            assert response.json()["rotation"]["status"] == "accepted"
            boot = {"chargePointVendor": "ACME", "chargePointModel": "X"}
            assert (await again.result("BootNotification", boot))["status"] == "Accepted"
    assert not await _admitted(csms, "ocpp1.6", OLD)


async def test_rotation_refusals(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="RS", password=OLD))
    async with api_client(csms) as api:
        offline = await api.post("/api/v1/stations/RS/password/rotate", json={})
        assert offline.status_code == 409
        assert "not connected" in offline.json()["detail"]
        missing = await api.post("/api/v1/stations/NOBODY/password/rotate", json={})
        assert missing.status_code == 404
        async with raw_station(csms, "RS", headers=basic_auth("RS", OLD)):
            short = await api.post("/api/v1/stations/RS/password/rotate", json={"password": "x"})
            assert short.status_code == 400
            assert "16-40" in short.json()["detail"]
            bad = await api.post(
                "/api/v1/stations/RS/password/rotate", json={"password": "spaces are not ok here"}
            )
            assert bad.status_code == 400
