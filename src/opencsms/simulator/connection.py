"""The simulator's I/O shell: one WebSocket connection around a station-role RpcSession.

The session (sans-I/O) does all framing, validation and call matching; this module moves frames
between it and the socket, turns its events into awaited results, and fires its deadlines. It
also computes the reconnection back-off of OCPP-J 2.0.1 part 4 §5.3.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from opencsms.errors import ConnectionClosedError, PayloadValidationError, RpcError
from opencsms.ocpp.events import (
    CallCompleted,
    CallFailed,
    IncomingCall,
    ProtocolNotice,
    SessionEvent,
)
from opencsms.ocpp.frames import Call
from opencsms.ocpp.session import RpcSession
from opencsms.simulator.config import BackOffConfig

if TYPE_CHECKING:
    from opencsms.simulator.station import SimulatedStation

__all__ = ["AfterAnswer", "Counters", "HandlerFn", "Link", "Payload", "Reply", "RetryBackOff"]

log = logging.getLogger("opencsms.simulator")

AfterAnswer = Callable[[], Awaitable[None]]
"""Work to run once an answer is on the wire, e.g. the message a TriggerMessage asked for."""


@dataclass(frozen=True, slots=True)
class Reply:
    """How to answer one CSMS CALL: a CALLRESULT ``payload`` or an ``error``, then ``after``.

    ``ignore`` leaves the CALL unanswered (1.6 §4.2: a Rejected charge point does not respond to
    the Central System).
    """

    payload: dict[str, Any] = field(default_factory=dict)
    error: RpcError | None = None
    after: AfterAnswer | None = None
    ignore: bool = False


Payload = dict[str, Any]

HandlerFn = Callable[["SimulatedStation", Payload], Reply]
"""Answers one CSMS CALL from the station's state; feature modules export tables of these."""


@dataclass(slots=True)
class Counters:
    """Messages a station exchanged, over all its connections (the live view shows them)."""

    calls_sent: int = 0
    calls_received: int = 0


class RetryBackOff:
    """Waits between reconnection attempts (OCPP-J 2.0.1 part 4 §5.3).

    Attempt *n* (0-based) waits ``wait_minimum · 2^min(n, repeat_times)`` plus a fresh random value
    in ``[0, random_range]``; the random part keeps a fleet from reconnecting in lock-step after a
    CSMS restart.
    """

    def __init__(self, config: BackOffConfig, rng: random.Random | None = None) -> None:
        self.config = config
        self._rng = rng or random.Random()

    def delay(self, attempt: int) -> float:
        """Seconds to wait before reconnection attempt ``attempt``."""
        cfg = self.config
        base = cfg.wait_minimum * (1 << min(max(attempt, 0), cfg.repeat_times))
        return base + self._rng.uniform(0.0, cfg.random_range)


Handler = Callable[[IncomingCall], Awaitable[Reply]]
Spawn = Callable[[AfterAnswer], None]


