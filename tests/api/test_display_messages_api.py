"""Display messages over real HTTP and real OCPP-J (O01-O06): set (accepted and refused), ask
the station for its list (NotifyDisplayMessages in parts) and follow what it no longer holds,
clear; a raw station for resent parts and a timeout; offline and 1.6 refusals."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import SimulatedStation
from opencsms.simulator.display import display
from tests.handlers.builders import booted
from tests.handlers.station_calls import NO_ANSWER, responding
from tests.simulator.helpers import sim_config
from tests.wire import api_client, raw_station, running_csms, settings_for

Json = dict[str, Any]


def text(content: str, fmt: str = "UTF8", **extra: Any) -> Json:
    return {"format": fmt, "content": content, **extra}


async def post(api: httpx.AsyncClient, path: str, body: Json) -> Json:
    response = await api.post(path, json=body)
    assert response.status_code == 200, response.text
    answer: Json = response.json()
    return answer


async def listed(api: httpx.AsyncClient, station_id: str) -> list[Json]:
    response = await api.get(f"/api/v1/stations/{station_id}/display-messages")
    assert response.status_code == 200, response.text
    items: list[Json] = response.json()["items"]
    return items


async def test_set_report_and_clear_against_the_simulator(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="DSP-1"))
    path = "/api/v1/stations/DSP-1/display-messages"
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    async with SimulatedStation(sim_config(csms, "DSP-1")) as st, api_client(csms) as api:
        assert st.device_model is not None
        welcome = await post(
            api,
            path,
            {"priority": "NormalCycle", "message": text("Welcome", language="en"), "end_at": later},
        )
        assert welcome["status"] == "Accepted"
        assert welcome["message"]["id"] == 1  # the CSMS numbers messages
        assert welcome["command"]["payload"]["message"]["endDateTime"].endswith("Z")

        html = {"priority": "InFront", "message": text("<b>Hi</b>", "HTML")}
        refused = await post(api, path, {"id": 2, **html})
        assert (refused["status"], refused["message"]["on_station"]) == (
            "NotSupportedMessageFormat",
            False,
        )
        kept = await post(api, path, {"id": 1, **html})  # a refused replacement (O06)
        assert kept["message"]["message"]["content"] == "Welcome"
        assert kept["message"]["last_set_status"] == "NotSupportedMessageFormat"
        charging = await post(
            api, path, {"priority": "InFront", "state": "Charging", "message": text("Charging")}
        )
        assert (charging["status"], charging["message"]["id"]) == ("Accepted", 3)
        unknown_tx = await post(
            api,
            path,
            {"priority": "InFront", "transaction_id": "no-such-tx", "message": text("x")},
        )
        assert unknown_tx["status"] == "UnknownTransaction"

        # O03 in parts: one message per NotifyDisplayMessages.
        st.device_model.set("DeviceDataCtrlr", "ItemsPerMessage", "1")
        report = await post(api, f"{path}/report", {"wait": 5})
        assert (report["status"], report["complete"], report["full"]) == ("Accepted", True, True)
        assert [m["id"] for m in report["messages"]] == [1, 3]
        assert report["messages"][0]["message"] == {
            "format": "UTF8",
            "content": "Welcome",
            "language": "en",
        }

        # The station loses message 3 behind the CSMS's back: the next full report shows it.
        assert display(st).clear_message(3)
        again = await post(api, f"{path}/report", {"wait": 5})
        assert [m["id"] for m in again["messages"]] == [1]
        assert [(m["id"], m["on_station"]) for m in await listed(api, "DSP-1")] == [
            (1, True),
            (2, False),
            (4, False),
        ]
        # O04: nothing AlwaysFront on the station: Unknown, and nothing else changes.
        front = await post(api, f"{path}/report", {"priority": "AlwaysFront", "wait": 5})
        assert (front["status"], front["complete"], front["full"]) == ("Unknown", True, False)

        cleared = await api.delete(f"{path}/1")
        assert cleared.status_code == 200, cleared.text
        assert (cleared.json()["status"], cleared.json()["removed"]) == ("Accepted", True)
        extra = await api.post(
            path, json={"priority": "NormalCycle", "message": text("a"), "extra": [text("b")]}
        )
        shown = display(st).messages()
        remaining = await listed(api, "DSP-1")
        missing = await api.get(f"{path}/reports/999999")
    assert shown == []
    assert [(m["id"], m["last_set_status"]) for m in remaining] == [
        (2, "NotSupportedMessageFormat"),
        (4, "UnknownTransaction"),
    ]
    assert extra.status_code == 400
    assert "need OCPP 2.1" in extra.json()["detail"]
    assert missing.status_code == 404


async def test_raw_station_parts_resend_and_timeout(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path, call_timeout=0.3)) as csms:
        for station_id in ("DSP-RAW", "AWAY", "OLD"):
            await csms.stations.create(StationSpec(id=station_id))
        base = "/api/v1/stations/DSP-RAW/display-messages"
        async with raw_station(csms, "DSP-RAW", "ocpp2.0.1") as cp, api_client(csms) as api:
            await booted(cp, "ocpp2.0.1")
            asked = asyncio.ensure_future(api.post(f"{base}/report", json={}))
            call = await cp.recv()
            assert call[2] == "GetDisplayMessages"
            request_id = call[3]["requestId"]
            await cp.send_raw(orjson.dumps([3, call[1], {"status": "Accepted"}]).decode())
            assert (await asked).status_code == 200

            def part(message_id: int, tbc: bool) -> Json:
                info = {"id": message_id, "priority": "NormalCycle", "message": text("hi")}
                return {"requestId": request_id, "tbc": tbc, "messageInfo": [info]}

            assert await cp.result("NotifyDisplayMessages", part(7, True)) == {}
            assert await cp.result("NotifyDisplayMessages", part(8, False)) == {}
            assert await cp.result("NotifyDisplayMessages", part(8, False)) == {}  # resent
            report = await api.get(f"{base}/reports/{request_id}")
            async with responding(cp, {"ClearDisplayMessage": NO_ANSWER}):
                silent = await api.delete(f"{base}/7")
            messages = await listed(api, "DSP-RAW")
            away = await api.post(
                "/api/v1/stations/AWAY/display-messages",
                json={"priority": "NormalCycle", "message": text("x")},
            )
            async with SimulatedStation(sim_config(csms, "OLD", OcppVersion.V16)):
                old = await api.post("/api/v1/stations/OLD/display-messages/report", json={})
    assert report.json()["complete"] is True
    assert [(m["id"], m["source"], m["report_id"]) for m in report.json()["messages"]] == [
        (7, "report", request_id),
        (8, "report", request_id),
    ]
    assert silent.status_code == 504
    assert [m["id"] for m in messages] == [7, 8]  # no answer: nothing removed
    assert away.status_code == 409
    assert old.status_code == 400
    assert "not in OCPP 1.6" in old.json()["detail"]
