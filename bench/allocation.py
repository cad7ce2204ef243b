"""Site load-management allocation time: how long one :func:`allocate` round takes for a large
site, in pure Python (no I/O, no server).

    .venv/bin/python bench/allocation.py                  # 1,000 EVSEs, 500 sessions, 200 runs
    .venv/bin/python bench/allocation.py --sessions 900 --runs 500 --json

The site (``build_site``): a grid connection ``site`` (``--site-a`` A per phase and
``--site-kw`` kW) → ``--feeders`` feeders (each a share of the site's current, so the feeders
together are oversubscribed 1.5×) → stations of 2 EVSEs, ``--evses`` EVSEs in all; every station
is a group with its own limit (32 A, its supply cable) and every third feeder has a power limit
too. ``--sessions`` EVSEs have an active session, spread over the feeders: 70 % three-phase,
25 % single-phase on a known phase (rotating L1/L2/L3), 5 % single-phase wired unknown; about
half have a measured current and a previous limit (a third of those draw clearly less than their
limit, so their share is redistributed); 10 % have a priority token (priority 1). The defaults
oversubscribe the site, so the allocator pauses some sessions too: every rule is exercised.

Each run calls ``allocate`` on the same inputs (the service rebuilds its inputs every round, and
building them is timed separately as ``build_ms``, once). Prints a one-line summary; ``--json``
prints the JSON instead (median, p90, p99, max in ms; counts of sessions charging/paused; the
site's planned load). Exit code 0 unless the allocation breaks a limit (checked once).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
from opencsms.smartcharging.allocator import allocate  # noqa: E402
from opencsms.smartcharging.site import (  # noqa: E402
    AllocationResult,
    GroupNode,
    SessionDemand,
)


def build_site(
    args: argparse.Namespace,
) -> tuple[list[GroupNode], list[SessionDemand]]:
    """The tree and the sessions described in the module docstring (seeded: reproducible)."""
    rng = random.Random(args.seed)
    feeder_a = math.ceil(args.site_a * 1.5 / args.feeders)
    groups = [GroupNode("site", None, float(args.site_a), args.site_kw * 1000.0)]
    stations: list[str] = []
    for f in range(args.feeders):
        power = feeder_a * 3 * 230.0 * 0.9 if f % 3 == 2 else None
        groups.append(GroupNode(f"feeder-{f}", "site", float(feeder_a), power))
    per_feeder = math.ceil(args.evses / 2 / args.feeders)
    for n in range(math.ceil(args.evses / 2)):
        station = f"station-{n:04d}"
        groups.append(GroupNode(station, f"feeder-{n // per_feeder}", 32.0))
        stations.append(station)
    evses = [(station, e) for station in stations for e in (1, 2)][: args.evses]
    chosen = rng.sample(range(len(evses)), min(args.sessions, len(evses)))
    sessions: list[SessionDemand] = []
    for order, index in enumerate(chosen):
        station, evse = evses[index]
        kind = rng.random()
        phases, phase = (3, None) if kind < 0.70 else (1, order % 3 + 1 if kind < 0.95 else None)
        maximum = rng.choice([16.0, 32.0, 32.0]) if phases == 3 else 32.0
        measured = previous = None
        if rng.random() < 0.5:
            previous = rng.choice([8.0, 10.0, 16.0, 20.0])
            measured = previous * (rng.uniform(0.1, 0.5) if rng.random() < 0.33 else 0.97)
        sessions.append(
            SessionDemand(
                key=f"{station}/{evse}",
                group=station,
                phases=phases,
                phase=phase,
                max_current_a=maximum,
                measured_current_a=measured,
                previous_limit_a=previous,
                priority=1 if rng.random() < 0.10 else 0,
                started_order=order,
            )
        )
    return groups, sessions


def check_limits(groups: list[GroupNode], result: AllocationResult) -> list[str]:
    """The groups whose planned load exceeds a limit (none expected)."""
    broken = []
    for group in groups:
        load = result.groups[group.id]
        if group.max_current_a is not None and max(load.current_a) > group.max_current_a + 1e-6:
            broken.append(f"{group.id}: {load.current_a} A > {group.max_current_a} A")
        if group.max_power_w is not None and load.power_w > group.max_power_w + 1e-6:
            broken.append(f"{group.id}: {load.power_w} W > {group.max_power_w} W")
    return broken


def percentile_ms(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted seconds, in ms."""
    return round(ordered[max(0, math.ceil(len(ordered) * q) - 1)] * 1000, 3)


