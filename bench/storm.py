"""Reconnect storm: N stations connect and boot at once; how long until every one is Accepted?

    .venv/bin/python bench/storm.py --stations 10000
    .venv/bin/python bench/storm.py --stations 2000 --version 1.6 --no-prime

1. Start ``opencsms serve`` (fresh SQLite in a temp dir, ``--unknown-stations accept``,
   ``OPENCSMS_ADMIN_TOKEN`` set) as a subprocess.
2. Prime (default): register the N stations with a gentle ``opencsms load`` run (1000/s), then
   restart the CSMS on the same database — the classic storm is a CSMS restart that every known
   station answers by reconnecting at once. ``--no-prime`` storms with unknown stations instead
   (each is auto-registered on its first connection).
3. Storm: ``opencsms load --ramp unlimited --connect-concurrency 0 --mix idle`` — every station
   opens its WebSocket and sends BootNotification at the same moment. Meanwhile this script polls
   ``GET /api/v1/health`` and ``GET /api/v1/stations/{id}`` every 100 ms and records their latency.
4. Once the CSMS reports N stations connected, page through ``GET /api/v1/stations`` and count the
   connected, Accepted ones: the CSMS's own view of "no station left behind".

Prints a table and the JSON (``--out`` writes it to a file too). The helpers here (server start and
stop, CPU and RSS from /proc) are shared with ``idle.py`` and ``ceiling.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
TOKEN = "bench"
POLL_SECONDS = 0.1

# ---------------------------------------------------------------------------- shared helpers


def free_port() -> int:
    """An unused TCP port on loopback (closed again before the server binds it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[Any], timeout: float = 60.0) -> None:
    """Return once ``port`` accepts TCP connections; raise if ``proc`` dies or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"server did not listen on {port} within {timeout} s")
        time.sleep(0.05)  # polling a port that is not open yet: there is nothing to wait on


def stop_process(proc: subprocess.Popen[Any], timeout: float = 30.0) -> None:
    """SIGINT (a clean shutdown), SIGKILL after ``timeout``."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (OpenCSMS commits SQLite in a child process)."""
    found = [pid]
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                found += process_tree(int(child))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its live children (Linux /proc)."""
    total = 0.0
    for process in process_tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def rss_kib(pid: int) -> int:
    """Resident memory (VmRSS, KiB) of ``pid`` plus its children."""
    total = 0
    for process in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{process}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


@dataclass
class Csms:
    """An ``opencsms serve`` subprocess on free ports with its own SQLite file."""

    proc: subprocess.Popen[bytes]
    ocpp_port: int
    http_port: int
    workdir: Path

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.ocpp_port}/ocpp"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


def start_csms(opencsms: str, workdir: Path, log_level: str = "INFO") -> Csms:
    """Start ``opencsms serve`` in ``workdir`` (database ``workdir/bench.db``) and wait for it."""
    ocpp_port, http_port = free_port(), free_port()
    env = {**os.environ, "OPENCSMS_ADMIN_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
    cmd = [
        opencsms, "serve", "--host", "127.0.0.1",
        "--ocpp-port", str(ocpp_port), "--http-port", str(http_port),
        "--db", f"sqlite:///{workdir / 'bench.db'}", "--unknown-stations", "accept",
        "--log-level", log_level,
    ]  # fmt: skip
    log = (workdir / "serve.log").open("ab")
    proc = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir, start_new_session=True
    )
    csms = Csms(proc, ocpp_port, http_port, workdir)
    wait_for_port(ocpp_port, proc)
    wait_for_port(http_port, proc)
    return csms


def load_command(
    opencsms: str, url: str, stations: int, version: str, *extra: str, prefix: str = "STORM-"
) -> list[str]:
    """An ``opencsms load`` command line (no progress bar: output goes to a pipe)."""
    return [
        opencsms, "load", "--url", url, "--stations", str(stations), "--version", version,
        "--prefix", prefix, "--no-progress", *extra,
    ]  # fmt: skip


def percentiles_ms(samples: list[float]) -> dict[str, float | None]:
    """p50/p99/max of ``samples`` (seconds) in milliseconds (exact: the lists are small)."""
    if not samples:
        return {"p50": None, "p99": None, "max": None, "count": 0}
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[max(0, math.ceil(len(ordered) * q) - 1)] * 1000, 2)

    return {
        "p50": at(0.50),
        "p99": at(0.99),
        "max": round(ordered[-1] * 1000, 2),
        "count": len(ordered),
    }


def print_table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> None:
    """A Markdown table of ``rows`` (the same layout as bench/README.md)."""
    print("| " + " | ".join(title for _, title in columns) + " |")
    print("|" + "|".join("---" for _ in columns) + "|")
    for row in rows:
        cells = []
        for key, _ in columns:
            value = row.get(key)
            if isinstance(value, bool):
                cells.append("yes" if value else "no")
            elif isinstance(value, float):
                cells.append(f"{value:,.2f}" if value < 100 else f"{value:,.0f}")
            elif isinstance(value, int):
                cells.append(f"{value:,}")
            else:
                cells.append("-" if value is None else str(value))
        print("| " + " | ".join(cells) + " |")


# ---------------------------------------------------------------------------- the storm


class ApiProbe:
    """Polls the operator API every 100 ms while the storm runs; latencies by endpoint."""

    def __init__(self, csms: Csms, station_id: str) -> None:
        self.csms = csms
        self.station_id = station_id
        self.samples: dict[str, list[tuple[float, float]]] = {"health": [], "station": []}
        self.failures: dict[str, int] = {"health": 0, "station": 0}
        self.connected: int = 0

    async def run(self) -> None:
        """Poll both endpoints, each on its own 100 ms schedule (a slow one never delays the
        other), until cancelled."""
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with (
            httpx.AsyncClient(base_url=self.csms.api, headers=headers, timeout=60) as api,
            asyncio.TaskGroup() as tasks,
        ):
            tasks.create_task(self._poll(api, "health", "/api/v1/health"))
            tasks.create_task(self._poll(api, "station", f"/api/v1/stations/{self.station_id}"))

    async def _poll(self, api: httpx.AsyncClient, name: str, path: str) -> None:
        next_tick = time.monotonic()
        while True:
            await self._probe(api, name, path)
            next_tick = max(next_tick + POLL_SECONDS, time.monotonic())
            # the probe's own polling schedule, not synchronisation
            await asyncio.sleep(next_tick - time.monotonic())

    async def _probe(self, api: httpx.AsyncClient, name: str, path: str) -> None:
        start = time.monotonic()
        try:
            response = await api.get(path)
        except httpx.HTTPError:
            self.failures[name] += 1
            return
        self.samples[name].append((start, time.monotonic() - start))
        if response.status_code >= 500 or (name == "health" and response.status_code != 200):
            self.failures[name] += 1
        elif name == "health":
            self.connected = int(response.json()["stations_connected"])

    def latency(self, name: str, until: float | None = None) -> dict[str, float | None]:
        """Percentiles of ``name`` for probes started before ``until`` (monotonic), or all."""
        return percentiles_ms([d for t, d in self.samples[name] if until is None or t < until])


async def count_via_api(csms: Csms, prefix: str) -> dict[str, int]:
    """Page through ``GET /api/v1/stations``: connected and Accepted stations of ``prefix``."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    counts = {"total": 0, "connected": 0, "accepted": 0, "connected_and_accepted": 0}
    async with httpx.AsyncClient(base_url=csms.api, headers=headers, timeout=120) as api:
        offset = 0
        while True:
            page = await api.get("/api/v1/stations", params={"offset": offset, "limit": 1000})
            page.raise_for_status()
            body = page.json()
            for item in body["items"]:
                if not item["id"].startswith(prefix):
                    continue
                counts["total"] += 1
                counts["connected"] += item["connected"]
                counts["accepted"] += item["registration"] == "Accepted"
                counts["connected_and_accepted"] += (
                    item["connected"] and item["registration"] == "Accepted"
                )
            offset += len(body["items"])
            if not body["items"] or offset >= body["total"]:
                return counts


