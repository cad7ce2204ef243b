"""Drive the strict ``ocpp-rpc`` CSMS (``tests/peers/ocpp-rpc/server.js``, Node) from pytest.

The server runs as a subprocess: it prints JSON lines on stdout (the port it bound, every CALL a
station sent with the answer that went out, strict-validation failures, command outcomes) and
reads commands on stdin (a CALL to send to a station). See the header of ``server.js``.

    async with RpcCsms(heartbeat_interval=1) as csms:
        ...  # point a station at csms.url
        await csms.recorder.wait_for("CS1", "BootNotification")
        answer = await csms.call("CS1", "GetVariables", {...})

``npm ci --prefix tests/peers/ocpp-rpc`` (run by ``make test``) must have installed ``ocpp-rpc``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shutil
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.peers.recording import Payload, PeerCallError, PeerRequest, Recorder

__all__ = ["SERVER_DIR", "RpcCsms", "node_executable"]

SERVER_DIR = Path(__file__).resolve().parent / "ocpp-rpc"
_STARTUP_TIMEOUT = 15.0
_CALL_TIMEOUT = 15.0
_LINE_LIMIT = 1 << 20  # a GetConfiguration / GetReport answer can be long


def node_executable() -> str | None:
    """The ``node`` binary on PATH, or None."""
    return shutil.which("node")


class RpcCsms:
    """The ``ocpp-rpc`` strict server as a subprocess; see the module docstring."""

    name = "ocpp-rpc"

    def __init__(self, *, heartbeat_interval: int = 300) -> None:
        self.heartbeat_interval = heartbeat_interval
        self.recorder = Recorder()
        self._port: asyncio.Future[int] | None = None
        self._pending: dict[int, asyncio.Future[Payload]] = {}
        self._ids = itertools.count(1)
        self._process: asyncio.subprocess.Process | None = None
        self._exit = contextlib.AsyncExitStack()

    async def __aenter__(self) -> RpcCsms:
        node = node_executable()
        if node is None:
            raise FileNotFoundError("node is not installed")
        if not (SERVER_DIR / "node_modules" / "ocpp-rpc").is_dir():
            raise RuntimeError(
                "ocpp-rpc is not installed: run `make test` or "
                "`npm ci --no-audit --no-fund --prefix tests/peers/ocpp-rpc`"
            )
        self._port = asyncio.get_running_loop().create_future()
        self._process = await asyncio.create_subprocess_exec(
            node,
            "server.js",
            "0",
            "--heartbeat-interval",
            str(self.heartbeat_interval),
            cwd=SERVER_DIR,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=_LINE_LIMIT,
        )
        tasks = await self._exit.enter_async_context(asyncio.TaskGroup())
        tasks.create_task(self._read(), name="ocpp-rpc-stdout")
        # Runs before the task group exits: the reader ends at EOF, once the server stopped.
        self._exit.push_async_callback(self._stop)
        try:
            async with asyncio.timeout(_STARTUP_TIMEOUT):
                await self._port
        except BaseException:
            await self._exit.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._exit.aclose()

    @property
    def url(self) -> str:
        """The endpoint stations connect to (their id is appended)."""
        assert self._port is not None
        assert self._port.done()
        return f"ws://127.0.0.1:{self._port.result()}/ocpp"

    async def call(self, station: str, action: str, payload: Payload) -> Payload:
        """Have the server call ``station`` (its strict mode validates our request and the
        station's answer) and return the answer. Raises :class:`PeerCallError`."""
        process = self._process
        assert process is not None
        assert process.stdin is not None
        command_id = next(self._ids)
        future: asyncio.Future[Payload] = asyncio.get_running_loop().create_future()
        self._pending[command_id] = future
        command = {"id": command_id, "station": station, "action": action, "params": payload}
        process.stdin.write(json.dumps(command).encode() + b"\n")
        await process.stdin.drain()
        try:
            async with asyncio.timeout(_CALL_TIMEOUT):
                return await future
        finally:
            self._pending.pop(command_id, None)

    async def _read(self) -> None:
        """Turn the server's stdout lines into records and command outcomes until it exits."""
        process = self._process
        assert process is not None
        assert process.stdout is not None
        while line := await process.stdout.readline():
            try:
                event = json.loads(line)
            except ValueError:
                self.recorder.problem(f"unexpected output: {line!r}")
                continue
            self._dispatch(event)
        # EOF: the server is gone; nobody may wait for it any longer.
        gone = PeerCallError("PeerExited", f"ocpp-rpc server exited ({process.returncode})")
        if self._port is not None and not self._port.done():
            self._port.set_exception(gone)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(gone)

    def _dispatch(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "listening":
            assert self._port is not None
            self._port.set_result(int(event["port"]))
        elif kind == "connect":
            self.recorder.connected(event["station"])
        elif kind == "call":
            error = event.get("error")
            self.recorder.add(
                PeerRequest(
                    station=event["station"],
                    action=event["action"],
                    payload=event["params"],
                    result=event.get("result"),
                    error=None if error is None else error["code"],
                    error_description="" if error is None else error["message"],
                )
            )
        elif kind in ("result", "error"):
            future = self._pending.get(event["id"])
            if future is None or future.done():
                return
            if kind == "result":
                future.set_result(event["result"])
            else:
                error = event["error"]
                future.set_exception(PeerCallError(error["code"], error["message"]))
        elif kind in ("strictValidationFailure", "badMessage"):
            self.recorder.problem(json.dumps(event))
        # "disconnect": nothing to do; the next "connect" counts the new connection.

    async def _stop(self) -> None:
        """Close stdin (the server shuts down by itself), or kill it if it does not."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        assert process.stdin is not None
        process.stdin.close()
        try:
            async with asyncio.timeout(5):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
