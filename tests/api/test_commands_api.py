"""Operator commands over real HTTP and real OCPP-J: the typed commands act on a simulated station
of each version, the generic ``calls/{Action}`` endpoint validates, refuses and maps failures, and
every command lands in the command log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from opencsms.app import Csms
from opencsms.domain.model import RegistrationStatus
from opencsms.domain.stations import StationSpec
from opencsms.handlers import operator_commands as typed
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import EvseConfig, SimulatedStation
from tests.handlers.builders import booted
from tests.handlers.station_calls import NO_ANSWER, CallError, responding
from tests.simulator.helpers import sim_config
from tests.wire import api_client, raw_station, running_csms, settings_for

VERSIONS = [OcppVersion.V16, OcppVersion.V201]


async def log_of(api: httpx.AsyncClient, station_id: str, **params: Any) -> dict[str, Any]:
    response = await api.get(f"/api/v1/stations/{station_id}/commands", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def command(
    api: httpx.AsyncClient, station_id: str, name: str, body: dict[str, Any]
) -> dict[str, Any]:
    """A typed command that must be answered; returns the station's response."""
    response = await api.post(f"/api/v1/stations/{station_id}/commands/{name}", json=body)
    assert response.status_code == 200, response.text
    recorded: dict[str, Any] = response.json()
    assert recorded["status"] == "Answered"
    out: dict[str, Any] = recorded["response"]
    return out


@pytest.mark.parametrize("version", VERSIONS)
async def test_typed_commands_act_on_the_station(csms: Csms, version: OcppVersion) -> None:
    station_id = f"CMD-{version.name}"
    v16 = version is OcppVersion.V16
    await csms.stations.create(StationSpec(id=station_id))
    await csms.tokens.create({"id_token": "DRIVER-1"})
    two_evses = sim_config(csms, station_id, version, evses=(EvseConfig(), EvseConfig()))
    async with SimulatedStation(two_evses) as st, api_client(csms) as api:
        await st.wait_for(lambda s: s.registration == "Accepted")

        off = await command(api, station_id, "availability", {"operative": False, "evse_id": 2})
        assert off == {"status": "Accepted"}
        assert st.status(2) == "Unavailable"
        await command(api, station_id, "availability", {"operative": True, "evse_id": 2})
        assert st.status(2) == "Available"

        started = await api.post(
            f"/api/v1/stations/{station_id}/commands/remote-start",
            json={"evse_id": 1, "id_token": "DRIVER-1"},
        )
        assert started.status_code == 200, started.text
        assert started.json()["response"]["status"] == "Accepted"
        await st.wait_for(lambda s: (t := s.transaction(1)) is not None and t.id is not None)
        tx = st.transaction(1)
        assert tx is not None
        assert tx.id_token == "DRIVER-1"
        if not v16:  # the CSMS allocated the remoteStartId: the command's id
            assert started.json()["payload"]["remoteStartId"] == started.json()["id"]
            assert tx.remote_start_id == started.json()["id"]
            assert started.json()["payload"]["idToken"] == {
                "idToken": "DRIVER-1",
                "type": "ISO14443",
            }

        unlocked = await command(api, station_id, "unlock", {"evse_id": 2})
        assert unlocked["status"] == "Unlocked"
        stopped = await command(api, station_id, "remote-stop", {"transaction_id": tx.id})
        assert stopped["status"] == "Accepted"
        await st.wait_for(lambda s: s.transaction(1) is None)

        triggered = await command(
            api, station_id, "trigger", {"message": "StatusNotification", "evse_id": 1}
        )
        assert triggered["status"] == "Accepted"
        vendor = await command(
            api, station_id, "data-transfer", {"vendor_id": "com.example", "data": "hello"}
        )
        assert vendor["status"] == "UnknownVendorId"

        missing_type = {"type": "immediate" if v16 else "soft"}
        refused = await api.post(f"/api/v1/stations/{station_id}/commands/reset", json=missing_type)
        assert refused.status_code == 400
        assert "resets are" in refused.json()["detail"]

        boots = st.boot_attempts
        reset = await command(api, station_id, "reset", {"type": "soft" if v16 else "immediate"})
        assert reset["status"] == "Accepted"
        await st.wait_for(
            lambda s: s.boot_attempts > boots and s.registration == "Accepted" and s.connected
        )
        log = (await log_of(api, station_id))["items"]

    stop_action = "RemoteStopTransaction" if v16 else "RequestStopTransaction"
    start_action = "RemoteStartTransaction" if v16 else "RequestStartTransaction"
    assert [c["action"] for c in log] == [
        "Reset",
        "DataTransfer",
        "TriggerMessage",
        stop_action,
        "UnlockConnector",
        start_action,
        "ChangeAvailability",
        "ChangeAvailability",
    ]
    assert {c["status"] for c in log} == {"Answered"}
    assert {c["requested_by"] for c in log} == {"api"}
    assert all(c["duration_ms"] >= 0 and c["ocpp_version"] == version.value for c in log)
    assert log[-1]["payload"] == (
        {"connectorId": 2, "type": "Inoperative"}
        if v16
        else {"operationalStatus": "Inoperative", "evse": {"id": 2}}
    )
    assert log[-1]["response"] == {"status": "Accepted"}
    assert log[3]["payload"]["transactionId"] == (int(tx.id) if v16 else tx.id)


