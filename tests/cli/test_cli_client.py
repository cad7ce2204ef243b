"""The operator CLI against a running CSMS: real HTTP to the real API, a simulated or raw station
on the other side. Commands run through typer's CliRunner in a worker thread (the CSMS serves on
this test's event loop, which the CLI's blocking HTTP calls must not stall), and as a real
process."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import Result
from typer.testing import CliRunner

from opencsms.app import Csms
from opencsms.cli import app
from opencsms.cli_client import client
from opencsms.domain.stations import StationSpec
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import SimulatedStation
from tests.handlers.builders import booted
from tests.handlers.station_calls import NO_ANSWER, CallError, responding
from tests.simulator.helpers import sim_config
from tests.wire import ADMIN_TOKEN, api_client, raw_station, running_csms, settings_for

OPENCSMS = str(Path(sys.executable).with_name("opencsms"))
runner = CliRunner()


async def cli(
    csms: Csms, *args: str, token: str | None = ADMIN_TOKEN, stdin: str | None = None
) -> Result:
    """Run ``opencsms ARGS`` against ``csms``'s API, configured the way operators do: env vars."""
    env = {"OPENCSMS_API_URL": f"http://127.0.0.1:{csms.ports.http}", "OPENCSMS_ADMIN_TOKEN": token}
    return await asyncio.to_thread(runner.invoke, app, list(args), env=env, input=stdin)


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.exit_code, result.output, result.exception)
    return result.stdout


def parsed(result: Result) -> Any:
    return orjson.loads(ok(result))


def row_of(table: str, first_cell: str) -> list[str]:
    """The cells of the table row whose first column is ``first_cell`` (cells have no double
    spaces inside, so two or more spaces separate columns)."""
    for line in table.splitlines():
        cells = [c for c in line.split("  ") if c.strip()]
        if cells and cells[0].strip() == first_cell:
            return [c.strip() for c in cells]
    raise AssertionError(f"no row {first_cell!r} in:\n{table}")


async def test_stations_list_show_add_set_remove(
    csms: Csms, monkeypatch: pytest.MonkeyPatch
) -> None:
    await csms.stations.create(StationSpec(id="SIM-1"))
    async with SimulatedStation(sim_config(csms, "SIM-1", OcppVersion.V201)) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        await st.wait_for(lambda s: not s.unsent_statuses)

        assert ok(await cli(csms, "stations", "add", "CLI-2", "--registration", "Pending")) == (
            "station CLI-2 added (Pending)\n"
        )
        again = await cli(csms, "stations", "add", "CLI-2")
        assert again.exit_code == 2
        assert again.stderr == "error: station 'CLI-2' already exists\n"
        short = await cli(csms, "stations", "add", "CLI-3", "--password", "short")
        assert short.exit_code == 2
        assert "body.password: String should have at least 16 characters" in short.stderr

        listed = ok(await cli(csms, "stations", "list"))
        header = listed.splitlines()[0].split()
        assert header == [
            "ID",
            "REGISTRATION",
            "CONNECTED",
            "VERSION",
            "VENDOR/MODEL",
            "LAST",
            "SEEN",
        ]
        sim = row_of(listed, "SIM-1")
        assert sim[:5] == ["SIM-1", "Accepted", "yes", "2.0.1", "OpenCSMS SimCharger AC"]
        assert sim[5].endswith("Z")
        assert row_of(listed, "CLI-2") == ["CLI-2", "Pending", "no", "-", "-", "-"]

        page = parsed(await cli(csms, "stations", "list", "--json", "--limit", "1"))
        assert (page["total"], page["limit"], [s["id"] for s in page["items"]]) == (2, 1, ["CLI-2"])
        footer = ok(await cli(csms, "stations", "list", "--limit", "1")).splitlines()[-1]
        assert footer == "1 of 2 stations shown; --all for every one, --offset to page"
        monkeypatch.setattr(client, "PAGE_SIZE", 1)  # --all must walk page after page
        everything = parsed(await cli(csms, "stations", "list", "--all", "--json"))
        assert [s["id"] for s in everything["items"]] == ["CLI-2", "SIM-1"]
        assert everything["total"] == 2

        shown = ok(await cli(csms, "stations", "show", "SIM-1"))
        assert "connected     yes, since " in shown
        assert "registration  Accepted" in shown
        assert "model         SimCharger AC" in shown
        assert row_of(shown, "EVSE")[:3] == ["EVSE", "CONNECTOR", "STATUS"]
        assert row_of(shown, "1")[:3] == ["1", "1", "Available"]
        detail = parsed(await cli(csms, "stations", "show", "SIM-1", "--json"))
        assert detail["evses"][0]["connectors"][0]["status"] == "Available"

        missing = await cli(csms, "stations", "show", "NOPE")
        assert (missing.exit_code, missing.stderr) == (2, "error: station 'NOPE' not found\n")

        changed = ok(await cli(csms, "stations", "set", "CLI-2", "--registration", "Accepted"))
        assert "registration  Accepted" in changed
        assert "no connector status reported yet" in changed
        nothing = await cli(csms, "stations", "set", "CLI-2")
        assert nothing.exit_code == 2
        assert "nothing to change" in nothing.output

        kept = await cli(csms, "stations", "remove", "CLI-2", stdin="n\n")
        assert kept.exit_code == 1
        assert await csms.storage.stations.get("CLI-2") is not None
        assert ok(await cli(csms, "stations", "remove", "CLI-2", "--yes")) == (
            "station CLI-2 removed\n"
        )
        assert await csms.storage.stations.get("CLI-2") is None
        frames = ok(await cli(csms, "stations", "messages", "SIM-1", "--limit", "100"))
        assert row_of(frames, "ID")[:5] == ["ID", "AT", "DIR", "TYPE", "ACTION"]
        assert "BootNotification" in frames


