"""``/api/v1/stations/{id}/local-list`` and ``/clear-cache`` over real HTTP: what the operator
sees of a list, and how a station that cannot be reached or answers an error is reported."""

from __future__ import annotations

from pathlib import Path

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from tests.handlers.builders import booted
from tests.handlers.station_calls import NO_ANSWER, CallError, responding
from tests.wire import api_client, raw_station, running_csms, settings_for


async def test_unknown_and_disconnected_stations(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="AWAY"))
    await csms.tokens.create({"id_token": "DRIVER-A"})
    async with api_client(csms) as api:
        for method, path in (
            ("GET", "local-list"),
            ("POST", "local-list/sync"),
            ("GET", "local-list/version"),
            ("POST", "clear-cache"),
        ):
            missing = await api.request(method, f"/api/v1/stations/NOPE/{path}")
            assert missing.status_code == 404, path
            if method == "POST" or path.endswith("version"):
                away = await api.request(method, f"/api/v1/stations/AWAY/{path}")
                assert away.status_code == 409, path
                assert away.json()["detail"] == "station 'AWAY' is not connected"
        bad_mode = await api.post("/api/v1/stations/AWAY/local-list/sync", json={"mode": "all"})
        assert bad_mode.status_code == 422
        state = (await api.get("/api/v1/stations/AWAY/local-list?entries=true")).json()
    assert state["managed"] is False
    assert state["in_sync"] is False
    assert (state["entries"], state["pending_changes"]) == (0, 1)
    assert state["changes"] == [{"id_token": "DRIVER-A", "change": "add"}]


async def test_a_call_error_is_a_bad_gateway_and_recorded(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="ERR"))
    answers = {
        "GetLocalListVersion": CallError("NotImplemented", "no local list here"),
        "ClearCache": CallError("InternalError", "cache is on fire"),
    }
    async with raw_station(csms, "ERR") as cp:
        await booted(cp, "ocpp1.6")
        async with responding(cp, answers), api_client(csms) as api:
            synced = await api.post("/api/v1/stations/ERR/local-list/sync")
            cleared = await api.post("/api/v1/stations/ERR/clear-cache")
            state = (await api.get("/api/v1/stations/ERR/local-list")).json()
    assert synced.status_code == 502
    assert "CALLERROR NotImplemented: no local list here" in synced.json()["detail"]
    assert cleared.status_code == 502
    assert "ClearCache with CALLERROR InternalError" in cleared.json()["detail"]
    # a station that says it has no local list is left alone by automatic syncs
    assert state["last_result"] == "NotSupported"
    assert "no local list here" in state["last_error"]


async def test_no_answer_is_a_bad_gateway(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path, call_timeout=0.3)) as csms:
        await csms.stations.create(StationSpec(id="MUTE"))
        async with raw_station(csms, "MUTE", "ocpp2.0.1") as cs:
            await booted(cs, "ocpp2.0.1")
            async with responding(cs, {"GetLocalListVersion": NO_ANSWER}), api_client(csms) as api:
                asked = await api.get("/api/v1/stations/MUTE/local-list/version")
                state = (await api.get("/api/v1/stations/MUTE/local-list")).json()
    assert asked.status_code == 502
    assert "did not answer GetLocalListVersion in time" in asked.json()["detail"]
    assert (state["last_result"], state["managed"]) == ("Error", False)


async def test_clear_cache_rejected_is_passed_on(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="KEEP"))
    async with raw_station(csms, "KEEP", "ocpp2.0.1") as cs:
        await booted(cs, "ocpp2.0.1")
        async with (
            responding(cs, {"ClearCache": {"status": "Rejected"}}) as station,
            api_client(csms) as api,
        ):
            response = await api.post("/api/v1/stations/KEEP/clear-cache")
    assert (response.status_code, response.json()) == (200, {"status": "Rejected"})
    assert station.payloads("ClearCache") == [{}]
