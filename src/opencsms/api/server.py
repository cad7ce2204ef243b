"""Runs the operator API (uvicorn) inside the CSMS's own event loop, on a socket the CSMS bound."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING

import uvicorn

from opencsms.api.app import create_app

if TYPE_CHECKING:
    from opencsms.app import Csms


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: the CSMS process owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ApiServer:
    """The HTTP listener of the operator API."""

    def __init__(self, csms: Csms) -> None:
        config = uvicorn.Config(
            create_app(csms),
            lifespan="off",
            log_level="warning",
            access_log=False,
            ws="none",
            server_header=False,
        )
        self._server = _EmbeddedServer(config)

    async def serve(self, sock: socket.socket) -> None:
        await self._server.serve(sockets=[sock])

    async def stop(self) -> None:
        self._server.should_exit = True