async def test_call_and_the_command_log(
    csms: Csms, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await csms.stations.create(StationSpec(id="SIM-1"))
    async with SimulatedStation(sim_config(csms, "SIM-1", OcppVersion.V201)) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        connection = csms.registry.get("SIM-1")
        assert connection is not None

        answer = parsed(
            await cli(csms, "call", "SIM-1", "TriggerMessage", '{"requestedMessage": "Heartbeat"}')
        )
        assert answer == {"status": "Accepted"}
        request = tmp_path / "get.json"
        request.write_text(
            '{"getVariableData": [{"component": {"name": "OCPPCommCtrlr"},'
            ' "variable": {"name": "HeartbeatInterval"}}]}'
        )
        variables = parsed(await cli(csms, "call", "SIM-1", "GetVariables", f"@{request}"))
        assert variables["getVariableResult"][0]["attributeStatus"] == "Accepted"
        recorded = parsed(await cli(csms, "call", "SIM-1", "ClearCache", "-", "--json", stdin="{}"))
        assert (recorded["action"], recorded["status"]) == ("ClearCache", "Answered")
        assert recorded["response"] == {"status": "Accepted"}

        invalid = await cli(csms, "call", "SIM-1", "Reset", '{"type": "Sideways"}')
        assert invalid.exit_code == 2
        first, *violations = invalid.stderr.splitlines()
        assert first.startswith("error: Reset payload is not valid for OCPP 2.0.1: ")
        assert violations
        assert all(v.startswith("  /type: ") for v in violations)
        wrong_way = await cli(csms, "call", "SIM-1", "BootNotification")
        assert wrong_way.exit_code == 2
        assert "sent by a station to the CSMS" in wrong_way.stderr
        not_json = await cli(csms, "call", "SIM-1", "ClearCache", "{nope")
        assert not_json.exit_code == 2
        assert "is not JSON" in not_json.output
        no_file = await cli(csms, "call", "SIM-1", "ClearCache", f"@{tmp_path / 'none.json'}")
        assert no_file.exit_code == 2
        assert "cannot read" in no_file.output

        log = ok(await cli(csms, "commands", "SIM-1"))
        header = row_of(log, "ID")
        assert header == ["ID", "REQUESTED", "ACTION", "STATUS", "MS", "BY", "OUTCOME"]
        rows = [row_of(log, str(n)) for n in range(1, 5)]
        assert [(r[2], r[3], r[-1]) for r in rows] == [
            ("TriggerMessage", "Answered", "Accepted"),
            ("GetVariables", "Answered", '{"getVariableResult":[{"attributeStatus…'),
            ("ClearCache", "Answered", "Accepted"),
            ("Reset", "Invalid", rows[3][-1]),
        ]
        assert rows[3][-1].startswith("Value at /type")
        newest = parsed(await cli(csms, "commands", "SIM-1", "--json", "--limit", "2"))
        assert [c["action"] for c in newest["items"]] == ["Reset", "ClearCache"]
        older = ok(await cli(csms, "commands", "SIM-1", "--limit", "2"))
        assert older.splitlines()[-1] == (
            f"older commands: --before {newest['next_before']} (or --all)"
        )
        monkeypatch.setattr(client, "PAGE_SIZE", 3)
        every = parsed(await cli(csms, "commands", "SIM-1", "--all", "--json"))
        assert [c["id"] for c in every["items"]] == [4, 3, 2, 1]
        assert every["next_before"] is None

    async with asyncio.timeout(5):
        await connection.finished.wait()
    away = await cli(csms, "call", "SIM-1", "ClearCache")
    assert (away.exit_code, away.stderr) == (2, "error: station 'SIM-1' is not connected\n")


async def test_station_failures_exit_3(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path, call_timeout=0.3)) as csms:
        await csms.stations.create(StationSpec(id="RAW"))
        answers = {"UnlockConnector": CallError("NotSupported", "no lock"), "Reset": NO_ANSWER}
        async with raw_station(csms, "RAW", "ocpp2.0.1") as cp:
            await booted(cp, "ocpp2.0.1")
            async with responding(cp, answers):
                unlock = '{"evseId": 1, "connectorId": 1}'
                failed = await cli(csms, "call", "RAW", "UnlockConnector", unlock)
                as_json = await cli(csms, "call", "RAW", "UnlockConnector", unlock, "--json")
                silent = await cli(csms, "call", "RAW", "Reset", '{"type": "Immediate"}')
    assert failed.exit_code == 3
    assert failed.stdout == ""
    assert failed.stderr == (
        "error: station 'RAW' answered UnlockConnector with CALLERROR NotSupported: no lock\n"
    )
    assert as_json.exit_code == 3
    body = orjson.loads(as_json.stdout)
    assert (body["error_code"], body["command"]["status"]) == ("NotSupported", "CallError")
    assert silent.exit_code == 3
    assert silent.stderr == "error: station 'RAW' did not answer Reset in time\n"