def calibration_ms() -> float:
    """CPU ms of a plain 1,000,000-step Python loop (best of 3): how fast this machine runs
    Python right now, to compare figures taken on different or busy machines."""
    best = math.inf
    for _ in range(3):
        start, total = time.thread_time(), 0
        for n in range(1_000_000):
            total += n
        best = min(best, time.thread_time() - start)
    return round(best * 1000, 1)


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    groups, sessions = build_site(args)
    build_s = time.perf_counter() - started
    result = allocate(groups, sessions)
    broken = check_limits(groups, result)
    samples, cpu = [], []
    for _ in range(args.runs):
        start, start_cpu = time.perf_counter(), time.thread_time()
        allocate(groups, sessions)
        samples.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
    ordered = sorted(samples)
    charging = [a.current_a for a in result.sessions.values() if a.current_a > 0]
    site = result.groups["site"]
    return {
        "evses": args.evses,
        "sessions": len(sessions),
        "groups": len(groups),
        "feeders": args.feeders,
        "runs": args.runs,
        "build_ms": round(build_s * 1000, 3),
        "allocate_ms": {
            "median": round(statistics.median(samples) * 1000, 3),
            "p90": percentile_ms(ordered, 0.90),
            "p99": percentile_ms(ordered, 0.99),
            "max": round(ordered[-1] * 1000, 3),
        },
        "allocate_cpu_ms": {
            "median": round(statistics.median(cpu) * 1000, 3),
            "p99": percentile_ms(sorted(cpu), 0.99),
        },
        "calibration_loop_ms": calibration_ms(),
        "charging": len(charging),
        "paused": len(sessions) - len(charging),
        "mean_limit_a": round(statistics.fmean(charging), 2) if charging else 0.0,
        "site_load": {
            "current_a": [round(c, 1) for c in site.current_a],
            "power_kw": round(site.power_w / 1000, 1),
            "limit_a": args.site_a,
            "limit_kw": args.site_kw,
        },
        "limits_broken": broken,
        "python": sys.version.split()[0],
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Time of one site allocation (see bench/README.md)")
    p.add_argument("--evses", type=int, default=1000, help="EVSEs on the site (2 per station)")
    p.add_argument("--sessions", type=int, default=500, help="EVSEs with an active session")
    p.add_argument("--feeders", type=int, default=10, help="feeders under the site")
    p.add_argument("--site-a", type=int, default=4000, help="site limit, A per phase")
    p.add_argument("--site-kw", type=float, default=2500.0, help="site limit, kW")
    p.add_argument("--runs", type=int, default=200, help="timed allocate() calls")
    p.add_argument("--seed", type=int, default=1, help="random seed of the site")
    p.add_argument("--json", action="store_true", help="print the JSON instead of the summary")
    args = p.parse_args(argv)
    if args.runs < 1 or args.evses < 1 or args.feeders < 1 or args.sessions < 0:
        p.error("--runs, --evses and --feeders must be 1 or more, --sessions 0 or more")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = run(args)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        t = report["allocate_ms"]
        print(
            f"allocate: {report['evses']} EVSEs, {report['sessions']} sessions, "
            f"{report['groups']} groups: median {t['median']} ms, p99 {t['p99']} ms, "
            f"max {t['max']} ms over {report['runs']} runs (CPU median "
            f"{report['allocate_cpu_ms']['median']} ms; 1e6-step loop "
            f"{report['calibration_loop_ms']} ms); {report['charging']} charging "
            f"(mean {report['mean_limit_a']} A), {report['paused']} paused; site "
            f"{max(report['site_load']['current_a'])}/{args.site_a} A, "
            f"{report['site_load']['power_kw']}/{args.site_kw:g} kW"
        )
    for line in report["limits_broken"]:
        print(f"LIMIT BROKEN: {line}", file=sys.stderr)
    return 1 if report["limits_broken"] else 0


if __name__ == "__main__":
    sys.exit(main())
