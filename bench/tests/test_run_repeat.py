"""The orchestrator's ``--repeat``: rounds of interleaved targets, and the ratio of the medians."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import run


def _cell(target: str, rate: float, round_: int) -> dict[str, object]:
    return {
        "target": target,
        "version": "1.6",
        "stations": 1000,
        "msg_per_s": rate,
        "round": round_,
    }


def test_the_ratio_is_of_the_medians_with_each_rounds_own_beside_it() -> None:
    cells = [
        _cell("opencsms", 100.0, 1),
        _cell("ocpp-lib", 10.0, 1),
        _cell("opencsms", 300.0, 2),
        _cell("ocpp-lib", 20.0, 2),
        _cell("opencsms", 200.0, 3),
        _cell("ocpp-lib", 40.0, 3),
    ]
    (line,) = run.ratio_lines(cells)
    # medians 200 / 20, not the mean of the rounds' ratios (10, 15, 5) nor a single round
    assert line == (
        "- OpenCSMS, 1.6 MeterValues, C = 1000: 10.0× ocpp-lib "
        "(medians of 3 rounds; by round: 10.0, 15.0, 5.0)"
    )


def test_one_round_quotes_the_plain_ratio() -> None:
    cells = [_cell("opencsms", 90.0, 1), _cell("ocpp-lib", 10.0, 1), _cell("bare", 300.0, 1)]
    assert run.ratio_lines(cells) == [
        "- OpenCSMS, 1.6 MeterValues, C = 1000: 9.0× ocpp-lib; 0.3× bare"
    ]


def test_repeat_runs_every_target_once_per_round_in_turn(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    code = run.main(
        [
            "--targets=opencsms,bare",
            "--stations=2",
            "--versions=1.6",
            "--duration=1",
            "--warmup=0.5",
            "--repeat=2",
            f"--out={out}",
        ]
    )
    assert code == 0
    result = json.loads(out.read_text())
    order = [(c["round"], c["target"]) for c in result["cells"]]
    assert order == [(1, "opencsms"), (1, "bare"), (2, "opencsms"), (2, "bare")]
    assert all(c["msg_per_s"] > 0 and not c["errors"] for c in result["cells"])
    assert result["meta"]["repeat"] == 2
    table = out.with_suffix(".md").read_text()
    assert "medians of 2 rounds; by round:" in table
