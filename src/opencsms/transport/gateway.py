"""The station gateway: the WebSocket server stations connect to.

Handshake rules (OCPP-J 1.6 §3, 2.0.1 part 4 §3):

* the station id is the last path segment after ``/ocpp/``, percent-decoded, at most 48 characters
  and without ':' (it doubles as the Basic-auth user name);
* an id the CSMS does not know gets HTTP 404 before the upgrade, unless the unknown-station policy
  admits it;
* one listener per security profile (1.6 security whitepaper A00.FR.006): plain ws (1), wss with
  Basic auth (2), wss with client certificates (3; TLS rules in :mod:`.tls`);
* a station connecting to the listener of a profile other than its own (or a pending upgrade's,
  A05.FR.08) is refused with HTTP 403 (A00.FR.002);
* profiles 1 and 2: a station with a password must present HTTP Basic credentials whose user name
  equals its id and whose password is its current one or, during a rotation, its new one
  (A00.FR.202-204, A01), otherwise HTTP 401; on profile 2 a password is required;
* profile 3: the verified client certificate's CN must equal the station id (A00.FR.405) and,
  when configured, its O the CPO name (A00.FR.404), otherwise HTTP 403;
* repeated failures back off per station id and per address (HTTP 429,
  :mod:`opencsms.auth_backoff`);
* each refusal of a known station for a security reason (wrong profile, credentials or client
  certificate) is logged as a security event of the CSMS's own (A00.FR.323 / A00.FR.408:
  ``on_refused``), before the refusal is answered; refusals during back-off are not (they would
  let an attacker fill the store);
* the subprotocol is the first of the server's preference order that the station offered; when none
  matches the handshake completes without a subprotocol and the connection is closed at once.
"""

from __future__ import annotations

import functools
import http
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from ssl import SSLContext
from typing import Protocol
from urllib.parse import unquote

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from opencsms.auth_backoff import AuthBackoff
from opencsms.ocpp.version import OcppVersion
from opencsms.passwords import parse_basic_credentials, password_candidates, verify_password
from opencsms.transport.tls import peer_subject
from opencsms.transport.websocket import StationWebSocket

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
    security_profiles: frozenset[int] = frozenset({1})
    """The profiles the station may connect at: its own, and a pending upgrade (A05.FR.08)."""
    pending_password_hash: str | None = None
    """The new password of a rotation in progress, accepted next to the current one (A01)."""
    profile: int = 1
    """Set by the gateway: the profile of the listener the station connected to."""
    used_pending_password: bool = False
    """Set by the gateway: the station authenticated with the pending (new) password."""


class Admitter(Protocol):
    """Looks up (or, by policy, registers) the station behind a connection attempt."""

    async def admit(self, station_id: str) -> Admission | None:
        """Return the station's admission data, or None when it must be refused with 404."""
        ...

    async def authenticated(self, admission: Admission) -> None:
        """The station proved who it is (with ``admission.profile`` and, when
        ``admission.used_pending_password``, its new password); awaited before the upgrade
        completes, so what this settles is settled when the station gets its 101."""
        ...


OnConnection = Callable[[StationWebSocket, Admission, OcppVersion], Awaitable[None]]
OnRefused = Callable[[str, str, str], Awaitable[object]]
"""(station id, security event type, reason): log a refusal as a security event."""

