"""Runs the operator API (uvicorn) inside the CSMS's own event loop, on a socket the CSMS bound."""

from __future__ import annotations

import asyncio
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

    _TICK_SECONDS = 1.0

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.stopping = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's shutdown, without its unconditional 0.1 s sleep: stop accepting, ask every
        connection to finish, then wait (in short steps) only while requests are still being
        answered, up to ``timeout_graceful_shutdown`` (``None``: as long as they take)."""
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        state = self.server_state
        for connection in list(state.connections):
            connection.shutdown()
        loop = asyncio.get_running_loop()
        limit = self.config.timeout_graceful_shutdown
        deadline = None if limit is None else loop.time() + limit
        while (state.connections or state.tasks) and not self.force_exit:
            if deadline is not None and loop.time() >= deadline:
                for task in state.tasks:
                    task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
                break
            await asyncio.sleep(0.005)
        for server in self.servers:
            await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()

    async def main_loop(self) -> None:
        """uvicorn's loop polls ``should_exit`` every 0.1 s; this one wakes at once when asked to
        stop (a node stops ~0.1 s sooner) and ticks once a second, each tick counting as the ten
        of uvicorn's that refresh the Date header."""
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 10) % 864_000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), self._TICK_SECONDS)


class ApiServer:
    """The HTTP listener of the operator API."""

    def __init__(self, csms: Csms, sock: socket.socket) -> None:
        config = uvicorn.Config(
            create_app(csms),
            lifespan="off",
            log_level="warning",
            access_log=False,
            ws="none",
            server_header=False,
        )
        self._server = _EmbeddedServer(config)
        self._sock = sock
        self._serving = False

    async def serve(self) -> None:
        """Answer requests on the listening socket until :meth:`stop`."""
        self._serving = True
        await self._server.serve(sockets=[self._sock])

    async def stop(self) -> None:
        self._server.should_exit = True
        self._server.stopping.set()
        if not self._serving:  # the CSMS failed to start: nothing else closes the socket
            self._sock.close()
