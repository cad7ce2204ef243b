"""End to end: the load generator against both baseline servers, on free ports.

Run with ``.venv/bin/pytest bench/tests``. Each test starts a server subprocess, waits for its port
to accept connections, runs a short load and checks what the loadgen reports.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import loadgen
import run


def _args(**overrides: Any) -> Any:
    return run.parse_args([f"--{k}={v}" for k, v in overrides.items()])


@pytest.fixture(params=["bare", "ocpp-lib"])
def server(request: pytest.FixtureRequest) -> Iterator[run.Server]:
    srv = run.start_server(request.param, _args())
    try:
        yield srv
    finally:
        assert run.stop_server(srv) is not None
        run.shutil.rmtree(srv.workdir, ignore_errors=True)


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_loadgen_drives_server_without_errors(server: run.Server, version: str) -> None:
    cfg = loadgen.Config(
        url=f"ws://127.0.0.1:{server.port}/ocpp",
        stations=3,
        version=version,
        message=loadgen.parse_args(["--url", "x", "--version", version])[0].message,
        duration=0.5,
        warmup=0.2,
        prefix="T-",
        server_pid=server.proc.pid,
    )
    result = loadgen.run(cfg)
    assert result["connected"] == 3
    assert result["connect_failures"] == 0
    # The ocpp-lib server validates every request against the official schema, so zero errors
    # here also proves the payloads valid end to end.
    assert result["errors"] == {}
    assert result["setup_errors"] == {}
    assert result["messages"] > 0
    assert result["histogram"]["count"] == result["messages"]
    assert result["latency_ms"]["p50"] <= result["latency_ms"]["p99"]
    assert result["boot_status"] == ({"(none)": 3} if server.target == "bare" else {"Accepted": 3})
    assert result["server_cores"] is not None
    assert result["server_cores"] > 0


def test_loadgen_counts_connect_failures() -> None:
    port = run.free_port()  # nothing listens there
    cfg = loadgen.Config(
        url=f"ws://127.0.0.1:{port}/ocpp",
        stations=2,
        version="1.6",
        message="meter_values",
        duration=0.1,
        warmup=0.0,
        prefix="T-",
    )
    result = loadgen.run(cfg)
    assert result["connect_failures"] == 2
    assert result["connected"] == 0
    assert result["messages"] == 0


def test_two_processes_merge_their_histograms() -> None:
    srv = run.start_server("bare", _args())
    try:
        cfg = loadgen.Config(
            url=f"ws://127.0.0.1:{srv.port}/ocpp",
            stations=4,
            version="1.6",
            message="meter_values",
            duration=0.5,
            warmup=0.1,
            prefix="P-",
        )
        result = loadgen.run(cfg, processes=2)
    finally:
        run.stop_server(srv)
        run.shutil.rmtree(srv.workdir, ignore_errors=True)
    assert result["processes"] == 2
    assert result["connected"] == 4
    assert result["messages"] > 0
    assert result["histogram"]["count"] == result["messages"]
