"""The writer's child process and the socket to it, driven by the event loop with no helper thread.

``concurrent.futures.ProcessPoolExecutor`` moves each call through two threads of the server's
process (a queue feeder that pickles, a manager that reads results), and each of them must win the
GIL from a busy event loop: measured at 1,000 stations and 2,000 messages/s, a batch's round trip
took 1.4 ms at the median and 12 ms at p99 for a commit SQLite does in 0.3 ms. Here the event
loop itself writes the pickled batch to a socket and is woken by it when the answer is there.

One request is in flight at a time (the group-commit writer awaits each batch). The event loop
writes a request through a non-blocking socket (what the buffer does not take is written as the
child reads it, while the loop serves the stations) and reads the answer, a few row counts.

If the child dies (killed, out of memory) the socket reports end-of-file: the request in flight, if
any, fails with :class:`WriterProcessDied`, and the next request starts a fresh child.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import pickle
import socket
from multiprocessing.process import BaseProcess
from typing import Any

from . import sqlite_worker

__all__ = ["WriterProcess", "WriterProcessDied"]

_CLOSE_JOIN_SECONDS = 10.0
_SEND_BUFFER_BYTES = 8 << 20
_RECEIVE_CHUNK = 1 << 16


class WriterProcessDied(Exception):
    """The child process ended while (or before) serving a request."""


class WriterProcess:
    """A child interpreter holding the writer's ``sqlite3`` connection (``sqlite_worker``)."""

    def __init__(self, database: str, uri: bool) -> None:
        self._database = database
        self._uri = uri
        self._sock: socket.socket | None = None
        self._received = bytearray()
        self._waiting: asyncio.Future[tuple[bool, Any]] | None = None
        self._process: BaseProcess | None = None
        self._lock = asyncio.Lock()

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return self._process.pid if self._process is not None else None

    def _start(self) -> None:
        # spawn, not fork: the server has running threads and an event loop, and the child
        # needs none of it (it imports only the standard-library sqlite_worker module).
        context = multiprocessing.get_context("spawn")
        ours, theirs = socket.socketpair()
        process = context.Process(
            target=sqlite_worker.serve,
            args=(theirs, self._database, self._uri, os.getpid()),
            name="opencsms-sqlite-writer",
            daemon=True,
        )
        try:
            process.start()
        finally:
            theirs.close()
        ours.setblocking(False)
        # A batch at 1,000 stations is a few megabytes (the audit frames dominate): a buffer that
        # takes it in one write saves the loop a dozen partial writes, each waiting for the child
        # to read (the kernel caps the size at net.core.wmem_max).
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SEND_BUFFER_BYTES)
        self._sock, self._process = ours, process
        self._received = bytearray()
        # One reader for the child's life (not one registration per answer): the answers of a
        # few hundred commits a second then cost no epoll changes.
        asyncio.get_running_loop().add_reader(ours.fileno(), self._readable)

    def _readable(self) -> None:
        sock, waiting = self._sock, self._waiting
        assert sock is not None
        received = self._received
        ended: str | None = None
        while True:
            try:
                chunk = sock.recv(_RECEIVE_CHUNK)
            except BlockingIOError:
                break
            except OSError as exc:
                ended = str(exc)
                break
            if not chunk:
                ended = "end of file"
                break
            received += chunk
        # An answer that arrived before the end counts (the child answers "close", then exits).
        header = sqlite_worker.HEADER
        if len(received) >= header:
            size = int.from_bytes(received[:header])
            if len(received) >= header + size:
                answer = pickle.loads(received[header : header + size])
                del received[: header + size]
                if waiting is not None and not waiting.done():
                    waiting.set_result(answer)
        if ended is not None:
            self._died(f"the SQLite writer process died: {ended}")

    def _died(self, reason: str) -> None:
        waiting = self._waiting
        self._discard()
        if waiting is not None and not waiting.done():
            waiting.set_exception(WriterProcessDied(reason))

    def _discard(self) -> None:
        """Forget a dead or closed child (close our end of the socket, reap it)."""
        sock, process = self._sock, self._process
        self._sock = self._process = None
        if sock is not None:
            asyncio.get_running_loop().remove_reader(sock.fileno())
            sock.close()
        if process is not None:
            process.join(timeout=0)

    async def request(self, operation: str, argument: Any = None) -> Any:
        """Run ``operation`` (a name ``sqlite_worker.serve`` knows) in the child; its result, or
        the exception it raised. Starts the child if none runs.

        A child that died between requests received nothing, so the request goes to a fresh
        one; one that dies after the request is written fails it (the batch may or may not
        have committed)."""
        async with self._lock:
            if self._process is not None and not self._process.is_alive():
                self._discard()
            if self._sock is None:
                self._start()
            sock = self._sock
            assert sock is not None
            loop = asyncio.get_running_loop()
            try:
                # The loop writes what the socket buffer does not take at once, while it serves
                # the stations: a batch of a megabyte never stalls it.
                # A memoryview: the loop slices off what each write took, without copying.
                request = memoryview(sqlite_worker.frame((operation, argument)))
                waiting = self._waiting = loop.create_future()
                await loop.sock_sendall(sock, request)
                ok, value = await waiting
            except OSError as exc:
                self._discard()
                raise WriterProcessDied(f"the SQLite writer process died: {exc}") from exc
            except asyncio.CancelledError:
                # The answer would be read by the next request as its own: start afresh.
                self._discard()
                raise
            finally:
                self._waiting = None
        if ok:
            return value
        raise value

    async def close(self) -> None:
        """Close the connection after any request still running, and end the child."""
        process = self._process
        if process is None:
            return
        with contextlib.suppress(WriterProcessDied):  # already gone, its connection with it
            await self.request("close")
        async with self._lock:
            self._discard()
        await asyncio.to_thread(process.join, _CLOSE_JOIN_SECONDS)
        if process.is_alive():
            process.kill()
