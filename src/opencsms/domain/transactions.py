"""Transactions: what the CSMS decides when stations start, update and stop charging sessions.

1.6 (§4.8 StartTransaction, §4.10 StopTransaction): the CSMS numbers the session, checks the idTag
(a refused one still gets its number: the station stops the session itself), and closes it on
StopTransaction. 2.0.1 (E01-E15): the record is the fold of the session's TransactionEvents in
seqNo order (:func:`~opencsms.domain.transaction_model.apply_event`), with idTokenInfo for every
event that carries an idToken.

Idempotence (ARCHITECTURE rule 7): a resent StartTransaction gets the same transactionId and its
stored authorization; a resent StopTransaction or TransactionEvent changes nothing; meter values are
stored once. A 1.6 StopTransaction for a transaction id the CSMS never gave this station (or -1)
is accepted and kept as an ``Orphaned`` record.

Sessions a station lost. A station that reboots loses 1.6 sessions and may lose 2.0.1 ones. The CSMS
closes such a session (``stop_source = "csms"``) from what the station reports next:

* a new session on the same connector/EVSE proves the old one over (both versions);
* 1.6, after a BootNotification: a StatusNotification of the connector that is not a charging state
  (1.6 sessions do not survive a reboot);
* 2.0.1, after a BootNotification: GetTransactionStatus (E14) says the transaction is not ongoing
  and nothing about it is queued.

An inferred stop ends at the session's last meter reading (Wh and time) and is replaced by the real
StopTransaction / Ended event if one arrives later from the station's queue.

The open sessions of each station are kept in memory (loaded on first use per connection, and only
for stations the node knows to have any), so handlers never query the database to find them and a
boot storm costs no query; the 1.6 MeterValues hot path does not touch this service at all (its
samples carry the transactionId they belong to). The set of stations with open sessions is this
node's view: a future cluster must invalidate it when a station moves between nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from opencsms.clock import Clock
from opencsms.domain.authorization import (
    AuthDecision,
    AuthorizationService,
    AuthorizationStatus,
    AuthPurpose,
    AuthRequest,
)
from opencsms.domain.fleet_events import FleetEvents, MeterValuesStored, TransactionChanged
from opencsms.domain.metering import session_energy
from opencsms.domain.model import MeterValueRecord, TransactionEventRecord
from opencsms.domain.reservation_model import Reservation
from opencsms.domain.reservations import ReservationService
from opencsms.domain.transaction_model import (
    StopSource,
    Transaction,
    TransactionStatus,
    TxEvent,
    apply_event,
    origin_key_16_start,
    origin_key_16_stop,
    origin_key_201,
)
from opencsms.errors import StorageError
from opencsms.storage.store import Storage

__all__ = ["StartOutcome", "TransactionService", "TransactionStatusReport"]

CHARGING_STATES_16 = frozenset({"Charging", "SuspendedEV", "SuspendedEVSE"})
"""1.6 §7.7 ChargePointStatus values a connector has while a transaction is running on it."""


@dataclass(frozen=True, slots=True)
class StartOutcome:
    """The answer to a 1.6 StartTransaction: the session (its ``id`` is the transactionId) and
    the authorization of its idTag."""

    transaction: Transaction
    decision: AuthDecision
    fresh: bool
    """False when the message was a resend of a stored StartTransaction."""


@dataclass(frozen=True, slots=True)
class TransactionStatusReport:
    """A station's answer to GetTransactionStatus (2.0.1 E14)."""

    ongoing: bool | None
    messages_in_queue: bool


@dataclass(slots=True)
class _Boot:
    at: datetime
    interrupted: set[int]


