"""The test tool's side of the conformance suite: a charging station played exactly as the OCTT
(OCPP Compliance Testing Tool) plays it against a CSMS.

Independent of the CSMS on purpose: nothing here imports ``opencsms``. Frames go over a real
WebSocket; every CALL the CSMS sends and every answer it returns is validated against the
official JSON schema of its action (read from the ``ocpp`` package, the same files the OCA
publishes) with ``format`` checked, as the OCTT does; the tool's own messages are validated too,
so a test cannot pass on a frame a real station could not send.

A test reads like the scenario table of its test case:

    station = await octt.connect("CS1", "ocpp2.0.1")
    await booted(station)                                   # Reusable State Booted
    call = await station.expect("GetVariables")             # 1. The CSMS sends ...
    await station.respond(call, {...})                      # 2. The OCTT responds ...

The OCTT fails a test case when the CSMS sends a message the scenario does not expect; so does
``expect`` (a CALL of another action fails the test, naming both), unless the test declared it
with ``station.tolerate(action, answer)``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import itertools
import json
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import jsonschema_rs
import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

DEFAULT_WAIT = 10.0
"""Seconds the tool waits for a message the scenario expects (the OCTT's message timeout)."""

VERSION_DIRS = {"ocpp1.6": "v16", "ocpp2.0.1": "v201", "ocpp2.1": "v21"}


class ConformanceFailure(AssertionError):
    """The CSMS did something the test case does not allow (the OCTT's verdict FAIL)."""


def now() -> str:
    """A timestamp as a station sends it (UTC, RFC 3339 with milliseconds)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@functools.cache
def _validator(protocol: str, action: str, response: bool) -> Any:
    directory = VERSION_DIRS[protocol]
    if directory == "v16":
        name = f"{action}Response.json" if response else f"{action}.json"
    else:
        name = f"{action}Response.json" if response else f"{action}Request.json"
    text = (resources.files("ocpp") / directory / "schemas" / name).read_text(encoding="utf-8")
    schema = json.loads(text)
    # The 1.6 schemas carry an ``id`` urn that some validators try to resolve; it names nothing.
    schema.pop("id", None)
    schema.pop("$id", None)
    return jsonschema_rs.validator_for(schema, validate_formats=True)


def check_schema(protocol: str, action: str, payload: Any, *, response: bool, who: str) -> None:
    """Fail when ``payload`` breaks the official schema of ``action``."""
    errors = [str(e) for e in _validator(protocol, action, response).iter_errors(payload)]
    if errors:
        kind = "response" if response else "request"
        raise ConformanceFailure(f"{who} sent a {action} {kind} that breaks its schema: {errors}")


@dataclass
class Call:
    """A CALL the CSMS sent to the tool."""

    message_id: str
    action: str
    payload: dict[str, Any]


@dataclass
class CallError(Exception):
    """The CSMS answered the tool's CALL with a CALLERROR."""

    code: str
    description: str
    details: Any = None


@dataclass
class Station:
    """One simulated charging station of the test tool, over one WebSocket connection."""

    ws: ClientConnection
    protocol: str
    station_id: str
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _pending: dict[str, tuple[str, asyncio.Future[list[Any]]]] = field(default_factory=dict)
    _calls: asyncio.Queue[Call | None] = field(default_factory=asyncio.Queue)
    _tolerated: dict[str, Callable[[Call], dict[str, Any]]] = field(default_factory=dict)
    _reader: asyncio.Task[None] | None = None
    received: list[Call] = field(default_factory=list)
    """Every CALL the CSMS sent on this connection, in order (tolerated ones included)."""

    def start(self) -> None:
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                text = message if isinstance(message, str) else message.decode()
                frame = orjson.loads(text)
                kind = frame[0]
                if kind == 2:
                    call = Call(frame[1], frame[2], frame[3])
                    self.received.append(call)
                    check_schema(
                        self.protocol, call.action, call.payload, response=False, who="the CSMS"
                    )
                    answer = self._tolerated.get(call.action)
                    if answer is not None:
                        await self.respond(call, answer(call))
                    else:
                        self._calls.put_nowait(call)
                elif kind in (3, 4):
                    entry = self._pending.pop(frame[1], None)
                    if entry is None:
                        raise ConformanceFailure(f"the CSMS answered an unknown message id: {text}")
                    entry[1].set_result(frame)
                else:
                    raise ConformanceFailure(f"unexpected frame type from the CSMS: {text}")
        except ConnectionClosed:
            pass
        finally:
            self._calls.put_nowait(None)
            for _, future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("the CSMS closed the connection"))

    def tolerate(
        self, action: str, answer: dict[str, Any] | Callable[[Call], dict[str, Any]]
    ) -> None:
        """Answer every CALL of ``action`` the CSMS sends with ``answer`` instead of failing."""
        if callable(answer):
            self._tolerated[action] = answer
        else:
            fixed: dict[str, Any] = answer
            self._tolerated[action] = lambda _call: fixed

    async def send(
        self, action: str, payload: dict[str, Any], *, wait: float = DEFAULT_WAIT
    ) -> dict[str, Any]:
        """Send a CALL; return the CSMS's CALLRESULT payload (schema-checked). A CALLERROR
        raises ``CallError``."""
        frame = await self.send_frame(action, payload, wait=wait)
        if frame[0] == 4:
            raise CallError(frame[2], frame[3], frame[4] if len(frame) > 4 else None)
        result: dict[str, Any] = frame[2]
        check_schema(self.protocol, action, result, response=True, who="the CSMS")
        return result

    async def send_frame(
        self, action: str, payload: dict[str, Any], *, wait: float = DEFAULT_WAIT
    ) -> list[Any]:
        """Send a CALL (validated as the tool's own message); return the raw answer frame."""
        check_schema(self.protocol, action, payload, response=False, who="the test tool")
        message_id = f"octt-{next(self._ids)}"
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._pending[message_id] = (action, future)
        await self.ws.send(orjson.dumps([2, message_id, action, payload]).decode())
        try:
            async with asyncio.timeout(wait):
                return await future
        except TimeoutError:
            raise ConformanceFailure(f"no answer to {action} within {wait} s") from None

    async def send_raw(self, text: str) -> None:
        await self.ws.send(text)

    async def expect(self, action: str, *, wait: float = DEFAULT_WAIT) -> Call:
        """The next CALL the CSMS sends, which must be ``action``."""
        try:
            async with asyncio.timeout(wait):
                call = await self._calls.get()
        except TimeoutError:
            raise ConformanceFailure(f"the CSMS sent no {action} within {wait} s") from None
        if call is None:
            self._calls.put_nowait(None)
            raise ConformanceFailure(f"the connection closed while waiting for {action}")
        if call.action != action:
            raise ConformanceFailure(
                f"expected {action} from the CSMS, got {call.action}: {call.payload}"
            )
        return call

    async def expect_nothing(self, wait: float = 1.0) -> None:
        """Fail if the CSMS sends a CALL within ``wait`` seconds."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                call = await self._calls.get()
                if call is not None:
                    raise ConformanceFailure(f"unexpected {call.action} from the CSMS: {call}")
                self._calls.put_nowait(None)

    async def respond(self, call: Call, payload: dict[str, Any]) -> None:
        """Answer a CSMS CALL with a CALLRESULT (validated as the tool's own message)."""
        check_schema(self.protocol, call.action, payload, response=True, who="the test tool")
        await self.ws.send(orjson.dumps([3, call.message_id, payload]).decode())

    async def respond_error(self, call: Call, code: str, description: str = "") -> None:
        await self.ws.send(orjson.dumps([4, call.message_id, code, description, {}]).decode())

    async def closed(self, wait: float = DEFAULT_WAIT) -> int | None:
        """Wait until the CSMS closes the connection; return the close code."""
        async with asyncio.timeout(wait):
            await self.ws.wait_closed()
        return self.ws.close_code

    async def close(self) -> None:
        await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await self._reader


def basic_auth(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@contextlib.asynccontextmanager
async def connect_station(
    url: str,
    station_id: str,
    protocol: str,
    *,
    password: str | None = None,
    username: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> AsyncIterator[Station]:
    """Open the station's WebSocket at ``{url}/{station_id}`` (HTTP Basic when ``password``)."""
    headers = basic_auth(username or station_id, password) if password is not None else None
    async with connect(
        f"{url}/{station_id}",
        subprotocols=[Subprotocol(protocol)],
        additional_headers=headers,
        ssl=ssl_context,
        open_timeout=5,
        ping_interval=None,
    ) as ws:
        if ws.subprotocol != protocol:
            raise ConformanceFailure(f"the CSMS did not accept subprotocol {protocol}")
        station = Station(ws, protocol, station_id)
        station.start()
        try:
            yield station
        finally:
            await station.close()


async def refused(url: str, station_id: str, protocol: str, **kwargs: Any) -> int:
    """Try to connect; return the HTTP status of the refusal. Fails if the upgrade succeeds."""
    try:
        async with connect_station(url, station_id, protocol, **kwargs):
            pass
    except InvalidStatus as refusal:
        return refusal.response.status_code
    raise ConformanceFailure("the CSMS upgraded a connection it should have refused")