async def test_tokens_and_a_session_in_transactions(csms: Csms, tmp_path: Path) -> None:
    await csms.stations.create(StationSpec(id="SIM-1"))
    added = ok(
        await cli(csms, "tokens", "add", "DRIVER-1", "--group", "FLEET", "--type", "ISO14443")
    )
    assert added == "id token DRIVER-1 added (Accepted)\n"
    ok(await cli(csms, "tokens", "add", "other-2", "--location", "SIM-1", "--location", "X/1"))
    duplicate = await cli(csms, "tokens", "add", "driver-1")
    assert (duplicate.exit_code, duplicate.stderr) == (
        2,
        "error: id token 'driver-1' already exists\n",
    )
    naive = await cli(csms, "tokens", "add", "T3", "--expires-at", "2030-01-01T00:00:00")
    assert naive.exit_code == 2
    assert naive.stderr.startswith("error: body.expires_at: Input should have timezone info")

    listed = ok(await cli(csms, "tokens", "list"))
    assert row_of(listed, "TOKEN") == [
        "TOKEN", "TYPE", "STATUS", "GROUP", "EXPIRES", "MAX SESSIONS", "LOCATIONS"
    ]  # fmt: skip
    assert row_of(listed, "DRIVER-1") == [
        "DRIVER-1",
        "ISO14443",
        "Accepted",
        "FLEET",
        "-",
        "-",
        "-",
    ]
    assert row_of(listed, "other-2")[-1] == "SIM-1, X/1"
    group = parsed(await cli(csms, "tokens", "list", "--group", "FLEET", "--json"))
    assert [t["id_token"] for t in group["items"]] == ["DRIVER-1"]
    shown = ok(await cli(csms, "tokens", "show", "driver-1"))
    assert "group         FLEET" in shown
    assert "locations     everywhere" in shown

    blocked = ok(await cli(csms, "tokens", "block", "other-2"))
    assert "status        Blocked" in blocked
    cleared = parsed(
        await cli(csms, "tokens", "set", "other-2", "--clear", "allowed_locations", "--json")
    )
    assert cleared["allowed_locations"] is None
    exported = ok(await cli(csms, "tokens", "export"))
    assert exported.splitlines()[0].startswith("id_token,")
    assert len(exported.splitlines()) == 3
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text(exported.splitlines()[0] + "\nNEW-1,,Sideways,,,,\n")
    refused = await cli(csms, "tokens", "import", str(bad_csv))
    assert refused.exit_code == 2
    first, line = refused.stderr.splitlines()
    assert first == "error: nothing imported: 1 wrong line(s)"
    assert line.startswith("  line 2: ")
    ok(await cli(csms, "tokens", "remove", "other-2", "--yes"))
    assert await csms.storage.id_tokens.get("other-2") is None

    assert ok(await cli(csms, "transactions", "list")) == "no transactions\n"
    async with SimulatedStation(sim_config(csms, "SIM-1", OcppVersion.V16)) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        await st.start_transaction(1, "DRIVER-1")
        active = ok(await cli(csms, "transactions", "list", "--active"))
        assert row_of(active, "1")[:5] == ["1", "SIM-1", "1/1", "DRIVER-1", "Active"]
        await st.stop_transaction(1)

    assert ok(await cli(csms, "transactions", "list", "--active")) == "no transactions\n"
    listed_tx = ok(await cli(csms, "transactions", "list", "--station", "SIM-1"))
    done = row_of(listed_tx, "1")
    assert done[:5] == ["1", "SIM-1", "1/1", "DRIVER-1", "Completed"]
    assert done[-1] == "Local"
    shown_tx = ok(await cli(csms, "transactions", "show", "1"))
    assert "status           Completed" in shown_tx
    assert "authorization    Accepted" in shown_tx
    assert row_of(shown_tx, "MEASURAND")[:3] == ["MEASURAND", "SAMPLES", "LAST VALUE"]
    detail = parsed(await cli(csms, "transactions", "show", "1", "--json"))
    assert (detail["id_token"], detail["status"]) == ("DRIVER-1", "Completed")
    csv_text = ok(await cli(csms, "transactions", "export", "--station", "SIM-1"))
    assert csv_text.splitlines()[0].startswith("id,station_id,")
    assert csv_text.splitlines()[1].startswith("1,SIM-1,")
    missing = await cli(csms, "transactions", "show", "99")
    assert (missing.exit_code, missing.stderr) == (2, "error: transaction 99 not found\n")
    both = await cli(csms, "transactions", "list", "--active", "--status", "Completed")
    assert both.exit_code == 2


