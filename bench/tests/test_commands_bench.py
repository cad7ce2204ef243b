"""Smoke test of ``bench/commands.py``: a tiny run (20 stations, 50 commands in one second) against
a real ``opencsms serve`` subprocess and ``opencsms load``, through the command-line entry point."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import commands  # bench scripts import their siblings by path

STATIONS = 20
COMMANDS = 50


@pytest.mark.timeout(120)
@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_tiny_run_reports_round_trips_and_background_load(tmp_path: Path, version: str) -> None:
    out = tmp_path / "commands.json"
    code = commands.main(
        [
            f"--stations={STATIONS}",
            f"--version={version}",
            "--background-rate=100",
            f"--commands={COMMANDS}",
            "--command-rate=50",
            "--warmup=0.5",
            f"--out={out}",
        ]
    )
    assert code == 0
    result = json.loads(out.read_text())
    assert result["http_status"] == {"200": COMMANDS}
    latency = result["latency_ms"]
    assert latency["count"] == COMMANDS
    assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]
    assert set(result["latency_ms_by_action"]) == {
        action for action, _ in commands.COMMANDS[version]
    }
    background = result["background"]
    assert background["accepted"] == STATIONS
    assert background["msg_per_s"] > 0
    assert background["errors"] == {}
    assert sum(background["server_calls"].values()) >= COMMANDS  # the stations got them all
    assert result["server_cores"] > 0
