"""A station's WebSocket: ``websockets``' connections with a direct path for OCPP traffic.

:class:`StationWebSocket` is the CSMS side of every station connection; :class:`ClientWebSocket`
the station side the load generator uses (``opencsms load``), where the same path also makes an
idle station's wait a timer instead of a cancelled ``recv`` (measured: the generator needed ~0.6
core for 2,000 messages/s over 1,000 stations, most of it in timeouts and cancellations).

The handshake, permessage-deflate (OCPP-J 2.0.1 part 4 §3.3), size limits, pings and the close
handshake stay ``websockets``' own (its sans-I/O protocol does them). What changes is the hot path
of every message:

* **in:** a complete data message goes straight from the protocol's frame into a deque, with one
  future woken, instead of through the library's general ``Assembler`` (queues, a lock-step
  ``get``, decoding per call). Measured at 1,000 stations this path was ~6 % of the server's
  main thread.
* **out:** :meth:`StationWebSocket.send_now` writes a text message synchronously when the
  connection is open and its write buffer below the limit (almost always), instead of entering
  ``send``'s async context manager per message; otherwise the caller falls back to ``send``,
  which applies flow control and reports the close.

Fragmented messages are reassembled here (the protocol enforces ``max_size`` over the whole
message); a text message that is not UTF-8 fails the connection with 1007 (RFC 6455 §8.1), as the
library's own path does. A station that sends faster than the CSMS reads (OCPP allows one
outstanding CALL, so only a broken one does) is paused at :data:`INBOX_HIGH` messages, like the
library's ``max_queue``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.connection import Connection
from websockets.asyncio.server import ServerConnection
from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import CLOSED, OPEN, Event
from websockets.typing import BytesLike

__all__ = ["INBOX_HIGH", "ClientWebSocket", "DirectMessages", "StationWebSocket"]

INBOX_HIGH = 16
"""Messages waiting to be read at which the socket stops being read."""
INBOX_LOW = 4
"""…and at which reading resumes."""

TIMER_SLACK = 0.001
"""Added to a wait's deadline. uvloop's timers count whole milliseconds and fire up to one early
(by ``loop.time()``): a caller that waits again until its deadline then spun through a burst of
zero-length waits. Measured in a load run: 32 wake-ups per message, 0.6 core at 2,000 msg/s."""

_TEXT, _BINARY, _CONT = Opcode.TEXT, Opcode.BINARY, Opcode.CONT


class DirectMessages(Connection):
    """The direct message path, mixed into a server or a client connection of ``websockets``;
    messages are read with :meth:`next_message` / :meth:`wait_message` (not ``recv``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._inbox: deque[str | bytes] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._fragments: list[BytesLike] = []
        self._fragmented_text = False
        self._reading_paused = False

    # ------------------------------------------------------------------ in

    def process_event(self, event: Event) -> None:
        if type(event) is not Frame:  # the handshake (the server's request, the client's response)
            super().process_event(event)
            return
        opcode = event.opcode
        if opcode is _TEXT or opcode is _BINARY:
            if event.fin:
                self._deliver(event.data, opcode is _TEXT)
            else:
                self._fragments = [event.data]
                self._fragmented_text = opcode is _TEXT
        elif opcode is _CONT:
            self._fragments.append(event.data)
            if event.fin:
                data = b"".join(self._fragments)
                self._fragments = []
                self._deliver(data, self._fragmented_text)
        else:  # ping, pong, close: the library's handling
            super().process_event(event)

    def _deliver(self, data: BytesLike, text: bool) -> None:
        # The protocol hands over bytes (parsed or inflated); the others only by contract.
        raw = data if type(data) is bytes else bytes(data)
        message: str | bytes = raw
        if text:
            try:
                message = raw.decode()
            except UnicodeDecodeError as exc:
                # RFC 6455 §8.1: a text message that is not UTF-8 fails the connection.
                self.protocol.fail(CloseCode.INVALID_DATA, f"{exc.reason} at position {exc.start}")
                self.send_data()
                return
        self._inbox.append(message)
        if len(self._inbox) >= INBOX_HIGH and not self._reading_paused:
            self._reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            _end_wait(waiter)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._wake()

    async def next_message(self) -> str | bytes:
        """The next complete message (``str`` for text); the messages received before a close
        are still returned, then ``ConnectionClosed`` is raised."""
        while True:
            message = await self.wait_message(None)
            if message is not None:
                return message

    async def wait_message(self, deadline: float | None) -> str | bytes | None:
        """The next message, or ``None`` once the loop time ``deadline`` has passed (never
        before it; up to :data:`TIMER_SLACK` after) or :meth:`interrupt` was called;
        ``ConnectionClosed`` as :meth:`next_message`.

        The deadline is a timer that wakes the wait, not a timeout that cancels it: nothing
        of the connection is cancelled when a station's idle wait ends, thousands of times a
        second in a load run."""
        inbox = self._inbox
        if not inbox:
            if self.protocol.state is CLOSED:
                raise self.close_exc
            waiter = self._waiter = self.loop.create_future()
            timer = (
                None
                if deadline is None
                else self.loop.call_at(deadline + TIMER_SLACK, _end_wait, waiter)
            )
            try:
                await waiter
            finally:
                self._waiter = None
                if timer is not None:
                    timer.cancel()
            if not inbox:
                if self.protocol.state is CLOSED:
                    raise self.close_exc
                return None
        if self._reading_paused and len(inbox) <= INBOX_LOW:
            self._reading_paused = False
            self.transport.resume_reading()
        return inbox.popleft()

    def interrupt(self) -> None:
        """End a :meth:`wait_message` now (it returns ``None`` if no message is there)."""
        self._wake()

    # ------------------------------------------------------------------ out

    def send_now(self, text: str) -> bool:
        """Write ``text`` as a text message now if nothing stands in the way; False when the
        caller must use ``await send(text)`` instead (closing, write buffer full, a fragmented
        send in progress: ``send`` then waits or raises as it should)."""
        if self.protocol.state is not OPEN or self.paused or self.send_in_progress is not None:
            return False
        self.protocol.send_text(text.encode())
        try:
            self.send_data()
        except Exception as exc:
            # The socket broke under the write (as in the library's send_context): abort it. The
            # message counts as sent into a dead connection; the reader sees the close.
            self.set_connection_exc(exc)
            self.transport.abort()
        return True


def _end_wait(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class StationWebSocket(DirectMessages, ServerConnection):
    """The CSMS side: a station's connection (``serve(create_connection=StationWebSocket)``)."""


class ClientWebSocket(DirectMessages, ClientConnection):
    """The station side, for the load generator (``connect(create_connection=...)``)."""
