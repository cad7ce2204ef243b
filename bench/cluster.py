"""Cluster benchmark: connections held and messages per second for 1, 2 and 3 OpenCSMS nodes on
PostgreSQL and NATS, with the PostgreSQL commit rate and the NATS message rate they cause.

    .venv/bin/python bench/cluster.py --nodes 1,2,3 --stations 600 --duration 10

For each node count N: a fresh PostgreSQL database (migrated), N ``opencsms serve`` processes in
cluster mode (their own NATS subject prefix), and N load generators (bench/loadgen.py), each
driving stations/N stations against one node, all in the same measurement window. Measured:

- **held**: stations connected at the end of the warm-up (the nodes' ``/api/v1/health``);
- **msg/s**: CALLs answered inside the window, summed over the load generators, and per node;
- **p50 / p99 ms**: the worst node's latency percentiles;
- **PG commits/s**: ``pg_stat_database.xact_commit`` of the database, over the window;
- **NATS msg/s**: messages on the cluster's subjects over the window (a subscriber of
  ``<prefix>.>``).

On a 2-core machine the nodes and the load generators share the cores: the per-node figure of
the 1-node run is the one to project from (docs/scaling.md), the 2- and 3-node runs show what the
cluster layer costs when the cores are already taken.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import nats

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PG_ADMIN = os.environ.get("OPENCSMS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
NATS_URL = os.environ.get("OPENCSMS_TEST_NATS", "nats://127.0.0.1:4222")
TOKEN = "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Node:
    index: int
    ocpp: int
    http: int
    proc: subprocess.Popen[bytes]


def start_node(index: int, db: str, prefix: str, workdir: Path, cluster: bool = True) -> Node:
    ocpp, http = free_port(), free_port()
    config = workdir / f"node{index}.toml"
    config.write_text(
        "[server]\n"
        f'node_id = "bench-{index}"\n'
        f'cluster_name = "{prefix}"\n'
        "ping_interval = 0\n"
        f'files_dir = "{workdir / f"files{index}"}"\n'
    )
    log = (workdir / f"node{index}.log").open("wb")
    proc = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "opencsms"),
            "serve",
            "--db",
            db,
            *(["--cluster-nats-url", NATS_URL] if cluster else []),
            "--ocpp-port",
            str(ocpp),
            "--http-port",
            str(http),
            "--host",
            "127.0.0.1",
            "--config",
            str(config),
            "--unknown-stations",
            "accept",
            "--log-level",
            "WARNING",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "OPENCSMS_ADMIN_TOKEN": TOKEN},
        start_new_session=True,
    )
    return Node(index, ocpp, http, proc)


async def ready(node: Node) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{node.http}") as api:
        async with asyncio.timeout(60):
            while True:
                if node.proc.poll() is not None:
                    raise RuntimeError(f"node {node.index} exited")
                with contextlib.suppress(httpx.HTTPError):
                    if (await api.get("/api/v1/health")).status_code == 200:
                        return
                await asyncio.sleep(0.1)


async def held(nodes: list[Node]) -> list[int]:
    counts = []
    async with httpx.AsyncClient() as api:
        for node in nodes:
            health = (await api.get(f"http://127.0.0.1:{node.http}/api/v1/health")).json()
            counts.append(int(health["stations_connected"]))
    return counts


async def commits(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(
            await conn.fetchval(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
            )
        )
    finally:
        await conn.close()


async def run_cell(count: int, args: argparse.Namespace) -> dict[str, Any]:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    dsn = f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    db = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    workdir = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    migrate = await asyncio.create_subprocess_exec(
        str(ROOT / ".venv" / "bin" / "opencsms"),
        "migrate",
        "--db",
        db,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    if await migrate.wait() != 0:
        raise RuntimeError("opencsms migrate failed")
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    nodes = [start_node(i, db, prefix, workdir, cluster=count > 0) for i in range(max(count, 1))]
    bus = await nats.connect(NATS_URL)
    seen = 0

    async def counted(_msg: Any) -> None:
        nonlocal seen
        seen += 1

    try:
        await asyncio.gather(*(ready(n) for n in nodes))
        await bus.subscribe(f"{prefix}.>", cb=counted)
        per = args.stations // len(nodes)
        loadgens = []
        for node in nodes:
            out = workdir / f"loadgen{node.index}.json"
            loadgens.append(
                (
                    out,
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        str(BENCH / "loadgen.py"),
                        "--url",
                        f"ws://127.0.0.1:{node.ocpp}/ocpp",
                        "--stations",
                        str(per),
                        "--version",
                        args.version,
                        "--duration",
                        str(args.duration),
                        "--warmup",
                        str(args.warmup),
                        "--prefix",
                        f"N{node.index}-",
                        "--server-pid",
                        str(node.proc.pid),
                        "--json",
                        str(out),
                        stdout=asyncio.subprocess.DEVNULL,
                        stderr=asyncio.subprocess.DEVNULL,
                    ),
                )
            )
        # The window starts after the connections and the warm-up (loadgen measures its own
        # window; these counters take the same span, approximately).
        await asyncio.sleep(args.connect_time + args.warmup)
        connected = await held(nodes)
        pg0, nats0, t0 = await commits(dsn), seen, time.monotonic()
        await asyncio.sleep(args.duration)
        pg1, nats1, t1 = await commits(dsn), seen, time.monotonic()
        for _, proc in loadgens:
            await proc.wait()
        reports = [json.loads(out.read_text()) for out, _ in loadgens]
    finally:
        await bus.close()
        for node in nodes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(node.proc.pid, signal.SIGTERM)
        for node in nodes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                node.proc.wait(20)
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    window = t1 - t0
    return {
        "nodes": count,
        "stations": per * len(nodes),
        "held": sum(connected),
        "held_per_node": connected,
        "msg_per_s": round(sum(r["msg_per_s"] for r in reports), 1),
        "msg_per_s_per_node": [r["msg_per_s"] for r in reports],
        "p50_ms": max(r["latency_ms"]["p50"] for r in reports),
        "p99_ms": max(r["latency_ms"]["p99"] for r in reports),
        "errors": sum(r["error_count"] for r in reports),
        "error_codes": [r["errors"] for r in reports],
        "connect_failures": sum(r["connect_failures"] for r in reports),
        "server_cores": [r["server_cores"] for r in reports],
        "pg_commits_per_s": round((pg1 - pg0) / window, 1),
        "nats_msg_per_s": round((nats1 - nats0) / window, 1),
    }


def table(rows: list[dict[str, Any]], version: str) -> str:
    lines = [
        f"| nodes | stations held | msg/s ({version}) | per node | p50 ms | p99 ms | errors "
        "| PG commits/s | NATS msg/s | server cores |",
        "|---:|---:|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['nodes']} | {r['held']} | {r['msg_per_s']:,.0f} | "
            f"{', '.join(f'{m:,.0f}' for m in r['msg_per_s_per_node'])} | {r['p50_ms']:.1f} | "
            f"{r['p99_ms']:.1f} | {r['errors'] + r['connect_failures']} | "
            f"{r['pg_commits_per_s']:,.0f} | {r['nats_msg_per_s']:,.0f} | "
            f"{', '.join(str(c) for c in r['server_cores'])} |"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--nodes",
        default="0,1,2,3",
        help="node counts; 0: one node on PostgreSQL without cluster mode",
    )
    parser.add_argument("--stations", type=int, default=600)
    parser.add_argument("--version", choices=["1.6", "2.0.1"], default="2.0.1")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument(
        "--connect-time", type=float, default=8.0, help="seconds allowed for connecting first"
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rows = []
    for count in (int(n) for n in args.nodes.split(",")):
        rows.append(await run_cell(count, args))
        print(json.dumps(rows[-1]), flush=True)
    print(table(rows, args.version))
    if args.out is not None:
        args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    asyncio.run(main())
