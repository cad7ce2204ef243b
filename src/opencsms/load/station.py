"""One load station: a WebSocket, a station-role RpcSession and a loop that drives the mix.

Deliberately lighter than :class:`~opencsms.simulator.SimulatedStation` (no connectors, EV model or
offline queue): one task per station that does everything in turn, so ten thousand of them fit in
one process and the generator spends its CPU on messages, not on bookkeeping.

* Boot first (1.6 §4.2, 2.0.1 B01-B03): BootNotification until Accepted; after Pending/Rejected
  wait the returned interval (or ``boot_retry_interval`` when it is 0) before trying again, sending
  nothing else; a TriggerMessage BootNotification retries at once (B02).
* One outstanding CALL per connection (OCPP-J 1.6 §4.1.1, 2.0.1 part 4 §4.1): the station sends,
  then reads until the answer arrives, answering CSMS CALLs that come meanwhile (:mod:`answers`).
* Heartbeat at the CSMS's interval, skipped while other CALLs keep the link busy (1.6 §4.6: "MAY
  skip sending a Heartbeat.req PDU when another PDU has been sent ... within the configured
  heartbeat interval"; 2.0.1 G02). That is all an idle station sends.
* Reconnect after a drop with the back-off of OCPP-J 2.0.1 part 4 §5.3, without a new
  BootNotification when the last one was Accepted (same section); drops and reconnects are counted.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import itertools
import logging
import math
import random
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

from opencsms.errors import CallErrorResponse, CallTimeoutError, InvalidResponseError
from opencsms.load import payloads
from opencsms.load.answers import SUPPORTED, answer
from opencsms.load.options import LoadOptions
from opencsms.load.stats import BOOT, ERROR_CLOSED, ERROR_INVALID, ERROR_TIMEOUT, LoadStats
from opencsms.ocpp.events import CallCompleted, CallFailed, IncomingCall, ProtocolNotice
from opencsms.ocpp.schemas import default_registry
from opencsms.ocpp.session import Role, RpcSession, SessionEvent
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator.connection import RetryBackOff
from opencsms.transport.websocket import ClientWebSocket

__all__ = ["LoadStation", "Shared"]

log = logging.getLogger("opencsms.load")

Payload = dict[str, Any]


class Shared:
    """What every station of one run reads: options, counters and the phase flags.

    ``measuring`` is set for the hold phase: mix CALLs are sent and counted only then.
    ``stopping`` ends the run; stations finish the CALL in flight and close.
    """

    def __init__(self, options: LoadOptions, stats: LoadStats, notify: Callable[[], None]) -> None:
        self.options = options
        self.stats = stats
        self.notify = notify
        """Called on connection-level changes (connect, accept, drop): cheap and rare."""
        self.version = options.version
        self.measuring = False
        self.stopping = False
        self.stop_event = asyncio.Event()
        limit = options.connect_concurrency
        self.gate = asyncio.Semaphore(limit) if limit else None
        self.rng = random.Random(options.seed)
        self.backoff = RetryBackOff(options.backoff, self.rng)
        self.interval = options.station_interval
        self.registry = default_registry()
        self.run_token = secrets.token_hex(3)
        self.subprotocols = [Subprotocol(options.version.subprotocol)]
        self._kinds = [kind for kind, _weight in options.mix.weights]
        self._cumulative = list(itertools.accumulate(w for _kind, w in options.mix.weights))

    def pick(self) -> str:
        """A mix kind, drawn by weight."""
        point = self.rng.random() * self._cumulative[-1]
        return self._kinds[bisect.bisect_right(self._cumulative, point)]


def _id_factory() -> Callable[[], str]:
    """Message ids need only be unique per connection (OCPP-J 1.6 §4.1.4); a counter is cheap."""
    counter = itertools.count(1)
    return lambda: str(next(counter))


class LoadStation:
    """One simulated station of a load run; :meth:`run` lives until the run stops."""

    def __init__(self, shared: Shared, index: int) -> None:
        options = shared.options
        self.shared = shared
        self.version: OcppVersion = options.version
        self.station_id = options.station_id(index)
        self.url = f"{options.url.rstrip('/')}/{self.station_id}"
        self.meter = payloads.Meter(f"{shared.run_token}-{index + 1}")
        self.heartbeat_interval: float = 0.0
        """In force after an Accepted boot (the CSMS's interval; 0 disables heartbeats)."""
        self.registration: str | None = None
        self.accepted_once = False
        self.connected = False
        self.connections = 0
        self._headers: dict[str, str] = {}
        if options.password is not None:  # security profile 1: Basic auth, user = station id
            token = base64.b64encode(f"{self.station_id}:{options.password}".encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"
        self._loop = asyncio.get_running_loop()
        self._ws: ClientWebSocket | None = None
        self._session: RpcSession | None = None
        self._triggered: deque[str] = deque()
        self._woken = False
        self._last_sent = 0.0
        self._next_mix: float | None = None
        self._started_at = 0.0

    @property
    def accepted(self) -> bool:
        """Whether the last BootNotification answer was Accepted."""
        return self.registration == "Accepted"

    def trigger(self, kind: str) -> None:
        """Queue a message the CSMS asked for (TriggerMessage); sent after the answer."""
        self._triggered.append(kind)
        self.wake()

    def wake(self) -> None:
        """Interrupt an idle wait: the phase changed, or a triggered message is due."""
        self._woken = True
        if self._ws is not None:
            self._ws.interrupt()

    # ------------------------------------------------------------------ connection life

    async def run(self) -> None:
        """Connect, boot, drive; reconnect with back-off after a drop; until the run stops."""
        shared = self.shared
        self._started_at = time.monotonic()
        attempt = 0
        try:
            while not shared.stopping:
                ws = await self._connect()
                if ws is None:
                    await self._pause(shared.backoff.delay(attempt))
                    attempt += 1
                    continue
                attempt = 0
                if await self._online(ws) and not shared.stopping:
                    await self._pause(shared.backoff.delay(0))
        except Exception:  # a generator bug must cost one station, not the run
            log.exception("load station %s failed", self.station_id)
            shared.stats.station_crashes += 1
            shared.notify()

    async def _pause(self, seconds: float) -> None:
        """Back-off wait that ends early when the run stops."""
        try:
            async with asyncio.timeout(seconds):
                await self.shared.stop_event.wait()
        except TimeoutError:
            pass

    async def _connect(self) -> ClientWebSocket | None:
        shared = self.shared
        options = shared.options
        start = time.perf_counter_ns()
        reason: str | None = None
        ws: ClientWebSocket | None = None
        try:
            if shared.gate is None:
                ws = await self._open()
            else:
                async with shared.gate:
                    ws = await self._open()
        except InvalidStatus as exc:  # HTTP 401 / 404 / 503 ... before the upgrade
            reason = f"HTTP {exc.response.status_code}"
        except TimeoutError:
            reason = f"no handshake within {options.open_timeout:g} s"
        except InvalidHandshake as exc:  # e.g. the CSMS closed the socket mid-handshake
            reason = f"{type(exc).__name__}: {exc}"[:100]
        except (OSError, ConnectionClosed) as exc:
            reason = type(exc).__name__
        if ws is not None and ws.subprotocol != self.version.subprotocol:
            reason = f"CSMS did not accept {self.version.subprotocol}"
            await ws.close()
        if reason is not None:
            shared.stats.connect_failures[reason] += 1
            shared.notify()
            return None
        shared.stats.handshake.record(time.perf_counter_ns() - start)
        return ws

    async def _open(self) -> ClientWebSocket:
        options = self.shared.options
        ping = options.ping_interval or None
        ws = await connect(
            self.url,
            subprotocols=self.shared.subprotocols,
            additional_headers=self._headers or None,
            # OCPP-J 2.0.1 §3.3 makes deflate a CSMS duty, not a station one; off by default so
            # the figures are for plain frames (and per-connection zlib state stays out of them).
            compression="deflate" if options.compression else None,
            open_timeout=options.open_timeout,
            ping_interval=ping,
            ping_timeout=ping,  # a busy CSMS answers pings late; do not drop it for that alone
            close_timeout=options.close_timeout,
            max_size=2**20,
            create_connection=ClientWebSocket,
        )
        assert isinstance(ws, ClientWebSocket)  # connect(create_connection=...)
        return ws

    async def _online(self, ws: ClientWebSocket) -> bool:
        """One connection's life; returns True when the CSMS side dropped it."""
        shared, stats = self.shared, self.shared.stats
        self._ws = ws
        session = self._session = RpcSession(
            self.version,
            role=Role.STATION,
            registry=shared.registry,
            call_timeout=shared.options.call_timeout,
            validate_outgoing_results=True,  # our answers are rare; check them
            id_factory=_id_factory(),
            supported_actions=SUPPORTED[self.version],
        )
        stats.connections += 1
        if self.connections:
            stats.reconnects += 1
        self.connections += 1
        self.connected = True
        stats.connected += 1
        shared.notify()
        dropped = False
        try:
            if not self.accepted:  # 2.0.1 part 4 §5.3: no new boot on a mere reconnect
                await self._boot()
            if self.accepted:
                await self._drive()
        except ConnectionClosed:
            dropped = not shared.stopping
            if dropped:
                stats.disconnects += 1
        finally:
            self.connected = False
            stats.connected -= 1
            session.close()
            self._session = None
            self._ws = None
            shared.notify()
            if not dropped:  # our side ends it (stop, or a bug): close handshake with the CSMS
                await ws.close()
        return dropped

    # ------------------------------------------------------------------ behaviour

    async def _boot(self) -> None:
        """1.6 §4.2 / B01-B03: BootNotification until Accepted or the run stops."""
        shared, stats = self.shared, self.shared.stats
        options = shared.options
        while not shared.stopping:
            if "boot" in self._triggered:
                self._triggered.remove("boot")
            payload = payloads.boot_notification(self.version, self.station_id)
            result = await self._call(BOOT, "BootNotification", payload)
            wait = options.boot_retry_interval
            if result is not None:
                status = result["status"]
                stats.boot_status[status] += 1
                self.registration = status
                if status == "Accepted":
                    self.heartbeat_interval = float(result["interval"])
                    if not self.accepted_once:
                        self.accepted_once = True
                        stats.accepted += 1
                        elapsed = time.monotonic() - self._started_at
                        stats.time_to_accepted.record(int(elapsed * 1e9))
                        shared.notify()
                    return
                wait = float(result["interval"]) or wait
            # Wake-ups for phase changes do not shorten the wait; a triggered boot or stop does.
            until = self._loop.time() + wait
            while not shared.stopping and "boot" not in self._triggered:
                if self._loop.time() >= until:
                    break
                self._woken = False
                await self._wait_until(until)

    async def _drive(self) -> None:
        """Accepted: triggered messages, the mix (hold phase only) and heartbeats, until stop."""
        shared = self.shared
        interval = shared.interval
        loop = self._loop
        while not shared.stopping:
            self._woken = False
            if self._triggered:
                await self._send(self._triggered.popleft())
                shared.notify()  # rare; lets a caller await the triggered message's answer
                continue
            now = loop.time()
            due = math.inf
            if shared.measuring and interval != math.inf:
                if interval is None:  # flat out: the next CALL as soon as the last is answered
                    await self._send(shared.pick())
                    continue
                if self._next_mix is None:  # spread the fleet evenly over one interval
                    self._next_mix = now + shared.rng.uniform(0.0, interval)
                if self._next_mix <= now:
                    calls = await self._send(shared.pick())
                    # Behind schedule (slow answers): do not burst to catch up.
                    self._next_mix = max(self._next_mix + calls * interval, loop.time())
                    continue
                due = self._next_mix
            beat = self.heartbeat_interval
            if beat > 0:
                beat_due = self._last_sent + beat
                if beat_due <= now:
                    await self._send("heartbeat")
                    continue
                due = min(due, beat_due)
            await self._wait_until(due)

    async def _send(self, kind: str) -> int:
        """One unit of ``kind``; returns how many CALLs it took."""
        version, meter = self.version, self.meter
        if kind == "transaction":
            return await self._transaction()
        if kind == "boot":
            await self._boot()
            return 1
        if kind == "heartbeat":
            await self._call(kind, "Heartbeat", {})
        elif kind == "meter_values":
            await self._call(kind, "MeterValues", payloads.meter_values(version, meter))
        elif kind == "status":
            await self._call(
                kind, "StatusNotification", payloads.status_notification(version, meter)
            )
        elif kind == "authorize":
            tag = self.shared.options.id_tag
            await self._call(kind, "Authorize", payloads.authorize(version, tag))
        elif kind == "data_transfer":
            await self._call(kind, "DataTransfer", payloads.data_transfer(version, meter))
        else:  # pragma: no cover - options.parse_mix admits only known kinds
            raise ValueError(f"unknown message kind {kind!r}")
        return 1

    async def _transaction(self) -> int:
        """1.6 Start-, MeterValues, StopTransaction / 2.x TransactionEvent Started, Updated, Ended.

        A refused step ends the sequence (a 1.6 station has no transactionId without
        StartTransaction.conf); the refusal is counted under its error code.
        """
        version, meter, tag = self.version, self.meter, self.shared.options.id_tag
        kind = "transaction"
        if version is OcppVersion.V16:
            started = await self._call(
                kind, "StartTransaction", payloads.start_transaction_16(meter, tag)
            )
            if started is None or self.shared.stopping:
                return 1
            tx = int(started["transactionId"])
            if await self._call(kind, "MeterValues", payloads.meter_values(version, meter, tx)):
                await self._call(
                    kind, "StopTransaction", payloads.stop_transaction_16(meter, tx, tag)
                )
                return 3
            return 2
        tx_id = meter.new_transaction_id()
        calls = 0
        for event in ("Started", "Updated", "Ended"):
            calls += 1
            event_payload = payloads.transaction_event(version, meter, event, tx_id, tag)
            result = await self._call(kind, "TransactionEvent", event_payload)
            if result is None or (self.shared.stopping and event != "Ended"):
                break
        return calls

    # ------------------------------------------------------------------ RPC

    async def _call(self, kind: str, action: str, payload: Payload) -> Payload | None:
        """Send one CALL and read until its answer; the CALLRESULT payload or None.

        Counted under ``kind`` when it is a boot or sent in the hold phase.
        """
        session, ws, shared = self._session, self._ws, self.shared
        assert session is not None
        assert ws is not None
        loop = self._loop
        counted = kind == BOOT or shared.measuring
        stats = shared.stats.kind(kind) if counted else None
        start = time.perf_counter_ns()
        now = loop.time()
        pending = session.call(action, payload, now)
        if stats is not None:
            stats.sent += 1
        else:
            shared.stats.ramp_calls += 1
        self._last_sent = now
        deadline = pending.deadline
        outcome: CallCompleted | CallFailed | None = None
        try:
            await self._flush()
            while outcome is None:
                message = await ws.wait_message(deadline)
                if message is None:  # the deadline (or a wake-up: expire() then finds nothing)
                    events = session.expire(loop.time())
                else:
                    events = session.receive(message, loop.time())
                outcome = self._process(events)
                await self._flush()
        except ConnectionClosed:
            if stats is not None:
                stats.errors[ERROR_CLOSED] += 1
            raise
        if type(outcome) is CallCompleted:
            if stats is not None:
                stats.answered += 1
                stats.latency.record(time.perf_counter_ns() - start)
            return outcome.payload
        assert type(outcome) is CallFailed
        if stats is not None:
            stats.errors[_error_code(outcome)] += 1
        return None

    async def _wait_until(self, when: float) -> None:
        """Answer CSMS CALLs until ``when`` (loop time) or :meth:`wake` (which a trigger calls)."""
        session, ws = self._session, self._ws
        assert session is not None
        assert ws is not None
        deadline = None if when == math.inf else when
        while not self._woken:
            message = await ws.wait_message(deadline)
            if message is None:  # the deadline passed, or wake()
                return
            self._process(session.receive(message, self._loop.time()))
            await self._flush()

    def _process(self, events: list[SessionEvent]) -> CallCompleted | CallFailed | None:
        """Answer incoming CALLs, count notices; return the outcome of our CALL if it came."""
        session = self._session
        assert session is not None
        outcome: CallCompleted | CallFailed | None = None
        index = 0
        while index < len(events):
            event = events[index]
            index += 1
            kind = type(event)
            if kind is CallCompleted or kind is CallFailed:
                outcome = event  # type: ignore[assignment]
            elif kind is IncomingCall:
                self._answer(event)  # type: ignore[arg-type]
                events.extend(session.take_events())  # a CALL queued behind the answered one
            elif kind is ProtocolNotice:
                self.shared.stats.notices[event.kind] += 1  # type: ignore[union-attr]
        return outcome

    def _answer(self, incoming: IncomingCall) -> None:
        session = self._session
        assert session is not None
        call = incoming.call
        self.shared.stats.server_calls[call.action] += 1
        try:
            session.answer(call, answer(self, call.action, call.payload))
        except Exception as exc:  # our bug; the CSMS gets InternalError, the run goes on
            log.exception("load station %s: answering %s failed", self.station_id, call.action)
            session.answer_error(call, exc)

    async def _flush(self) -> None:
        session, ws = self._session, self._ws
        assert session is not None
        assert ws is not None
        for frame in session.data_to_send():
            if not ws.send_now(frame):
                await ws.send(frame)


def _error_code(outcome: CallFailed) -> str:
    error = outcome.error
    if isinstance(error, CallErrorResponse):
        return error.error_code
    if isinstance(error, CallTimeoutError):
        return ERROR_TIMEOUT
    if isinstance(error, InvalidResponseError):
        return ERROR_INVALID
    return ERROR_CLOSED
