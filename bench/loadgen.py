"""OCPP-J load generator: C stations, one outstanding CALL each, latency per CALL.

Run as its own process (``bench/run.py`` starts it next to the server under test)::

    python bench/loadgen.py --url ws://127.0.0.1:9000/ocpp --stations 1000 --version 1.6 \
        --message meter_values --duration 10 --warmup 2 --prefix BENCH- --json out.json

Each station connects to ``{url}/{prefix}{n}`` with subprotocol ``ocpp1.6`` / ``ocpp2.0.1`` and
permessage-deflate *disabled on the client* (the server may offer it; we measure uncompressed
frames), sends a BootNotification, opens a transaction (1.6 StartTransaction, 2.0.1
TransactionEvent Started) and then loops: send one CALL, await the CALLRESULT with the same message
id (OCPP-J 1.6 §4.1.1 / 2.0.1 Part 4 §4.1: at most one outstanding CALL per connection), record
the latency. Only CALLs whose reply arrives inside the measurement window (after the warm-up, before
the end) count. A CALLERROR counts as an error under its error code.

Connections are opened ``--connect-concurrency`` at a time so the server's listen backlog is not
flooded. ``--processes N`` forks N workers that split the stations and merge their histograms,
for when one process cannot drive enough load; all workers share one measurement window on the
system-wide monotonic clock.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import resource
import sys
import time
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

sys.path.insert(0, str(Path(__file__).resolve().parent))
from opencsms.load.histogram import Histogram
from opencsms.transport.websocket import ClientWebSocket
from payloads import (
    MeterState,
    boot_notification_16,
    boot_notification_201,
    meter_values_16,
    start_transaction_16,
    transaction_event_started_201,
    transaction_event_updated_201,
)

CALL, CALLRESULT, CALLERROR = 2, 3, 4
SUBPROTOCOLS = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}
MESSAGES = {"meter_values": "1.6", "transaction_event": "2.0.1"}
#: How long stations may still wait for their last reply after the window closes.
END_GRACE_S = 5.0


@dataclass(frozen=True)
class Config:
    """Everything a worker needs to drive its share of stations."""

    url: str
    stations: int
    version: str
    message: str
    duration: float
    warmup: float
    prefix: str
    connect_concurrency: int = 100
    open_timeout: float = 60.0
    server_pid: int | None = None


@dataclass
class Stats:
    """What one worker observed; merged across workers by :func:`merge`."""

    hist: Histogram = field(default_factory=Histogram)
    messages: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    errors_outside_window: int = 0
    setup_errors: Counter[str] = field(default_factory=Counter)
    connect_failures: int = 0
    connect_errors: Counter[str] = field(default_factory=Counter)
    boot_status: Counter[str] = field(default_factory=Counter)
    server_calls: Counter[str] = field(default_factory=Counter)
    disconnects: int = 0
    stalled_at_end: int = 0
    connected: int = 0
    connect_seconds: float = 0.0
    cpu_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Serialisable form for the parent process."""
        out = {k: v for k, v in self.__dict__.items() if k != "hist"}
        out["hist"] = self.hist.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Stats:
        """Inverse of :meth:`to_dict`."""
        stats = cls()
        for key, value in data.items():
            if key == "hist":
                stats.hist = Histogram.from_dict(value)
            elif isinstance(value, dict):
                setattr(stats, key, Counter(value))
            else:
                setattr(stats, key, value)
        return stats


def merge(parts: list[Stats]) -> Stats:
    """Combine worker statistics: counters add, histograms merge, connect time is the slowest."""
    total = Stats()
    for part in parts:
        total.hist.merge(part.hist)
        for key, value in part.__dict__.items():
            if key == "hist":
                continue
            if isinstance(value, Counter):
                getattr(total, key).update(value)
            elif key == "connect_seconds":
                total.connect_seconds = max(total.connect_seconds, value)
            else:
                setattr(total, key, getattr(total, key) + value)
    return total


