"""Smoke test of ``bench/sessions.py``: a tiny run (20 stations, 1 s per cell) against a real
``opencsms serve`` subprocess, through the same entry point as the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import sessions  # bench scripts import their siblings by path

STATIONS = 20


@pytest.mark.timeout(120)
def test_tiny_run_reports_sessions_and_meter_values_without_errors(tmp_path: Path) -> None:
    out = tmp_path / "sessions.json"
    code = sessions.main(
        [
            f"--stations={STATIONS}",
            "--duration=1",
            "--warmup=0.2",
            "--meters=2",
            f"--out={out}",
        ]
    )
    assert code == 0
    report = json.loads(out.read_text())
    runs = {(r["version"], r["mode"]): r for r in report["runs"]}
    assert set(runs) == {(v, m) for v in ("1.6", "2.0.1") for m in ("sessions", "meter")}
    for (version, mode), run in runs.items():
        where = f"{version} {mode}: {run}"
        assert run["ready"] == STATIONS, where
        assert run["errors"] == 0, where
        assert run["unanswered"] == 0, where
        assert run["setup_errors"] == {}, where
        assert run["connect_failures"] == {}, where
        assert run["boot_status"] == {"Accepted": STATIONS}, where
        assert run["meter_msg_per_s"] > 0, where
        assert run["p50_ms"] <= run["p99_ms"], where
        assert run["server_cores"] > 0, where
        if mode == "sessions":
            assert run["sessions"] > 0, where
            kinds = run["by_kind"]
            assert set(kinds) == {"start", "meter", "stop"}, where
            assert kinds["stop"]["answered"] == run["sessions"], where
        else:
            assert run["sessions"] == 0, where
            assert set(run["by_kind"]) == {"meter"}, where
    tables = out.with_suffix(".md").read_text().split("\n\n")
    assert len(tables) == 2
    assert tables[0].count("\n") == 1 + len(runs)  # header, rule, one row per run
    kind_rows = sum(len(r["by_kind"]) for r in runs.values())
    assert tables[1].strip().count("\n") == 1 + kind_rows