FAILED_TO_AUTHENTICATE = "FailedToAuthenticateAtCsms"
INVALID_STATION_CERTIFICATE = "InvalidChargingStationCertificate"


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
        backoff: AuthBackoff | None = None,
        client_organization: str | None = None,
        on_refused: OnRefused | None = None,
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
        self._backoff = backoff
        self._client_organization = client_organization
        self._on_refused = on_refused
        self._admitted: dict[ServerConnection, Admission] = {}
        self._servers: list[Server] = []

    async def start(
        self, host: str, port: int, *, profile: int = 1, ssl: SSLContext | None = None
    ) -> int:
        """Listen on ``host:port`` for stations of security ``profile`` (with ``ssl`` for 2 and 3)
        and return the bound port (useful with port 0). Call once per listener."""
        if (profile == 1) != (ssl is None):
            raise ValueError("profile 1 is plain ws; profiles 2 and 3 need a TLS context")
        server = await serve(
            self._handle,
            host,
            port,
            ssl=ssl,
            subprotocols=self._preference,
            select_subprotocol=self._select_subprotocol,
            process_request=functools.partial(self._process_request, profile),
            compression=self._compression,
            max_size=self._max_frame_size,
            ping_interval=self._ping_interval,
            ping_timeout=self._ping_timeout,
            close_timeout=self._close_timeout,
            open_timeout=self._open_timeout,
            server_header="OpenCSMS",
            backlog=self._backlog,
            create_connection=StationWebSocket,
        )
        self._servers.append(server)
        sockets = list(server.sockets)
        bound: int = sockets[0].getsockname()[1]
        return bound

    async def stop_listening(self) -> None:
        """Refuse new connections; live ones are left to their owner to drain."""
        for server in self._servers:
            server.close(close_connections=False)

    async def close(self) -> None:
        """Close the listeners and any connection still open."""
        for server in self._servers:
            server.close(close_connections=True)
        for server in self._servers:
            await server.wait_closed()

    # ------------------------------------------------------------------ handshake

    async def _process_request(
        self, profile: int, connection: ServerConnection, request: Request
    ) -> Response | None:
        station_id = parse_station_id(request.path)
        if station_id is None:
            return _refuse(connection, http.HTTPStatus.BAD_REQUEST, "invalid station id in path")
        address = _address(connection)
        if self._backoff is not None:
            wait = self._backoff.retry_after(station_id, address)
            if wait > 0:
                log.warning(
                    "station %r from %s: too many failed attempts, refused for %.0f s",
                    station_id,
                    address,
                    wait,
                )
                response = _refuse(
                    connection, http.HTTPStatus.TOO_MANY_REQUESTS, "too many failed attempts"
                )
                response.headers["Retry-After"] = str(math.ceil(wait))
                return response
        admission = await self._admitter.admit(station_id)
        if admission is None:
            log.info("refused unknown station %r from %s", station_id, address)
            self._failed(None, address)
            return _refuse(connection, http.HTTPStatus.NOT_FOUND, "unknown charging station")
        if profile not in admission.security_profiles:
            log.warning(
                "refused station %r from %s: it uses security profile %s, this listener "
                "profile %d (A00.FR.002)",
                station_id,
                address,
                "/".join(str(p) for p in sorted(admission.security_profiles)),
                profile,
            )
            self._failed(station_id, address)
            await self._log_refusal(
                station_id,
                FAILED_TO_AUTHENTICATE,
                f"connected to the profile {profile} listener from {address}; its security "
                f"profile is {'/'.join(str(p) for p in sorted(admission.security_profiles))} "
                "(A00.FR.002)",
            )
            return _refuse(
                connection, http.HTTPStatus.FORBIDDEN, "wrong security profile for this station"
            )
        used_pending = False
        if profile == 3:
            refusal = self._certificate_refusal(connection, station_id)
            if refusal is not None:
                log.warning("refused station %r from %s: %s", station_id, address, refusal)
                self._failed(station_id, address)
                await self._log_refusal(
                    station_id, INVALID_STATION_CERTIFICATE, f"{refusal}, from {address}"
                )
                return _refuse(connection, http.HTTPStatus.FORBIDDEN, "client certificate refused")
        elif admission.password_hash is not None or profile == 2:
            matched = _authorized(request, admission)
            if matched is None:
                log.warning("bad credentials for station %r from %s", station_id, address)
                self._failed(station_id, address)
                await self._log_refusal(
                    station_id,
                    FAILED_TO_AUTHENTICATE,
                    f"HTTP Basic credentials refused (profile {profile}), from {address}",
                )
                response = _refuse(
                    connection, http.HTTPStatus.UNAUTHORIZED, "authentication required"
                )
                response.headers["WWW-Authenticate"] = 'Basic realm="OpenCSMS", charset="UTF-8"'
                return response
            used_pending = matched == "pending"
        if self._backoff is not None:
            self._backoff.succeeded(station_id, address)
        admission = replace(admission, profile=profile, used_pending_password=used_pending)
        await self._admitter.authenticated(admission)
        self._admitted[connection] = admission
        return None

    def _certificate_refusal(self, connection: ServerConnection, station_id: str) -> str | None:
        """Why the verified client certificate does not belong to ``station_id`` (None: it does).

        The TLS layer has already checked its chain (A00.FR.403/407); here: the CN is the station
        id (A00.FR.405, the serial number the station connects with) and, when configured, the O
        is the CPO's name (A00.FR.404).
        """
        subject = peer_subject(connection.transport.get_extra_info("ssl_object"))
        common_name = subject.get("commonName")
        if not common_name:
            return "no client certificate common name"
        if common_name != station_id:
            return f"client certificate CN {common_name!r} is not the station id (A00.FR.405)"
        organization = self._client_organization
        if organization is not None and subject.get("organizationName") != organization:
            return (
                f"client certificate O {subject.get('organizationName')!r} is not "
                f"{organization!r} (A00.FR.404)"
            )
        return None

    async def _log_refusal(self, station_id: str, event_type: str, reason: str) -> None:
        if self._on_refused is None:
            return
        try:
            await self._on_refused(station_id, event_type, reason)
        except Exception:
            # The refusal stands whatever happens to its record.
            log.exception("could not log the refusal of station %r as a security event", station_id)

    def _failed(self, station_id: str | None, address: str | None) -> None:
        if self._backoff is not None:
            self._backoff.failed(station_id, address)

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
        assert isinstance(connection, StationWebSocket)  # serve(create_connection=...)
        await self._on_connection(connection, admission, version)


def _authorized(request: Request, admission: Admission) -> str | None:
    """Which password the request's Basic credentials match: "current", "pending" or None."""
    credentials = parse_basic_credentials(request.headers.get("Authorization"))
    if credentials is None:
        return None
    username, raw = credentials
    # The user name must be the station id (OCPP-J 2.0.1 part 4 §3.2 / 1.6 security whitepaper
    # A00.FR.204).
    if username != admission.station_id:
        return None
    # A 1.6 station may send its AuthorizationKey as hex text or as the bytes it stands for
    # (passwords.password_candidates). The subprotocol is not chosen yet: a station offering
    # ocpp1.6 gets both forms.
    offered = request.headers.get("Sec-WebSocket-Protocol", "")
    ocpp16 = "ocpp1.6" in (part.strip() for part in offered.split(","))
    for password in password_candidates(raw, ocpp16=ocpp16):
        if admission.password_hash is not None and verify_password(
            password, admission.password_hash
        ):
            return "current"
        pending = admission.pending_password_hash
        if pending is not None and verify_password(password, pending):
            return "pending"
    return None


def _address(connection: ServerConnection) -> str | None:
    """The peer's IP address (without the port: back-off counts per host)."""
    remote = connection.remote_address
    if isinstance(remote, tuple) and remote:
        return str(remote[0])
    return None


def _refuse(connection: ServerConnection, status: http.HTTPStatus, text: str) -> Response:
    return connection.respond(status, text + "\n")
