"""Smoke test of ``bench/allocation.py``: a tiny site through the command-line entry point, the
summary line and the JSON's shape (no timing assertions: the machine is shared)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import allocation  # bench scripts import their siblings by path

TINY = ["--evses=40", "--sessions=25", "--feeders=2", "--site-a=120", "--site-kw=60", "--runs=5"]


def test_tiny_run_prints_the_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert allocation.main([*TINY, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["evses"] == 40
    assert report["sessions"] == 25
    assert report["groups"] == 1 + 2 + 20  # the site, its feeders, stations of 2 EVSEs
    assert report["runs"] == 5
    times = report["allocate_ms"]
    assert set(times) == {"median", "p90", "p99", "max"}
    assert 0 < times["p90"] <= times["p99"] <= times["max"]
    assert report["allocate_cpu_ms"]["median"] >= 0
    assert report["calibration_loop_ms"] > 0
    assert report["charging"] + report["paused"] == 25
    assert report["charging"] > 0
    assert report["limits_broken"] == []
    site = report["site_load"]
    assert max(site["current_a"]) <= 120
    assert site["power_kw"] <= 60


def test_tiny_run_prints_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert allocation.main(TINY) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert out[0].startswith("allocate: 40 EVSEs, 25 sessions, 23 groups: median ")


def test_the_site_is_built_as_described() -> None:
    args = allocation.parse_args(["--evses=1000", "--sessions=500"])
    groups, sessions = allocation.build_site(args)
    assert len(sessions) == 500
    assert len({s.key for s in sessions}) == 500
    assert sum(1 for g in groups if g.id.startswith("station-")) == 500
    assert sum(1 for g in groups if g.parent == "site") == 10
    assert {s.phases for s in sessions} == {1, 3}
    assert any(s.priority for s in sessions)
    assert any(s.measured_current_a is not None for s in sessions)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(SystemExit):
        allocation.parse_args(["--runs=0"])
