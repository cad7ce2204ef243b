"""Frames read and written without the library's parser (transport/websocket.py, direct frame
path), checked with a hand-made WebSocket peer on a raw TCP socket: every frame is split, merged
and malformed exactly as a test needs, which the ``websockets`` client never would."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from opencsms.app import Csms
from opencsms.config import UnknownStationPolicy
from tests.wire import client_frame, raw_websocket, running_csms, settings_for

MAX_SIZE = 64 * 1024


@pytest.fixture
async def csms(tmp_path: Path) -> AsyncIterator[Csms]:
    settings = settings_for(
        tmp_path, unknown_stations=UnknownStationPolicy.ACCEPT, max_frame_size=MAX_SIZE
    )
    async with running_csms(settings) as node:
        yield node


def heartbeat(message_id: str, padding: int = 0) -> bytes:
    """A 1.6 Heartbeat CALL; ``padding`` spaces make the frame as long as a test needs."""
    return f'[2,"{message_id}","Heartbeat",{{}}{" " * padding}]'.encode()


class RawPeer:
    """A station speaking WebSocket by hand over asyncio streams."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def frame(self) -> tuple[int, bytes]:
        """The next frame from the CSMS (never masked): (first byte, payload)."""
        first, second = await asyncio.wait_for(self.reader.readexactly(2), 5)
        assert not second & 0x80, "a server must not mask its frames"
        length = second & 0x7F
        if length == 126:
            length = int.from_bytes(await self.reader.readexactly(2))
        elif length == 127:
            length = int.from_bytes(await self.reader.readexactly(8))
        return first, await self.reader.readexactly(length)

    async def answer(self) -> list[Any]:
        first, payload = await self.frame()
        assert first == 0x81, f"expected a final text frame, got {first:#x}"
        decoded: list[Any] = orjson.loads(payload)
        return decoded

    async def close_code(self) -> int:
        """The code of the close frame the CSMS sends next (data frames before it skipped)."""
        while True:
            first, payload = await self.frame()
            if first == 0x88:
                return int.from_bytes(payload[:2])


@asynccontextmanager
async def raw_peer(csms: Csms, station_id: str) -> AsyncIterator[RawPeer]:
    reader, writer = await raw_websocket(csms, station_id)
    try:
        yield RawPeer(reader, writer)
    finally:
        writer.close()


def reads_directly(csms: Csms, station_id: str) -> bool:
    """Whether the CSMS reads this station's frames itself (not the library's parser)."""
    connection = csms.registry.get(station_id)
    assert connection is not None
    return connection._ws._direct is True


async def test_a_call_sent_byte_by_byte_is_answered(csms: Csms) -> None:
    async with raw_peer(csms, "DF-BYTES") as peer:
        for byte in client_frame(heartbeat("b1", padding=200)):  # a 16-bit length header
            await peer.write(bytes((byte,)))
        assert (await peer.answer())[:2] == [3, "b1"]
        assert reads_directly(csms, "DF-BYTES")


async def test_calls_in_one_write_and_across_writes_are_all_answered(csms: Csms) -> None:
    stream = b"".join(client_frame(heartbeat(f"m{n}")) for n in range(3))
    async with raw_peer(csms, "DF-MERGED") as peer:
        await peer.write(stream[:5])
        await peer.write(stream[5:])
        answers = [await peer.answer() for _ in range(3)]
        assert [a[1] for a in answers] == ["m0", "m1", "m2"]
        assert reads_directly(csms, "DF-MERGED")


async def test_a_frame_over_the_limit_is_refused_on_its_header(csms: Csms) -> None:
    """1009 while the frame is still unfinished: the CSMS does not buffer it first."""
    async with raw_peer(csms, "DF-BIG") as peer:
        await peer.write(client_frame(heartbeat("big", padding=MAX_SIZE))[:200])
        assert await peer.close_code() == 1009


async def test_a_long_call_with_a_64_bit_length_is_answered(tmp_path: Path) -> None:
    settings = settings_for(
        tmp_path, unknown_stations=UnknownStationPolicy.ACCEPT, max_frame_size=256 * 1024
    )
    async with running_csms(settings) as node, raw_peer(node, "DF-LONG") as peer:
        await peer.write(client_frame(heartbeat("l1", padding=100_000)))
        assert (await peer.answer())[:2] == [3, "l1"]
        assert reads_directly(node, "DF-LONG")


async def test_a_ping_between_calls_gets_its_pong_and_the_calls_their_answers(
    csms: Csms,
) -> None:
    async with raw_peer(csms, "DF-PING") as peer:
        await peer.write(
            client_frame(heartbeat("p1"))
            + client_frame(b"are you there", first=0x89)
            + client_frame(heartbeat("p2"))
        )
        frames = [await peer.frame() for _ in range(3)]
        assert (0x8A, b"are you there") in frames
        answered = sorted(orjson.loads(p)[1] for first, p in frames if first == 0x81)
        assert answered == ["p1", "p2"]


async def test_a_fragmented_call_after_direct_ones_is_reassembled(csms: Csms) -> None:
    text = heartbeat("f2")
    async with raw_peer(csms, "DF-FRAG") as peer:
        await peer.write(
            client_frame(heartbeat("f1"))
            + client_frame(text[:7], first=0x01)  # text, not final
            + client_frame(text[7:], first=0x80)  # continuation, final
            + client_frame(heartbeat("f3"))
        )
        assert [(await peer.answer())[1] for _ in range(3)] == ["f1", "f2", "f3"]
        assert reads_directly(csms, "DF-FRAG")  # back on the direct path after the fragments


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (client_frame(heartbeat("r1"), first=0xC1), 1002),  # RSV1 without an extension
        (client_frame(heartbeat("u1"), masked=False), 1002),  # a client must mask
        (client_frame(heartbeat("c1"), first=0x80), 1002),  # continuation of nothing
        (client_frame(b"\xff\xfe", first=0x81), 1007),  # text that is not UTF-8
    ],
    ids=["reserved-bit", "unmasked", "stray-continuation", "invalid-utf8"],
)
async def test_a_bad_frame_closes_with_the_code_the_library_uses(
    csms: Csms, frame: bytes, code: int
) -> None:
    async with raw_peer(csms, "DF-BAD") as peer:
        await peer.write(client_frame(heartbeat("ok")))
        assert (await peer.answer())[1] == "ok"
        assert reads_directly(csms, "DF-BAD")
        await peer.write(frame + client_frame(heartbeat("x")))
        assert await peer.close_code() == code


async def test_a_compressed_connection_keeps_the_library_path(csms: Csms) -> None:
    async with connect(
        f"ws://127.0.0.1:{csms.ports.ocpp}/ocpp/DF-DEFLATE",
        subprotocols=[Subprotocol("ocpp1.6")],
    ) as ws:
        assert ws.protocol.extensions, "permessage-deflate should be negotiated"
        for n in range(3):
            await ws.send(heartbeat(f"z{n}", padding=500).decode())
            assert orjson.loads(await ws.recv())[:2] == [3, f"z{n}"]
        connection = csms.registry.get("DF-DEFLATE")
        assert connection is not None
        assert connection._ws._direct is False
