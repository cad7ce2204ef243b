"""The station gateway: the WebSocket server stations connect to.

Handshake rules (OCPP-J 1.6 §3, 2.0.1 part 4 §3):

* the station id is the last path segment after ``/ocpp/``, percent-decoded, at most 48 characters
  and without ':' (it doubles as the Basic-auth user name);
* an id the CSMS does not know gets HTTP 404 before the upgrade, unless the unknown-station policy
  admits it;
* a station with a password must present HTTP Basic credentials whose user name equals its id
  (security profile 1), otherwise HTTP 401;
* the subprotocol is the first of the server's preference order that the station offered; when none
  matches the handshake completes without a subprotocol and the connection is closed at once.
"""

from __future__ import annotations

import http
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from opencsms.ocpp.version import OcppVersion
from opencsms.passwords import parse_basic_authorization, verify_password

log = logging.getLogger(__name__)

PATH_PREFIX = "/ocpp/"
MAX_STATION_ID_LENGTH = 48


@dataclass(frozen=True, slots=True)
class Admission:
    """What the handshake learnt about a station it let in."""

    station_id: str
    password_hash: str | None
    registration: str
    strictness: str


class Admitter(Protocol):
    """Looks up (or, by policy, registers) the station behind a connection attempt."""

    async def admit(self, station_id: str) -> Admission | None:
        """Return the station's admission data, or None when it must be refused with 404."""
        ...


OnConnection = Callable[[ServerConnection, Admission, OcppVersion], Awaitable[None]]


def parse_station_id(path: str) -> str | None:
    """Extract and validate the station id from the request path, or None when it is not valid."""
    path = path.split("?", 1)[0]
    if not path.startswith(PATH_PREFIX):
        return None
    raw = path[len(PATH_PREFIX) :]
    if not raw or "/" in raw:
        return None
    station_id = unquote(raw, errors="strict") if "%" in raw else raw
    if len(station_id) > MAX_STATION_ID_LENGTH or ":" in station_id:
        return None
    if any(ord(ch) < 0x20 or ch == "/" for ch in station_id):
        return None
    return station_id


class StationGateway:
    """Accepts station WebSocket connections and hands admitted ones to ``on_connection``."""

    def __init__(
        self,
        *,
        admitter: Admitter,
        on_connection: OnConnection,
        subprotocols: Sequence[str],
        max_frame_size: int,
        ping_interval: float | None,
        ping_timeout: float | None,
        close_timeout: float,
        compression: bool,
        open_timeout: float = 60.0,
        backlog: int,
    ) -> None:
        self._admitter = admitter
        self._on_connection = on_connection
        self._preference = [Subprotocol(p) for p in subprotocols]
        self._max_frame_size = max_frame_size
        self._ping_interval = ping_interval or None
        self._ping_timeout = ping_timeout or None
        self._close_timeout = close_timeout
        self._open_timeout = open_timeout
        self._compression = "deflate" if compression else None
        self._backlog = backlog
        self._admitted: dict[ServerConnection, Admission] = {}
        self._server: Server | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` and return the bound port (useful with port 0)."""
        self._server = await serve(
            self._handle,
            host,
            port,
            subprotocols=self._preference,
            select_subprotocol=self._select_subprotocol,
            process_request=self._process_request,
            compression=self._compression,
            max_size=self._max_frame_size,
            ping_interval=self._ping_interval,
            ping_timeout=self._ping_timeout,
            close_timeout=self._close_timeout,
            open_timeout=self._open_timeout,
            server_header="OpenCSMS",
            backlog=self._backlog,
        )
        sockets = list(self._server.sockets)
        bound: int = sockets[0].getsockname()[1]
        return bound

    async def stop_listening(self) -> None:
        """Refuse new connections; live ones are left to their owner to drain."""
        if self._server is not None:
            self._server.close(close_connections=False)

    async def close(self) -> None:
        """Close the listener and any connection still open."""
        if self._server is not None:
            self._server.close(close_connections=True)
            await self._server.wait_closed()

    # ------------------------------------------------------------------ handshake

    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        station_id = parse_station_id(request.path)
        if station_id is None:
            return _refuse(connection, http.HTTPStatus.BAD_REQUEST, "invalid station id in path")
        admission = await self._admitter.admit(station_id)
        if admission is None:
            log.info("refused unknown station %r from %s", station_id, connection.remote_address)
            return _refuse(connection, http.HTTPStatus.NOT_FOUND, "unknown charging station")
        if admission.password_hash is not None and not _authorized(request, admission):
            log.warning(
                "bad credentials for station %r from %s", station_id, connection.remote_address
            )
            response = _refuse(connection, http.HTTPStatus.UNAUTHORIZED, "authentication required")
            response.headers["WWW-Authenticate"] = 'Basic realm="OpenCSMS", charset="UTF-8"'
            return response
        self._admitted[connection] = admission
        return None

    def _select_subprotocol(
        self, connection: ServerConnection, offered: Sequence[Subprotocol]
    ) -> Subprotocol | None:
        for candidate in self._preference:
            if candidate in offered:
                return candidate
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        admission = self._admitted.pop(connection)
        version = OcppVersion.from_subprotocol(connection.subprotocol or "")
        if version is None:
            # OCPP-J 2.0.1 part 4 §3.1: complete the handshake without a subprotocol, then close.
            log.warning(
                "station %s offered no supported subprotocol (%s); closing",
                admission.station_id,
                connection.request.headers.get("Sec-WebSocket-Protocol")
                if connection.request
                else "",
            )
            await connection.close(1002, "no supported OCPP subprotocol")
            return
        await self._on_connection(connection, admission, version)


def _authorized(request: Request, admission: Admission) -> bool:
    credentials = parse_basic_authorization(request.headers.get("Authorization"))
    if credentials is None or admission.password_hash is None:
        return False
    username, password = credentials
    # The user name must be the station id (OCPP-J 2.0.1 part 4 §3.2 / 1.6 security whitepaper
    # §2.2).
    return username == admission.station_id and verify_password(password, admission.password_hash)


def _refuse(connection: ServerConnection, status: http.HTTPStatus, text: str) -> Response:
    return connection.respond(status, text + "\n")