@pytest.mark.parametrize("version", VERSIONS)
async def test_generic_call_validates_and_sends(csms: Csms, version: OcppVersion) -> None:
    station_id = f"GEN-{version.name}"
    await csms.stations.create(StationSpec(id=station_id))
    if version is OcppVersion.V16:
        good = ("GetConfiguration", {"key": ["HeartbeatInterval"]})
        bad = ("ChangeAvailability", {"connectorId": "one", "type": "Sideways"})
    else:
        good = (
            "GetVariables",
            {
                "getVariableData": [
                    {
                        "component": {"name": "OCPPCommCtrlr"},
                        "variable": {"name": "HeartbeatInterval"},
                    }
                ]
            },
        )
        bad = ("ChangeAvailability", {"operationalStatus": "Sideways", "evse": {"id": "one"}})
    async with (
        SimulatedStation(sim_config(csms, station_id, version)) as st,
        api_client(csms) as api,
    ):
        await st.wait_for(lambda s: s.registration == "Accepted")
        base = f"/api/v1/stations/{station_id}/calls"
        answered = await api.post(f"{base}/{good[0]}", json=good[1])
        invalid = await api.post(f"{base}/{bad[0]}", json=bad[1])
        backwards = await api.post(f"{base}/Heartbeat", json={})
        unknown = await api.post(f"{base}/FlyToTheMoon", json={})
        no_station = await api.post("/api/v1/stations/NOPE/calls/ClearCache", json={})
        log = (await log_of(api, station_id))["items"]
    received = [call.action for call in st.received]

    assert answered.status_code == 200, answered.text
    response = answered.json()["response"]
    if version is OcppVersion.V16:
        assert response["configurationKey"][0]["key"] == "HeartbeatInterval"
    else:
        assert response["getVariableResult"][0]["attributeStatus"] == "Accepted"

    assert invalid.status_code == 400
    paths = {v["path"] for v in invalid.json()["violations"]}
    assert paths == (
        {"/connectorId", "/type"}
        if version is OcppVersion.V16
        else {
            "/operationalStatus",
            "/evse/id",
        }
    )
    assert "ChangeAvailability" not in received  # nothing was sent
    assert invalid.json()["command"]["status"] == "Invalid"

    assert backwards.status_code == 400
    assert "sent by a station to the CSMS" in backwards.json()["detail"]
    assert unknown.status_code == 404
    assert "has no action 'FlyToTheMoon'" in unknown.json()["detail"]
    assert no_station.status_code == 404

    assert [(c["action"], c["status"]) for c in log] == [
        ("ChangeAvailability", "Invalid"),
        (good[0], "Answered"),
    ]
    assert log[0]["duration_ms"] is None
    assert "not one of the" in log[0]["error_description"]


@pytest.mark.parametrize("version", VERSIONS)
async def test_pending_station_gets_only_what_b02_allows(csms: Csms, version: OcppVersion) -> None:
    station_id = f"PEND-{version.name}"
    await csms.stations.create(StationSpec(id=station_id, registration=RegistrationStatus.PENDING))
    await csms.tokens.create({"id_token": "DRIVER-1"})
    async with (
        SimulatedStation(sim_config(csms, station_id, version)) as st,
        api_client(csms) as api,
    ):
        await st.wait_for(lambda s: s.registration == "Pending")
        start = await api.post(
            f"/api/v1/stations/{station_id}/commands/remote-start", json={"id_token": "DRIVER-1"}
        )
        trigger = await api.post(
            f"/api/v1/stations/{station_id}/commands/trigger", json={"message": "Heartbeat"}
        )
        log = (await log_of(api, station_id))["items"]
    assert start.status_code == 409
    assert "not allowed while the station is Pending" in start.json()["detail"]
    assert start.json()["command"]["status"] == "NotAllowed"
    assert trigger.status_code == 200, trigger.text  # information may be asked for (B02)
    assert [c["status"] for c in log] == ["Answered", "NotAllowed"]
    assert not any(c.action.endswith("StartTransaction") for c in st.received)


async def test_offline_station_is_a_conflict_and_recorded(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="AWAY"))
    async with api_client(csms) as api:
        generic = await api.post("/api/v1/stations/AWAY/calls/ClearCache", json={})
        typed = await api.post("/api/v1/stations/AWAY/commands/reset", json={"type": "hard"})
        log = (await log_of(api, "AWAY"))["items"]
    assert generic.status_code == 409
    assert generic.json()["detail"] == "station 'AWAY' is not connected"
    assert typed.status_code == 409  # never connected: no version to build a Reset for
    assert [(c["action"], c["status"]) for c in log] == [("ClearCache", "Offline")]


