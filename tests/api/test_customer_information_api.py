"""Customer information over real HTTP and real OCPP-J (N09/N10, TC_N_27/28/30/32/62_CSMS): a
simulated 2.0.1 station reports a driver's data in several NotifyCustomerInformation parts and
clears it; a raw station resends a part, refuses, and stays silent; bad requests, offline and 1.6
refusals."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import orjson

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import SimulatedStation
from tests.handlers.builders import booted
from tests.handlers.station_calls import NO_ANSWER, responding
from tests.simulator.helpers import sim_config
from tests.wire import api_client, raw_station, running_csms, settings_for

Json = dict[str, Any]


async def ask(api: httpx.AsyncClient, station_id: str, body: Json) -> Json:
    response = await api.post(f"/api/v1/stations/{station_id}/customer-information", json=body)
    assert response.status_code == 200, response.text
    answer: Json = response.json()
    return answer


async def test_report_in_parts_then_clear_against_the_simulator(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CUS-1"))
    await csms.tokens.create({"id_token": "DRIVER-1"})
    async with SimulatedStation(sim_config(csms, "CUS-1")) as st, api_client(csms) as api:
        for _ in range(7):  # history enough for more than one 512-character part
            await st.start_transaction(1, "DRIVER-1")
            await st.stop_transaction(1)
        report = await ask(api, "CUS-1", {"id_token": "DRIVER-1", "wait": 5})
        identified = await ask(
            api,
            "CUS-1",
            {"customer_identifier": "OpenChargeAlliance", "report": True, "clear": True, "wait": 5},
        )
        cleared = await ask(
            api, "CUS-1", {"id_token": "DRIVER-1", "report": False, "clear": True, "wait": 5}
        )
        listed = await api.get("/api/v1/stations/CUS-1/customer-information")
        one = await api.get(f"/api/v1/stations/CUS-1/customer-information/{report['request_id']}")
        history = list(st.sessions.history)

    assert (report["status"], report["complete"], report["missing"]) == ("Accepted", True, [])
    assert report["parts"] >= 2
    data = report["data"]
    assert data.startswith("idToken DRIVER-1 (ISO14443)")
    assert data.count("transaction ") == 7
    assert len(data) > 512
    assert report["command"]["payload"] == {
        "requestId": report["request_id"],
        "report": True,
        "clear": False,
        "idToken": {"idToken": "DRIVER-1", "type": "ISO14443"},
    }
    assert report["request"]["id_token"] == "DRIVER-1"

    assert identified["data"] == "customer OpenChargeAlliance: no data found"
    assert identified["command"]["payload"]["customerIdentifier"] == "OpenChargeAlliance"
    assert cleared["data"] == "idToken DRIVER-1 (ISO14443): customer data cleared"
    assert all(tx.id_token == "" for tx in history)  # the station forgot the driver

    assert listed.status_code == 200
    assert [i["request_id"] for i in listed.json()["items"]] == [
        cleared["request_id"],
        identified["request_id"],
        report["request_id"],
    ]
    assert one.status_code == 200
    assert one.json()["data"] == data


async def test_raw_station_parts_resend_refusal_and_timeout(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path, call_timeout=0.3)) as csms:
        for station_id in ("CUS-RAW", "AWAY", "OLD"):
            await csms.stations.create(StationSpec(id=station_id))
        path = "/api/v1/stations/CUS-RAW/customer-information"
        async with raw_station(csms, "CUS-RAW", "ocpp2.0.1") as cp, api_client(csms) as api:
            await booted(cp, "ocpp2.0.1")
            asked = asyncio.ensure_future(api.post(path, json={"customer_identifier": "C-9"}))
            call = await cp.recv()
            assert call[2] == "CustomerInformation"
            request_id = call[3]["requestId"]
            await cp.send_raw(orjson.dumps([3, call[1], {"status": "Accepted"}]).decode())
            assert (await asked).json()["complete"] is False

            def part(seq_no: int, data: str, tbc: bool) -> Json:
                return {
                    "requestId": request_id,
                    "seqNo": seq_no,
                    "tbc": tbc,
                    "data": data,
                    "generatedAt": "2026-01-01T10:00:00Z",
                }

            assert await cp.result("NotifyCustomerInformation", part(0, "alpha ", True)) == {}
            assert await cp.result("NotifyCustomerInformation", part(0, "alpha ", True)) == {}
            partial = (await api.get(f"{path}/{request_id}")).json()
            assert await cp.result("NotifyCustomerInformation", part(1, "beta ", True)) == {}
            assert await cp.result("NotifyCustomerInformation", part(2, "gamma", False)) == {}
            whole = (await api.get(f"{path}/{request_id}")).json()

            answers = {"CustomerInformation": lambda p: {"status": "Rejected"}}
            async with responding(cp, answers):
                rejected = await api.post(path, json={"id_token": "T-1", "report": True})
            async with responding(cp, {"CustomerInformation": NO_ANSWER}):
                silent = await api.post(path, json={"id_token": "T-1"})
            two = await api.post(path, json={"id_token": "T-1", "customer_identifier": "C-1"})
            none = await api.post(path, json={"report": True})
            nothing = await api.post(
                path, json={"id_token": "T-1", "report": False, "clear": False}
            )
            away = await api.post(
                "/api/v1/stations/AWAY/customer-information", json={"id_token": "T-1"}
            )
            unknown = await api.get(f"{path}/424242")
            async with SimulatedStation(sim_config(csms, "OLD", OcppVersion.V16)):
                old = await api.post(
                    "/api/v1/stations/OLD/customer-information", json={"id_token": "T-1"}
                )
    assert (partial["parts"], partial["complete"], partial["data"]) == (1, False, "alpha ")
    assert (whole["parts"], whole["complete"], whole["data"]) == (3, True, "alpha beta gamma")
    assert whole["generated_at"] == "2026-01-01T10:00:00Z"
    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["complete"]) == ("Rejected", True)
    assert rejected.json()["data"] is None
    assert silent.status_code == 504
    for refused in (two, none, nothing):
        assert refused.status_code == 400
    assert "exactly one of" in two.json()["detail"]
    assert "given: none" in none.json()["detail"]
    assert "report, clear, or both" in nothing.json()["detail"]
    assert away.status_code == 409
    assert unknown.status_code == 404
    assert old.status_code == 400
    assert "not in OCPP 1.6" in old.json()["detail"]
