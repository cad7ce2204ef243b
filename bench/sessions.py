"""Charging sessions under load: sessions per second, and MeterValues per second with every
station charging.

    .venv/bin/python bench/sessions.py                    # 1,000 stations, 1.6 and 2.0.1
    .venv/bin/python bench/sessions.py --stations 200 --duration 5 --versions 1.6

1. Start ``opencsms serve`` (fresh SQLite in a temp dir, default settings: schema validation on,
   every message committed before it is answered) with ``--unknown-stations accept`` and
   ``--unknown-tokens accept``, so every station and driver is let in.
2. For each version and each mode, N new stations connect (``--connect-concurrency`` handshakes
   in flight) and boot; then, after ``--warmup``, ``--duration`` seconds are measured:

   * **sessions** — every station runs sessions back to back as fast as the CSMS answers:
     1.6 StartTransaction (§4.8), ``--meters`` × MeterValues with its transactionId (§4.7),
     StopTransaction (§4.10); 2.0.1 TransactionEvent Started, ``--meters`` × Updated, Ended
     (E01, E02, E06). Sessions/s = session ends answered per second.
   * **meter** — every station opens one transaction before the measurement, then sends meter
     values inside it flat out: 1.6 MeterValues with transactionId, 2.0.1 TransactionEvent
     Updated (MeterValuePeriodic). The session is stopped after the measurement.

Each station is one task around a station-role :class:`~opencsms.ocpp.session.RpcSession` (the
sans-I/O core the CSMS and ``opencsms load`` use), one outstanding CALL at a time (OCPP-J 1.6
§4.1.1, 2.0.1 part 4 §4.1): every payload is checked against the official schema before it
leaves and every answer against the response schema. Payloads come from
``opencsms.load.payloads`` (10 samples per meter value, strictly increasing timestamps, a growing
register), so every message is a real write. ``opencsms load`` has a ``transaction`` kind but no
"meter inside an open transaction" mode and only one meter value per session, hence this driver.

Counting is that of ``opencsms load``: a CALL counts when it was *sent* inside the measured
window, and its answer is awaited even after the window; msg/s = answered ÷ duration; latency is
from send to answer (log-bucketed, ±1 %). Errors: CALLERRORs by code, ``timeout``,
``connection_closed``, and ``refused:<status>`` for a start whose token was not Accepted. CPU of the
CSMS (server plus its SQLite writer child) and of this generator are sampled at the window edges.

Prints a Markdown table; writes JSON and the table to ``bench/results/sessions-<time>.{json,md}``
(or ``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from opencsms.errors import CallErrorResponse, CallTimeoutError
from opencsms.load import payloads
from opencsms.load.runner import raise_open_files_limit
from opencsms.load.stats import KindStats
from opencsms.ocpp.events import CallCompleted, CallFailed
from opencsms.ocpp.schemas import SchemaRegistry, default_registry
from opencsms.ocpp.session import Role, RpcSession
from opencsms.ocpp.version import OcppVersion

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
from run import environment  # noqa: E402 - bench scripts import their siblings by path
from storm import (  # noqa: E402
    TOKEN,
    Csms,
    cpu_seconds,
    free_port,
    stop_process,
    wait_for_port,
)

MODES = ("sessions", "meter")
VERSIONS = {"1.6": OcppVersion.V16, "2.0.1": OcppVersion.V201}
METER_ACTION = {OcppVersion.V16: "MeterValues", OcppVersion.V201: "TransactionEvent"}
READY_TIMEOUT = 120.0
"""How long all stations may take to connect and boot before the measurement starts anyway."""


@dataclass
class RunStats:
    """What one (version, mode) run observed."""

    kinds: dict[str, KindStats] = field(default_factory=dict)
    """Per CALL kind (``start``, ``meter``, ``stop``), counted when sent inside the window."""
    sessions: int = 0
    """Session ends (1.6 StopTransaction / 2.0.1 Ended) sent in the window and answered."""
    setup_errors: Counter[str] = field(default_factory=Counter)
    connect_failures: Counter[str] = field(default_factory=Counter)
    boot_status: Counter[str] = field(default_factory=Counter)
    notices: Counter[str] = field(default_factory=Counter)
    ready: int = 0

    def kind(self, name: str) -> KindStats:
        stats = self.kinds.get(name)
        if stats is None:
            stats = self.kinds[name] = KindStats()
        return stats


class Window:
    """The measured interval on the loop clock; stations check it on every CALL."""

    def __init__(self) -> None:
        self.start = float("inf")
        self.end = float("inf")
        self.go = asyncio.Event()
        self.all_ready = asyncio.Event()

    def open(self, start: float, end: float) -> None:
        self.start, self.end = start, end
        self.go.set()


class BenchStation:
    """One station of a run: connect, boot, then the mode's loop until the window closes."""

    def __init__(
        self, run: Run, index: int, version: OcppVersion, prefix: str, run_token: str
    ) -> None:
        self.run = run
        self.version = version
        self.station_id = f"{prefix}{index + 1:06d}"
        self.id_tag = f"B{prefix[:6]}{index + 1:06d}"[:20]  # 1.6 idTag is CiString20
        self.meter = payloads.Meter(f"{run_token}-{prefix}{index + 1}")
        self._loop = asyncio.get_running_loop()
        self._ws: ClientConnection | None = None
        self._session: RpcSession | None = None
        self._last_call_counted = False

    async def run_station(self) -> None:
        run = self.run
        try:
            async with run.gate:
                ws = await connect(
                    f"{run.url}/{self.station_id}",
                    subprotocols=[Subprotocol(self.version.subprotocol)],
                    compression=None,  # plain frames, as bench/loadgen.py and opencsms load
                    open_timeout=60,
                    ping_interval=None,
                    max_size=2**20,
                )
        except Exception as exc:  # counted and reported, the run goes on without it
            run.stats.connect_failures[type(exc).__name__] += 1
            run.station_done()
            return
        self._ws = ws
        ids = itertools.count(1)
        self._session = RpcSession(
            self.version,
            role=Role.STATION,
            registry=run.registry,
            call_timeout=30.0,
            id_factory=lambda: str(next(ids)),
            supported_actions=frozenset(),  # any CSMS CALL: NotSupported, from the session
        )
        try:
            await self._lifetime()
        except ConnectionClosed:
            run.stats.setup_errors["connection_closed"] += 1
        finally:
            self._session.close()
            await ws.close()

    async def _lifetime(self) -> None:
        run, stats = self.run, self.run.stats
        boot = await self._call(None, "BootNotification", self._boot_payload())
        status = boot["status"] if boot is not None else "CALLERROR"
        stats.boot_status[status] += 1
        tx: int | str | None = None
        if status == "Accepted" and run.mode == "meter":
            tx = await self._start(None)
        if status != "Accepted" or (run.mode == "meter" and tx is None):
            run.station_done()
            return
        stats.ready += 1
        run.station_done()
        await run.window.go.wait()
        loop, window = self._loop, run.window
        if run.mode == "meter":
            assert tx is not None
            while loop.time() < window.end:
                await self._call("meter", METER_ACTION[self.version], self._meter_payload(tx))
            await self._stop(None, tx)
            return
        while loop.time() < window.end:
            # The counting kind is decided per CALL by its send time (see _call).
            started = await self._start("start")
            if started is None:
                continue
            for _ in range(run.meters):
                await self._call("meter", METER_ACTION[self.version], self._meter_payload(started))
            stopped = await self._stop("stop", started)
            # counted exactly when its stop is counted under "stop" (same send-time rule)
            if stopped and self._last_call_counted:
                stats.sessions += 1

    # ------------------------------------------------------------------ payloads

    def _boot_payload(self) -> dict[str, Any]:
        return payloads.boot_notification(self.version, self.station_id)

    def _meter_payload(self, tx: int | str) -> dict[str, Any]:
        if self.version is OcppVersion.V16:
            assert isinstance(tx, int)
            return payloads.meter_values(self.version, self.meter, tx)
        assert isinstance(tx, str)
        return payloads.transaction_event(self.version, self.meter, "Updated", tx, self.id_tag)

    async def _start(self, kind: str | None) -> int | str | None:
        """1.6 StartTransaction / 2.0.1 Started; the transaction id, or None when refused."""
        if self.version is OcppVersion.V16:
            payload = payloads.start_transaction_16(self.meter, self.id_tag)
            answer = await self._call(kind, "StartTransaction", payload)
            if answer is None:
                return None
            self._check_token(kind, answer["idTagInfo"]["status"])
            return int(answer["transactionId"])
        tx_id = self.meter.new_transaction_id()
        payload = payloads.transaction_event(
            self.version, self.meter, "Started", tx_id, self.id_tag
        )
        answer = await self._call(kind, "TransactionEvent", payload)
        if answer is None:
            return None
        self._check_token(kind, answer.get("idTokenInfo", {}).get("status", "Accepted"))
        return tx_id

    def _check_token(self, kind: str | None, status: str) -> None:
        # A refused token still opens the session on both versions (the station would stop it);
        # it would mean the CSMS did not take the token policy, so it is an error of the run.
        if status != "Accepted":
            self._count_error(kind, f"refused:{status}")

    async def _stop(self, kind: str | None, tx: int | str) -> bool:
        if self.version is OcppVersion.V16:
            assert isinstance(tx, int)
            payload = payloads.stop_transaction_16(self.meter, tx, self.id_tag)
            return await self._call(kind, "StopTransaction", payload) is not None
        assert isinstance(tx, str)
        payload = payloads.transaction_event(self.version, self.meter, "Ended", tx, self.id_tag)
        return await self._call(kind, "TransactionEvent", payload) is not None

    # ------------------------------------------------------------------ RPC

    def _count_error(self, kind: str | None, code: str) -> None:
        if kind is None:
            self.run.stats.setup_errors[code] += 1
        else:
            self.run.stats.kind(kind).errors[code] += 1

    async def _call(self, kind: str | None, action: str, payload: dict[str, Any]) -> Any:
        """One CALL; the CALLRESULT payload, or None after a CALLERROR or timeout.

        Counted under ``kind`` when sent inside the window (``None``: setup, never counted)."""
        session, ws, loop = self._session, self._ws, self._loop
        assert session is not None
        assert ws is not None
        window = self.run.window
        now = loop.time()
        counted = kind is not None and window.start <= now < window.end
        self._last_call_counted = counted
        stats = self.run.stats.kind(kind) if counted and kind is not None else None
        start_ns = time.perf_counter_ns()
        pending = session.call(action, payload, now)
        if stats is not None:
            stats.sent += 1
        outcome: CallCompleted | CallFailed | None = None
        try:
            await self._flush()
            while outcome is None:
                try:
                    async with asyncio.timeout_at(pending.deadline):
                        message = await ws.recv(decode=False)
                except TimeoutError:
                    events = session.expire(loop.time())
                else:
                    events = session.receive(message, loop.time())
                for event in events:
                    if isinstance(event, CallCompleted | CallFailed) and event.pending is pending:
                        outcome = event
                    elif not isinstance(event, CallCompleted | CallFailed):
                        self.run.stats.notices[type(event).__name__] += 1
                await self._flush()  # e.g. the NotSupported answer to a CSMS CALL
        except ConnectionClosed:
            if stats is not None:
                stats.errors["connection_closed"] += 1
            raise
        if isinstance(outcome, CallCompleted):
            if stats is not None:
                stats.answered += 1
                stats.latency.record(time.perf_counter_ns() - start_ns)
            return outcome.payload
        error = outcome.error
        if isinstance(error, CallErrorResponse):
            code = error.error_code
        elif isinstance(error, CallTimeoutError):
            code = "timeout"
        else:
            code = type(error).__name__
        if kind is None or stats is not None:
            self._count_error(kind, code)
        return None

    async def _flush(self) -> None:
        assert self._session is not None
        assert self._ws is not None
        for frame in self._session.data_to_send():
            await self._ws.send(frame)