class Link:
    """One live connection: ``await link.call(...)`` from any task while :meth:`run` reads."""

    def __init__(self, ws: ClientConnection, session: RpcSession) -> None:
        self.ws = ws
        self.session = session
        self._loop = asyncio.get_running_loop()
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._on_result: dict[str, Callable[[dict[str, Any]], None]] = {}
        self._send_lock = asyncio.Lock()
        self._kick = asyncio.Event()
        self._closed = False
        self.counters = Counters()
        self.notices: list[ProtocolNotice] = []
        """What the session noticed about the CSMS's frames (e.g. an unmatched CALLERROR)."""

    @property
    def closed(self) -> bool:
        """Whether the connection has ended (every call made now fails at once)."""
        return self._closed

    async def call(
        self,
        action: str,
        payload: dict[str, Any],
        *,
        validate: bool = True,
        on_result: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Send a CALL and return the CALLRESULT payload.

        ``on_result`` runs with the CALLRESULT payload as soon as the reader takes it, before it
        reads the next frame: a station must know what the answer says (1.6: the transactionId
        of StartTransaction) before it handles a CSMS CALL sent right after it (a TxProfile for
        that transaction), which the awaiting task, resuming later, cannot guarantee.

        Raises ``PayloadValidationError`` for a payload breaking its schema (unless
        ``validate`` is false: fault injection), and a ``CallFailedError`` subclass for a
        CALLERROR, timeout or closed connection.
        """
        if self._closed:
            raise ConnectionClosedError("not connected", action=action)
        pending = self.session.call(action, payload, self._loop.time(), validate=validate)
        self.counters.calls_sent += 1
        future: asyncio.Future[dict[str, Any]] = self._loop.create_future()
        self._replies[pending.message_id] = future
        if on_result is not None:
            self._on_result[pending.message_id] = on_result
        self._kick.set()  # a new deadline may exist now
        await self._flush()
        return await future

    async def send_raw(self, text: str) -> None:
        """Fault injection: write ``text`` as one WebSocket message, bypassing the session."""
        async with self._send_lock:
            await self.ws.send(text)

    async def close(self) -> None:
        """Close the socket; :meth:`run` then ends."""
        await self.ws.close()

    async def run(self, handler: Handler, spawn: Spawn) -> None:
        """Read until the connection ends; answer CSMS CALLs through ``handler``.

        ``handler`` must not await a CALL of its own (the reader would wait for itself): what
        has to happen after the answer goes into :attr:`Reply.after`, handed to ``spawn``.
        """
        try:
            async with asyncio.TaskGroup() as tasks:
                timer = tasks.create_task(self._timer())
                try:
                    async for message in self.ws:
                        events = self.session.receive(message, self._loop.time())
                        await self._process(events, handler, spawn)
                except ConnectionClosed:
                    pass
                finally:
                    timer.cancel()
        finally:
            self._closed = True
            self._settle_all(self.session.close())

    async def _process(self, events: list[SessionEvent], handler: Handler, spawn: Spawn) -> None:
        queue = list(events)
        while queue:
            event = queue.pop(0)
            if isinstance(event, IncomingCall):
                await self._answer(event, handler, spawn)
                queue.extend(self.session.take_events())  # a CALL released by our answer
            else:
                self._settle(event)
        await self._flush()

    async def _answer(self, incoming: IncomingCall, handler: Handler, spawn: Spawn) -> None:
        call: Call = incoming.call
        self.counters.calls_received += 1
        try:
            reply = await handler(incoming)
        except Exception as exc:  # a simulator bug must not kill the connection
            log.exception("simulator: handling %s failed", call.action)
            self.session.answer_error(call, exc)
            return
        if reply.ignore:
            return
        if reply.error is not None:
            self.session.answer_error(call, reply.error)
            return
        try:
            self.session.answer(call, reply.payload)
        except PayloadValidationError as exc:
            log.error("simulator: invalid %s answer: %s", call.action, exc)
            self.session.answer_error(call, exc)
            return
        if reply.after is not None:
            await self._flush()  # the answer goes out before anything the follow-up sends
            spawn(reply.after)

    def _settle(self, event: SessionEvent) -> None:
        if isinstance(event, CallCompleted):
            future = self._replies.pop(event.pending.message_id, None)
            hook = self._on_result.pop(event.pending.message_id, None)
            if future is not None and not future.done():
                if hook is not None:
                    try:
                        hook(event.payload)
                    except Exception:  # a simulator bug must not kill the reader
                        log.exception("simulator: handling the answer to %s failed", event.pending)
                future.set_result(event.payload)
        elif isinstance(event, CallFailed):
            self._on_result.pop(event.pending.message_id, None)
            future = self._replies.pop(event.pending.message_id, None)
            if future is not None and not future.done():
                future.set_exception(event.error)
        elif isinstance(event, ProtocolNotice):
            self.notices.append(event)

    def _settle_all(self, events: list[SessionEvent]) -> None:
        for event in events:
            self._settle(event)
        for future in self._replies.values():  # belt and braces: nobody waits forever
            if not future.done():
                future.set_exception(ConnectionClosedError("connection closed"))
        self._replies.clear()
        self._on_result.clear()

    async def _flush(self) -> None:
        # One writer at a time, so frames reach the socket in the order the session made them.
        async with self._send_lock:
            for frame in self.session.data_to_send():
                try:
                    await self.ws.send(frame)
                except ConnectionClosed:
                    return  # run() notices the close and fails every call

    async def _timer(self) -> None:
        """Fire the session's call deadline (OCPP-J §4.1.1 timeouts)."""
        while True:
            self._kick.clear()
            deadline = self.session.next_deadline()
            try:
                if deadline is None:
                    await self._kick.wait()
                else:
                    async with asyncio.timeout_at(deadline):
                        await self._kick.wait()
            except TimeoutError:
                for event in self.session.expire(self._loop.time()):
                    self._settle(event)
                await self._flush()
