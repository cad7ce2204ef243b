"""One benchmark run: every target × message kind × station count, each on a fresh server.

    .venv/bin/python bench/run.py                      # what ``make bench`` runs
    .venv/bin/python bench/run.py --targets ocpp-lib,bare --stations 1,100 --duration 5
    .venv/bin/python bench/run.py --stations 1000 --repeat 3   # the issue's figure, drift-proof

Targets (see bench/README.md):

* ``opencsms`` — ``opencsms serve`` with validation on and durable storage on a fresh SQLite file;
* ``ocpp-lib`` — ``bench/servers/ocpp_lib_server.py``, the ``ocpp`` PyPI library baseline;
* ``bare``     — ``bench/servers/bare_server.py``, framing only (the transport ceiling).

For each cell the server starts as a subprocess on a free port, the orchestrator waits until the
port accepts TCP connections, runs ``bench/loadgen.py`` as a second process, reads its JSON report
and stops the server (SIGINT, then SIGKILL after a timeout). Targets are interleaved per cell so
background drift on a shared machine hits all three alike; ``--repeat N`` runs N such rounds and
quotes the ratio of the medians, with every round's own ratio. The table goes to stdout; the full
results go to ``bench/results/`` (git-ignored) as JSON plus the same table in Markdown.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
KINDS = {"1.6": "meter_values", "2.0.1": "transaction_event"}
LABELS = {"1.6": "1.6 MeterValues", "2.0.1": "2.0.1 TransactionEvent"}
ALL_TARGETS = ("opencsms", "ocpp-lib", "bare")
LISTEN_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


@dataclass
class Server:
    """A started server under test."""

    target: str
    proc: subprocess.Popen[bytes]
    port: int
    workdir: Path
    log: Path
    cmd: list[str]


def free_ports(n: int) -> list[int]:
    """Ask the kernel for ``n`` distinct unused TCP ports (closed again before the server binds)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]


def free_port() -> int:
    """One unused TCP port."""
    return free_ports(1)[0]


def server_command(target: str, args: argparse.Namespace, workdir: Path) -> tuple[list[str], int]:
    """The command line that starts ``target``, and the OCPP port it will listen on."""
    port, http_port = free_ports(2)
    if target == "opencsms":
        db = workdir / "bench.db"
        cmd = [
            args.opencsms,
            "serve",
            "--ocpp-port",
            str(port),
            "--http-port",
            str(http_port),
            "--db",
            f"sqlite:///{db}",
            "--unknown-stations",
            "accept",
        ]
    elif target == "ocpp-lib":
        cmd = [sys.executable, str(BENCH / "servers" / "ocpp_lib_server.py"), "--port", str(port)]
        if args.lib_uvloop:
            cmd.append("--uvloop")
    elif target == "bare":
        cmd = [sys.executable, str(BENCH / "servers" / "bare_server.py"), "--port", str(port)]
    else:
        raise ValueError(f"unknown target {target!r}")
    return cmd, port


def start_server(target: str, args: argparse.Namespace) -> Server:
    """Start ``target`` in its own temp dir and wait until its OCPP port accepts connections."""
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{target}-"))
    cmd, port = server_command(target, args, workdir)
    log = workdir / "server.log"
    env = {**os.environ, "OPENCSMS_ADMIN_TOKEN": "bench", "PYTHONUNBUFFERED": "1"}
    try:
        with log.open("wb") as out:
            # Own session: a Ctrl-C at the terminal reaches us, and we stop the server in order.
            proc = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=workdir,
                start_new_session=True,
            )
    except OSError:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    server = Server(target, proc, port, workdir, log, cmd)
    deadline = time.monotonic() + LISTEN_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            why = f"{target} exited with {proc.returncode}:\n{tail(log)}"
            shutil.rmtree(workdir, ignore_errors=True)
            raise RuntimeError(why)
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            _await_listening_line(server)
            return server
        if time.monotonic() > deadline:
            stop_server(server)
            why = f"{target} did not listen on {port} in {LISTEN_TIMEOUT_S} s:\n{tail(log)}"
            shutil.rmtree(workdir, ignore_errors=True)
            raise RuntimeError(why)
        time.sleep(0.05)  # polling a port that is not open yet; there is nothing to wait on