async def storm(csms: Csms, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Run the storm against ``csms``; the generator's report plus the API's view."""
    out = workdir / "storm.json"
    cmd = load_command(
        args.opencsms, csms.url, args.stations, args.version,
        "--ramp", "unlimited", "--connect-concurrency", "0", "--mix", "idle",
        "--duration", f"{args.hold}s", "--ramp-timeout", f"{args.ramp_timeout}s",
        "--json", str(out),
    )  # fmt: skip
    probe = ApiProbe(csms, "STORM-000001")
    cpu0, rss0 = cpu_seconds(csms.proc.pid), rss_kib(csms.proc.pid)
    peak_rss = rss0
    probing = asyncio.create_task(probe.run())
    started = time.monotonic()
    loadgen = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    api_counts: dict[str, int] | None = None
    api_counted_after: float | None = None
    reading = asyncio.create_task(loadgen.communicate())
    while not reading.done():
        peak_rss = max(peak_rss, rss_kib(csms.proc.pid))
        if api_counts is None and probe.connected >= args.stations:
            api_counted_after = time.monotonic() - started
            api_counts = await count_via_api(csms, "STORM-")
        await asyncio.wait([reading], timeout=0.25)  # sampling RSS, not synchronisation
    output, _ = reading.result()
    probing.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await probing
    cpu = cpu_seconds(csms.proc.pid) - cpu0
    if not out.exists():
        raise RuntimeError(f"opencsms load wrote no report:\n{output.decode()}")
    report = json.loads(out.read_text())
    all_accepted = report["connect"]["all_accepted_s"]
    storm_end = started + all_accepted if all_accepted is not None else None
    return {
        "report": report,
        "loadgen_exit": loadgen.returncode,
        "api_counts": api_counts,
        "api_counted_after_s": api_counted_after,
        "api_health_during_storm_ms": probe.latency("health", storm_end),
        "api_station_during_storm_ms": probe.latency("station", storm_end),
        "api_health_all_ms": probe.latency("health"),
        "api_failures": probe.failures,
        "server_cpu_s": round(cpu, 2),
        "server_rss_before_kib": rss0,
        "server_rss_peak_kib": peak_rss,
        "loadgen_output_tail": output.decode()[-3000:],
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="storm-"))
    csms = start_csms(args.opencsms, workdir, args.log_level)
    try:
        if args.prime:
            prime = load_command(
                args.opencsms, csms.url, args.stations, args.version,
                "--ramp", "1000/s", "--mix", "idle", "--duration", "0",
            )  # fmt: skip
            done = await asyncio.to_thread(
                subprocess.run, prime, capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                raise RuntimeError(f"priming failed:\n{done.stdout[-3000:]}")
            stop_process(csms.proc)  # the storm's trigger: a CSMS restart
            csms = start_csms(args.opencsms, workdir, args.log_level)
        result = await storm(csms, args, workdir)
    finally:
        stop_process(csms.proc, timeout=60)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    result["primed"] = args.prime
    result["workdir"] = str(workdir) if args.keep else None
    return result


def summary_row(result: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    report = result["report"]
    stations, connect = report["stations"], report["connect"]
    api = result["api_counts"] or {}
    health = result["api_health_during_storm_ms"]
    station = result["api_station_during_storm_ms"]
    return {
        "version": args.version,
        "stations": args.stations,
        "primed": "known" if args.prime else "unknown",
        "all_accepted_s": connect["all_accepted_s"],
        "tta_p50_ms": connect["time_to_accepted_ms"]["p50"],
        "tta_p99_ms": connect["time_to_accepted_ms"]["p99"],
        "accepted": stations["accepted"],
        "left_behind": stations["failed"],
        "connect_failures": sum(stations["connect_failures"].values()),
        "api_connected_accepted": api.get("connected_and_accepted"),
        "health_p50": health["p50"],
        "health_p99": health["p99"],
        "health_max": health["max"],
        "station_p99": station["p99"],
        "station_max": station["max"],
        "server_rss_peak_mib": round(result["server_rss_peak_kib"] / 1024),
    }


COLUMNS = [
    ("version", "version"),
    ("stations", "N"),
    ("primed", "stations"),
    ("all_accepted_s", "all Accepted after (s)"),
    ("tta_p50_ms", "per station p50 ms"),
    ("tta_p99_ms", "p99 ms"),
    ("accepted", "accepted"),
    ("left_behind", "left behind"),
    ("connect_failures", "connect failures"),
    ("api_connected_accepted", "API: connected+Accepted"),
    ("health_p50", "health p50 ms"),
    ("health_p99", "health p99 ms"),
    ("health_max", "health max ms"),
    ("station_p99", "station GET p99 ms"),
    ("station_max", "station GET max ms"),
    ("server_rss_peak_mib", "CSMS peak RSS MiB"),
]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--stations", type=int, default=10_000)
    p.add_argument("--version", default="2.0.1", choices=["1.6", "2.0.1", "2.1"])
    p.add_argument("--prime", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--hold", type=float, default=10.0, help="seconds held after all Accepted")
    p.add_argument("--ramp-timeout", type=float, default=180.0)
    p.add_argument("--log-level", default="INFO", help="of the CSMS")
    p.add_argument("--opencsms", default=str(ROOT / ".venv" / "bin" / "opencsms"))
    p.add_argument("--keep", action="store_true", help="keep the temp dir (database, logs)")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    result = asyncio.run(main_async(args))
    print_table([summary_row(result, args)], COLUMNS)
    text = json.dumps({k: v for k, v in result.items() if k != "loadgen_output_tail"}, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    left = result["report"]["stations"]["failed"]
    return 0 if left == 0 and result["loadgen_exit"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
