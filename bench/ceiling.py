"""The load generator's own ceiling: ``opencsms load`` flat out against a server that does nothing.

    .venv/bin/python bench/ceiling.py                          # 1.6 and 2.0.1, C = 100 and 1000
    .venv/bin/python bench/ceiling.py --stations 100 --versions 2.0.1 --duration 5 --mix heartbeat

The server is a canned one (``--serve PORT`` runs it): ``websockets`` + uvloop, parses each frame
with orjson and answers every CALL with a fixed, schema-valid CALLRESULT for its action — the same
work as ``bench/servers/bare_server.py``, whose ``[3, id, {}]`` the generator would rightly refuse
for BootNotification (its response schema requires status, currentTime and interval). For each
cell the server and ``opencsms load`` run as two processes; the report gives the generator's msg/s,
its CPU seconds per message and hence msg/s per core, and the server's cores. On a shared 2-core
machine both processes compete for CPU: msg/s is a joint limit, CPU per message is the figure
that carries over (the generator's ceiling on one core is 1 / CPU-per-message).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
from storm import (  # noqa: E402 - bench scripts import their siblings by path
    cpu_seconds,
    free_port,
    print_table,
    stop_process,
    wait_for_port,
)

NOW = "2025-01-01T00:00:00.000Z"
CANNED: dict[str, dict[str, Any]] = {
    "BootNotification": {"status": "Accepted", "currentTime": NOW, "interval": 300},
    "Heartbeat": {"currentTime": NOW},
    "StatusNotification": {},
    "MeterValues": {},
    "DataTransfer": {"status": "UnknownVendorId"},
    "StartTransaction": {"transactionId": 1, "idTagInfo": {"status": "Accepted"}},
    "StopTransaction": {},
    "TransactionEvent": {},
}
AUTHORIZE = {"ocpp1.6": {"idTagInfo": {"status": "Accepted"}}}
AUTHORIZE_2X = {"idTokenInfo": {"status": "Accepted"}}


async def serve(port: int) -> None:
    """The canned server: a fixed valid CALLRESULT per action, nothing else."""
    import orjson
    from websockets.asyncio.server import ServerConnection
    from websockets.asyncio.server import serve as ws_serve

    async def handler(ws: ServerConnection) -> None:
        authorize = AUTHORIZE.get(ws.subprotocol or "", AUTHORIZE_2X)
        send = ws.send
        async for raw in ws:
            frame = orjson.loads(raw)
            if frame[0] == 2:
                action = frame[2]
                payload = authorize if action == "Authorize" else CANNED.get(action, {})
                await send(orjson.dumps([3, frame[1], payload]), text=True)

    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with ws_serve(
        handler,
        "127.0.0.1",
        port,
        subprotocols=["ocpp1.6", "ocpp2.0.1", "ocpp2.1"],  # type: ignore[list-item]
        backlog=4096,
        max_size=2**20,
        ping_interval=None,
    ):
        print(f"canned server listening on {port}", flush=True)
        await stop


def run_cell(version: str, stations: int, args: argparse.Namespace) -> dict[str, Any]:
    """One canned server + one ``opencsms load`` flat out; the generator's figures."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port)],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_port(port, server)
        with tempfile.TemporaryDirectory(prefix="ceiling-") as tmp:
            out = Path(tmp) / "load.json"
            cmd = [
                args.opencsms, "load", "--url", f"ws://127.0.0.1:{port}/ocpp",
                "--stations", str(stations), "--version", version, "--mix", args.mix,
                "--ramp", "unlimited", "--duration", f"{args.duration}s", "--no-progress",
                "--ping-interval", "0", "--json", str(out),
            ]  # fmt: skip
            server_cpu_0 = cpu_seconds(server.pid)
            t0 = time.monotonic()
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            wall = time.monotonic() - t0
            server_cpu = cpu_seconds(server.pid) - server_cpu_0
            if done.returncode != 0 or not out.exists():
                raise RuntimeError(f"opencsms load failed:\n{done.stdout}\n{done.stderr}")
            report = json.loads(out.read_text())
    finally:
        stop_process(server)
    messages = report["messages"]
    loadgen = report["loadgen"]
    hold = report["hold_s"]
    cores = loadgen["cores_hold"]
    cpu_per_msg_us = cores * hold / messages["answered"] * 1e6 if messages["answered"] else None
    return {
        "version": version,
        "stations": stations,
        "mix": args.mix,
        "msg_per_s": messages["msg_per_s"],
        "p50_ms": messages["latency_ms"]["p50"],
        "p99_ms": messages["latency_ms"]["p99"],
        "errors": sum(report["errors"].values()),
        "loadgen_cores": cores,
        "loadgen_cpu_us_per_msg": round(cpu_per_msg_us, 1) if cpu_per_msg_us else None,
        "loadgen_msg_per_core_s": round(1e6 / cpu_per_msg_us) if cpu_per_msg_us else None,
        "server_cores_avg": round(server_cpu / wall, 2),
        "loadgen_max_rss_kib": loadgen["max_rss_kib"],
    }


COLUMNS = [
    ("version", "version"),
    ("stations", "C"),
    ("mix", "mix"),
    ("msg_per_s", "msg/s"),
    ("p50_ms", "p50 ms"),
    ("p99_ms", "p99 ms"),
    ("errors", "errors"),
    ("loadgen_cores", "loadgen cores"),
    ("loadgen_cpu_us_per_msg", "loadgen µs CPU/msg"),
    ("loadgen_msg_per_core_s", "loadgen msg/s per core"),
    ("server_cores_avg", "server cores"),
]


def main(argv: list[str] | None = None) -> int:
    """Run every (version, C) cell; print a table and the JSON."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--serve", type=int, metavar="PORT", help="run the canned server only")
    p.add_argument("--versions", default="1.6,2.0.1")
    p.add_argument("--stations", default="100,1000")
    p.add_argument("--mix", default="meter_values")
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--opencsms", default=str(ROOT / ".venv" / "bin" / "opencsms"))
    p.add_argument("--out", type=Path, help="write the results as JSON here too")
    args = p.parse_args(argv)
    if args.serve is not None:
        import uvloop

        uvloop.run(serve(args.serve))
        return 0
    rows = [
        run_cell(version, int(count), args)
        for version in args.versions.split(",")
        for count in args.stations.split(",")
    ]
    print_table(rows, COLUMNS)
    result = {"cpus": os.cpu_count(), "duration_s": args.duration, "cells": rows}
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