class Run:
    """One (version, mode) measurement."""

    def __init__(self, args: argparse.Namespace, url: str, version: str, mode: str) -> None:
        self.url = url.rstrip("/")
        self.version = VERSIONS[version]
        self.mode = mode
        self.stations = args.stations
        self.meters = args.meters
        self.duration = args.duration
        self.warmup = args.warmup
        self.prefix = f"{'S' if mode == 'sessions' else 'M'}{version.replace('.', '')}-"
        self.stats = RunStats()
        self.window = Window()
        self.registry: SchemaRegistry = default_registry()
        self.gate = asyncio.Semaphore(args.connect_concurrency)
        self._pending = args.stations

    def station_done(self) -> None:
        """A station finished its setup (or gave up): the window opens when all have."""
        self._pending -= 1
        if self._pending <= 0:
            self.window.all_ready.set()

    async def execute(self, server_pid: int) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        run_token = os.urandom(3).hex()
        ramp_start = time.monotonic()
        marks: dict[str, tuple[float, float]] = {}

        def mark(name: str) -> None:
            marks[name] = (time.process_time(), cpu_seconds(server_pid))

        async with asyncio.TaskGroup() as tasks:
            for index in range(self.stations):
                station = BenchStation(self, index, self.version, self.prefix, run_token)
                tasks.create_task(station.run_station())
            try:
                async with asyncio.timeout(READY_TIMEOUT):
                    await self.window.all_ready.wait()
            except TimeoutError:
                print(f"  not all stations ready after {READY_TIMEOUT:g} s", file=sys.stderr)
            ramp_s = time.monotonic() - ramp_start
            start = loop.time() + self.warmup
            end = start + self.duration
            # Timer callbacks sample CPU exactly at the window edges.
            loop.call_at(start, mark, "start")
            loop.call_at(end, mark, "end")
            self.window.open(start, end)
        return self.report(ramp_s, marks)

    def report(self, ramp_s: float, marks: dict[str, tuple[float, float]]) -> dict[str, Any]:
        stats, seconds = self.stats, self.duration
        total = KindStats()
        for kind in stats.kinds.values():
            total.sent += kind.sent
            total.answered += kind.answered
            total.errors.update(kind.errors)
            total.latency.merge(kind.latency)
        meter = stats.kinds.get("meter", KindStats())
        cores: dict[str, float | None] = {"server": None, "generator": None}
        if "start" in marks and "end" in marks:
            (gen0, srv0), (gen1, srv1) = marks["start"], marks["end"]
            cores = {
                "generator": round((gen1 - gen0) / seconds, 2),
                "server": round((srv1 - srv0) / seconds, 2),
            }
        latency = total.latency.summary_ms()
        errors = sum(total.errors.values())
        return {
            "version": self.version.value,
            "mode": self.mode,
            "stations": self.stations,
            "ready": stats.ready,
            "meters_per_session": self.meters if self.mode == "sessions" else None,
            "duration_s": seconds,
            "warmup_s": self.warmup,
            "ramp_s": round(ramp_s, 2),
            "msg_per_s": round(total.answered / seconds, 1),
            "sessions_per_s": round(stats.sessions / seconds, 1),
            "meter_msg_per_s": round(meter.answered / seconds, 1),
            "sessions": stats.sessions,
            "p50_ms": latency["p50"],
            "p99_ms": latency["p99"],
            "errors": errors,
            "error_codes": dict(total.errors),
            "unanswered": total.sent - total.answered - errors,
            "setup_errors": dict(stats.setup_errors),
            "connect_failures": dict(stats.connect_failures),
            "boot_status": dict(stats.boot_status),
            "notices": dict(stats.notices),
            "server_cores": cores["server"],
            "generator_cores": cores["generator"],
            "by_kind": {name: kind.to_dict(seconds) for name, kind in stats.kinds.items()},
        }


