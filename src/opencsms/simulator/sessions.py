"""Charging sessions on a simulated station: authorization, transactions and their metering.

1.6: Authorize (§4.1), StartTransaction (§4.8), MeterValues with ``transactionId`` every
MeterValueSampleInterval (§4.7), StopTransaction (§4.10). 2.0.1/2.1: Authorize (C01),
TransactionEvent Started / Updated / Ended with seqNo, triggerReason and chargingState
(E01-E07, E15), Updated every SampledDataCtrlr.TxUpdatedInterval. Every transaction message
goes through the station's ordered queue, so a session survives a dropped connection: what
happened offline is delivered in order afterwards (1.6 §4.7 note; E04 with ``offline`` true).

1.6 transaction ids come from the CSMS. A StartTransaction queued offline has none yet, so the
messages queued after it carry the id through :attr:`QueuedMessage.prepare`, filled in at the
moment they are sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opencsms.clock import utc_iso
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import messages
from opencsms.simulator.authorization import (
    AuthEntry,
    LocalAuthorization,
    authorize_payload,
    entry_from_answer,
)
from opencsms.simulator.config_keys import ConfigKey, Variable, validator_like
from opencsms.simulator.connection import AfterAnswer
from opencsms.simulator.reservations import Reservations

if TYPE_CHECKING:
    from opencsms.simulator.station import QueuedMessage, SimulatedStation

__all__ = ["NotAuthorizedError", "Sessions", "Transaction"]

#: 1.6 stop reasons (§7.35) that 2.0.1 spells differently (ReasonEnumType).
_REASON_TO_2 = {"HardReset": "ImmediateReset", "SoftReset": "Reboot", "UnlockCommand": "Other"}
#: What made a 2.x transaction end, by stop reason (TriggerReasonEnumType).
_TRIGGER_FOR_REASON = {
    "Local": "StopAuthorized",
    "Remote": "RemoteStop",
    "EVDisconnected": "EVCommunicationLost",
    "DeAuthorized": "Deauthorized",
    "UnlockCommand": "UnlockCommand",
    "HardReset": "ResetCommand",
    "SoftReset": "ResetCommand",
    "PowerLoss": "AbnormalCondition",
}


class NotAuthorizedError(Exception):
    """The token may not start a transaction here; ``status`` says why (e.g. ``Blocked``)."""

    def __init__(self, token: str, status: str) -> None:
        super().__init__(f"{token}: {status}")
        self.status = status


@dataclass(slots=True)
class Transaction:
    """One transaction on one EVSE, as the station sees it."""

    evse: int
    id_token: str
    token_type: str
    started_at: datetime
    meter_start_wh: float
    id: str | None = None
    """1.6: the CSMS's transactionId as text (None until StartTransaction is answered);
    2.x: the station's own transactionId."""
    seq_no: int = 0
    """2.x: the seqNo of the next TransactionEvent."""
    remote_start_id: int | None = None
    reservation_id: int | None = None
    stopped: bool = False
    stop_reason: str | None = None
    status: str | None = None
    """The authorization status the CSMS answered for the token (``None``: not yet)."""
    started: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once the start message was answered."""
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class Sessions:
    """Authorization and transactions of one station; see the module docstring."""

    def __init__(self, station: SimulatedStation) -> None:
        self.station = station
        self.auth = LocalAuthorization()
        self.reservations = Reservations(station)
        self._open: dict[int, Transaction] = {}
        self._finishing: set[int] = set()
        self._faults: dict[int, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._aligned_changed = asyncio.Event()
        self.history: list[Transaction] = []
        """Every transaction this station ran, oldest first."""
        self._register_settings()

    # ------------------------------------------------------------------ settings

    def _register_settings(self) -> None:
        keys, model = self.station.keys, self.station.device_model
        if keys is not None:
            # 1.6 §9.1 Core and §9.2 Local Auth List Management keys this behaviour reads.
            for name, value, readonly in (
                ("AuthorizeRemoteTxRequests", "false", False),
                ("LocalAuthorizeOffline", "true", False),
                ("LocalPreAuthorize", "false", False),
                ("AllowOfflineTxForUnknownId", "false", False),
                ("StopTransactionOnInvalidId", "true", False),
                ("StopTransactionOnEVSideDisconnect", "true", False),
                ("UnlockConnectorOnEVSideDisconnect", "true", False),
                ("ClockAlignedDataInterval", "0", False),
                ("MeterValuesAlignedData", "Energy.Active.Import.Register", False),
                ("LocalAuthListEnabled", "true", False),
                ("ReserveConnectorZeroSupported", "true", True),
                ("LocalAuthListMaxLength", "100", True),
                ("SendLocalListMaxLength", "100", True),
            ):
                keys.add(name, ConfigKey(value, readonly, validator_like(value)))
            keys.add_profile("LocalAuthListManagement")
            keys.add_profile("Reservation")
        if model is not None:
            for component, name, value, mutability in (
                ("AuthCtrlr", "Enabled", "true", "ReadWrite"),
                ("AuthCtrlr", "AuthorizeRemoteStart", "false", "ReadWrite"),
                ("AuthCtrlr", "LocalAuthorizeOffline", "true", "ReadWrite"),
                ("AuthCtrlr", "LocalPreAuthorize", "false", "ReadWrite"),
                ("AuthCtrlr", "OfflineTxForUnknownIdEnabled", "false", "ReadWrite"),
                ("TxCtrlr", "StopTxOnInvalidId", "true", "ReadWrite"),
                ("TxCtrlr", "StopTxOnEVSideDisconnect", "true", "ReadOnly"),
                ("TxCtrlr", "TxStartPoint", "Authorized,EVConnected", "ReadWrite"),
                ("TxCtrlr", "TxStopPoint", "Authorized,EVConnected", "ReadWrite"),
                ("AlignedDataCtrlr", "Interval", "0", "ReadWrite"),
                ("AlignedDataCtrlr", "Measurands", "Energy.Active.Import.Register", "ReadWrite"),
                ("LocalAuthListCtrlr", "Enabled", "true", "ReadWrite"),
                ("ReservationCtrlr", "Enabled", "true", "ReadWrite"),
                ("ReservationCtrlr", "NonEvseSpecific", "true", "ReadOnly"),
                ("LocalAuthListCtrlr", "Entries", "0", "ReadOnly"),
                ("LocalAuthListCtrlr", "ItemsPerMessage", "100", "ReadOnly"),
                ("LocalAuthListCtrlr", "BytesPerMessage", "65536", "ReadOnly"),
            ):
                model.add(component, name, Variable(value, mutability, validator_like(value)))

    def flag(self, key16: str, component: str, variable: str) -> bool:
        """A boolean setting: the 1.6 key or the 2.x variable, whichever this station has."""
        keys, model = self.station.keys, self.station.device_model
        if keys is not None:
            return keys.get(key16).lower() == "true"
        assert model is not None
        return model.get(component, variable).lower() == "true"

    def _int_setting(self, key16: str, component: str, variable: str) -> int:
        keys, model = self.station.keys, self.station.device_model
        text = keys.get(key16) if keys is not None else model.get(component, variable)  # type: ignore[union-attr]
        return int(text)

    @property
    def aligned_interval(self) -> int:
        """Seconds between clock-aligned meter values (0: none); 1.6 ClockAlignedDataInterval,
        2.x AlignedDataCtrlr.Interval."""
        return self._int_setting("ClockAlignedDataInterval", "AlignedDataCtrlr", "Interval")

    @property
    def aligned_measurands(self) -> tuple[str, ...]:
        """1.6 MeterValuesAlignedData / 2.x AlignedDataCtrlr.Measurands."""
        keys, model = self.station.keys, self.station.device_model
        if keys is not None:
            text = keys.get("MeterValuesAlignedData")
        else:
            assert model is not None
            text = model.get("AlignedDataCtrlr", "Measurands")
        return tuple(item.strip() for item in text.split(",") if item.strip())

    @property
    def sample_interval(self) -> int:
        """Seconds between periodic meter messages of a transaction (0: none)."""
        return self._int_setting(
            "MeterValueSampleInterval", "SampledDataCtrlr", "TxUpdatedInterval"
        )

    def configuration_changed(self, name: str) -> None:
        """A key/variable changed: running meter loops pick up a new interval at once."""
        for tx in self._open.values():
            tx.wake.set()
        self._aligned_changed.set()

    # ------------------------------------------------------------------ state

    def transaction(self, evse: int) -> Transaction | None:
        """The open transaction on ``evse``, or None."""
        return self._open.get(evse)

    def transaction_id(self, evse: int) -> str | None:
        """The id of the transaction open on ``evse`` (1.6: the CSMS's id as text), or None."""
        tx = self._open.get(evse)
        return tx.id if tx is not None else None

    def find(self, transaction_id: str) -> Transaction | None:
        """The open transaction with this id."""
        return next((tx for tx in self._open.values() if tx.id == transaction_id), None)

    def fault(self, evse: int) -> str | None:
        """The error code of a faulted connector, or None."""
        return self._faults.get(evse)

    def connector_status(self, evse: int, plugged: bool, power_w: float, ev_full: bool) -> str:
        """The status of an operative, unfaulted connector (1.6 §7.7 / 2.0.1 part 2 §3.21)."""
        tx = self._open.get(evse)
        if self.station.version is not OcppVersion.V16:
            if plugged or tx is not None:
                return "Occupied"
            return "Reserved" if self.reservations.holds(evse) else "Available"
        if tx is not None:
            if power_w > 0:
                return "Charging"
            return "SuspendedEV" if ev_full else "SuspendedEVSE"
        if plugged:
            return "Finishing" if evse in self._finishing else "Preparing"
        return "Reserved" if self.reservations.holds(evse) else "Available"

    def unplugged(self, evse: int) -> None:
        """The cable left ``evse``: a 1.6 Finishing connector becomes Available."""
        self._finishing.discard(evse)

    def set_fault(self, evse: int, error_code: str | None) -> None:
        """Fault (1.6 ChargePointErrorCode) or repair (``None``) a connector."""
        if error_code is None:
            self._faults.pop(evse, None)
        else:
            self._faults[evse] = error_code

    # ------------------------------------------------------------------ authorization

    async def authorize(self, token: str, token_type: str = "ISO14443") -> AuthEntry:
        """Decide whether ``token`` may charge: locally when allowed, else by Authorize.

        1.6 §3.4 / C12-C14: with LocalPreAuthorize an Accepted list/cache entry starts at once;
        offline, LocalAuthorizeOffline uses the list/cache and AllowOfflineTxForUnknownId
        admits unknown tokens. Every answer from the CSMS refreshes the cache (1.6 §3.4.2, C10).
        """
        station = self.station
        now = station.clock.now()
        use_list = self.flag("LocalAuthListEnabled", "LocalAuthListCtrlr", "Enabled")
        use_cache = self.flag("AuthorizationCacheEnabled", "AuthCacheCtrlr", "Enabled")
        local = self.auth.lookup(token, now, use_list=use_list, use_cache=use_cache)
        online = station.online_and_accepted
        if not online:
            if local is not None and self.flag(
                "LocalAuthorizeOffline", "AuthCtrlr", "LocalAuthorizeOffline"
            ):
                return local
            if self.flag("AllowOfflineTxForUnknownId", "AuthCtrlr", "OfflineTxForUnknownIdEnabled"):
                return AuthEntry("Accepted")
            return AuthEntry("Invalid")
        if (
            local is not None
            and local.valid_at(now)
            and self.flag("LocalPreAuthorize", "AuthCtrlr", "LocalPreAuthorize")
        ):
            return local
        answer = await station.call("Authorize", authorize_payload(station, token, token_type))
        entry = entry_from_answer(station, answer)
        self._remember(token, entry)
        return entry

    def _remember(self, token: str, entry: AuthEntry) -> None:
        if self.flag("AuthorizationCacheEnabled", "AuthCacheCtrlr", "Enabled"):
            self.auth.cache[token] = entry

    # ------------------------------------------------------------------ transactions

    async def start(
        self,
        evse: int,
        token: str,
        token_type: str = "ISO14443",
        *,
        remote_start_id: int | None = None,
        authorize: bool = True,
        trigger: str = "Authorized",
    ) -> Transaction:
        """Authorize ``token`` and start a transaction on ``evse`` (plugging in an EV if none).

        Returns once the CSMS acknowledged the start, or at once when offline (the start is
        queued). Raises :class:`NotAuthorizedError` when the token may not charge here.
        """
        station = self.station
        if evse in self._open:
            raise ValueError(f"EVSE {evse} already has a transaction")
        if station.meter(evse).ev is None:
            await station.plug_in(evse)
        entry = await self.authorize(token, token_type) if authorize else AuthEntry("Accepted")
        if entry.status != "Accepted":
            raise NotAuthorizedError(token, entry.status)
        reservation = self.reservations.claim(evse, token, entry.group)
        if reservation is False:
            raise NotAuthorizedError(token, "Reserved")
        now = station.clock.now()
        sample = station.meter(evse).sample(station.clock.monotonic())
        tx = Transaction(
            evse=evse,
            id_token=token,
            token_type=token_type,
            started_at=now,
            meter_start_wh=sample.energy_wh,
            remote_start_id=remote_start_id,
            reservation_id=reservation if isinstance(reservation, int) else None,
        )
        self._open[evse] = tx
        self._finishing.discard(evse)
        self.history.append(tx)
        message = await self._queue_start(tx, trigger)
        if self.station.version is not OcppVersion.V16:
            station.charging.on_transaction_started(evse, tx.id or "")
        self._run(self._meter_loop(tx))
        if not message.queued_offline:
            await message.delivered
            station.iso15118.transaction_started(evse)  # K15.FR.01: once the CSMS knows it
        if station.status_changed(evse):  # 1.6: Charging, reported after the start
            await station.send_statuses([evse])
        return tx

    async def _queue_start(self, tx: Transaction, trigger: str) -> QueuedMessage:
        station = self.station
        if station.version is OcppVersion.V16:
            payload = messages.start_transaction_16(
                tx.evse, tx.id_token, tx.meter_start_wh, tx.started_at, tx.reservation_id
            )
        else:
            tx.id = uuid.uuid4().hex
            begin = self._meter_value(tx.evse, "Transaction.Begin", tx.started_at)
            payload = self._event(
                tx,
                "Started",
                trigger,
                meter_values=[begin],
                id_token={"idToken": tx.id_token, "type": tx.token_type},
            )
        return await station.enqueue(
            "StartTransaction" if station.version is OcppVersion.V16 else "TransactionEvent",
            payload,
            on_answer=lambda answer: self._started(tx, answer),
        )

    def _started(self, tx: Transaction, answer: dict[str, Any] | None) -> None:
        """The start was answered: take the 1.6 id, and stop a session the CSMS refused."""
        station = self.station
        if answer is not None and station.version is OcppVersion.V16:
            tx.id = str(answer["transactionId"])
            station.charging.on_transaction_started(tx.evse, tx.id)
        info_key = "idTagInfo" if station.version is OcppVersion.V16 else "idTokenInfo"
        if answer is not None and info_key in answer:
            entry = entry_from_answer(station, answer)
            tx.status = entry.status
            self._remember(tx.id_token, entry)
            # 1.6 §4.8 StopTransactionOnInvalidId / E05 StopTxOnInvalidId: end it as DeAuthorized.
            if (
                entry.status != "Accepted"
                and not tx.stopped
                and self.flag("StopTransactionOnInvalidId", "TxCtrlr", "StopTxOnInvalidId")
            ):
                station.spawn_background(lambda: self.stop(tx.evse, "DeAuthorized"))
        tx.started.set()

    async def stop(
        self, evse: int, reason: str = "Local", *, id_token: str | None = None, wait: bool = True
    ) -> None:
        """End the transaction on ``evse`` with ``reason`` (1.6 Reason spelling).

        Waits for the CSMS's acknowledgement when online and ``wait`` is true.
        """
        station = self.station
        tx = self._open.pop(evse, None)
        if tx is None:
            raise ValueError(f"no transaction on EVSE {evse}")
        tx.stopped = True
        tx.stop_reason = reason
        tx.wake.set()
        now = station.clock.now()
        end = self._meter_value(evse, "Transaction.End", now)
        if station.meter(evse).ev is not None:
            self._finishing.add(evse)
        if station.version is OcppVersion.V16:
            register = station.meter(evse).energy_wh
            message = await station.enqueue(
                "StopTransaction",
                {},
                prepare=lambda _: (
                    messages.stop_transaction_16(_id16(tx), id_token, register, now, reason)
                    | {"transactionData": [end]}
                ),
                on_answer=lambda answer: self._stopped(tx, answer),
            )
        else:
            plugged = station.meter(evse).ev is not None
            payload = self._event(
                tx,
                "Ended",
                _TRIGGER_FOR_REASON.get(reason, "AbnormalCondition"),
                meter_values=[end],
                charging_state="EVConnected" if plugged else "Idle",
                stopped_reason=_REASON_TO_2.get(reason, reason),
                id_token=(
                    {"idToken": id_token, "type": tx.token_type} if id_token is not None else None
                ),
            )
            message = await station.enqueue("TransactionEvent", payload)
        station.charging.on_transaction_ended(evse, tx.id or "")
        if wait and not message.queued_offline:
            await message.delivered
        if station.status_changed(evse):  # 1.6: Finishing / Available, after the stop
            await station.send_statuses([evse])

    def _stopped(self, tx: Transaction, answer: dict[str, Any] | None) -> None:
        if answer is not None and "idTagInfo" in answer:
            self._remember(tx.id_token, entry_from_answer(self.station, answer))

    async def stop_all(self, reason: str) -> None:
        """End every open transaction without waiting (reset, power loss)."""
        for evse in sorted(self._open):
            await self.stop(evse, reason, wait=False)

    # ------------------------------------------------------------------ metering

    async def _meter_loop(self, tx: Transaction) -> None:
        """Periodic meter values while ``tx`` runs (1.6 §9.1.19 / SampledDataCtrlr)."""
        station = self.station
        while not tx.stopped:
            tx.wake.clear()
            interval = self.sample_interval
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval if interval > 0 else None):
                    await tx.wake.wait()
                continue  # woken: stopped, or a new interval
            if tx.stopped:
                return
            await self.send_meter(tx, "Sample.Periodic", "MeterValuePeriodic")
            if station.status_changed(tx.evse):  # e.g. Charging → SuspendedEV when full
                await station.send_statuses([tx.evse])

    async def send_meter(
        self,
        tx: Transaction,
        context: str,
        trigger: str,
        measurands: tuple[str, ...] | None = None,
    ) -> QueuedMessage:
        """One meter message of ``tx``: 1.6 MeterValues, 2.x TransactionEvent Updated."""
        station = self.station
        station.charging.apply()
        now = station.clock.now()
        chosen = measurands or station.measurands
        if station.version is OcppVersion.V16:
            sample = station.meter(tx.evse).sample(station.clock.monotonic())
            payload = messages.meter_values(
                station.version, tx.evse, sample, chosen, now, context=context
            )
            return await station.enqueue(
                "MeterValues", payload, prepare=lambda p: p | {"transactionId": _id16(tx)}
            )
        meter_value = self._meter_value(tx.evse, context, now, chosen)
        payload = self._event(tx, "Updated", trigger, meter_values=[meter_value])
        return await station.enqueue("TransactionEvent", payload)

    async def aligned_loop(self) -> None:
        """Clock-aligned meter values (1.6 §9.1.2 ClockAlignedDataInterval, J01 AlignedData):
        at every multiple of the interval since midnight UTC, for every EVSE; inside a
        transaction 1.6 adds its transactionId and 2.x sends TransactionEvent Updated
        (MeterValueClock); outside one, plain MeterValues with context Sample.Clock."""
        station = self.station
        while True:
            self._aligned_changed.clear()
            interval = self.aligned_interval
            delay: float | None = None
            if interval > 0:
                now = station.clock.now()
                midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
                elapsed = (now - midnight).total_seconds()
                delay = interval - elapsed % interval
            try:
                async with asyncio.timeout(delay):
                    await self._aligned_changed.wait()
                continue  # the interval changed: recompute the next boundary
            except TimeoutError:
                pass
            measurands = self.aligned_measurands
            for evse in range(1, station.evse_count + 1):
                tx = self._open.get(evse)
                if tx is not None:
                    await self.send_meter(tx, "Sample.Clock", "MeterValueClock", measurands)
                    continue
                sample = station.meter(evse).sample(station.clock.monotonic())
                payload = messages.meter_values(
                    station.version,
                    evse,
                    sample,
                    measurands,
                    station.clock.now(),
                    context="Sample.Clock",
                )
                await station.enqueue("MeterValues", payload)

    def _meter_value(
        self,
        evse: int,
        context: str,
        now: datetime,
        measurands: tuple[str, ...] | None = None,
    ) -> dict[str, Any]:
        station = self.station
        sample = station.meter(evse).sample(station.clock.monotonic())
        return {
            "timestamp": utc_iso(now),
            "sampledValue": messages.sampled_values(
                station.version, sample, measurands or station.measurands, context
            ),
        }

    def _event(
        self,
        tx: Transaction,
        event_type: str,
        trigger: str,
        *,
        meter_values: list[dict[str, Any]] | None = None,
        charging_state: str | None = None,
        stopped_reason: str | None = None,
        id_token: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The next TransactionEvent of ``tx`` (seqNo counts every event of the session)."""
        station = self.station
        meter = station.meter(tx.evse)
        if charging_state is None:
            charging_state = "Charging" if meter.power_w > 0 else "SuspendedEVSE"
            if meter.power_w <= 0 and meter.ev is not None and meter.ev.accepted_power() <= 0:
                charging_state = "SuspendedEV"
        payload = messages.transaction_event(
            event_type,
            transaction_id=tx.id or "",
            seq_no=tx.seq_no,
            trigger_reason=trigger,
            charging_state=charging_state,
            evse_id=tx.evse,
            now=station.clock.now(),
            meter_values=meter_values,
            id_token=id_token,
            stopped_reason=stopped_reason,
            remote_start_id=tx.remote_start_id if event_type == "Started" else None,
            reservation_id=tx.reservation_id if event_type == "Started" else None,
            offline=not station.online_and_accepted,  # E04: it happened while offline
        )
        tx.seq_no += 1
        return payload

    # ------------------------------------------------------------------ tasks

    def _run(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        """Cancel meter loops (the station is shutting down)."""
        for task in list(self._tasks):
            task.cancel()
        self.reservations.close()

    def trigger(self, requested: str) -> AfterAnswer | None:
        """TriggerMessage TransactionEvent (F06): an Updated event per open transaction."""
        if requested != "TransactionEvent" or self.station.version is OcppVersion.V16:
            return None

        async def send() -> None:
            for tx in list(self._open.values()):
                await self.send_meter(tx, "Trigger", "Trigger")

        return send


def _id16(tx: Transaction) -> int:
    """The 1.6 transactionId; -1 when the CSMS never answered the start (1.6 §4.10 allows it)."""
    return int(tx.id) if tx.id is not None else -1
