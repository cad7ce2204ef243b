"""The framing-only ceiling: ``websockets`` + uvloop, parse each frame, return a fixed CALLRESULT.

It negotiates ``ocpp1.6``, ``ocpp2.0.1`` and ``ocpp2.1``, parses every text frame with orjson (so
the cost of JSON decoding is paid, as any real server must) and answers a CALL with
``[3, <same message id>, {}]`` (OCPP-J 1.6 §4.2.2 / 2.0.1 Part 4 §4.2.2 CALLRESULT). No validation,
no routing, no storage: whatever a real CSMS does costs throughput relative to this.

    python bench/servers/bare_server.py --port 9000
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

import orjson
import uvloop
from websockets.asyncio.server import ServerConnection, serve

SUBPROTOCOLS = ["ocpp1.6", "ocpp2.0.1", "ocpp2.1"]


async def handler(ws: ServerConnection) -> None:
    """Answer every CALL on this connection with an empty CALLRESULT."""
    send = ws.send
    async for raw in ws:
        frame = orjson.loads(raw)
        if frame[0] == 2:
            await send(orjson.dumps([3, frame[1], {}]), text=True)


async def main(host: str, port: int, backlog: int) -> None:
    """Serve until SIGINT/SIGTERM."""
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with serve(
        handler,
        host,
        port,
        subprotocols=SUBPROTOCOLS,  # type: ignore[arg-type]
        backlog=backlog,  # sized for connection storms (see ARCHITECTURE.md)
        max_size=2**20,
    ):
        print(f"bare server listening on {host}:{port}", flush=True)
        await stop


if __name__ == "__main__":
    p = argparse.ArgumentParser(description="framing-only OCPP-J server (benchmark ceiling)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9000)
    p.add_argument("--backlog", type=int, default=4096)
    a = p.parse_args()
    uvloop.run(main(a.host, a.port, a.backlog))
    sys.exit(0)
