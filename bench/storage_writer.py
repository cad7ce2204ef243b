"""Throughput and latency of the storage layer's group-commit writer.

Simulates ``--stations`` concurrent stations, each sending MeterValues in a loop the way the
server handles one: the incoming frame is appended to the audit log (enqueue), the meter value is
stored (awaited group commit), the CALLRESULT is appended to the audit log. That is three rows and
one awaited ``execute`` per message. Reports messages/s, rows/s, commits, mean batch size and the
latency of the awaited write (p50/p99/max); on a SQLite file (Linux), also what the writer's child
process wrote and read per message (``/proc/PID/io``: the WAL, the checkpoints and the reads that
feed them). ``--samples`` sets the sampled values per meter value (10, as in ``bench/run.py``):
the audit frame and the stored samples then have the size of the throughput benchmark's.

    .venv/bin/python bench/storage_writer.py                      # SQLite temp file
    .venv/bin/python bench/storage_writer.py --url postgresql://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from opencsms.domain.model import FrameRecord, MeterValueRecord
from opencsms.storage import Storage

T0 = datetime(2025, 1, 1, tzinfo=UTC)
SAMPLE = {
    "value": "1234.5",
    "context": "Sample.Periodic",
    "measurand": "Energy.Active.Import.Register",
    "location": "Outlet",
    "unit": "Wh",
}


def payloads(samples: int) -> tuple[str, str]:
    """The stored samples of one meter value, and the CALL frame that carried them."""
    text = json.dumps([SAMPLE] * samples, separators=(",", ":"))
    frame = (
        '[2,"1","MeterValues",{"connectorId":1,"transactionId":1,'
        f'"meterValue":[{{"timestamp":"{T0.isoformat()}","sampledValue":{text}}}]}}]'
    )
    return text, frame


async def station(
    store: Storage, index: int, messages: int, latencies: list[float], samples: int
) -> None:
    station_id = f"BENCH-{index:05d}"
    stored, frame = payloads(samples)
    for n in range(messages):
        at = T0 + timedelta(seconds=n)
        store.audit.append(
            FrameRecord(station_id, at, "in", 2, "MeterValues", f"{index}-{n}", frame)
        )
        record = MeterValueRecord(station_id, 1, 1, str(index), at, stored, None, at)
        started = time.perf_counter()
        await store.meter.add([record])
        latencies.append(time.perf_counter() - started)
        store.audit.append(
            FrameRecord(station_id, at, "out", 3, "MeterValues", f"{index}-{n}", "{}")
        )


def child_io(pid: int | None) -> dict[str, int]:
    """The ``/proc/PID/io`` counters of the writer's child (empty where there are none)."""
    if pid is None:
        return {}
    try:
        lines = Path(f"/proc/{pid}/io").read_text().splitlines()
    except OSError:
        return {}
    return {key: int(value) for key, value in (line.split(": ") for line in lines)}


async def run(url: str, stations: int, messages: int, samples: int) -> None:
    store = await Storage.open(url)
    latencies: list[float] = []
    try:
        child = store.writer.child_pid
        io_before = child_io(child)
        started = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            for index in range(stations):
                group.create_task(station(store, index, messages, latencies, samples))
        await store.writer.flush()  # include the last enqueued audit rows in the figure
        elapsed = time.perf_counter() - started
        io_after = child_io(child)
        stats = store.writer.stats
    finally:
        await store.aclose()
    total = stations * messages
    latencies.sort()
    ms = [x * 1000 for x in latencies]
    print(f"backend            {url.split(':', 1)[0]}")
    print(f"stations x msgs    {stations} x {messages} = {total} messages, {stats.ops} rows")
    print(f"elapsed            {elapsed:.2f} s")
    print(f"messages/s         {total / elapsed:,.0f}")
    print(f"rows/s             {stats.ops / elapsed:,.0f}")
    print(
        f"commits            {stats.commits} (mean {stats.ops / max(stats.commits, 1):.0f} rows,"
        f" max {stats.max_batch_ops})"
    )
    print(
        f"write latency ms   p50 {statistics.median(ms):.1f}  p99 {ms[int(len(ms) * 0.99)]:.1f}"
        f"  max {ms[-1]:.1f}"
    )
    if io_before and io_after:
        written = (io_after["wchar"] - io_before["wchar"]) / total / 1024
        read = (io_after["rchar"] - io_before["rchar"]) / total / 1024
        calls = (io_after["syscw"] - io_before["syscw"]) / total
        print(f"writer child I/O   per message: {written:.1f} KiB written, {read:.1f} KiB read,")
        print(f"                   {calls:.1f} write calls (WAL, checkpoints, the batch socket)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="database URL (default: a SQLite file in a temp dir)")
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=30)
    parser.add_argument("--samples", type=int, default=10, help="sampled values per meter value")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        coro = run(url, args.stations, args.messages, args.samples)
        if args.uvloop:
            import uvloop

            uvloop.run(coro)
        else:
            asyncio.run(coro)


if __name__ == "__main__":
    main()