async def test_call_error_timeout_and_log_paging(tmp_path: Path) -> None:
    """A CALLERROR is a 502 with its code and description, silence a 504 after call_timeout;
    the log keeps both, and the local-list endpoints' commands too, newest first, paged."""
    async with running_csms(settings_for(tmp_path, call_timeout=0.3)) as csms:
        await csms.stations.create(StationSpec(id="RAW"))
        answers = {
            "UnlockConnector": CallError("NotSupported", "no lock on this cable"),
            "Reset": NO_ANSWER,
            "ClearCache": {"status": "Accepted"},
        }
        async with raw_station(csms, "RAW", "ocpp2.0.1") as cp:
            await booted(cp, "ocpp2.0.1")
            async with responding(cp, answers) as station, api_client(csms) as api:
                failed = await api.post(
                    "/api/v1/stations/RAW/calls/UnlockConnector",
                    json={"evseId": 1, "connectorId": 1},
                )
                silent = await api.post(
                    "/api/v1/stations/RAW/commands/reset", json={"type": "on_idle", "evse_id": 1}
                )
                cleared = await api.post("/api/v1/stations/RAW/clear-cache")
                first = await log_of(api, "RAW", limit=2)
                rest = await log_of(api, "RAW", limit=2, before=first["next_before"])
    assert failed.status_code == 502
    body = failed.json()
    assert (body["error_code"], body["error_description"]) == (
        "NotSupported",
        "no lock on this cable",
    )
    assert "CALLERROR NotSupported: no lock on this cable" in body["detail"]
    assert silent.status_code == 504
    assert silent.json()["command"]["status"] == "Timeout"
    assert silent.json()["command"]["duration_ms"] >= 300
    assert cleared.status_code == 200
    assert station.payloads("Reset") == [{"type": "OnIdle", "evseId": 1}]

    log = first["items"] + rest["items"]
    assert [(c["action"], c["status"]) for c in log] == [
        ("ClearCache", "Answered"),
        ("Reset", "Timeout"),
        ("UnlockConnector", "CallError"),
    ]
    assert rest["next_before"] is None
    assert log[2]["error_code"] == "NotSupported"
    assert log[0]["response"] == {"status": "Accepted"}


V16, V201 = OcppVersion.V16, OcppVersion.V201


@pytest.mark.parametrize(
    ("version", "build", "expected"),
    [
        (
            V201,
            lambda v: typed.availability(
                v, typed.AvailabilityIn(operative=False, evse_id=1, connector_id=2)
            ),
            (
                "ChangeAvailability",
                {"operationalStatus": "Inoperative", "evse": {"id": 1, "connectorId": 2}},
            ),
        ),
        (
            V16,
            lambda v: typed.availability(v, typed.AvailabilityIn(operative=True)),
            ("ChangeAvailability", {"connectorId": 0, "type": "Operative"}),
        ),
        (
            V201,
            lambda v: typed.unlock(v, typed.UnlockIn(evse_id=2)),
            ("UnlockConnector", {"evseId": 2, "connectorId": 1}),
        ),
        (
            V201,
            lambda v: typed.trigger(v, typed.TriggerIn(message="MeterValues", evse_id=1)),
            ("TriggerMessage", {"requestedMessage": "MeterValues", "evse": {"id": 1}}),
        ),
        (
            V16,
            lambda v: typed.remote_start(
                v,
                typed.RemoteStartIn(id_token="T", token_type="eMAID"),
                remote_start_id=9,
                token_type="eMAID",
            ),
            ("RemoteStartTransaction", {"idTag": "T"}),
        ),
    ],
)
def test_typed_payload_per_version(version: OcppVersion, build: Any, expected: Any) -> None:
    assert build(version) == expected


@pytest.mark.parametrize(
    ("version", "build", "reason"),
    [
        (
            V16,
            lambda v: typed.availability(
                v, typed.AvailabilityIn(operative=True, evse_id=1, connector_id=2)
            ),
            "connector_id must be 1",
        ),
        (
            V201,
            lambda v: typed.availability(v, typed.AvailabilityIn(operative=True, connector_id=1)),
            "needs an evse_id",
        ),
        (V16, lambda v: typed.remote_stop(v, typed.RemoteStopIn(transaction_id="abc")), "integers"),
        (
            V16,
            lambda v: typed.reset(v, typed.ResetIn(type="hard", evse_id=1)),
            "whole charge point",
        ),
    ],
)
def test_what_a_version_cannot_say_is_refused(
    version: OcppVersion, build: Any, reason: str
) -> None:
    with pytest.raises(typed.UnsupportedCommand, match=reason):
        build(version)
