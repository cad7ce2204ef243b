"""The live event stream (SSE) over the wire: what stations do arrives in order, filtered, with
the token in the query (EventSource cannot set headers); idle streams get keep-alives; a client
that falls behind is dropped with ``event: overflow``; ``Last-Event-ID`` replays what was missed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from opencsms.app import Csms
from opencsms.domain.fleet_events import StationDisconnected
from opencsms.domain.stations import StationSpec
from tests.handlers.builders import booted
from tests.wire import ADMIN_TOKEN, raw_station, running_csms, settings_for


@pytest.fixture
async def csms(tmp_path: Path) -> AsyncIterator[Csms]:
    async with running_csms(
        settings_for(tmp_path, event_stream_keepalive=0.3, event_stream_queue=5)
    ) as node:
        yield node


def stream_url(csms: Csms) -> str:
    return f"http://127.0.0.1:{csms.ports.http}/api/v1/events/stream"


async def frames(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """Each SSE frame as {"comment"/"id"/"event"/"data"}, data parsed."""
    current: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if line == "":
            if current:
                yield current
            current = {}
        elif line.startswith(":"):
            current.setdefault("comment", line[1:].strip())
        else:
            name, _, value = line.partition(": ")
            current[name] = orjson.loads(value) if name == "data" else value


async def until(stream: AsyncIterator[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    seen = []
    async with asyncio.timeout(10):
        async for frame in stream:
            if "event" in frame:
                seen.append(frame)
                if frame["event"] == event:
                    return seen
    raise AssertionError(f"stream ended before {event}")


async def test_station_events_arrive_in_order_filtered_with_a_query_token(csms: Csms) -> None:
    for station_id in ("SSE1", "SSE2"):
        await csms.stations.create(StationSpec(id=station_id))
    types = "station.connected,station.boot,connector.status,station.disconnected"
    params = {"token": ADMIN_TOKEN, "station": "SSE1", "types": types}
    async with (
        httpx.AsyncClient(timeout=10) as http,
        http.stream("GET", stream_url(csms), params=params) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = frames(response)
        first = await anext(stream)
        assert first["retry"] == "3000"
        async with raw_station(csms, "SSE2") as other:
            await booted(other, "ocpp1.6")
        async with raw_station(csms, "SSE1") as cp:
            await booted(cp, "ocpp1.6")
            for status in ("Preparing", "Charging"):
                await cp.result(
                    "StatusNotification",
                    {"connectorId": 1, "errorCode": "NoError", "status": status},
                )
            await cp.result("Heartbeat", {})  # not an event
        seen = await until(stream, "station.disconnected")
    assert [f["event"] for f in seen] == [
        "station.connected",
        "station.boot",
        "connector.status",
        "connector.status",
        "station.disconnected",
    ]
    ids = [int(f["id"]) for f in seen]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(f["data"]["station_id"] == "SSE1" for f in seen)
    assert seen[0]["data"]["data"] == {"ocpp_version": "1.6"}
    assert [f["data"]["data"]["status"] for f in seen[2:4]] == ["Preparing", "Charging"]
    assert seen[2]["data"]["type"] == "connector.status"
    assert datetime.fromisoformat(seen[2]["data"]["at"]).tzinfo is not None


async def test_the_stream_needs_the_token_and_known_types(csms: Csms) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        none = await http.get(stream_url(csms))
        wrong = await http.get(stream_url(csms), params={"token": "nope"})
        bad_types = await http.get(
            stream_url(csms), params={"token": ADMIN_TOKEN, "types": "station.connected,x.y"}
        )
    assert none.status_code == 401
    assert wrong.status_code == 401
    assert bad_types.status_code == 422
    assert "unknown event types ['x.y']" in bad_types.json()["detail"]


async def test_an_idle_stream_gets_keep_alive_comments(csms: Csms) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with (
        httpx.AsyncClient(timeout=10, headers=headers) as http,
        http.stream("GET", stream_url(csms)) as response,
    ):
        stream = frames(response)
        await anext(stream)
        async with asyncio.timeout(5):
            idle = await anext(stream)
    assert idle == {"comment": "keep-alive"}


async def test_a_client_that_falls_behind_is_dropped_and_can_resume(csms: Csms) -> None:
    params = {"token": ADMIN_TOKEN, "types": "station.disconnected"}
    async with (
        httpx.AsyncClient(timeout=10) as http,
        http.stream("GET", stream_url(csms), params=params) as response,
    ):
        stream = frames(response)
        await anext(stream)
        # a burst bigger than the client's queue (5), faster than anyone could send it
        now = datetime.now(UTC)
        for n in range(20):
            csms.events.publish(StationDisconnected(f"BURST{n}", now))
        seen = await until(stream, "overflow")
        with pytest.raises(StopAsyncIteration):
            await anext(stream)  # the server ended the stream
    assert seen[-1]["data"] == {"reason": "the client fell behind; reconnect"}
    delivered = [f for f in seen if f["event"] == "station.disconnected"]
    assert len(delivered) <= 5
    last_id = delivered[-1]["id"] if delivered else "0"
    # EventSource reconnects with Last-Event-ID: the rest is replayed, in order
    headers = {"Last-Event-ID": last_id}
    async with (
        httpx.AsyncClient(timeout=10) as http,
        http.stream("GET", stream_url(csms), params=params, headers=headers) as response,
    ):
        stream = frames(response)
        await anext(stream)
        replayed = []
        async with asyncio.timeout(5):
            while len(delivered) + len(replayed) < 20:
                replayed.append(await anext(stream))
    names = [f["data"]["station_id"] for f in delivered + replayed]
    assert names == [f"BURST{n}" for n in range(20)]


async def test_meter_values_nobody_listened_to_are_replayed_translated(csms: Csms) -> None:
    """Meter values held while no client listened (kept untranslated, the feed's fast path)
    replay with their readings when a client resumes."""
    await csms.stations.create(StationSpec(id="SSE-M"))
    async with raw_station(csms, "SSE-M") as cp:
        await booted(cp, "ocpp1.6")
        for wh, w in (("1000", "7000"), ("1500", "7200")):
            await cp.result(
                "MeterValues",
                {
                    "connectorId": 1,
                    "meterValue": [
                        {
                            "timestamp": datetime.now(UTC).isoformat(),
                            "sampledValue": [
                                {"value": wh, "unit": "Wh"},
                                {"value": w, "unit": "W", "measurand": "Power.Active.Import"},
                            ],
                        }
                    ],
                },
            )
    params = {"token": ADMIN_TOKEN, "types": "meter.values"}
    headers = {"Last-Event-ID": "0"}
    async with (
        httpx.AsyncClient(timeout=10) as http,
        http.stream("GET", stream_url(csms), params=params, headers=headers) as response,
    ):
        stream = frames(response)
        await anext(stream)
        async with asyncio.timeout(5):
            replayed = [await anext(stream), await anext(stream)]
    assert [f["event"] for f in replayed] == ["meter.values", "meter.values"]
    assert [f["data"]["data"]["energy_wh"] for f in replayed] == [1000.0, 1500.0]
    assert [f["data"]["data"]["power_w"] for f in replayed] == [7000.0, 7200.0]
    assert all(f["data"]["station_id"] == "SSE-M" for f in replayed)
