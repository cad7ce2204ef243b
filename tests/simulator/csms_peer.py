"""A scripted CSMS and a tiny HTTP file server for simulator tests.

OpenCSMS answers FirmwareStatusNotification, SignCertificate and friends with CALLERROR
NotSupported today, so the maintenance and certificate tests run the station against
:class:`CsmsPeer`: a ``websockets`` server on 127.0.0.1 port 0 that speaks real OCPP-J through
our own ``RpcSession`` in the CSMS role (wrapped in the simulator's I/O shell, ``Link``), records
every CALL the station sends, answers it from a table and lets the test send CALLs. Nothing of
the station is mocked.

:class:`FileServer` stands in for the firmware host and the log server (things outside the
project): GET serves ``files``, PUT/POST stores the body, every request is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.typing import Subprotocol

from opencsms.clock import utc_iso
from opencsms.errors import ConnectionClosedError, RpcError
from opencsms.ocpp.events import IncomingCall
from opencsms.ocpp.session import Role, RpcSession
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import BackOffConfig, StationConfig
from opencsms.simulator.connection import AfterAnswer, Link, Reply

__all__ = ["Answer", "CsmsPeer", "FileServer", "HttpRequest", "PeerCall"]

Payload = dict[str, Any]
Answer = Payload | Callable[[Payload], Payload] | RpcError
"""How the peer answers an action: a fixed payload, a function of the request, or a CALLERROR."""


@dataclass(frozen=True, slots=True)
class PeerCall:
    """A CALL the station sent; ``connection`` counts from 1 (a reboot opens the next one)."""

    action: str
    payload: Payload
    connection: int
    at: datetime


def _now() -> str:
    return utc_iso(datetime.now(UTC))


class CsmsPeer:
    """A scripted OCPP-J CSMS for one station at a time (see the module docstring)."""

    def __init__(
        self, version: OcppVersion, *, heartbeat_interval: int = 300, call_timeout: float = 5.0
    ) -> None:
        self.version = version
        self.call_timeout = call_timeout
        self.calls: list[PeerCall] = []
        """Every CALL received from the station, in order."""
        self.connections = 0
        interval = heartbeat_interval
        self.answers: dict[str, Answer] = {
            "BootNotification": lambda _: {
                "status": "Accepted",
                "currentTime": _now(),
                "interval": interval,
            },
            "Heartbeat": lambda _: {"currentTime": _now()},
            "SignCertificate": {"status": "Accepted"},
        }
        """Answers by action; anything not listed is answered ``{}`` (right for every
        notification: StatusNotification, FirmwareStatusNotification, LogStatusNotification,
        SecurityEventNotification, ...)."""
        self._taken: dict[str, int] = {}
        self._cond = asyncio.Condition()
        self._link: Link | None = None
        self._server: Server | None = None

    async def __aenter__(self) -> CsmsPeer:
        self._server = await serve(
            self._serve,
            "127.0.0.1",
            0,
            subprotocols=[Subprotocol(self.version.subprotocol)],
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        """The OCPP endpoint (station ids are appended by the station)."""
        assert self._server is not None
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}/ocpp"

    def station_config(self, station_id: str, **changes: Any) -> StationConfig:
        """A config for a station of this peer's version, with short timeouts and back-off."""
        values: dict[str, Any] = {
            "id": station_id,
            "version": self.version,
            "csms_url": self.url,
            "call_timeout": 5.0,
            "open_timeout": 5.0,
            "backoff": BackOffConfig(wait_minimum=0.2, random_range=0.0, repeat_times=1),
        }
        values.update(changes)
        return StationConfig(**values)

    # ---------------------------------------------------------------- test-facing API

    def actions(self) -> list[str]:
        """The actions of every CALL received so far, in order."""
        return [call.action for call in self.calls]

    async def next_call(self, action: str, timeout: float = 10.0) -> PeerCall:  # noqa: ASYNC109
        """The oldest CALL of ``action`` not yet returned by this method (waits for it)."""
        async with asyncio.timeout(timeout), self._cond:
            await self._cond.wait_for(lambda: len(self._of(action)) > self._taken.get(action, 0))
            index = self._taken.get(action, 0)
            self._taken[action] = index + 1
            return self._of(action)[index]

    async def wait_connections(self, count: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Return once the station has opened ``count`` connections in all."""
        async with asyncio.timeout(timeout), self._cond:
            await self._cond.wait_for(lambda: self.connections >= count)

    async def call(self, action: str, payload: Payload) -> Payload:
        """Send a CALL to the connected station and return its CALLRESULT payload
        (``CallFailedError`` on a CALLERROR or timeout)."""
        link = self._link
        if link is None or link.closed:
            raise ConnectionClosedError("no station connected", action=action)
        return await link.call(action, payload)

    def _of(self, action: str) -> list[PeerCall]:
        return [call for call in self.calls if call.action == action]

    # ---------------------------------------------------------------------- serving

    async def _serve(self, ws: ServerConnection) -> None:
        session = RpcSession(
            self.version,
            role=Role.CSMS,
            call_timeout=self.call_timeout,
            validate_outgoing_results=True,  # a wrong scripted answer fails loudly
        )
        link = Link(ws, session)  # type: ignore[arg-type]  # same API on the server side
        async with self._cond:
            self.connections += 1
            connection = self.connections
            self._link = link
            self._cond.notify_all()

        async def handle(incoming: IncomingCall) -> Reply:
            call = incoming.call
            async with self._cond:
                self.calls.append(
                    PeerCall(call.action, call.payload, connection, datetime.now(UTC))
                )
                self._cond.notify_all()
            answer = self.answers.get(call.action, {})
            if isinstance(answer, RpcError):
                return Reply(error=answer)
            return Reply(answer(call.payload) if callable(answer) else answer)

        def spawn(work: AfterAnswer) -> None:  # the peer's replies have no follow-ups
            raise AssertionError("unexpected follow-up")

        await link.run(handle, spawn)


# ------------------------------------------------------------------------------ HTTP


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request the file server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class FileServer:
    """A minimal HTTP/1.1 server on 127.0.0.1 port 0 (one request per connection)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        """Path → content: served by GET, written by PUT/POST."""
        self.status: dict[str, int] = {}
        """Path → status code to answer instead (e.g. 403, 500)."""
        self.failures = 0
        """Answer this many of the next requests with 503 (to exercise retries)."""
        self.requests: list[HttpRequest] = []
        self._cond = asyncio.Condition()
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> FileServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def url(self, path: str) -> str:
        """``http://127.0.0.1:<port><path>``."""
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}{path}"

    async def next_request(self, count: int = 1, timeout: float = 10.0) -> HttpRequest:  # noqa: ASYNC109
        """Wait until ``count`` requests arrived in all; return the last of them."""
        async with asyncio.timeout(timeout), self._cond:
            await self._cond.wait_for(lambda: len(self.requests) >= count)
            return self.requests[count - 1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            request_line, *header_lines = head.rstrip("\r\n").split("\r\n")
            method, path, _ = request_line.split(" ", 2)
            headers = {
                name.strip().lower(): value.strip()
                for name, value in (line.split(":", 1) for line in header_lines)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            request = HttpRequest(method, path, headers, body)
            status, content = self._respond(request)
            async with self._cond:
                self.requests.append(request)
                self._cond.notify_all()
            reason = {200: "OK", 201: "Created", 404: "Not Found"}.get(status, "Status")
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Length: {len(content)}\r\n"
                "Connection: close\r\n\r\n".encode("latin-1")
                + content
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _respond(self, request: HttpRequest) -> tuple[int, bytes]:
        if self.failures > 0:
            self.failures -= 1
            return 503, b""
        if request.path in self.status:
            return self.status[request.path], b""
        if request.method == "GET":
            content = self.files.get(request.path)
            return (200, content) if content is not None else (404, b"")
        if request.method in ("PUT", "POST"):
            created = request.path not in self.files
            self.files[request.path] = request.body
            return (201 if created else 200), b""
        return 405, b""
