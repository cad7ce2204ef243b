"""Test helpers that speak raw OCPP-J over a real WebSocket, and a running CSMS to talk to."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import itertools
import os
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from opencsms.app import Csms
from opencsms.config import Settings
from opencsms.storage.migrate import migrate

ADMIN_TOKEN = "test-admin-token"


@functools.cache
def _migrated_template() -> Path:
    """A SQLite database migrated to head, once per test process (in a thread: callers may be
    inside a running event loop)."""
    path = Path(tempfile.mkdtemp(prefix="opencsms-template-")) / "template.db"
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, migrate(f"sqlite:///{path}")).result()
    return path


def fresh_database(path: Path) -> str:
    """The URL of a SQLite database at ``path``, a copy of the migrated template unless a
    database is there already (a test restarting a CSMS on its data). Copying skips the ~0.2 s
    of running every migration for each of the hundreds of CSMS nodes the suite starts; the
    CSMS still runs ``upgrade head`` on start, which finds it at head. The migrations
    themselves are tested from an empty database in tests/storage/test_db.py."""
    if not path.exists():
        shutil.copyfile(_migrated_template(), path)
    return f"sqlite:///{path}"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings_for(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for a CSMS on ephemeral loopback ports with a fresh SQLite file."""
    base = Settings(
        host="127.0.0.1",
        ocpp_port=0,
        http_port=0,
        db=fresh_database(tmp_path / "csms.db") if "db" not in overrides else overrides["db"],
        admin_token=ADMIN_TOKEN,
        ping_interval=0,
        validate_outgoing=True,
        # The writer thread runs the same batches as the production default's child process,
        # without a Python interpreter spawned per node (~0.2 s each, hundreds of nodes); both
        # writers are tested in tests/storage (the ``sqlite`` and ``sqlite-thread`` backends).
        sqlite_writer="thread",
        # Raw stations read the CSMS's frames in order: the GetChargingProfiles sent after a
        # boot is asked for only by the tests of it (tests/domain/test_charging_profile_*).
        charging_profile_reconcile_on_boot=False,
        # Hosted firmware and uploaded logs stay with the test, not in the working directory.
        files_dir=str(tmp_path / "files"),
    )
    return base.with_overrides(**overrides)


@contextlib.asynccontextmanager
async def running_csms(settings: Settings) -> AsyncIterator[Csms]:
    async with Csms(settings) as csms:
        yield csms


# uvicorn closes a kept-alive connection after 5 idle seconds; a client that reuses one at that
# moment reads a closed socket (httpx.ReadError). The client lets idle connections go first.
_KEEPALIVE_EXPIRY_S = 2.0


def api_client(csms: Csms, token: str | None = ADMIN_TOKEN) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{csms.ports.http}",
        headers=headers,
        limits=httpx.Limits(keepalive_expiry=_KEEPALIVE_EXPIRY_S),
    )


def basic_auth(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def raw_websocket(
    csms: Csms, station_id: str, subprotocol: str = "ocpp1.6"
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TCP connection that has done a WebSocket opening handshake by hand (RFC 6455 §4.1):
    what follows is whatever bytes the test writes, frames a library client would never send."""
    reader, writer = await asyncio.open_connection("127.0.0.1", csms.ports.ocpp)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /ocpp/{station_id} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: {subprotocol}\r\n\r\n"
        ).encode()
    )
    response = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert response.startswith(b"HTTP/1.1 101"), response
    return reader, writer


def client_frame(payload: bytes, *, first: int = 0x81, masked: bool = True) -> bytes:
    """One frame as a client sends it (RFC 6455 §5.2), masked unless told otherwise; ``first``
    is its first byte (FIN, reserved bits, opcode: a final text frame by default)."""
    length = len(payload)
    mask_bit = 0x80 if masked else 0
    if length < 126:
        head = bytes((first, mask_bit | length))
    elif length < 65536:
        head = bytes((first, mask_bit | 126)) + length.to_bytes(2)
    else:
        head = bytes((first, mask_bit | 127)) + length.to_bytes(8)
    if not masked:
        return head + payload
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


@dataclass
class RawStation:
    """A station played by the test: sends exact frames and reads exact frames back."""

    ws: ClientConnection
    _ids: itertools.count[int]

    async def send_raw(self, text: str) -> None:
        await self.ws.send(text)

    async def recv(self, wait: float = 5.0) -> list[Any]:
        """The next frame, parsed; TimeoutError if none arrives within ``wait`` seconds."""
        async with asyncio.timeout(wait):
            text = await self.ws.recv()
        frame = orjson.loads(text)
        assert isinstance(frame, list)
        return frame

    async def call(
        self, action: str, payload: dict[str, Any], message_id: str | None = None
    ) -> list[Any]:
        """Send a CALL and return the frame that answers it (CALLRESULT or CALLERROR)."""
        message_id = message_id or f"m{next(self._ids)}"
        await self.ws.send(orjson.dumps([2, message_id, action, payload]).decode())
        frame = await self.recv()
        assert frame[1] == message_id, frame
        return frame

    async def result(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send a CALL that must succeed; return the CALLRESULT payload."""
        frame = await self.call(action, payload)
        assert frame[0] == 3, frame
        payload_out: dict[str, Any] = frame[2]
        return payload_out


@contextlib.asynccontextmanager
async def raw_station(
    csms: Csms,
    station_id: str,
    subprotocol: str = "ocpp1.6",
    *,
    headers: dict[str, str] | None = None,
    subprotocols: list[str] | None = None,
) -> AsyncIterator[RawStation]:
    offered = subprotocols if subprotocols is not None else [subprotocol]
    async with connect(
        f"ws://127.0.0.1:{csms.ports.ocpp}/ocpp/{station_id}",
        subprotocols=[Subprotocol(p) for p in offered] or None,
        additional_headers=headers,
        compression=None,
        open_timeout=5,
    ) as ws:
        yield RawStation(ws, itertools.count(1))
