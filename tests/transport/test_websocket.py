"""The direct message path of station sockets (transport/websocket.py) over real connections:
fragmented messages, text that is not UTF-8, a station that floods, and the client side's timed
wait that the load generator uses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
import uvloop
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.typing import Subprotocol

from opencsms.app import Csms
from opencsms.config import UnknownStationPolicy
from opencsms.transport.websocket import INBOX_HIGH, ClientWebSocket
from tests.wire import raw_station, running_csms, settings_for


@pytest.fixture
async def csms(tmp_path: Path) -> AsyncIterator[Csms]:
    settings = settings_for(tmp_path, unknown_stations=UnknownStationPolicy.ACCEPT)
    async with running_csms(settings) as node:
        yield node


async def test_a_fragmented_call_is_reassembled_and_answered(csms: Csms) -> None:
    text = orjson.dumps([2, "frag-1", "Heartbeat", {}]).decode()
    async with raw_station(csms, "WS-FRAG") as cp:
        await cp.ws.send(iter([text[:5], text[5:12], text[12:]]))  # three frames, one message
        frame = await cp.recv()
    assert frame[0] == 3
    assert frame[1] == "frag-1"
    assert "currentTime" in frame[2]


async def test_text_that_is_not_utf8_closes_the_connection_with_1007(csms: Csms) -> None:
    async with raw_station(csms, "WS-UTF8") as cp:
        await cp.ws.send(b'[2,"x","Heartbeat",{"a":"\xff"}]', text=True)
        with pytest.raises(ConnectionClosed) as closed:
            await cp.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == CloseCode.INVALID_DATA


async def test_a_flooding_station_is_paused_and_resumed_without_losing_a_call(csms: Csms) -> None:
    """More CALLs at once than the inbox holds before reading pauses: every one is answered
    (the session answers the surplus with CALLERROR), so reading resumed each time."""
    count = 3 * INBOX_HIGH
    async with raw_station(csms, "WS-FLOOD") as cp:
        for n in range(count):
            await cp.send_raw(orjson.dumps([2, f"f{n}", "Heartbeat", {}]).decode())
        answered = {tuple((await cp.recv())[:2]) for _ in range(count)}
        assert {message_id for _kind, message_id in answered} == {f"f{n}" for n in range(count)}
        assert (3, "f0") in answered
        assert (await cp.result("Heartbeat", {}))["currentTime"]  # still in service


async def _client(csms: Csms, station_id: str) -> ClientWebSocket:
    ws = await connect(
        f"ws://127.0.0.1:{csms.ports.ocpp}/ocpp/{station_id}",
        subprotocols=[Subprotocol("ocpp1.6")],
        compression=None,
        create_connection=ClientWebSocket,
    )
    assert isinstance(ws, ClientWebSocket)
    return ws


def test_a_timed_wait_never_ends_before_its_deadline(tmp_path: Path) -> None:
    """On uvloop (the generator's loop), whose millisecond timers fire up to 1 ms early."""

    async def scenario() -> None:
        settings = settings_for(tmp_path, unknown_stations=UnknownStationPolicy.ACCEPT)
        async with running_csms(settings) as node:
            ws = await _client(node, "WS-WAIT")
            try:
                loop = asyncio.get_running_loop()
                for _ in range(50):
                    deadline = loop.time() + 0.0025
                    assert await ws.wait_message(deadline) is None
                    assert loop.time() >= deadline
            finally:
                await ws.close()

    uvloop.run(scenario())


async def test_a_wait_is_interrupted_and_messages_still_arrive(csms: Csms) -> None:
    ws = await _client(csms, "WS-INTR")
    try:
        loop = asyncio.get_running_loop()
        loop.call_soon(ws.interrupt)
        assert await ws.wait_message(None) is None  # no deadline: only the interrupt ends it
        await ws.send(orjson.dumps([2, "c1", "Heartbeat", {}]).decode())
        answer = await ws.wait_message(loop.time() + 5)
        assert answer is not None
        assert orjson.loads(answer)[:2] == [3, "c1"]
    finally:
        await ws.close()