class TransactionService:
    """Starts, updates and stops transactions from station reports (one instance per node)."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        authorization: AuthorizationService,
        reservations: ReservationService | None = None,
        events: FleetEvents | None = None,
    ) -> None:
        self._storage = storage
        self._events = events or FleetEvents()
        self._clock = clock
        self._auth = authorization
        self._reservations = reservations
        self._open: dict[str, dict[str, Transaction]] = {}
        self._boots: dict[str, _Boot] = {}
        # Stations with at least one Active session, read once and then kept up to date: a boot
        # storm of stations without open sessions then costs no query at all.
        self._active_stations: set[str] | None = None
        self._start_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    # ------------------------------------------------------------------ bookkeeping

    def _start_lock(self, token_key: str | None) -> contextlib.AbstractAsyncContextManager[Any]:
        """The lock serialising starts by one token (nothing to lock without a token)."""
        if token_key is None:
            return contextlib.nullcontext()
        lock = self._start_locks.get(token_key)
        if lock is None:
            lock = self._start_locks[token_key] = asyncio.Lock()
        return lock

    def forget(self, station_id: str) -> None:
        """Drop the station's cached sessions (a new connection reloads them from the store)."""
        self._open.pop(station_id, None)
        self._boots.pop(station_id, None)

    async def open_sessions(self, station_id: str) -> dict[str, Transaction]:
        """The station's Active sessions by OCPP transaction id (cached per connection)."""
        sessions = self._open.get(station_id)
        if sessions is None:
            if self._active_stations is None:
                self._active_stations = await self._storage.transactions.stations_with_open()
            stored = (
                await self._storage.transactions.open_for_station(station_id)
                if station_id in self._active_stations
                else []
            )
            sessions = self._open[station_id] = {tx.transaction_id: tx for tx in stored}
        return sessions

    def _stored(
        self,
        *changed: Transaction,
        started: Transaction | None = None,
        meter_values: Sequence[MeterValueRecord] = (),
    ) -> None:
        """Remember what was just stored and tell the fleet (fleet events come after the commit)."""
        for tx in changed:
            self._remember(tx)
            self._events.publish(TransactionChanged(tx, started=tx is started))
        if meter_values:
            self._events.publish(MeterValuesStored(meter_values[0].station_id, meter_values))

    def _remember(self, tx: Transaction) -> None:
        if tx.open and self._active_stations is not None:
            self._active_stations.add(tx.station_id)
        sessions = self._open.get(tx.station_id)
        if sessions is None:
            return
        if tx.open:
            sessions[tx.transaction_id] = tx
            return
        sessions.pop(tx.transaction_id, None)
        if not sessions and self._active_stations is not None:
            self._active_stations.discard(tx.station_id)
        boot = self._boots.get(tx.station_id)
        if boot is not None:
            boot.interrupted.discard(tx.id)

    async def station_booted(self, station_id: str) -> list[Transaction]:
        """BootNotification: the station's open sessions were interrupted; returns them."""
        sessions = await self.open_sessions(station_id)
        if not sessions:
            self._boots.pop(station_id, None)
            return []
        self._boots[station_id] = _Boot(self._clock.now(), {tx.id for tx in sessions.values()})
        return list(sessions.values())

    async def _close_inferred(
        self, tx: Transaction, *, reason: str, at: datetime, meter_stop_wh: float | None = None
    ) -> Transaction:
        """Close a session the station lost: at its last meter reading, energy from registers."""
        samples = await self._storage.meter.for_transaction(tx.station_id, tx.transaction_id)
        start, stop, energy = session_energy(
            samples, meter_start_wh=tx.meter_start_wh, meter_stop_wh=meter_stop_wh
        )
        return replace(
            tx,
            status=TransactionStatus.COMPLETED,
            stopped_at=samples[-1].timestamp if samples else at,
            stop_reason=reason,
            stop_source=StopSource.CSMS,
            meter_start_wh=start,
            meter_stop_wh=stop,
            energy_wh=energy,
            updated_at=self._clock.now(),
        )

    def _lost_reason(self, tx: Transaction) -> str:
        boot = self._boots.get(tx.station_id)
        return "Reboot" if boot is not None and tx.id in boot.interrupted else "Other"

    # ------------------------------------------------------------------------- 1.6

    async def start_16(
        self,
        *,
        station_id: str,
        connector_id: int,
        id_tag: str,
        meter_start: int,
        timestamp: datetime,
        reservation_id: int | None = None,
    ) -> StartOutcome:
        """1.6 §4.8 StartTransaction: number the session and authorize its idTag.

        ``connector_id`` is the 1.6 connectorId (stored as EVSE c, connector 1).
        """
        origin = origin_key_16_start(connector_id, id_tag, timestamp, meter_start)
        sessions = await self.open_sessions(station_id)
        for tx in sessions.values():
            if tx.origin_key == origin:  # resent after a lost answer
                return StartOutcome(tx, _stored_decision(tx), fresh=False)
        # One start per token at a time: the concurrent-session limit counts open sessions, and
        # two starts deciding at once would both see room for one more (single-node guarantee).
        async with self._start_lock(id_tag.lower()):
            decision = await self._auth.authorize(
                AuthRequest(id_tag, None, station_id, connector_id, AuthPurpose.START)
            )
            claim: Reservation | None = None
            if self._reservations is not None:
                # 1.6 §5.13: on a reserved connector only the reserved idTag (or its parent) starts;
                # the start that uses the reservation carries its reservationId (§4.8).
                checked, claim = await self._reservations.check_start(
                    station_id,
                    evse_id=connector_id,
                    key=id_tag.lower(),
                    decision=decision,
                    reservation_id=reservation_id,
                )
                decision = checked or decision
            now = self._clock.now()
            # The station starts a session on a connector where one is open: that one is over, and
            # since 1.6 supplies no energy outside a session, this meterStart is where it ended.
            superseded = [
                await self._close_inferred(
                    tx,
                    reason=self._lost_reason(tx),
                    at=timestamp,
                    meter_stop_wh=float(meter_start),
                )
                for tx in sessions.values()
                if tx.evse_id == connector_id
            ]

            def build(new_id: int) -> Transaction:
                return Transaction(
                    id=new_id,
                    station_id=station_id,
                    ocpp_version="1.6",
                    transaction_id=str(new_id),
                    origin_key=origin,
                    evse_id=connector_id,
                    connector_id=1,
                    id_token=id_tag,
                    token_key=id_tag.lower(),
                    group_id=decision.group_id,
                    auth_status=decision.status.value,
                    started_at=timestamp,
                    meter_start_wh=float(meter_start),
                    reservation_id=reservation_id,
                    created_at=now,
                    updated_at=now,
                )

            tx, fresh = await self._storage.transactions.create(build, *superseded)
        if not fresh:
            return StartOutcome(tx, _stored_decision(tx), fresh=False)
        self._stored(*superseded, tx, started=tx)
        if claim is not None and self._reservations is not None:
            await self._reservations.mark_used(claim, tx.id)
        return StartOutcome(tx, decision, fresh=True)

    async def stop_16(
        self,
        *,
        station_id: str,
        transaction_id: int,
        id_tag: str | None,
        meter_stop: int,
        timestamp: datetime,
        reason: str | None,
        meter_values: Sequence[MeterValueRecord] = (),
    ) -> AuthDecision | None:
        """1.6 §4.10 StopTransaction: close the session (the CSMS cannot refuse a stop).

        Returns the authorization of the stopping idTag, if one was sent. An unknown or -1
        transactionId is recorded as an Orphaned session. A resend changes nothing.
        """
        decision = None
        if id_tag is not None:
            decision = await self._auth.authorize(
                AuthRequest(id_tag, None, station_id, None, AuthPurpose.STOP)
            )
        now = self._clock.now()
        tx = await self._find_16(station_id, transaction_id)
        if tx is None:

            def orphan(new_id: int) -> Transaction:
                return Transaction(
                    id=new_id,
                    station_id=station_id,
                    ocpp_version="1.6",
                    transaction_id=str(transaction_id),
                    origin_key=origin_key_16_stop(transaction_id, timestamp, meter_stop),
                    status=TransactionStatus.ORPHANED,
                    stop_id_token=id_tag,
                    stopped_at=timestamp,
                    stop_reason=reason or "Local",
                    stop_source=StopSource.STATION,
                    meter_stop_wh=float(meter_stop),
                    created_at=now,
                    updated_at=now,
                )

            await self._storage.transactions.create(orphan, meter_values=meter_values)
            self._stored(meter_values=meter_values)
            return decision
        # StopTransaction names no connector: its transactionData belong to the session's.
        meter_values = [
            replace(r, evse_id=tx.evse_id or 0, connector_id=tx.connector_id or 0)
            for r in meter_values
        ]
        if tx.status is TransactionStatus.COMPLETED and tx.stop_source is StopSource.STATION:
            # A resend (or a second stop) of a stopped session: the first stop stands.
            await self._storage.meter.add(meter_values)
            self._stored(meter_values=meter_values)
            return decision
        start = tx.meter_start_wh
        closed = replace(
            tx,
            status=TransactionStatus.COMPLETED,
            stopped_at=timestamp,
            # 1.6 §4.10: "the Reason element MAY be omitted and the Reason SHOULD be assumed Local"
            stop_reason=reason or "Local",
            stop_source=StopSource.STATION,
            stop_id_token=id_tag,
            meter_stop_wh=float(meter_stop),
            # A register that went backwards (meter swap, rollover) gives no energy, not a negative
            energy_wh=meter_stop - start if start is not None and meter_stop >= start else None,
            updated_at=now,
        )
        await self._storage.transactions.save(closed, meter_values=meter_values)
        self._stored(closed, meter_values=meter_values)
        return decision

    async def _find_16(self, station_id: str, transaction_id: int) -> Transaction | None:
        sessions = await self.open_sessions(station_id)
        tx = sessions.get(str(transaction_id))
        if tx is not None:
            return tx
        if transaction_id <= 0:
            return None
        stored = await self._storage.transactions.get(transaction_id)
        if (
            stored is None
            or stored.station_id != station_id
            or stored.ocpp_version != "1.6"
            or stored.status is TransactionStatus.ORPHANED
        ):
            return None  # not a number this CSMS gave this station
        return stored

    async def connector_status_16(self, station_id: str, connector_id: int, status: str) -> None:
        """1.6 StatusNotification after a reboot: a connector that is not charging has no
        session any more (1.6 sessions do not survive a reboot). Costs a dict lookup otherwise."""
        boot = self._boots.get(station_id)
        if boot is None or not boot.interrupted or status in CHARGING_STATES_16:
            return
        sessions = await self.open_sessions(station_id)
        lost = [
            tx
            for tx in sessions.values()
            if tx.id in boot.interrupted and tx.evse_id == connector_id
        ]
        for tx in lost:
            closed = await self._close_inferred(tx, reason="Reboot", at=boot.at)
            await self._storage.transactions.save(closed)
            self._stored(closed)

    # ----------------------------------------------------------------------- 2.0.1

    async def transaction_event(
        self,
        station_id: str,
        event: TxEvent,
        record: TransactionEventRecord,
        meter_values: Sequence[MeterValueRecord] = (),
    ) -> tuple[AuthDecision | None, bool]:
        """2.0.1 TransactionEvent (E01-E15): fold the event into its session and store both.

        Returns the authorization of the event's idToken (``None`` without one) and whether the
        event was new (``False``: a resend, nothing changed).
        """
        sessions = await self.open_sessions(station_id)
        origin = origin_key_201(event.transaction_id)
        current = sessions.get(event.transaction_id)
        if current is None:
            current = await self._storage.transactions.by_origin(station_id, origin)
        starts = event.id_token is not None and not event.stops
        async with self._start_lock(event.id_token.lower() if starts and event.id_token else None):
            decision = None
            if event.id_token is not None:
                evse_id = (
                    event.evse_id
                    if event.evse_id is not None
                    else (current.evse_id if current is not None else None)
                )
                decision = await self._auth.authorize(
                    AuthRequest(
                        event.id_token,
                        event.id_token_type,
                        station_id,
                        evse_id,
                        AuthPurpose.STOP if event.stops else AuthPurpose.START,
                    ),
                    exclude_transaction=current.id if current is not None else None,
                )
            claim: Reservation | None = None
            if (
                self._reservations is not None
                and not event.stops
                and (current is None or current.token_key is None)
                and (event.id_token is not None or event.reservation_id is not None)
            ):
                # H03: the token that starts (or first authorizes) a session on a reserved EVSE must
                # be the reserved one or of its group; the event naming the reservation uses it up.
                decision, claim = await self._reservations.check_start(
                    station_id,
                    evse_id=event.evse_id
                    if event.evse_id is not None
                    else (current.evse_id if current is not None else None),
                    key=event.id_token.lower() if event.id_token is not None else None,
                    decision=decision,
                    reservation_id=event.reservation_id,
                )
            for attempt in (1, 2):
                try:
                    fresh, updated = await self._apply(
                        station_id, event, record, meter_values, current, decision, origin
                    )
                except StorageError:
                    if current is not None or attempt == 2:
                        raise
                    # A new session's number was taken by another node: draw again.
                    self._storage.transactions.reseed()
                    continue
                if fresh and claim is not None and self._reservations is not None:
                    await self._reservations.mark_used(claim, updated.id)
                return decision, fresh
            raise AssertionError("unreachable")

    async def _apply(
        self,
        station_id: str,
        event: TxEvent,
        record: TransactionEventRecord,
        meter_values: Sequence[MeterValueRecord],
        current: Transaction | None,
        decision: AuthDecision | None,
        origin: str,
    ) -> tuple[bool, Transaction]:
        now = self._clock.now()
        superseded: list[Transaction] = []
        created = current is None
        if current is None:
            current = Transaction(
                id=await self._storage.transactions.allocate(),
                station_id=station_id,
                ocpp_version="2.0.1",
                transaction_id=event.transaction_id,
                origin_key=origin,
                created_at=now,
                updated_at=now,
            )
            if event.evse_id is not None:
                sessions = await self.open_sessions(station_id)
                superseded = [
                    await self._close_inferred(tx, reason=self._lost_reason(tx), at=event.timestamp)
                    for tx in sessions.values()
                    if tx.evse_id == event.evse_id and tx.transaction_id != event.transaction_id
                ]
        updated = apply_event(
            current,
            event,
            auth_status=decision.status.value if decision is not None else None,
            group_id=decision.group_id if decision is not None else None,
            now=now,
        )
        if not updated.open:
            # Energy from the begin/end registers of everything stored for the session plus what
            # this event brings (late events can add readings after the Ended one arrived).
            stored = await self._storage.meter.for_transaction(station_id, event.transaction_id)
            start, stop, energy = session_energy([*stored, *meter_values])
            updated = replace(updated, meter_start_wh=start, meter_stop_wh=stop, energy_wh=energy)
        fresh = await self._storage.transactions.save(
            updated, *superseded, meter_values=meter_values, event=record
        )
        if fresh:
            self._stored(
                *superseded,
                updated,
                started=updated if created else None,
                meter_values=meter_values,
            )
        else:
            for old in superseded:
                self._remember(old)
            self._remember(updated)
        return fresh, updated

    async def reconcile(
        self,
        station_id: str,
        ask: Callable[[str], Awaitable[TransactionStatusReport]],
    ) -> list[Transaction]:
        """2.0.1 E14 after a boot: ask the station about each open session; close those that
        are neither ongoing nor waiting in its queue. Returns the sessions closed."""
        closed: list[Transaction] = []
        sessions = await self.open_sessions(station_id)
        for tx in list(sessions.values()):
            if tx.ocpp_version == "1.6":
                continue
            report = await ask(tx.transaction_id)
            if report.ongoing or report.messages_in_queue:
                continue
            current = (await self.open_sessions(station_id)).get(tx.transaction_id)
            if current is None:  # its Ended event arrived meanwhile
                continue
            done = await self._close_inferred(
                current, reason=self._lost_reason(current), at=self._clock.now()
            )
            await self._storage.transactions.save(done)
            self._stored(done)
            closed.append(done)
        return closed


def _stored_decision(tx: Transaction) -> AuthDecision:
    """The authorization a stored session was started with (answered again to a resend)."""
    status = AuthorizationStatus(tx.auth_status or AuthorizationStatus.INVALID.value)
    return AuthDecision(status, tx.group_id)
