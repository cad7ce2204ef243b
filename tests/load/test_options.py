"""Option parsing: every accepted form, and a clear message for every malformed one."""

from __future__ import annotations

import asyncio
import math
import os
import sys
from pathlib import Path

import pytest

from opencsms.load import (
    KINDS,
    LoadOptions,
    OptionError,
    parse_duration,
    parse_mix,
    parse_ramp,
    parse_rate,
)
from opencsms.ocpp.version import OcppVersion

OPENCSMS = str(Path(sys.executable).with_name("opencsms"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("500/s", 500.0), ("500", 500.0), ("30000/min", 500.0), ("3600/h", 1.0), ("0.5/s", 0.5)],
)
def test_ramp_forms(text: str, expected: float) -> None:
    assert parse_ramp(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["unlimited", "max", "INF"])
def test_unlimited_ramp_opens_all_at_once(text: str) -> None:
    assert parse_ramp(text) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fast", "must look like 500/s"),
        ("500/x", "unit must be /s, /min or /h"),
        ("-5/s", "non-negative"),
        ("0", "use 'unlimited'"),
    ],
)
def test_bad_ramp_says_what_is_accepted(text: str, message: str) -> None:
    with pytest.raises(OptionError, match=message):
        parse_ramp(text)


def test_rate_forms() -> None:
    assert parse_rate("max") is None
    assert parse_rate("2000/s") == 2000.0
    assert parse_rate("0") == 0.0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("60", 60.0), ("60s", 60.0), ("5m", 300.0), ("1h", 3600.0), ("1m30s", 90.0), ("500ms", 0.5)],
)
def test_duration_forms(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


def test_forever_is_no_duration() -> None:
    assert parse_duration("forever") is None


@pytest.mark.parametrize("text", ["", "soon", "5x", "m5"])
def test_bad_duration(text: str) -> None:
    with pytest.raises(OptionError, match="duration"):
        parse_duration(text)


def test_mix_weights_and_defaults() -> None:
    mix = parse_mix("heartbeat=1, status=1,meter_values=8,transaction")
    assert dict(mix.weights) == {"heartbeat": 1, "status": 1, "meter_values": 8, "transaction": 1}
    assert not mix.idle
    assert parse_mix("idle").idle
    assert parse_mix("status_notification=2,heartbeat=0").weights == (("status", 2.0),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("heartbeat=1,reboot=2", "unknown message kind 'reboot'; known kinds: " + ", ".join(KINDS)),
        ("heartbeat=x", "weight of 'heartbeat' must be a number"),
        ("heartbeat=-1", "non-negative"),
        ("heartbeat=1,heartbeat=2", "given twice"),
        ("heartbeat=0", "at least one weight must be positive"),
        ("", "the mix is empty"),
    ],
)
def test_bad_mix(text: str, message: str) -> None:
    with pytest.raises(OptionError, match=message):
        parse_mix(text)


def test_options_validate_and_name_stations() -> None:
    options = LoadOptions(url="ws://h:1/ocpp", stations=1000, version=OcppVersion.V16)
    assert options.station_id(0) == "LOAD-000001"
    assert options.station_id(999) == "LOAD-001000"
    assert options.station_interval is None  # flat out by default
    assert LoadOptions(url="ws://h/ocpp", stations=10, rate=5.0).station_interval == 2.0
    assert LoadOptions(url="ws://h/ocpp", stations=10, rate=0.0).station_interval == math.inf
    with pytest.raises(OptionError, match="ws://") as caught:
        LoadOptions(url="http://h/ocpp", stations=1)
    assert caught.value.param == "--url"
    with pytest.raises(OptionError, match="48 characters"):
        LoadOptions(url="ws://h/ocpp", stations=1, prefix="X" * 43)


# Typer's error panel wraps at the terminal width; a wide one keeps each message on one line.
WIDE = {**os.environ, "COLUMNS": "250"}


async def _load_cli(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        OPENCSMS,
        "load",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=WIDE,
    )
    async with asyncio.timeout(30):
        out, _ = await process.communicate()
    return process.returncode or 0, out.decode()


async def test_cli_reports_a_bad_ramp_next_to_the_option() -> None:
    code, out = await _load_cli("--url", "ws://127.0.0.1:9/ocpp", "--ramp", "fast")
    assert code == 2, out
    assert "--ramp" in out
    assert "must look like 500/s" in out


async def test_cli_reports_an_unknown_mix_kind_from_the_environment() -> None:
    process = await asyncio.create_subprocess_exec(
        OPENCSMS,
        "load",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={
            **WIDE,
            "OPENCSMS_LOAD_URL": "ws://127.0.0.1:9/ocpp",
            "OPENCSMS_LOAD_MIX": "heartbeat=1,reboot=1",
        },
    )
    async with asyncio.timeout(30):
        out, _ = await process.communicate()
    text = out.decode()
    assert process.returncode == 2, text
    assert "--mix" in text
    assert "unknown message kind 'reboot'" in text