class Station:
    """One simulated station: a socket, its meter and its message-id counter."""

    __slots__ = ("meter", "next_id", "station_id", "transaction_id", "ws")

    def __init__(self, station_id: str, ws: ClientWebSocket) -> None:
        self.station_id = station_id
        self.ws = ws
        # Each station's register starts elsewhere, as on a real fleet: with one start for all,
        # stations at the same step sent identical samples, and anything in the server keyed by
        # a frame's content (a memo of parsed samples) hit where no real fleet would.
        self.meter = MeterState(start_energy_wh=1000.0 + zlib.crc32(station_id.encode()) % 100_000)
        self.next_id = 1
        self.transaction_id: int | str = 0

    def new_id(self) -> str:
        """Message ids only need to be unique per connection (OCPP-J 1.6 §4.1.1)."""
        mid = str(self.next_id)
        self.next_id += 1
        return mid

    async def call(self, action: str, payload: dict[str, Any], stats: Stats) -> list[Any]:
        """Send one CALL and return the matching CALLRESULT or CALLERROR frame."""
        mid = self.new_id()
        await self.send(orjson.dumps([CALL, mid, action, payload]).decode())
        return await self.await_reply(mid, stats)

    async def send(self, text: str) -> None:
        """Write now when the socket allows (almost always), else through flow control."""
        if not self.ws.send_now(text):
            await self.ws.send(text)

    async def await_reply(self, mid: str, stats: Stats) -> list[Any]:
        """Read frames until the reply to ``mid``; answer server CALLs meanwhile."""
        while True:
            frame = orjson.loads(await self.ws.next_message())
            kind = frame[0]
            if kind == CALL:
                # A CSMS may ask things right after boot (GetConfiguration, SetVariables...). The
                # simulated station supports none of them; NotSupported is the honest reply.
                stats.server_calls[str(frame[2])] += 1
                error = [CALLERROR, frame[1], "NotSupported", "bench station", {}]
                await self.send(orjson.dumps(error).decode())
            elif frame[1] == mid:
                return list(frame)


async def _setup(cfg: Config, station: Station, stats: Stats) -> None:
    """BootNotification, then open a transaction so the meter stream belongs to one."""
    sid = station.station_id
    if cfg.version == "1.6":
        reply = await station.call("BootNotification", boot_notification_16(sid), stats)
        _note_boot(reply, stats)
        start = start_transaction_16(station.meter, "BENCHTAG")
        reply = await station.call("StartTransaction", start, stats)
        tx = reply[2].get("transactionId") if reply[0] == CALLRESULT else None
        if reply[0] == CALLERROR:
            stats.setup_errors[f"StartTransaction:{reply[2]}"] += 1
        # The bare server answers {} to everything; any integer will do for it.
        station.transaction_id = tx if isinstance(tx, int) else station.next_id
    else:
        reply = await station.call("BootNotification", boot_notification_201(sid), stats)
        _note_boot(reply, stats)
        station.transaction_id = f"{sid}-tx"[-36:]
        started = transaction_event_started_201(station.meter, station.transaction_id, "BENCHTAG")
        reply = await station.call("TransactionEvent", started, stats)
        if reply[0] == CALLERROR:
            stats.setup_errors[f"TransactionEvent:{reply[2]}"] += 1


def _note_boot(reply: list[Any], stats: Stats) -> None:
    if reply[0] == CALLERROR:
        stats.setup_errors[f"BootNotification:{reply[2]}"] += 1
        stats.boot_status["CALLERROR"] += 1
    else:
        stats.boot_status[str(reply[2].get("status", "(none)"))] += 1


async def _open(cfg: Config, sid: str, gate: asyncio.Semaphore, stats: Stats) -> Station | None:
    """Connect and set up one station; failures are counted, not raised."""
    async with gate:
        try:
            ws = await connect(
                f"{cfg.url.rstrip('/')}/{sid}",
                subprotocols=[SUBPROTOCOLS[cfg.version]],  # type: ignore[list-item]
                compression=None,  # measure uncompressed frames, even if the server offers deflate
                open_timeout=cfg.open_timeout,
                ping_interval=None,  # keep client pings out of the measurement
                close_timeout=2,
                max_size=2**20,
                create_connection=ClientWebSocket,
            )
        except Exception as exc:
            stats.connect_failures += 1
            stats.connect_errors[type(exc).__name__] += 1
            return None
        assert isinstance(ws, ClientWebSocket)  # connect(create_connection=...)
        station = Station(sid, ws)
        try:
            await _setup(cfg, station, stats)
        except ConnectionClosed as exc:
            stats.connect_failures += 1
            stats.connect_errors[f"closed during setup: {exc.rcvd.code if exc.rcvd else '?'}"] += 1
            return None
        stats.connected += 1
        return station


