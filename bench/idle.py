"""Idle hold: N stations connected and booted, doing nothing but heartbeats; CSMS memory each.

    .venv/bin/python bench/idle.py --stations 10000
    .venv/bin/python bench/idle.py --stations 2000 --version 1.6 --compression

1. Start ``opencsms serve`` (fresh SQLite in a temp dir, ``--unknown-stations accept``) and
   read its resident memory (VmRSS of the server and its children: SQLite commits run in a child
   process) once it is up.
2. ``opencsms load --mix idle`` ramps N stations (``--ramp``, default 1000/s); each boots and then
   only keeps its WebSocket (pings) and heartbeats at the CSMS's interval (300 s by default).
3. Once ``GET /api/v1/health`` reports N connected, wait ``--settle`` seconds and sample the RSS a
   few times: (held − before) / N is the CSMS memory per connection. The CSMS's CPU while holding
   is measured over the same samples.
4. The generator then closes every connection; the RSS after that shows what is kept.

Prints a table and the JSON (``--out`` writes it to a file too).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
from storm import (  # noqa: E402 - bench scripts import their siblings by path
    cpu_seconds,
    load_command,
    print_table,
    rss_kib,
    start_csms,
    stop_process,
)

SAMPLES = 5


async def connected(api: str) -> int:
    async with httpx.AsyncClient(base_url=api, timeout=30) as client:
        response = await client.get("/api/v1/health")
        return int(response.json()["stations_connected"])


async def hold(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    csms = start_csms(args.opencsms, workdir, args.log_level)
    try:
        await asyncio.sleep(args.settle)  # let the fresh server's start-up allocations settle
        before = rss_kib(csms.proc.pid)
        out = workdir / "idle.json"
        extra = ["--compression"] if args.compression else []
        cmd = load_command(
            args.opencsms, csms.url, args.stations, args.version,
            "--ramp", args.ramp, "--mix", "idle", "--duration", "forever",
            "--ramp-timeout", "300s", "--json", str(out), *extra, prefix="IDLE-",
        )  # fmt: skip
        started = time.monotonic()
        loadgen = await asyncio.create_subprocess_exec(
            *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        reading = asyncio.create_task(loadgen.communicate())
        seen = 0
        while seen < args.stations:
            if reading.done():
                raise RuntimeError(f"opencsms load ended early:\n{reading.result()[0].decode()}")
            seen = await connected(csms.api)
            await asyncio.wait([reading], timeout=0.5)  # polling the API, not synchronisation
        all_connected_after = time.monotonic() - started
        await asyncio.sleep(args.settle)  # connections idle; allocations settle
        samples, cpu0, t0 = [], cpu_seconds(csms.proc.pid), time.monotonic()
        loadgen_rss = rss_kib(loadgen.pid)
        for _ in range(SAMPLES):
            samples.append(rss_kib(csms.proc.pid))
            await asyncio.sleep(1.0)  # spacing RSS samples
        idle_cores = (cpu_seconds(csms.proc.pid) - cpu0) / (time.monotonic() - t0)
        still = await connected(csms.api)
        loadgen.send_signal(2)  # SIGINT: the generator stops cleanly and writes its report
        output, _ = await reading
        await asyncio.sleep(args.settle)  # let the server finish closing the connections
        after_close = rss_kib(csms.proc.pid)
    finally:
        stop_process(csms.proc, timeout=60)
    report = json.loads(out.read_text()) if out.exists() else None
    held = int(statistics.median(samples))
    return {
        "stations": args.stations,
        "version": args.version,
        "compression": args.compression,
        "connected_via_api": still,
        "all_connected_after_s": round(all_connected_after, 2),
        "csms_rss_before_kib": before,
        "csms_rss_held_kib": held,
        "csms_rss_after_close_kib": after_close,
        "csms_kib_per_connection": round((held - before) / args.stations, 1),
        "csms_idle_cores": round(idle_cores, 3),
        "loadgen_rss_kib": loadgen_rss,
        "loadgen_kib_per_station": round(loadgen_rss / args.stations, 1),
        "loadgen_exit": loadgen.returncode,
        "report": report,
        "loadgen_output_tail": output.decode()[-2000:],
    }


COLUMNS = [
    ("version", "version"),
    ("stations", "N"),
    ("compression", "deflate"),
    ("connected_via_api", "connected (API)"),
    ("all_connected_after_s", "all connected after s"),
    ("csms_rss_before_mib", "CSMS RSS before MiB"),
    ("csms_rss_held_mib", "CSMS RSS held MiB"),
    ("csms_kib_per_connection", "CSMS KiB/connection"),
    ("csms_idle_cores", "CSMS cores idle"),
    ("loadgen_kib_per_station", "loadgen KiB/station"),
]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--stations", type=int, default=10_000)
    p.add_argument("--version", default="2.0.1", choices=["1.6", "2.0.1", "2.1"])
    p.add_argument("--ramp", default="1000/s")
    p.add_argument("--settle", type=float, default=3.0)
    p.add_argument("--compression", action="store_true", help="stations offer permessage-deflate")
    p.add_argument("--log-level", default="INFO", help="of the CSMS")
    p.add_argument("--opencsms", default=str(ROOT / ".venv" / "bin" / "opencsms"))
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="idle-"))
    try:
        result = asyncio.run(hold(args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    row = {
        **result,
        "csms_rss_before_mib": round(result["csms_rss_before_kib"] / 1024),
        "csms_rss_held_mib": round(result["csms_rss_held_kib"] / 1024),
    }
    print_table([row], COLUMNS)
    text = json.dumps({k: v for k, v in result.items() if k != "loadgen_output_tail"}, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    ok = result["connected_via_api"] == args.stations and result["loadgen_exit"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