def _await_listening_line(server: Server, grace_s: float = 5.0) -> None:
    """OpenCSMS logs "listening" once it is ready; give it a moment after the port opens.

    The port may open before start-up work (migrations, caches) is done. A server that never
    prints the line is still benchmarked, after ``grace_s``.
    """
    if server.target != "opencsms":
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and server.proc.poll() is None:
        if b"listening" in server.log.read_bytes():
            return
        time.sleep(0.05)  # polling a log file; there is no event to wait on


def stop_server(server: Server) -> int | None:
    """SIGINT (graceful), then SIGKILL after :data:`STOP_TIMEOUT_S`. Returns the exit code."""
    proc = server.proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def tail(path: Path, lines: int = 20) -> str:
    """Last lines of a log file, for error reports."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def run_cell(target: str, version: str, stations: int, args: argparse.Namespace) -> dict[str, Any]:
    """Start the server, drive it with the load generator, stop it; return the loadgen report."""
    cell: dict[str, Any] = {
        "target": target,
        "version": version,
        "message": KINDS[version],
        "stations": stations,
    }
    try:
        server = start_server(target, args)
    except (OSError, RuntimeError) as exc:
        cell["failure"] = f"server did not start: {exc}"
        return cell
    cell["server_cmd"] = server.cmd
    out = server.workdir / "loadgen.json"
    cmd = [
        sys.executable,
        str(BENCH / "loadgen.py"),
        "--url",
        f"ws://127.0.0.1:{server.port}/ocpp",
        "--stations",
        str(stations),
        "--version",
        version,
        "--message",
        KINDS[version],
        "--duration",
        str(args.duration),
        "--warmup",
        str(args.warmup),
        "--prefix",
        f"BENCH{version.replace('.', '')}-",
        "--processes",
        str(args.processes),
        "--server-pid",
        str(server.proc.pid),
        "--json",
        str(out),
    ]
    budget = args.duration + args.warmup + 180  # ramp-up of 1000 stations plus the end grace
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=budget, check=False)
        if done.returncode == 0 and out.exists():
            cell.update(json.loads(out.read_text()))
        else:
            cell["failure"] = f"loadgen exited {done.returncode}: {done.stderr[-2000:]}"
        if server.proc.poll() is not None:
            cell["failure"] = f"server died during the run:\n{tail(server.log)}"
    except subprocess.TimeoutExpired:
        cell["failure"] = f"loadgen did not finish within {budget:.0f} s"
    finally:
        code = stop_server(server)
        cell["server_exit"] = code
        if "failure" in cell:
            cell["server_log_tail"] = tail(server.log)
        shutil.rmtree(server.workdir, ignore_errors=True)
    return cell


def _fmt(value: Any, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def table(cells: list[dict[str, Any]]) -> str:
    """The Markdown result table plus OpenCSMS ÷ ocpp-lib (and ÷ bare) throughput ratios."""
    rows = [
        "| target | version/message | C | msg/s | p50 ms | p99 ms | errors | connect fail | "
        "server cores | loadgen cores |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in cells:
        label = LABELS[c["version"]]
        if "failure" in c and "msg_per_s" not in c:
            lines = [ln.strip() for ln in c["failure"].splitlines() if ln.strip()]
            why = lines[0] if len(lines) == 1 else f"{lines[0]} … {lines[-1]}"
            why = why.replace("|", "/")[:160]
            rows.append(f"| {c['target']} | {label} | {c['stations']} | failed: {why} |||||||")
            continue
        lat = c.get("latency_ms", {})
        errors = ", ".join(f"{k}: {v}" for k, v in c.get("errors", {}).items()) or "0"
        if c.get("setup_errors"):
            # Errors on boot / transaction start do not count as messages but change what is
            # measured (e.g. meter values for a transaction the CSMS never opened): show them.
            errors += "; setup " + ", ".join(f"{k}: {v}" for k, v in c["setup_errors"].items())
        rows.append(
            f"| {c['target']} | {label} | {c['stations']} | {c['msg_per_s']:,.0f} | "
            f"{_fmt(lat.get('p50'), '.2f')} | {_fmt(lat.get('p99'), '.2f')} | {errors} | "
            f"{c.get('connect_failures', 0)} | {_fmt(c.get('server_cores'), '.2f')} | "
            f"{_fmt(c.get('loadgen_cores'), '.2f')} |"
        )
    ratios = ratio_lines(cells)
    if ratios:
        rows += ["", "Throughput ratio (target: ≥ 10× ocpp-lib at C = 1000):", *ratios]
    return "\n".join(rows)


def ratio_lines(cells: list[dict[str, Any]]) -> list[str]:
    """OpenCSMS ÷ each baseline per version and station count.

    With one round, the plain ratio. With several (``--repeat``), every target ran once per round,
    one after the other, so a machine whose speed drifts during the run moves all of a round's
    targets alike: the ratio of the medians is quoted, with each round's own ratio beside it.
    """
    rates: dict[tuple[str, str, int], dict[int, float]] = {}
    for c in cells:
        if c.get("msg_per_s"):
            key = (c["target"], c["version"], c["stations"])
            rates.setdefault(key, {})[c.get("round", 1)] = c["msg_per_s"]
    lines = []
    for (target, version, stations), ours in rates.items():
        if target != "opencsms":
            continue
        parts = []
        for base in ("ocpp-lib", "bare"):
            theirs = rates.get((base, version, stations))
            if not theirs:
                continue
            ratio = statistics.median(ours.values()) / statistics.median(theirs.values())
            part = f"{ratio:.1f}× {base}"
            rounds = sorted(set(ours) & set(theirs))
            if len(rounds) > 1:
                each = ", ".join(f"{ours[r] / theirs[r]:.1f}" for r in rounds)
                part += f" (medians of {len(rounds)} rounds; by round: {each})"
            parts.append(part)
        if parts:
            lines.append(f"- OpenCSMS, {LABELS[version]}, C = {stations}: " + "; ".join(parts))
    return lines


def environment() -> dict[str, Any]:
    """What the numbers depend on: machine, load, interpreter and package versions."""
    versions = {}
    for pkg in ("websockets", "ocpp", "orjson", "uvloop", "opencsms"):
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = None
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "started_at": datetime.now(UTC).isoformat(),
        "host": platform.node(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "packages": versions,
        "git_commit": commit or None,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description="OpenCSMS throughput benchmark (see bench/README.md)")
    p.add_argument("--targets", default=",".join(ALL_TARGETS), help="comma list of targets")
    p.add_argument("--stations", default="1,100,1000", help="comma list of station counts")
    p.add_argument("--versions", default="1.6,2.0.1", help="1.6 (MeterValues), 2.0.1 (TE)")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per cell")
    p.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds per cell")
    p.add_argument("--processes", type=int, default=1, help="load generator worker processes")
    p.add_argument("--opencsms", default=str(Path(sys.executable).parent / "opencsms"))
    p.add_argument("--lib-uvloop", action="store_true", help="run the ocpp-lib server on uvloop")
    p.add_argument("--out", type=Path, default=None, help="JSON path (default bench/results/…)")
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds per version and station count, each target once per round (median ratios)",
    )
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    args.targets = [t for t in args.targets.split(",") if t]
    args.stations = [int(s) for s in args.stations.split(",") if s]
    args.versions = [v for v in args.versions.split(",") if v]
    for t in args.targets:
        if t not in ALL_TARGETS:
            p.error(f"unknown target {t!r}; choose from {', '.join(ALL_TARGETS)}")
    for v in args.versions:
        if v not in KINDS:
            p.error(f"unknown version {v!r}; choose from {', '.join(KINDS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run every cell, print the table, write JSON and Markdown results."""
    args = parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out: Path = args.out or BENCH / "results" / f"bench-{stamp}.json"
    meta = environment()
    meta.update(
        duration_s=args.duration,
        warmup_s=args.warmup,
        processes=args.processes,
        repeat=args.repeat,
    )
    cells: list[dict[str, Any]] = []
    for version in args.versions:
        for stations in args.stations:
            for round_ in range(1, args.repeat + 1):
                for target in args.targets:
                    label = f"… {target:9} {LABELS[version]:23} C={stations}"
                    if args.repeat > 1:
                        label += f" round {round_}/{args.repeat}"
                    print(label, file=sys.stderr, flush=True)
                    cell = run_cell(target, version, stations, args)
                    cell["round"] = round_
                    cells.append(cell)
                    if "failure" in cell:
                        print(f"  FAILED: {cell['failure'][:300]}", file=sys.stderr, flush=True)
                    else:
                        print(f"  {cell['msg_per_s']:,.0f} msg/s", file=sys.stderr, flush=True)
    md = table(cells)
    print(md)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "cells": cells}, indent=2))
    out.with_suffix(".md").write_text(md + "\n")
    print(f"\nresults: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0 if all("failure" not in c for c in cells) else 1


if __name__ == "__main__":
    sys.exit(main())
