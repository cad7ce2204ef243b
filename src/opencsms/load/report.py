"""The run's report: one JSON-ready dict (``--json FILE``) and a Rich rendering of it.

Field meanings are documented in docs/load.md ("Report"); the table shows the same figures.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

import opencsms
from opencsms.load.options import LoadOptions
from opencsms.load.stats import BOOT, LoadStats

__all__ = ["build_report", "print_report", "write_json"]


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _max_rss_kib() -> int:
    """Peak resident memory of this process (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


def build_report(
    options: LoadOptions,
    stats: LoadStats,
    *,
    started: int,
    wall_seconds: float,
    ramp_seconds: float,
    all_accepted_seconds: float | None,
    hold_seconds: float | None,
    cpu: dict[str, float],
) -> dict[str, Any]:
    """Everything the run observed, as plain JSON types (see docs/load.md for each field)."""
    mix = stats.mix_totals()
    mix_dict = mix.to_dict(hold_seconds)
    boot = stats.kinds.get(BOOT)
    hold_cpu = (
        cpu["hold_end"] - cpu["hold_start"] if "hold_end" in cpu and "hold_start" in cpu else None
    )
    failed = options.stations - stats.accepted
    return {
        "ok": failed == 0 and stats.station_crashes == 0,
        "config": {
            "url": options.url,
            "ocpp_version": options.version.value,
            "stations": options.stations,
            "prefix": options.prefix,
            "ramp_per_s": options.ramp,
            "connect_concurrency": options.connect_concurrency or None,
            "duration_s": options.duration,
            "mix": options.mix.describe(),
            "rate_per_s": None if options.idle else options.rate,
            "compression": options.compression,
            "security_profile": 1 if options.password is not None else 0,
        },
        "stations": {
            "requested": options.stations,
            "started": started,
            "accepted": stats.accepted,
            "failed": failed,
            "connected_at_end": stats.connected,
            "connections": stats.connections,
            "reconnects": stats.reconnects,
            "disconnects": stats.disconnects,
            "connect_failures": dict(stats.connect_failures),
            "crashed": stats.station_crashes,
        },
        "connect": {
            "ramp_s": _round(ramp_seconds),
            "all_accepted_s": _round(all_accepted_seconds),
            "handshake_ms": stats.handshake.summary_ms(),
            "time_to_accepted_ms": stats.time_to_accepted.summary_ms(),
            "boot_status": dict(stats.boot_status),
            "boot": boot.to_dict(None) if boot is not None else None,
        },
        "hold_s": _round(hold_seconds),
        "messages": {
            "sent": mix.sent,
            "answered": mix.answered,
            "msg_per_s": mix_dict["msg_per_s"],
            "latency_ms": mix_dict["latency_ms"],
            "errors": dict(mix.errors),
            "unanswered": mix_dict["unanswered"],
            "by_kind": {
                kind: stats.kinds[kind].to_dict(hold_seconds)
                for kind in sorted(stats.kinds)
                if kind != BOOT
            },
            "outside_hold": stats.ramp_calls,
        },
        "errors": dict(stats.errors_by_code()),
        "server_calls": dict(stats.server_calls),
        "protocol_notices": dict(stats.notices),
        "loadgen": {
            "wall_s": _round(wall_seconds),
            "cpu_s": _round(cpu["end"] - cpu["start"]),
            "cores_hold": _round(hold_cpu / hold_seconds, 2) if hold_cpu and hold_seconds else None,
            "max_rss_kib": _max_rss_kib(),
            "pid": os.getpid(),
            "opencsms": opencsms.__version__,
            "python": platform.python_version(),
        },
    }


def write_json(report: dict[str, Any], path: Path) -> None:
    """Write ``report`` to ``path`` (indented), creating its directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f} s"


def _codes(errors: dict[str, int]) -> str:
    return ", ".join(f"{code} {n:,}" for code, n in sorted(errors.items())) or "0"


def render(report: dict[str, Any]) -> list[Table]:
    """The summary table and the per-kind table of ``report``."""
    config, stations, connect = report["config"], report["stations"], report["connect"]
    messages = report["messages"]
    summary = Table(
        title=(
            f"opencsms load: OCPP {config['ocpp_version']}, {config['stations']:,} stations, "
            f"mix {config['mix']}"
        ),
        show_header=False,
    )
    summary.add_column("what", style="bold", no_wrap=True)
    summary.add_column("value")
    accepted = f"{stations['accepted']:,} / {stations['requested']:,}"
    summary.add_row("accepted", accepted + ("" if report["ok"] else "  (FAILED)"))
    summary.add_row("all Accepted after", _seconds(connect["all_accepted_s"]))
    tta = connect["time_to_accepted_ms"]
    summary.add_row(
        "time to Accepted p50/p99/max", f"{_ms(tta['p50'])} / {_ms(tta['p99'])} / "
        f"{_ms(tta['max'])} ms",
    )  # fmt: skip
    summary.add_row("boot status", _codes(connect["boot_status"]))
    summary.add_row("connect failures", _codes(stations["connect_failures"]))
    summary.add_row(
        "reconnects / disconnects", f"{stations['reconnects']:,} / {stations['disconnects']:,}"
    )
    summary.add_row("hold", _seconds(report["hold_s"]))
    summary.add_row("CALLs answered / sent", f"{messages['answered']:,} / {messages['sent']:,}")
    rate = messages["msg_per_s"]
    summary.add_row("throughput", "-" if rate is None else f"{rate:,.1f} msg/s")
    lat = messages["latency_ms"]
    summary.add_row(
        "latency p50/p95/p99/max",
        f"{_ms(lat['p50'])} / {_ms(lat['p95'])} / {_ms(lat['p99'])} / {_ms(lat['max'])} ms",
    )
    summary.add_row("errors", _codes(report["errors"]))
    if report["server_calls"]:
        summary.add_row("CSMS calls answered", _codes(report["server_calls"]))
    loadgen = report["loadgen"]
    cores = loadgen["cores_hold"]
    summary.add_row(
        "load generator",
        f"{loadgen['cpu_s']:.1f} s CPU"
        + ("" if cores is None else f", {cores:.2f} cores while holding")
        + f", peak RSS {loadgen['max_rss_kib'] / 1024:,.0f} MiB",
    )
    tables = [summary]
    if messages["by_kind"]:
        kinds = Table(title="per message kind (hold phase)")
        for column in ("kind", "sent", "answered", "msg/s", "p50 ms", "p95 ms", "p99 ms", "errors"):
            kinds.add_column(column, justify="left" if column in ("kind", "errors") else "right")
        for kind, row in messages["by_kind"].items():
            latency = row["latency_ms"]
            kinds.add_row(
                kind,
                f"{row['sent']:,}",
                f"{row['answered']:,}",
                "-" if row["msg_per_s"] is None else f"{row['msg_per_s']:,.1f}",
                _ms(latency["p50"]),
                _ms(latency["p95"]),
                _ms(latency["p99"]),
                _codes(row["errors"]),
            )
        tables.append(kinds)
    return tables


def print_report(report: dict[str, Any], console: Console | None = None) -> None:
    """Print the tables of ``report`` (to stdout by default)."""
    console = console or Console()
    for table in render(report):
        console.print(table)
