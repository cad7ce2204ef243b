"""Requests on a kept-alive HTTP connection are answered without Nagle's delay.

Without TCP_NODELAY on the API's sockets, a response written as headers then body waits for the
client's delayed ACK before its second part leaves: about 40 ms per request on Linux, on every
request after the first of a connection (what every HTTP client library reuses). That alone
would put a command's round trip over its 50 ms budget.
"""

from __future__ import annotations

import asyncio
import time

from opencsms.app import Csms

REQUESTS = 20
NAGLE_DELAY_S = 0.04


async def test_kept_alive_requests_are_not_held_back(csms: Csms) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", csms.ports.http)
    request = b"GET /api/v1/health HTTP/1.1\r\nHost: csms\r\n\r\n"
    try:
        writer.write(request)  # the first request of a connection is never delayed
        await _read_response(reader)
        started = time.perf_counter()
        for _ in range(REQUESTS):
            writer.write(request)
            await writer.drain()
            await _read_response(reader)
        elapsed = time.perf_counter() - started
    finally:
        writer.close()
    # 20 delayed responses take at least 0.8 s; 20 prompt ones a few ms each, even on a busy box
    assert elapsed < REQUESTS * NAGLE_DELAY_S / 2, f"{elapsed:.3f} s for {REQUESTS} requests"


async def _read_response(reader: asyncio.StreamReader) -> None:
    async with asyncio.timeout(5):
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        body = await reader.readexactly(length)
    assert b'"status":"ok"' in body
