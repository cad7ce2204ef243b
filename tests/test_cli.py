"""The ``opencsms`` command as a user runs it: a real process, env configuration, clean shutdown."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

import opencsms

OPENCSMS = str(Path(sys.executable).with_name("opencsms"))


async def _run(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        OPENCSMS, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode()


async def test_version() -> None:
    code, out = await _run("--version")
    assert code == 0
    assert out.strip() == f"opencsms {opencsms.__version__}"


async def test_migrate_creates_the_database(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    code, out = await _run("migrate", "--db", f"sqlite:///{db}")
    assert code == 0, out
    assert db.exists()
    code, out = await _run("migrate", "--db", f"sqlite:///{db}")  # idempotent
    assert code == 0, out


async def test_bad_config_file_is_reported(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[server]\nocpp_prot = 1\n")
    code, out = await _run("serve", "--config", str(config))
    assert code != 0
    assert "ocpp_prot" in out


async def test_bad_unknown_tokens_policy_is_reported() -> None:
    code, out = await _run("serve", "--unknown-tokens", "maybe")
    assert code == 2
    assert "--unknown-tokens" in out
    assert "reject or accept" in out


async def test_simulate_names_the_shipped_scenarios_for_an_unknown_one() -> None:
    code, out = await _run("simulate", "--url", "ws://127.0.0.1:9/ocpp", "--scenario", "nope")
    assert code == 2
    assert "depot-ac" in out
    assert "--scenario" in out


async def _read_until(stream: asyncio.StreamReader, pattern: str, seen: list[str]) -> re.Match[str]:
    async with asyncio.timeout(20):
        while True:
            line = (await stream.readline()).decode()
            if not line:
                raise AssertionError("process ended early:\n" + "".join(seen))
            seen.append(line)
            if match := re.search(pattern, line):
                return match


@pytest.mark.timeout(60)
async def test_serve_from_env_and_config_then_sigterm_closes_with_1001(tmp_path: Path) -> None:
    config = tmp_path / "opencsms.toml"
    config.write_text(
        "[server]\nheartbeat_interval = 77\n\n"
        '[[stations]]\nid = "CFG-1"\nregistration = "Accepted"\n'
    )
    env = {
        **os.environ,
        "OPENCSMS_OCPP_PORT": "0",
        "OPENCSMS_HTTP_PORT": "0",
        "OPENCSMS_HOST": "127.0.0.1",
        "OPENCSMS_DB": f"sqlite:///{tmp_path / 'serve.db'}",
        "OPENCSMS_ADMIN_TOKEN": "cli-token",
        "OPENCSMS_CONFIG": str(config),
    }
    process = await asyncio.create_subprocess_exec(
        OPENCSMS, "serve", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env
    )
    assert process.stdout is not None
    seen: list[str] = []
    try:
        ocpp_port = int(
            (await _read_until(process.stdout, r"OCPP listening on ws://[\d.]+:(\d+)", seen))[1]
        )
        http_port = int(
            (await _read_until(process.stdout, r"API listening on http://[\d.]+:(\d+)", seen))[1]
        )
        async with connect(
            f"ws://127.0.0.1:{ocpp_port}/ocpp/CFG-1", subprotocols=[Subprotocol("ocpp1.6")]
        ) as ws:
            await ws.send(
                orjson.dumps(
                    [
                        2,
                        "1",
                        "BootNotification",
                        {"chargePointVendor": "V", "chargePointModel": "M"},
                    ]
                ).decode()
            )
            reply = orjson.loads(await ws.recv())
            assert reply[2]["status"] == "Accepted"
            assert reply[2]["interval"] == 77
            async with httpx.AsyncClient() as api:
                station = await api.get(
                    f"http://127.0.0.1:{http_port}/api/v1/stations/CFG-1",
                    headers={"Authorization": "Bearer cli-token"},
                )
                assert station.status_code == 200
                assert station.json()["connected"] is True
            process.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1001
        async with asyncio.timeout(20):
            code = await process.wait()
        rest = (await process.stdout.read()).decode()
        assert code == 0, "".join(seen) + rest
        assert "stopped" in rest
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@pytest.mark.timeout(60)
async def test_ctrl_c_to_the_process_group_shuts_down_cleanly(tmp_path: Path) -> None:
    """A terminal's Ctrl-C reaches every process of the group, the SQLite writer child included;
    the server must still commit and stop cleanly."""
    env = {
        **os.environ,
        "OPENCSMS_OCPP_PORT": "0",
        "OPENCSMS_HTTP_PORT": "0",
        "OPENCSMS_HOST": "127.0.0.1",
        "OPENCSMS_DB": f"sqlite:///{tmp_path / 'group.db'}",
        "OPENCSMS_ADMIN_TOKEN": "cli-token",
        "OPENCSMS_UNKNOWN_STATIONS": "accept",
    }
    process = await asyncio.create_subprocess_exec(
        OPENCSMS,
        "serve",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    assert process.stdout is not None
    seen: list[str] = []
    try:
        match = await _read_until(process.stdout, r"OCPP listening on ws://[\d.]+:(\d+)", seen)
        async with connect(
            f"ws://127.0.0.1:{int(match[1])}/ocpp/GRP-1", subprotocols=[Subprotocol("ocpp1.6")]
        ) as ws:
            boot = {"chargePointVendor": "V", "chargePointModel": "M"}
            await ws.send(orjson.dumps([2, "1", "BootNotification", boot]).decode())
            assert orjson.loads(await ws.recv())[0] == 3
            os.killpg(process.pid, signal.SIGINT)
            with pytest.raises(ConnectionClosed):
                await ws.recv()
        async with asyncio.timeout(20):
            code = await process.wait()
        rest = (await process.stdout.read()).decode()
        output = "".join(seen) + rest
        assert code == 0, output
        assert "died" not in output, output
        assert "Traceback" not in output, output
    finally:
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()


@pytest.mark.timeout(60)
async def test_security_settings_from_env(tmp_path: Path) -> None:
    """OPENCSMS_OCPP_TLS_PORT, OPENCSMS_TLS_CERT_FILE / _KEY_FILE and OPENCSMS_SECURITY_PROFILE
    are honoured: a profile 2 listener is started and a station without a profile of its own is
    admitted there and refused on the plain ws listener (A00.FR.002)."""
    from websockets.exceptions import InvalidStatus

    from tests.transport.tls_pki import make_pki
    from tests.wire import basic_auth

    pki = make_pki(tmp_path)
    config = tmp_path / "opencsms.toml"
    config.write_text('[[stations]]\nid = "TLS-1"\npassword = "cli-tls-password-0001"\n')
    env = {
        **os.environ,
        "OPENCSMS_OCPP_PORT": "0",
        "OPENCSMS_HTTP_PORT": "0",
        "OPENCSMS_HOST": "127.0.0.1",
        "OPENCSMS_DB": f"sqlite:///{tmp_path / 'tls.db'}",
        "OPENCSMS_ADMIN_TOKEN": "cli-token",
        "OPENCSMS_CONFIG": str(config),
        "OPENCSMS_OCPP_TLS_PORT": "0",
        "OPENCSMS_TLS_CERT_FILE": str(pki.server_rsa.cert_file),
        "OPENCSMS_TLS_KEY_FILE": str(pki.server_rsa.key_file),
        "OPENCSMS_SECURITY_PROFILE": "2",
    }
    process = await asyncio.create_subprocess_exec(
        OPENCSMS, "serve", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env
    )
    assert process.stdout is not None
    seen: list[str] = []
    auth = basic_auth("TLS-1", "cli-tls-password-0001")
    try:
        tls_port = int((await _read_until(process.stdout, r"profile 2 .* port (\d+)", seen))[1])
        ws_port = int(
            (await _read_until(process.stdout, r"OCPP listening on ws://[\d.]+:(\d+)", seen))[1]
        )
        async with connect(
            f"wss://127.0.0.1:{tls_port}/ocpp/TLS-1",
            ssl=pki.client_context(),
            subprotocols=[Subprotocol("ocpp1.6")],
            additional_headers=auth,
        ) as ws:
            boot = {"chargePointVendor": "V", "chargePointModel": "M"}
            await ws.send(orjson.dumps([2, "1", "BootNotification", boot]).decode())
            assert orjson.loads(await ws.recv())[2]["status"] == "Accepted"
        with pytest.raises(InvalidStatus) as refused:
            async with connect(
                f"ws://127.0.0.1:{ws_port}/ocpp/TLS-1",
                subprotocols=[Subprotocol("ocpp1.6")],
                additional_headers=auth,
            ):
                pass
        assert refused.value.response.status_code == 403
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
