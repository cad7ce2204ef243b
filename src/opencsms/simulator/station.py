"""A simulated charging station: connection life, boot, heartbeats, connectors and meters.

``async with SimulatedStation(cfg) as st:`` connects and sends its first BootNotification; the
station then keeps itself connected (reconnecting with back-off, OCPP-J 2.0.1 part 4 §5.3) until
the block ends. Tests drive it with :meth:`plug_in`, :meth:`unplug`, :meth:`send_meter_values`
and await its state with :meth:`wait_for`, which is woken on every state change (no polling).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Subprotocol

from opencsms.clock import Clock, SystemClock
from opencsms.errors import CallFailedError, CallTimeoutError, ConnectionClosedError
from opencsms.ocpp.events import IncomingCall, ProtocolNotice
from opencsms.ocpp.session import Role, RpcSession
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import handlers, messages, network
from opencsms.simulator.authorization import AuthEntry
from opencsms.simulator.certificates import CertificateStore
from opencsms.simulator.charging import ChargingProfiles
from opencsms.simulator.config import BackOffConfig, StationConfig
from opencsms.simulator.config_keys import DeviceModel, KeyStore
from opencsms.simulator.connection import AfterAnswer, Counters, Link, Reply, RetryBackOff
from opencsms.simulator.ev import EvModel, EvseMeter
from opencsms.simulator.faults import FaultSettings, SkewedClock
from opencsms.simulator.iso15118 import Iso15118
from opencsms.simulator.maintenance import Maintenance
from opencsms.simulator.outbox import Outbox, QueuedMessage
from opencsms.simulator.sessions import Sessions, Transaction

__all__ = ["QueuedMessage", "ReceivedCall", "SimulatedStation"]

log = logging.getLogger("opencsms.simulator")


@dataclass(frozen=True, slots=True)
class ReceivedCall:
    """A CALL the CSMS sent to this station."""

    action: str
    payload: dict[str, Any]
    at: datetime


@dataclass(slots=True)
class _Connector:
    meter: EvseMeter
    operative: bool = True


class SimulatedStation:
    """One charging station speaking OCPP-J as a client; see the module docstring."""

    def __init__(
        self, config: StationConfig, *, clock: Clock | None = None, rng: random.Random | None = None
    ) -> None:
        self.config = config
        self.version = config.version
        self.clock = SkewedClock(clock or SystemClock())
        """The station's clock; ``clock.skew`` is the clock-skew fault (see faults.py)."""
        self.faults = FaultSettings()
        self._outbox = Outbox(self.faults, self._changed)
        self.counters = Counters()
        """Calls sent and received over all connections."""
        self.notices: list[ProtocolNotice] = []
        """What the station's session noticed about the CSMS's frames, over all connections."""
        self._rng = rng or random.Random()
        now = self.clock.monotonic()
        self._connectors = [_Connector(EvseMeter(evse, now)) for evse in config.evses]
        self.keys: KeyStore | None = KeyStore(config) if self.version is OcppVersion.V16 else None
        self.device_model: DeviceModel | None = (
            None if self.version is OcppVersion.V16 else DeviceModel(config)
        )
        self.firmware_version = config.firmware_version
        """Reported in BootNotification; a firmware update installs a new one."""
        self.sessions = Sessions(self)
        self.charging = ChargingProfiles(self)
        self.iso15118 = Iso15118(self)
        self.maintenance = Maintenance(self)
        self.certificates = CertificateStore(self)
        network.install(self)  # B09/B10 network profiles, A05 profile upgrades
        self.registration: str | None = None
        """Status of the last BootNotification answer (``None``: none since power-up/reset)."""
        self.connected = False
        self.boot_attempts = 0
        self.boots_answered = 0
        """BootNotifications the CSMS answered (``boot_attempts`` counts those sent)."""
        self.heartbeats_sent = 0
        self.statuses_sent = 0
        self.connections = 0
        self.received: list[ReceivedCall] = []
        """Every CALL received from the CSMS, in order."""
        self._station_operative = True
        self._must_boot = True
        self._boot_reason = "PowerUp"
        self._dirty: set[int] = set()
        self._link: Link | None = None
        self._cond = asyncio.Condition()
        self._boot_trigger = asyncio.Event()
        self._heartbeat_changed = asyncio.Event()
        self._reboot = False
        self._exit = contextlib.AsyncExitStack()
        self._conn_tasks: asyncio.TaskGroup | None = None
        self._spawned: set[asyncio.Task[None]] = set()
        self._background: set[asyncio.Task[None]] = set()
        self._last_sent: dict[int, str] = {}
        self._status_in_flight = 0
        self._network = asyncio.Event()
        self._network.set()

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> SimulatedStation:
        tasks = await self._exit.enter_async_context(asyncio.TaskGroup())
        runner = tasks.create_task(self._run(), name=f"sim-{self.config.id}")
        self._exit.callback(runner.cancel)
        self._exit.callback(self._cancel_background)
        self.spawn_background(self.sessions.aligned_loop)
        try:
            await self.wait_for(
                lambda s: s.registration is not None,
                timeout=self.config.open_timeout + self.config.call_timeout,
            )
        except BaseException:
            await self._exit.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._exit.aclose()

    async def wait_for(
        self,
        predicate: Callable[[SimulatedStation], bool],
        timeout: float | None = 10.0,  # noqa: ASYNC109 - a test-facing convenience
    ) -> None:
        """Return once ``predicate(self)`` holds; re-checked on every state change.

        Raises ``TimeoutError`` after ``timeout`` seconds (None: wait as long as it takes).
        """
        async with asyncio.timeout(timeout), self._cond:
            await self._cond.wait_for(lambda: predicate(self))

    def _cancel_background(self) -> None:
        self.sessions.close()
        for task in list(self._background):
            task.cancel()

    async def _changed(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    # ------------------------------------------------------------------ state

    @property
    def evse_count(self) -> int:
        """Number of EVSEs (each has one connector)."""
        return len(self._connectors)

    @property
    def heartbeat_interval(self) -> int:
        """The interval in force (1.6 HeartbeatInterval / OCPPCommCtrlr.HeartbeatInterval)."""
        if self.keys is not None:
            return int(self.keys.get("HeartbeatInterval"))
        assert self.device_model is not None
        return int(self.device_model.get("OCPPCommCtrlr", "HeartbeatInterval"))

    @property
    def measurands(self) -> tuple[str, ...]:
        """Sampled measurands (1.6 MeterValuesSampledData, 2.x TxUpdatedMeasurands)."""
        if self.keys is not None:
            text = self.keys.get("MeterValuesSampledData")
        else:
            assert self.device_model is not None
            text = self.device_model.get("SampledDataCtrlr", "TxUpdatedMeasurands")
        return tuple(item.strip() for item in text.split(",") if item.strip())

    @property
    def unsent_statuses(self) -> int:
        """Connector status changes not yet acknowledged by the CSMS."""
        return len(self._dirty) + self._status_in_flight

    @property
    def queued(self) -> int:
        """Transaction-related messages not yet acknowledged by the CSMS."""
        return len(self._outbox)

    def status(self, evse: int) -> str:
        """The connector status as this version spells it (1.6 §7.7 / 2.0.1 ConnectorStatusEnum).

        EVSE 0 is the 1.6 charge point itself. Without transactions (a later part of the
        simulator), a plugged-in connector is 1.6 ``Preparing`` / 2.x ``Occupied``.
        """
        if evse == 0:
            return "Available" if self._station_operative else "Unavailable"
        connector = self._connector(evse)
        if self.sessions.fault(evse) is not None:
            return "Faulted"
        if not (connector.operative and self._station_operative):
            return "Unavailable"
        meter = connector.meter
        return self.sessions.connector_status(
            evse,
            plugged=meter.ev is not None,
            power_w=meter.power_w,
            ev_full=meter.ev is not None and meter.ev.accepted_power() <= 0,
        )

    def status_changed(self, evse: int) -> bool:
        """Whether ``evse``'s status differs from the one last reported."""
        return self._last_sent.get(evse) != self.status(evse)

    def operative(self, evse: int) -> bool:
        """The EVSE and the station are Operative (ChangeAvailability)."""
        return self._connector(evse).operative and self._station_operative

    def plugged(self, evse: int) -> bool:
        """An EV is plugged into ``evse``."""
        return self._connector(evse).meter.ev is not None

    def can_start(self, evse: int) -> bool:
        """A transaction could start on ``evse`` now: operative, not faulted, none running."""
        return (
            self.operative(evse)
            and self.sessions.fault(evse) is None
            and self.sessions.transaction(evse) is None
        )

    def transaction(self, evse: int) -> Transaction | None:
        """The open transaction on ``evse``, or None."""
        return self.sessions.transaction(evse)

    @property
    def online_and_accepted(self) -> bool:
        """Connected and booted (Accepted): messages go out now rather than into the queue."""
        return self._online_and_accepted()

    def queued_for(self, transaction_id: str | None) -> bool:
        """E14: whether messages of ``transaction_id`` (any, when None) wait in the queue."""
        return self._outbox.holds_transaction(transaction_id)

    def meter(self, evse: int) -> EvseMeter:
        """The meter of EVSE ``evse`` (1-based)."""
        return self._connector(evse).meter

    def _connector(self, evse: int) -> _Connector:
        if not 1 <= evse <= len(self._connectors):
            raise ValueError(f"no EVSE {evse}")
        return self._connectors[evse - 1]

    # ------------------------------------------------------------------ test/driver API

    async def plug_in(self, evse: int, ev: EvModel | None = None) -> None:
        """Plug an EV into ``evse`` and report the new connector status."""
        connector = self._connector(evse)
        connector.meter.plug(ev or EvModel(), self.clock.monotonic())
        connector.meter.set_enabled(
            connector.operative and self._station_operative, self.clock.monotonic()
        )
        self.charging.apply()  # a station-wide limit is shared with the new EV at once
        await self.send_statuses([evse])

    async def unplug(self, evse: int) -> None:
        """Unplug the EV from ``evse`` and report the new connector status.

        A running transaction ends first with reason EVDisconnected (1.6
        StopTransactionOnEVSideDisconnect, TxCtrlr.TxStopPoint EVConnected).
        """
        if self.sessions.transaction(evse) is not None:
            self._connector(evse).meter.unplug(self.clock.monotonic())
            await self.sessions.stop(evse, "EVDisconnected", wait=False)
        else:
            self._connector(evse).meter.unplug(self.clock.monotonic())
        self.sessions.unplugged(evse)
        self.charging.apply()
        await self.send_statuses([evse])

    async def authorize(self, id_token: str, token_type: str = "ISO14443") -> AuthEntry:
        """Present ``id_token``: the local decision or the CSMS's Authorize answer."""
        return await self.sessions.authorize(id_token, token_type)

    async def start_transaction(
        self, evse: int, id_token: str, token_type: str = "ISO14443"
    ) -> Transaction:
        """Plug in (if needed), authorize and start a transaction; returns once acknowledged
        (at once when offline). Raises ``NotAuthorizedError`` for a refused token."""
        return await self.sessions.start(evse, id_token, token_type)

    async def stop_transaction(
        self, evse: int, reason: str = "Local", id_token: str | None = None
    ) -> None:
        """End the transaction on ``evse`` (1.6 reason names); returns once acknowledged."""
        tx = self.sessions.transaction(evse)
        token = (
            id_token
            if id_token is not None
            else (tx.id_token if tx and reason == "Local" else None)
        )
        await self.sessions.stop(evse, reason, id_token=token)

    async def set_fault(self, evse: int, error_code: str = "OtherError") -> None:
        """Fault injection: the connector reports Faulted with ``error_code`` (1.6 §7.6)."""
        self.sessions.set_fault(evse, error_code)
        await self.send_statuses([evse])

    async def clear_fault(self, evse: int) -> None:
        """The fault is repaired; the connector reports its normal status again."""
        self.sessions.set_fault(evse, None)
        await self.send_statuses([evse])

    async def send_raw(self, text: str) -> None:
        """Fault injection: send ``text`` as a WebSocket message as is (a malformed frame)."""
        await self._require_link().send_raw(text)

    async def call_unchecked(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Fault injection: send a CALL without checking ``payload`` against its schema."""
        return await self._require_link().call(action, payload, validate=False)

    def set_clock_skew(self, seconds: float) -> None:
        """Fault injection: the station's clock runs ``seconds`` ahead (negative: behind)."""
        self.clock.skew = timedelta(seconds=seconds)

    async def go_offline(self) -> None:
        """Fault injection: the network goes down; no reconnect until :meth:`go_online`.

        Transaction messages made meanwhile queue up and are delivered in order afterwards.
        """
        self._network.clear()
        if self._link is not None and not self._link.closed:
            self._link.ws.transport.abort()  # a pulled cable sends no close frame
        await self.wait_for(lambda s: not s.connected)

    def go_online(self) -> None:
        """The network is back: the station reconnects (with its back-off)."""
        self._network.set()

    async def power_loss(self) -> None:
        """Power cut: the connection drops at once, the station reboots (reason PowerUp) and
        ends open transactions with reason PowerLoss, delivered after the boot (1.6 §4.10)."""
        await self.sessions.stop_all("PowerLoss")
        self.registration = None
        await self.reboot("PowerUp")

    def set_power_limit(self, evse: int, limit_w: float) -> None:
        """Limit the power of ``evse`` (what a charging profile will do)."""
        self._connector(evse).meter.set_limit(limit_w, self.clock.monotonic())

    async def send_meter_values(self, evse: int, context: str = "Sample.Periodic") -> QueuedMessage:
        """Sample ``evse`` now and queue a MeterValues; sent at once when online and Accepted.

        The returned message's ``delivered`` future resolves when the CSMS acknowledged it,
        possibly after a reconnect.
        """
        sample = self._connector(evse).meter.sample(self.clock.monotonic())
        payload = messages.meter_values(
            self.version, evse, sample, self.measurands, self.clock.now(), context=context
        )
        return await self.enqueue("MeterValues", payload)

    # ------------------------------------------------------------ used by handlers and features

    async def call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send a CALL now and return the CSMS's answer (not queued: for status reports and
        the like). Raises ``ConnectionClosedError`` when offline, ``CallFailedError`` on a
        CALLERROR or timeout."""
        link = self._require_link()
        return await link.call(action, payload)

    async def enqueue(
        self,
        action: str,
        payload: dict[str, Any],
        *,
        prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        on_answer: Callable[[dict[str, Any] | None], None] | None = None,
    ) -> QueuedMessage:
        """Queue a transaction-related message: delivered in order, also after a reconnect."""
        message = self._outbox.put(
            action,
            payload,
            offline=not self._online_and_accepted(),
            prepare=prepare,
            on_answer=on_answer,
        )
        await self._changed()
        return message

    def spawn(self, work: AfterAnswer) -> None:
        """Run ``work`` as a task of the current connection (it ends with the connection)."""
        self._spawn(work)

    def spawn_background(self, work: AfterAnswer) -> None:
        """Run ``work`` as a task of the station (it survives reconnects, ends with the station)."""
        task = asyncio.get_running_loop().create_task(self._guard(work()))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def notify_changed(self) -> None:
        """Wake :meth:`wait_for` callers after a feature changed station state."""
        await self._changed()

    def set_operative(self, evse: int | None, operative: bool) -> list[int]:
        """ChangeAvailability: ``evse`` None is the whole station; returns the statuses to send."""
        now = self.clock.monotonic()
        if evse is None:
            self._station_operative = operative
            targets = list(range(1, self.evse_count + 1))
            report = ([0] if self.version is OcppVersion.V16 else []) + targets
        else:
            self._connector(evse).operative = operative
            targets = report = [evse]
        for target in targets:
            connector = self._connector(target)
            connector.meter.set_enabled(connector.operative and self._station_operative, now)
        self._dirty.update(report)
        self.charging.apply()
        return report

    def configuration_changed(self, name: str) -> None:
        """A key/variable was changed by the CSMS; apply what runs on it."""
        if name in ("HeartbeatInterval", "OCPPCommCtrlr.HeartbeatInterval"):
            self._heartbeat_changed.set()  # B05/1.6 §9.1.14: the new interval applies at once
        self.sessions.configuration_changed(name)

    def mark_status_changed(self, evses: Iterable[int]) -> None:
        """Note that ``evses`` must be reported (at once counted in :attr:`unsent_statuses`)."""
        self._dirty.update(evses)

    async def send_statuses(self, evses: Iterable[int]) -> None:
        """Send StatusNotification for each of ``evses`` (0 = 1.6 charge point) if possible.

        While offline or not Accepted the change is remembered and sent after (re)boot.
        """
        for evse in evses:
            self._dirty.add(evse)
        await self._changed()
        link = self._link
        if link is None or not self._online_and_accepted():
            return
        while self._dirty:
            # Take the EVSE before awaiting, so concurrent senders never report it twice.
            evse = min(self._dirty)
            self._dirty.discard(evse)
            current = self.status(evse)
            fault = self.sessions.fault(evse) if evse else None
            status = messages.status_notification(
                self.version, evse, current, self.clock.now(), error_code=fault or "NoError"
            )
            self._status_in_flight += 1
            try:
                await link.call("StatusNotification", status)
            except BaseException:
                self._dirty.add(evse)  # not reported: report it after reconnecting
                raise
            finally:
                self._status_in_flight -= 1
            self._last_sent[evse] = current
            self.statuses_sent += 1
            await self._changed()

    async def send_heartbeat(self) -> None:
        """Send one Heartbeat now."""
        link = self._require_link()
        await link.call("Heartbeat", {})
        self.heartbeats_sent += 1
        await self._changed()

    async def send_triggered_meters(self, evses: Iterable[int]) -> None:
        """TriggerMessage MeterValues: one sample per EVSE with context ``Trigger``."""
        for evse in evses:
            await self.send_meter_values(evse, context="Trigger")

    async def boot_now(self) -> None:
        """TriggerMessage BootNotification: wake a Pending station's boot loop, or boot again."""
        if self.registration != "Accepted":
            self._boot_trigger.set()
            return
        await self._send_boot(self._require_link())

    async def reboot(self, reason: str) -> None:
        """Reset: drop the connection and boot again at once with ``reason``."""
        self._must_boot = True
        self._boot_reason = reason
        if self._link is None or self._link.closed:
            return  # offline: the next connection boots with ``reason``
        self._reboot = True
        await self._link.close()

    def _require_link(self) -> Link:
        if self._link is None or self._link.closed:
            raise ConnectionClosedError("not connected")
        return self._link

    def _online_and_accepted(self) -> bool:
        link = self._link
        # A closed link counts as offline at once, before its tasks have wound down: a driver
        # that retries while "online" must not spin on a dead connection.
        return (
            link is not None
            and not link.closed
            and not self._must_boot
            and self.registration == "Accepted"
        )

    # ------------------------------------------------------------------ connection life

    async def _run(self) -> None:
        """Connect, behave, and reconnect with back-off (2.0.1 part 4 §5.3) forever."""
        attempt = 0
        fallback = 0  # index into the network priority (A05.FR.08: fall back on failure)
        while True:
            await self._network.wait()  # fault injection: a network outage holds us here
            choices = network.endpoints(self)
            endpoint = choices[fallback % len(choices)]
            try:
                async with connect(
                    endpoint.url,
                    subprotocols=[Subprotocol(self.version.subprotocol)],
                    additional_headers=endpoint.headers,
                    open_timeout=self.config.open_timeout,
                    ssl=endpoint.ssl,
                ) as ws:
                    attempt = 0
                    network.connected(self, endpoint)
                    if ws.subprotocol != self.version.subprotocol:
                        log.warning("%s: CSMS did not accept %s", self.config.id, ws.subprotocol)
                    else:
                        link = Link(ws, self._new_session())
                        link.notices = self.notices
                        link.counters = self.counters
                        await self._online(link)
            except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed) as exc:
                log.info("%s: connection failed: %s", self.config.id, exc)
                fallback += 1
            self._link = None
            self.connected = False
            await self._changed()
            if self._reboot:
                self._reboot = False
                fallback = 0  # a reset starts again at the first slot of the priority
                continue
            await asyncio.sleep(RetryBackOff(self._backoff(), self._rng).delay(attempt))
            attempt += 1

    def _new_session(self) -> RpcSession:
        return RpcSession(
            self.version,
            role=Role.STATION,
            call_timeout=self.config.call_timeout,
            validate_outgoing_results=True,  # our answers must be schema-valid: check them
        )

    def _backoff(self) -> BackOffConfig:
        """The back-off in force: 2.x reads OCPPCommCtrlr.RetryBackOff*, which the CSMS may set."""
        configured = self.config.backoff
        model = self.device_model
        if model is None:
            return configured

        def pick(name: str, value: float) -> float:
            current = int(model.get("OCPPCommCtrlr", name))
            # Keep the configured (possibly fractional) value until the CSMS changes it.
            return value if current == -(-value // 1) else float(current)

        return BackOffConfig(
            wait_minimum=pick("RetryBackOffWaitMinimum", configured.wait_minimum),
            random_range=pick("RetryBackOffRandomRange", configured.random_range),
            repeat_times=int(model.get("OCPPCommCtrlr", "RetryBackOffRepeatTimes")),
        )

    async def _online(self, link: Link) -> None:
        self._link = link
        self.connected = True
        self.connections += 1
        await self._changed()
        async with asyncio.TaskGroup() as tasks:
            self._conn_tasks = tasks
            self._spawn(self._behave)
            try:
                await link.run(self._handle, self._spawn)
            finally:
                self._conn_tasks = None
                for task in list(self._spawned):
                    task.cancel()

    def _spawn(self, work: AfterAnswer) -> None:
        """Run ``work`` in this connection's task group; it ends with the connection."""
        if self._conn_tasks is None:
            return
        task = self._conn_tasks.create_task(self._guard(work()))
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)

    async def _guard(self, work: Awaitable[None]) -> None:
        try:
            await work
        except Exception as exc:
            failed = _call_failure(exc)
            if failed is not None:  # mostly: the connection closed under us
                log.info("%s: %s", self.config.id, failed)
            else:
                log.exception("%s: simulator task failed", self.config.id)

    async def _handle(self, incoming: IncomingCall) -> Reply:
        call = incoming.call
        self.received.append(ReceivedCall(call.action, call.payload, self.clock.now()))
        await self._changed()
        if self.registration == "Rejected":
            # 1.6 §4.2: a rejected charge point does not respond to Central System requests.
            return Reply(ignore=True)
        return handlers.handle(self, call.action, call.payload)

    async def _behave(self) -> None:
        """After connecting: boot if needed (B01), statuses, then heartbeats and the queue."""
        link = self._require_link()
        if self._must_boot or self.registration != "Accepted":
            await self._boot_until_accepted(link)
        # OCPP-J 2.0.1 §5.3: no new BootNotification on a mere reconnect.
        await self.send_statuses(())
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._heartbeats(link))
            tasks.create_task(self._outbox.deliver(link))

    async def _boot_until_accepted(self, link: Link) -> None:
        """1.6 §4.2 / B01-B03: boot; on Pending/Rejected retry after ``interval``, sending
        nothing else meanwhile; a TriggerMessage BootNotification retries at once (B02)."""
        while True:
            self._boot_trigger.clear()
            try:
                answer = await self._send_boot(link)
            except (CallTimeoutError, ConnectionClosedError):
                raise
            except CallFailedError:  # CALLERROR or invalid answer: try again later
                answer = {"status": "", "interval": 0}
            if answer["status"] == "Accepted":
                return
            wait = answer["interval"] or self.config.boot_retry_interval
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._boot_trigger.wait()

    async def _send_boot(self, link: Link) -> dict[str, Any]:
        self.boot_attempts += 1
        payload = messages.boot_notification(self.config, self._boot_reason, self.firmware_version)
        answer = await link.call("BootNotification", payload)
        self.boots_answered += 1
        status = answer["status"]
        if status == "Accepted":
            if self._must_boot:  # B01 / 1.6 §4.2: every connector's status after a boot
                first = 0 if self.version is OcppVersion.V16 else 1
                self._dirty.update(range(first, self.evse_count + 1))
            self._must_boot = False
            self._boot_reason = "PowerUp"
            if answer["interval"] > 0:  # 1.6 §4.2, B01: adopt the CSMS's interval
                self._set_heartbeat_interval(answer["interval"])
        self.registration = status
        await self._changed()
        return answer

    def _set_heartbeat_interval(self, seconds: int) -> None:
        if self.keys is not None:
            self.keys.set("HeartbeatInterval", str(seconds))
        else:
            assert self.device_model is not None
            self.device_model.set("OCPPCommCtrlr", "HeartbeatInterval", str(seconds))
        self._heartbeat_changed.set()

    async def _heartbeats(self, link: Link) -> None:
        """1.6 §4.6 / G02: a Heartbeat every interval; 0 disables them; changes apply at once."""
        while True:
            self._heartbeat_changed.clear()
            interval = self.heartbeat_interval
            try:
                async with asyncio.timeout(interval if interval > 0 else None):
                    await self._heartbeat_changed.wait()
                continue
            except TimeoutError:
                pass
            await link.call("Heartbeat", {})
            self.heartbeats_sent += 1
            await self._changed()


def _call_failure(exc: BaseException) -> CallFailedError | None:
    """The CallFailedError behind ``exc``, also from inside a task group's ExceptionGroup
    (a connection's tasks fail together when it closes), or None for a real bug."""
    if isinstance(exc, CallFailedError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        failures = [_call_failure(e) for e in exc.exceptions]
        if failures and all(f is not None for f in failures):
            return failures[0]
    return None