async def _drive(cfg: Config, station: Station, start_ns: int, end_ns: int, stats: Stats) -> None:
    """The measured loop: one CALL outstanding, latency per reply, until the window closes."""
    is_16 = cfg.version == "1.6"
    action = "MeterValues" if is_16 else "TransactionEvent"
    meter, tx = station.meter, station.transaction_id
    send, hist, errors = station.send, stats.hist, stats.errors
    clock = time.monotonic_ns
    try:
        while True:
            t0 = clock()
            if t0 >= end_ns:
                return
            payload = (
                meter_values_16(meter, tx) if is_16 else transaction_event_updated_201(meter, tx)
            )  # type: ignore[arg-type]
            mid = station.new_id()
            await send(orjson.dumps([CALL, mid, action, payload]).decode())
            reply = await station.await_reply(mid, stats)
            t1 = clock()
            if start_ns <= t1 < end_ns:
                if reply[0] == CALLRESULT:
                    stats.messages += 1
                    hist.record(t1 - t0)
                else:
                    errors[str(reply[2])] += 1
            elif reply[0] == CALLERROR:
                stats.errors_outside_window += 1
    except ConnectionClosed:
        stats.disconnects += 1


def _server_cpu_seconds(pid: int | None) -> float | None:
    """utime+stime of the server process and its live children (OpenCSMS commits SQLite batches
    in a child process) from /proc (Linux), or None if unavailable."""
    if pid is None:
        return None
    total = 0.0
    for process in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            if process == pid:
                return None
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found + [grandchild for child in found for grandchild in _children(child)]


Coordinator = Callable[[Stats], Awaitable[tuple[int, int]]]


async def run_worker(cfg: Config, station_ids: list[str], coordinate: Coordinator) -> Stats:
    """Open ``station_ids``, wait for the shared window from ``coordinate``, drive, close."""
    stats = Stats()
    gate = asyncio.Semaphore(cfg.connect_concurrency)
    t0 = time.monotonic()
    opened = await asyncio.gather(*(_open(cfg, sid, gate, stats) for sid in station_ids))
    stations = [s for s in opened if s is not None]
    stats.connect_seconds = time.monotonic() - t0
    start_ns, end_ns = await coordinate(stats)

    loop = asyncio.get_running_loop()
    cpu_marks: list[float] = []

    def mark_cpu() -> None:
        cpu_marks.append(time.process_time())

    # Timer callbacks on the event loop: sample this process's CPU exactly at the window edges.
    now_ns = time.monotonic_ns()
    loop.call_later(max(0.0, (start_ns - now_ns) / 1e9), mark_cpu)
    loop.call_later(max(0.0, (end_ns - now_ns) / 1e9), mark_cpu)

    tasks = [asyncio.ensure_future(_drive(cfg, s, start_ns, end_ns, stats)) for s in stations]
    if tasks:
        deadline = (end_ns - time.monotonic_ns()) / 1e9 + END_GRACE_S
        _done, pending = await asyncio.wait(tasks, timeout=max(deadline, END_GRACE_S))
        stats.stalled_at_end = len(pending)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    if len(cpu_marks) == 2:
        stats.cpu_seconds = cpu_marks[1] - cpu_marks[0]
    await asyncio.gather(*(s.ws.close() for s in stations), return_exceptions=True)
    return stats


