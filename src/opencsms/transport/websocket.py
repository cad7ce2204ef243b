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
* **frames:** on a connection without extensions (no permessage-deflate), a complete, final,
  unfragmented text or binary frame is read and written here, a few integer operations and one
  ``apply_mask`` instead of the library's frame parser and serializer (a generator, a
  ``StreamReader``, a ``Frame`` object and its checks per message; together ~10 % of the main
  thread at 1,000 stations). Every other frame (control frames, fragments, reserved bits, a
  wrong mask bit, anything over ``max_size``) is handed to the protocol whole, byte for byte, so
  its parser only ever sees complete frames and stays at a frame boundary: it closes with the
  code it would have used. Compressed connections and debug logging keep the library's path.

Fragmented messages are reassembled here (the protocol enforces ``max_size`` over the whole
message); a text message that is not UTF-8 fails the connection with 1007 (RFC 6455 §8.1), as the
library's own path does. A station that sends faster than the CSMS reads (OCPP allows one
outstanding CALL, so only a broken one does) is paused at :data:`INBOX_HIGH` messages, like the
library's ``max_queue``.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.connection import Connection
from websockets.asyncio.server import ServerConnection
from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import CLIENT, CLOSED, OPEN, Event, Protocol
from websockets.streams import StreamReader
from websockets.typing import BytesLike

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - the C extension is built for every supported platform
    from websockets.utils import apply_mask

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
_FIN_TEXT, _FIN_BINARY = 0x81, 0x82
"""First byte of a final text / binary frame with no reserved bit set (RFC 6455 §5.2)."""
_MASK_BIT = 0x80


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
        self._direct: bool | None = None
        """Whether frames are read here (decided when the connection opens)."""
        self._pending = b""
        """Received bytes of a frame not complete yet (direct reading's buffer)."""
        self._masked_in = self.protocol.side is not CLIENT
        """Frames from a client are masked, from a server not (RFC 6455 §5.1)."""

    # ------------------------------------------------------------------ in

    def data_received(self, data: bytes) -> None:
        direct = self._direct
        if direct is None and self.protocol.state is OPEN:
            direct = self._direct = _can_read_directly(self.protocol)
        if not direct:
            super().data_received(data)
            return
        protocol = self.protocol
        buffer = self._pending + data if self._pending else data
        size = len(buffer)
        at = 0
        too_long = False
        while size - at >= 2:
            first, second = buffer[at], buffer[at + 1]
            length = second & 0x7F
            head = 2
            if length == 126:
                if size - at < 4:
                    break
                length = int.from_bytes(buffer[at + 2 : at + 4])
                head = 4
            elif length == 127:
                if size - at < 10:
                    break
                length = int.from_bytes(buffer[at + 2 : at + 10])
                head = 10
            masked = second & _MASK_BIT
            if masked:
                head += 4
            limit = protocol.max_message_size
            if limit is not None and length > limit:
                too_long = True  # the protocol fails the connection on this header (1009)
                break
            end = at + head + length
            if end > size:
                break  # wait for the rest of the frame (at most max_size)
            if (
                first in (_FIN_TEXT, _FIN_BINARY)
                and bool(masked) is self._masked_in
                and protocol.current_size is None
            ):
                payload = buffer[at + head : end]
                if masked:
                    payload = apply_mask(payload, buffer[at + head - 4 : at + head])
                at = end
                self._deliver(payload, first == _FIN_TEXT)
            else:
                # Anything else (control frame, fragment, reserved bits, wrong mask bit) goes
                # to the protocol whole: its parser stays at a frame boundary.
                super().data_received(buffer[at:end])
                at = end
            if protocol.state is not OPEN:
                break  # closing: the protocol's rules (it discards what follows a close)
        rest = buffer[at:] if at else buffer
        if protocol.state is not OPEN or too_long:
            self._direct = False
            self._pending = b""
            if rest:
                super().data_received(rest)
        else:
            self._pending = rest

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
        protocol = self.protocol
        if protocol.state is not OPEN or self.paused or self.send_in_progress is not None:
            return False
        try:
            if protocol.extensions or protocol.debug or protocol.expect_continuation_frame:
                protocol.send_text(text.encode())
                self.send_data()
            else:
                self.transport.write(self._text_frame(text.encode()))
        except Exception as exc:
            # The socket broke under the write (as in the library's send_context): abort it. The
            # message counts as sent into a dead connection; the reader sees the close.
            self.set_connection_exc(exc)
            self.transport.abort()
        return True

    def _text_frame(self, payload: bytes) -> bytes:
        """A final text frame of ``payload`` (RFC 6455 §5.2), masked when sent by a client."""
        length = len(payload)
        if self.protocol.side is CLIENT:
            mask = os.urandom(4)
            payload = mask + apply_mask(payload, mask)
            bit = _MASK_BIT
        else:
            bit = 0
        if length < 126:
            return bytes((_FIN_TEXT, bit | length)) + payload
        if length < 65536:
            return bytes((_FIN_TEXT, bit | 126)) + length.to_bytes(2) + payload
        return bytes((_FIN_TEXT, bit | 127)) + length.to_bytes(8) + payload


def _can_read_directly(protocol: Protocol) -> bool:
    """Whether this open connection's frames can be read without the protocol's parser: no
    extension (compressed frames are the protocol's), no debug logging of frames, and the parser
    waiting for the start of a frame with nothing buffered. A peer may have sent a frame right
    behind the handshake; the parser then holds it, or is inside it, and keeps the stream."""
    if protocol.extensions or protocol.debug or protocol.reader.buffer:
        return False
    waiting: Any = protocol.parser  # a generator; its gi_* attributes are not in the stubs
    while waiting.gi_yieldfrom is not None:  # the innermost generator the parser is suspended in
        waiting = waiting.gi_yieldfrom
    return bool(waiting.gi_code is _AT_EOF)


_AT_EOF = StreamReader.at_eof.__code__
"""Where the protocol's parser waits between frames when no byte is buffered (``parse`` checks
for the end of the stream before each frame; inside a frame it waits in ``read_exact``)."""


def _end_wait(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class StationWebSocket(DirectMessages, ServerConnection):
    """The CSMS side: a station's connection (``serve(create_connection=StationWebSocket)``)."""


class ClientWebSocket(DirectMessages, ClientConnection):
    """The station side, for the load generator (``connect(create_connection=...)``)."""
