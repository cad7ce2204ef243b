"""Real load runs against a running OpenCSMS on loopback: the report says what happened."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from opencsms.app import Csms
from opencsms.config import UnknownStationPolicy
from opencsms.domain.stations import StationSpec
from opencsms.errors import CallErrorResponse
from opencsms.load import LoadOptions, LoadRun, parse_mix
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator.config import BackOffConfig
from tests.wire import running_csms, settings_for

OPENCSMS = str(Path(sys.executable).with_name("opencsms"))
FAST_BACKOFF = BackOffConfig(wait_minimum=0.05, random_range=0.05, repeat_times=1)
# Codes that would mean the generator sent something the schemas forbid, or the CSMS broke.
SCHEMA_OR_CSMS_FAULTS = {
    "FormationViolation",
    "FormatViolation",
    "PropertyConstraintViolation",
    "OccurenceConstraintViolation",
    "OccurrenceConstraintViolation",
    "TypeConstraintViolation",
    "ProtocolError",
    "RpcFrameworkError",
    "InternalError",
    "invalid_response",
    "timeout",
}


def _options(csms: Csms, stations: int, version: OcppVersion, **changes: Any) -> LoadOptions:
    values: dict[str, Any] = {
        "url": f"ws://127.0.0.1:{csms.ports.ocpp}/ocpp",
        "stations": stations,
        "version": version,
        "ramp": None,
        "duration": 1.0,
        "call_timeout": 10.0,
        "ramp_timeout": 10.0,
        "backoff": FAST_BACKOFF,
        "seed": 1,
    }
    values.update(changes)
    return LoadOptions(**values)


def _accept_all(tmp_path: Path, **overrides: Any) -> Any:
    return settings_for(tmp_path, unknown_stations=UnknownStationPolicy.ACCEPT, **overrides)


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_cli_run_of_50_stations_reports_every_call_answered(
    tmp_path: Path, version: str
) -> None:
    report_file = tmp_path / "load.json"
    async with running_csms(_accept_all(tmp_path)) as csms:
        process = await asyncio.create_subprocess_exec(
            OPENCSMS,
            "load",
            "--url",
            f"ws://127.0.0.1:{csms.ports.ocpp}/ocpp",
            "--stations",
            "50",
            "--version",
            version,
            "--ramp",
            "unlimited",
            "--duration",
            "2s",
            "--json",
            str(report_file),
            "--no-progress",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "COLUMNS": "200"},
        )
        async with asyncio.timeout(30):
            out, _ = await process.communicate()
        text = out.decode()
        assert process.returncode == 0, text
        stored = await csms.storage.stations.get("LOAD-000050")
    assert stored is not None
    assert stored.boot is not None
    report = orjson.loads(report_file.read_bytes())
    assert report["ok"] is True
    assert report["stations"]["accepted"] == 50
    assert report["stations"]["failed"] == 0
    assert report["connect"]["boot_status"] == {"Accepted": 50}
    assert report["connect"]["all_accepted_s"] is not None
    messages = report["messages"]
    assert messages["sent"] > 50
    assert messages["answered"] == messages["sent"]
    assert messages["errors"] == {}
    assert report["errors"] == {}
    assert messages["msg_per_s"] > 0
    assert 0 < messages["latency_ms"]["p50"] <= messages["latency_ms"]["p99"]
    assert set(messages["by_kind"]) == {"meter_values", "status", "heartbeat"}
    assert report["stations"]["disconnects"] == 0
    assert "throughput" in text  # the table is printed too


@pytest.mark.parametrize("version", [OcppVersion.V16, OcppVersion.V201], ids=lambda v: v.value)
async def test_transaction_kind_sends_only_valid_messages(
    tmp_path: Path, version: OcppVersion
) -> None:
    async with running_csms(_accept_all(tmp_path)) as csms:
        options = _options(csms, 5, version, mix=parse_mix("transaction"))
        report = await LoadRun(options).run()
    kind = report["messages"]["by_kind"]["transaction"]
    assert kind["sent"] > 0
    assert kind["unanswered"] == 0
    # OpenCSMS may not handle 1.6 StartTransaction yet (NotSupported); whatever it answers, the
    # generator's messages passed the CSMS's schema validation and every CALL is accounted for.
    assert kind["answered"] + sum(kind["errors"].values()) == kind["sent"]
    assert not set(kind["errors"]) & SCHEMA_OR_CSMS_FAULTS, kind["errors"]
    if version is OcppVersion.V201:
        assert kind["errors"] == {}  # TransactionEvent is handled: Started, Updated, Ended


async def test_dropped_connections_are_reconnected_and_counted(tmp_path: Path) -> None:
    async with running_csms(_accept_all(tmp_path)) as csms:
        run = LoadRun(_options(csms, 10, OcppVersion.V201, mix=parse_mix("idle"), duration=None))
        async with asyncio.TaskGroup() as tasks:
            running = tasks.create_task(run.run())
            await run.wait_for(lambda r: r.stats.accepted == 10 and r.stats.connected == 10)
            for connection in list(csms.registry):  # the CSMS drops every station
                await connection.close(1001, "going away")
            await run.wait_for(lambda r: r.stats.reconnects == 10 and r.stats.connected == 10)
            run.stop()
        report = running.result()
    stations = report["stations"]
    assert stations["disconnects"] == 10
    assert stations["reconnects"] == 10
    assert stations["connections"] == 20
    # OCPP-J 2.0.1 part 4 §5.3: a reconnect is not a reboot, so no second BootNotification.
    assert report["connect"]["boot_status"] == {"Accepted": 10}
    assert report["ok"] is True


async def test_csms_calls_are_answered_during_an_idle_run(tmp_path: Path) -> None:
    async with running_csms(_accept_all(tmp_path)) as csms:
        run = LoadRun(_options(csms, 2, OcppVersion.V201, mix=parse_mix("idle"), duration=None))
        async with asyncio.TaskGroup() as tasks:
            running = tasks.create_task(run.run())
            await run.wait_for(lambda r: r.stats.accepted == 2)
            trigger = {"requestedMessage": "Heartbeat"}
            assert await csms.call_station("LOAD-000001", "TriggerMessage", trigger) == {
                "status": "Accepted"
            }
            interval = {
                "component": {"name": "OCPPCommCtrlr"},
                "variable": {"name": "HeartbeatInterval"},
            }
            got = await csms.call_station(
                "LOAD-000002", "GetVariables", {"getVariableData": [interval]}
            )
            assert got["getVariableResult"][0]["attributeValue"] == "300"
            with pytest.raises(CallErrorResponse) as refused:
                await csms.call_station("LOAD-000002", "Reset", {"type": "Immediate"})
            assert refused.value.error_code == "NotSupported"
            await run.wait_for(lambda r: r.stats.ramp_calls + r.stats.kind("heartbeat").sent >= 1)
            run.stop()
        report = running.result()
    assert report["server_calls"] == {"TriggerMessage": 1, "GetVariables": 1}
    assert report["protocol_notices"] == {"call_rejected": 1}  # Reset, refused by the session
    assert report["errors"] == {}


async def test_idle_stations_heartbeat_at_the_csms_interval(tmp_path: Path) -> None:
    async with running_csms(_accept_all(tmp_path, heartbeat_interval=1)) as csms:
        options = _options(csms, 5, OcppVersion.V16, mix=parse_mix("idle"), duration=1.6)
        report = await LoadRun(options).run()
    assert report["stations"]["accepted"] == 5
    by_kind = report["messages"]["by_kind"]
    assert set(by_kind) == {"heartbeat"}  # idle: nothing but heartbeats
    assert by_kind["heartbeat"]["answered"] >= 5  # every station, once a second


async def test_security_profile_1_password(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path)) as csms:  # unknown stations: HTTP 404
        await csms.stations.create(
            StationSpec(id="LOAD-000001", password="correct-horse-battery-1")
        )
        good = _options(csms, 1, OcppVersion.V201, password="correct-horse-battery-1", duration=0)
        assert (await LoadRun(good).run())["stations"]["accepted"] == 1
        bad = _options(
            csms,
            2,
            OcppVersion.V201,
            password="wrong-password-battery-1",
            duration=0,
            ramp_timeout=0.3,
        )
        report = await LoadRun(bad).run()
    assert report["ok"] is False
    assert report["stations"]["accepted"] == 0
    failures = report["stations"]["connect_failures"]
    assert set(failures) == {"HTTP 401", "HTTP 404"}  # wrong password; unknown LOAD-000002


async def test_cli_exits_non_zero_when_stations_are_refused(tmp_path: Path) -> None:
    report_file = tmp_path / "refused.json"
    async with running_csms(settings_for(tmp_path)) as csms:  # unknown stations: HTTP 404
        process = await asyncio.create_subprocess_exec(
            OPENCSMS,
            "load",
            "--url",
            f"ws://127.0.0.1:{csms.ports.ocpp}/ocpp",
            "--stations",
            "3",
            "--ramp-timeout",
            "300ms",
            "--duration",
            "0",
            "--json",
            str(report_file),
            "--no-progress",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        async with asyncio.timeout(30):
            out, _ = await process.communicate()
    assert process.returncode == 1, out.decode()
    report = orjson.loads(report_file.read_bytes())
    assert report["stations"]["failed"] == 3
    assert report["stations"]["connect_failures"]["HTTP 404"] >= 3


async def test_rate_paces_the_fleet(tmp_path: Path) -> None:
    async with running_csms(_accept_all(tmp_path)) as csms:
        options = _options(csms, 20, OcppVersion.V201, rate=200.0, duration=1.5)
        report = await LoadRun(options).run()
    messages = report["messages"]
    assert messages["errors"] == {}
    # 20 stations, each every 0.1 s: about 200 CALLs/s, never a flat-out burst.
    assert 140 <= messages["msg_per_s"] <= 230, messages["msg_per_s"]