COLUMNS = (
    ("version", "version"),
    ("mode", "mode"),
    ("stations", "C"),
    ("msg_per_s", "msg/s"),
    ("sessions_per_s", "sessions/s"),
    ("meter_msg_per_s", "meter msg/s"),
    ("p50_ms", "p50 ms"),
    ("p99_ms", "p99 ms"),
    ("errors", "errors"),
    ("connect_failures", "connect fail"),
    ("server_cores", "server cores"),
    ("generator_cores", "generator cores"),
)


def table(rows: list[dict[str, Any]]) -> str:
    """The results as a Markdown table (bench/README.md layout)."""
    lines = [
        "| " + " | ".join(title for _, title in COLUMNS) + " |",
        "|---|---|" + "---:|" * (len(COLUMNS) - 2),
    ]
    for row in rows:
        cells = []
        for key, _ in COLUMNS:
            value = row.get(key)
            if key == "connect_failures":
                value = sum(value.values()) if value else 0
            if key == "sessions_per_s" and row["mode"] == "meter":
                value = None
            if isinstance(value, float):
                cells.append(f"{value:,.2f}" if value < 100 else f"{value:,.0f}")
            elif isinstance(value, int):
                cells.append(f"{value:,}")
            else:
                cells.append("-" if value is None else str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def kinds_table(rows: list[dict[str, Any]]) -> str:
    """Latency per CALL kind: a session's start and stop cost more than its meter values."""
    lines = [
        "| version | mode | CALL | msg/s | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        for kind in ("start", "meter", "stop"):
            stats = row["by_kind"].get(kind)
            if stats is None:
                continue
            lat = stats["latency_ms"]
            cells = [row["version"], row["mode"], kind, f"{stats['msg_per_s']:,.0f}"]
            cells += ["-" if lat[q] is None else f"{lat[q]:,.1f}" for q in ("p50", "p95", "p99")]
            cells.append("-" if lat["max"] is None else f"{lat['max']:,.1f}")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux/macOS
        return asyncio.new_event_loop()


def start_server(opencsms: str, workdir: Path, log_level: str) -> Csms:
    """``opencsms serve`` on free ports with a fresh SQLite file in ``workdir``, letting in
    unknown stations and tokens (storm.py's ``start_csms`` plus the token policy)."""
    ocpp_port, http_port = free_port(), free_port()
    env = {**os.environ, "OPENCSMS_ADMIN_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
    cmd = [
        opencsms, "serve", "--host", "127.0.0.1",
        "--ocpp-port", str(ocpp_port), "--http-port", str(http_port),
        "--db", f"sqlite:///{workdir / 'bench.db'}",
        "--unknown-stations", "accept", "--unknown-tokens", "accept", "--log-level", log_level,
    ]  # fmt: skip
    with (workdir / "serve.log").open("ab") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir, start_new_session=True
        )
    csms = Csms(proc, ocpp_port, http_port, workdir)
    try:
        wait_for_port(ocpp_port, proc)
        wait_for_port(http_port, proc)
    except BaseException:
        stop_process(proc)
        raise
    return csms


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    """Start the CSMS, run every (version, mode), stop it; the JSON-ready report."""
    raise_open_files_limit(args.stations + 256)
    workdir = Path(tempfile.mkdtemp(prefix="sessions-bench-"))
    csms = start_server(args.opencsms, workdir, args.log_level)
    runs: list[dict[str, Any]] = []
    try:
        for version in args.versions:
            for mode in args.modes:
                print(f"… {version:5} {mode:8} C={args.stations}", file=sys.stderr, flush=True)
                run = Run(args, csms.url, version, mode)
                with asyncio.Runner(loop_factory=_new_loop) as runner:
                    row = runner.run(run.execute(csms.proc.pid))
                runs.append(row)
                print(
                    f"  {row['msg_per_s']:,.0f} msg/s, {row['sessions_per_s']:,.1f} sessions/s,"
                    f" {row['errors']} errors",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        stop_process(csms.proc)
        if csms.proc.returncode != 0:
            print((workdir / "serve.log").read_text()[-3000:], file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)
    return {"runs": runs}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Sessions/s and MeterValues/s (see bench/README.md)")
    p.add_argument("--stations", type=int, default=1000, help="stations per run")
    p.add_argument("--versions", default="1.6,2.0.1", help="comma list: 1.6, 2.0.1")
    p.add_argument("--modes", default=",".join(MODES), help="comma list: sessions, meter")
    p.add_argument("--meters", type=int, default=3, help="meter values per session")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per run")
    p.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds per run")
    p.add_argument("--connect-concurrency", type=int, default=200, help="handshakes in flight")
    p.add_argument("--opencsms", default=str(Path(sys.executable).parent / "opencsms"))
    p.add_argument("--log-level", default="WARNING", help="the CSMS's log level")
    p.add_argument("--out", type=Path, default=None, help="JSON path (default bench/results/…)")
    args = p.parse_args(argv)
    args.versions = [v for v in args.versions.split(",") if v]
    args.modes = [m for m in args.modes.split(",") if m]
    for v in args.versions:
        if v not in VERSIONS:
            p.error(f"unknown version {v!r}; choose from {', '.join(VERSIONS)}")
    for m in args.modes:
        if m not in MODES:
            p.error(f"unknown mode {m!r}; choose from {', '.join(MODES)}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run, print the table, write JSON and Markdown results."""
    args = parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out: Path = args.out or BENCH / "results" / f"sessions-{stamp}.json"
    meta = environment()
    result = run_all(args)
    md = table(result["runs"]) + "\n\n" + kinds_table(result["runs"])
    print(md)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, **result}, indent=2))
    out.with_suffix(".md").write_text(md + "\n")
    print(f"\nresults: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    ok = all(r["errors"] == 0 and not r["connect_failures"] for r in result["runs"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
