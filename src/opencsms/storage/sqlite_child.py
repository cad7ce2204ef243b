"""The writer's child process and the socket to it, driven by the event loop with no helper thread.

``concurrent.futures.ProcessPoolExecutor`` moves each call through two threads of the server's
process (a queue feeder that pickles, a manager that reads results), and each of them must win the
GIL from a busy event loop: measured at 1,000 stations and 2,000 messages/s, a batch's round trip
took 1.4 ms at the median and 12 ms at p99 for a commit SQLite does in 0.3 ms. Here the event
loop itself writes the pickled batch to a socket and is woken by it when the answer is there.

Requests are pipelined: :meth:`WriterProcess.send_nowait` writes one (through the non-blocking
socket; what the buffer does not take is written as the child reads it, while the loop serves the
stations) and returns at once; answers come back in request order and each is handed to its
callback from the socket's reader callback. The group-commit writer sends its next batch without
waiting for the last one's commit, and the child commits what has arrived as soon as it is free:
with one request at a time, the child sat idle for the third of every cycle in which the busy
event loop noticed an answer, resumed the writer and pickled the next batch (bench/README.md).

If the child dies (killed, out of memory) the socket reports end-of-file: the requests in flight,
if any, fail with :class:`WriterProcessDied`, and the next request starts a fresh child.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import pickle
import socket
from collections import deque
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import Any

from . import sqlite_worker

__all__ = ["WriterProcess", "WriterProcessDied"]

_CLOSE_JOIN_SECONDS = 10.0
_SEND_BUFFER_BYTES = 8 << 20
_RECEIVE_CHUNK = 1 << 16


class WriterProcessDied(Exception):
    """The child process ended while (or before) serving a request."""


Answer = tuple[bool, Any]
"""``(True, result)`` or ``(False, exception)``: the child's answer to one request."""

AnswerCallback = Callable[[Answer | WriterProcessDied], None]
"""Called with a request's answer, or with the child's death, from the socket's callbacks (or
from :meth:`WriterProcess.send_nowait` itself when the child is found gone)."""


class WriterProcess:
    """A child interpreter holding the writer's ``sqlite3`` connection (``sqlite_worker``)."""

    def __init__(self, database: str, uri: bool, *, merge_ops: int = 0, nice: int = 0) -> None:
        self._database = database
        self._uri = uri
        self._merge_ops = merge_ops
        self._nice = nice
        self._sock: socket.socket | None = None
        self._received = bytearray()
        self._pending: deque[AnswerCallback] = deque()
        """The callbacks of the requests sent and not yet answered, in request order."""
        self._process: BaseProcess | None = None
        self._unsent: deque[memoryview] = deque()
        """Request bytes the socket buffer has not taken yet, in order."""
        self._written: list[asyncio.Future[None]] = []
        """Waiters of :meth:`written`."""

    @property
    def in_flight(self) -> int:
        """Requests sent to the child and not yet answered."""
        return len(self._pending)

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
            args=(theirs, self._database, self._uri, os.getpid(), self._merge_ops, self._nice),
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
        sock = self._sock
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
        # Answers that arrived before the end count (the child answers "close", then exits).
        header = sqlite_worker.HEADER
        start = 0
        while len(received) - start >= header:
            size = int.from_bytes(received[start : start + header])
            end = start + header + size
            if len(received) < end:
                break
            answer = pickle.loads(received[start + header : end])  # a few row counts
            start = end
            if self._pending:
                self._pending.popleft()(answer)
        if start:
            del received[:start]
        if ended is not None:
            self._died(f"the SQLite writer process died: {ended}")

    def _died(self, reason: str) -> None:
        pending = list(self._pending)
        self._pending.clear()
        self._discard()
        for callback in pending:
            callback(WriterProcessDied(reason))

    def _discard(self) -> None:
        """Forget a dead or closed child (close our end of the socket, reap it)."""
        sock, process = self._sock, self._process
        self._sock = self._process = None
        if sock is not None:
            loop = asyncio.get_running_loop()
            loop.remove_reader(sock.fileno())
            if self._unsent:
                loop.remove_writer(sock.fileno())
            sock.close()
        self._unsent.clear()
        self._wake_writers()
        if process is not None:
            process.join(timeout=0)

    def send_nowait(self, operation: str, argument: Any, on_answer: AnswerCallback) -> None:
        """Send ``operation`` (a name ``sqlite_worker.serve`` knows) to the child, starting one if
        none runs; ``on_answer`` gets its answer later, from the socket's reader callback.

        What the socket buffer does not take now is written as the child reads it, while the
        loop serves the stations (:meth:`written`). A child that died with
        nothing in flight received nothing, so the request goes to a fresh one; requests in
        flight to a dead child fail with it.
        """
        if self._process is not None and not self._process.is_alive():
            self._died("the SQLite writer process died")
        if self._sock is None:
            self._start()
        sock = self._sock
        assert sock is not None
        request = memoryview(sqlite_worker.frame((operation, argument)))
        self._pending.append(on_answer)
        if self._unsent:
            self._unsent.append(request)
            return
        try:
            sent = sock.send(request)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            self._died(f"the SQLite writer process died: {exc}")
            return
        if sent < len(request):
            # A memoryview: each write slices off what it took, without copying.
            self._unsent.append(request[sent:])
            asyncio.get_running_loop().add_writer(sock.fileno(), self._writable)

    def _writable(self) -> None:
        sock, unsent = self._sock, self._unsent
        assert sock is not None
        while unsent:
            try:
                sent = sock.send(unsent[0])
            except BlockingIOError:
                return
            except OSError as exc:
                self._died(f"the SQLite writer process died: {exc}")
                return
            if sent < len(unsent[0]):
                unsent[0] = unsent[0][sent:]
                return
            unsent.popleft()
        asyncio.get_running_loop().remove_writer(sock.fileno())
        self._wake_writers()

    def _wake_writers(self) -> None:
        waiters, self._written = self._written, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def written(self) -> None:
        """Return once every request sent so far is in the socket (or the child is gone)."""
        if self._unsent:
            waiter = asyncio.get_running_loop().create_future()
            self._written.append(waiter)
            await waiter

    async def request(self, operation: str, argument: Any = None) -> Any:
        """Run ``operation`` in the child and wait: its result, or the exception it raised."""
        answered: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()

        def on_answer(answer: Answer | WriterProcessDied) -> None:
            if answered.done():
                return
            if isinstance(answer, WriterProcessDied):
                answered.set_exception(answer)
            else:
                answered.set_result(answer)

        self.send_nowait(operation, argument, on_answer)
        ok, value = await answered
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
        self._discard()
        await asyncio.to_thread(process.join, _CLOSE_JOIN_SECONDS)
        if process.is_alive():
            process.kill()