async def test_bad_or_missing_token(csms: Csms) -> None:
    wrong = await cli(csms, "stations", "list", token="not-the-token")
    assert wrong.exit_code == 2
    assert wrong.stdout == ""
    assert wrong.stderr.startswith("error: bad --token (or OPENCSMS_ADMIN_TOKEN): the API answered")
    missing = await cli(csms, "stations", "list", token=None)
    assert missing.exit_code == 2
    assert missing.stderr.startswith("error: missing --token (or OPENCSMS_ADMIN_TOKEN)")
    # the station port instead of the API port: an HTTP answer, but not the API's JSON
    ocpp_port = f"http://127.0.0.1:{csms.ports.ocpp}"
    wrong_port = await cli(csms, "stations", "list", "--url", ocpp_port)
    assert wrong_port.exit_code == 2
    assert wrong_port.stderr.endswith("is --url an OpenCSMS API?\n")
    not_a_url = await cli(csms, "stations", "list", "--url", "localhost")
    assert not_a_url.exit_code == 2
    assert not_a_url.stderr.startswith("error: bad --url 'localhost'")


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def run_process(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """``opencsms ARGS`` as a process, with ``env`` instead of this process's OPENCSMS_* vars."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("OPENCSMS_")}
    process = await asyncio.create_subprocess_exec(
        OPENCSMS,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**inherited, **env},
    )
    async with asyncio.timeout(20):
        out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def test_real_process_with_env_and_with_the_server_down(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CS-9"))
    url = f"http://127.0.0.1:{csms.ports.http}/api/v1/"  # as copied from the API docs
    code, out, err = await run_process(
        "stations",
        "list",
        "--json",
        env={"OPENCSMS_API_URL": url, "OPENCSMS_ADMIN_TOKEN": ADMIN_TOKEN},
    )
    assert (code, err) == (0, "")
    async with api_client(csms) as api:
        expected = (await api.get("/api/v1/stations")).json()
    assert orjson.loads(out) == expected

    down = f"http://127.0.0.1:{closed_port()}"
    code, out, err = await run_process("tokens", "list", "--url", down, "--token", "x", env={})
    assert code == 1
    assert out == ""
    assert err.startswith(f"error: cannot reach the OpenCSMS API at {down}: ")
    assert "set --url or OPENCSMS_API_URL" in err