def _raise_nofile(needed: int) -> None:
    """Each station is one socket; lift the soft descriptor limit to the hard one if needed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed + 64:
        target = hard if hard != resource.RLIM_INFINITY else needed + 1024
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux/macOS
        return asyncio.new_event_loop()


def _worker_process(cfg: Config, station_ids: list[str], conn: Connection) -> None:
    """Child process: report readiness, receive the window, send back the statistics."""

    async def coordinate(stats: Stats) -> tuple[int, int]:
        conn.send(("ready", stats.connected))
        loop = asyncio.get_running_loop()
        # Blocking recv in a thread so open sockets keep answering the server's pings meanwhile.
        msg = await loop.run_in_executor(None, conn.recv)
        return int(msg[1]), int(msg[2])

    loop = _new_loop()
    try:
        stats = loop.run_until_complete(run_worker(cfg, station_ids, coordinate))
    finally:
        loop.close()
    conn.send(("done", stats.to_dict()))
    conn.close()


def _window(cfg: Config) -> tuple[int, int]:
    start = time.monotonic_ns() + int(cfg.warmup * 1e9)
    return start, start + int(cfg.duration * 1e9)


def run(cfg: Config, processes: int = 1) -> dict[str, Any]:
    """Run the whole load test and return the JSON-ready report."""
    _raise_nofile(cfg.stations)
    ids = [f"{cfg.prefix}{i:06d}" for i in range(cfg.stations)]
    server_cpu: list[float | None] = []
    processes = max(1, min(processes, cfg.stations))
    if processes == 1:

        async def coordinate(_stats: Stats) -> tuple[int, int]:
            start, end = _window(cfg)
            loop = asyncio.get_running_loop()
            for at in (start, end):
                delay = max(0.0, (at - time.monotonic_ns()) / 1e9)
                loop.call_later(
                    delay, lambda: server_cpu.append(_server_cpu_seconds(cfg.server_pid))
                )
            return start, end

        loop = _new_loop()
        try:
            stats = loop.run_until_complete(run_worker(cfg, ids, coordinate))
        finally:
            loop.close()
    else:
        ctx = mp.get_context("fork")
        pipes, procs = [], []
        for n in range(processes):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker_process, args=(cfg, ids[n::processes], child))
            proc.start()
            pipes.append(parent)
            procs.append(proc)
        for pipe in pipes:
            pipe.recv()  # ("ready", connected)
        start, end = _window(cfg)
        for pipe in pipes:
            pipe.send(("go", start, end))
        for at in (start, end):
            time.sleep(max(0.0, (at - time.monotonic_ns()) / 1e9))  # timing a measurement, not sync
            server_cpu.append(_server_cpu_seconds(cfg.server_pid))
        parts = [Stats.from_dict(pipe.recv()[1]) for pipe in pipes]
        for proc in procs:
            proc.join()
        stats = merge(parts)
    return report(cfg, processes, stats, server_cpu)


def report(
    cfg: Config, processes: int, stats: Stats, server_cpu: list[float | None]
) -> dict[str, Any]:
    """Shape the statistics into the JSON the orchestrator reads."""
    server_cores = None
    if len(server_cpu) == 2 and server_cpu[0] is not None and server_cpu[1] is not None:
        server_cores = round((server_cpu[1] - server_cpu[0]) / cfg.duration, 3)
    return {
        "url": cfg.url,
        "stations": cfg.stations,
        "version": cfg.version,
        "message": cfg.message,
        "duration_s": cfg.duration,
        "warmup_s": cfg.warmup,
        "processes": processes,
        "compression": "off (client declines permessage-deflate)",
        "messages": stats.messages,
        "msg_per_s": round(stats.messages / cfg.duration, 1),
        "latency_ms": stats.hist.summary_ms(),
        "errors": dict(stats.errors),
        "error_count": sum(stats.errors.values()),
        "errors_outside_window": stats.errors_outside_window,
        "setup_errors": dict(stats.setup_errors),
        "connected": stats.connected,
        "connect_failures": stats.connect_failures,
        "connect_errors": dict(stats.connect_errors),
        "connect_seconds": round(stats.connect_seconds, 3),
        "boot_status": dict(stats.boot_status),
        "server_calls": dict(stats.server_calls),
        "disconnects": stats.disconnects,
        "stalled_at_end": stats.stalled_at_end,
        "loadgen_cores": round(stats.cpu_seconds / cfg.duration, 3),
        "server_cores": server_cores,
        "histogram": stats.hist.to_dict(),
    }


def parse_args(argv: list[str] | None = None) -> tuple[Config, int, Path | None]:
    """Command line → (config, processes, JSON output path)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="base URL; the station id is appended")
    p.add_argument("--stations", type=int, default=1)
    p.add_argument("--version", choices=sorted(SUBPROTOCOLS), default="1.6")
    p.add_argument("--message", choices=sorted(MESSAGES), default=None)
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds driven but not counted")
    p.add_argument("--prefix", default="BENCH-", help="station id prefix")
    p.add_argument("--processes", type=int, default=1, help="worker processes sharing stations")
    p.add_argument("--connect-concurrency", type=int, default=100, help="handshakes in flight")
    p.add_argument("--server-pid", type=int, default=None, help="sample this pid's CPU use")
    p.add_argument("--json", type=Path, default=None, help="write the report here")
    a = p.parse_args(argv)
    message = a.message or ("meter_values" if a.version == "1.6" else "transaction_event")
    if MESSAGES[message] != a.version:
        p.error(f"--message {message} is an OCPP {MESSAGES[message]} message")
    cfg = Config(
        url=a.url,
        stations=a.stations,
        version=a.version,
        message=message,
        duration=a.duration,
        warmup=a.warmup,
        prefix=a.prefix,
        connect_concurrency=a.connect_concurrency,
        server_pid=a.server_pid,
    )
    return cfg, a.processes, a.json


def main(argv: list[str] | None = None) -> int:
    """Entry point: run, print a one-line summary, write the JSON report."""
    cfg, processes, out = parse_args(argv)
    result = run(cfg, processes)
    lat = result["latency_ms"]
    print(
        f"{cfg.version} {cfg.message} C={cfg.stations}: {result['msg_per_s']:.0f} msg/s "
        f"p50 {lat['p50'] or 0:.2f} ms p99 {lat['p99'] or 0:.2f} ms errors {result['error_count']} "
        f"connect failures {result['connect_failures']} loadgen cores {result['loadgen_cores']}"
        f" server cores {result['server_cores']}",
        flush=True,
    )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
