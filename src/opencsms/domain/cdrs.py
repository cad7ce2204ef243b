"""Cost of sessions and charge detail records (docs/tariffs.md).

* Running cost: while a session is open its cost is computed on demand (the API) and, after meter
  values arrive, pushed to the station at most every ``cost_updated_interval`` seconds per session
  (2.0.1 I02 CostUpdated; 1.6 only as a DataTransfer when ``cost_datatransfer_16`` names a
  vendorId, since 1.6 has no cost message).
* Final cost: when a session ends its cost is computed and stored as cost revision 1, and a CDR is
  issued from it. For 2.0.1 this happens before the Ended TransactionEvent is answered, so the
  answer's totalCost (I03) is the CDR's gross total.
* Immutability: a CDR is inserted once per session and never updated. A recompute (API,
  ``?recompute=true``) stores a *new* cost revision; the CDR keeps the revision it was issued
  from. A session the CSMS closed by inference (reboot, lost stop) gets its CDR then; a real stop
  arriving later adds a cost revision and leaves the CDR alone.
* Issuing survives restarts and lost events: a catch-up pass at start and every
  ``CATCH_UP_SECONDS`` issues the CDR of every Completed session that has none.

A session without any applicable tariff still gets a CDR (energy and times, no cost); the 2.0.1
Ended answer then carries no totalCost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import orjson

from opencsms.billing import CostBreakdown, SessionTimeline, compute_cost
from opencsms.clock import Clock
from opencsms.domain.fleet_events import (
    FleetEvent,
    FleetEvents,
    MeterValuesStored,
    StationConnected,
    TransactionChanged,
)
from opencsms.domain.metering import register_readings
from opencsms.domain.tariffs import TariffService, TariffVersion
from opencsms.domain.transaction_model import Transaction, TransactionStatus, origin_key_201
from opencsms.errors import OpenCsmsError

if TYPE_CHECKING:
    from opencsms.storage.store import Storage

__all__ = ["Cdr", "CostNotice", "CostRevision", "CostService", "SessionCost"]

log = logging.getLogger(__name__)

CATCH_UP_SECONDS = 60.0
CHARGING_STATES = frozenset({"Charging"})
"""2.0.1 chargingState and 1.6 status values that mean energy is being delivered; every other
state a session can be in (EVConnected, SuspendedEV, SuspendedEVSE, Idle, Finishing, ...) is not
charging."""


@dataclass(frozen=True, slots=True)
class CostRevision:
    """One computation of a finished session's cost (``breakdown`` None: no tariff applied)."""

    transaction_pk: int
    revision: int
    tariff_id: str | None
    tariff_version: int | None
    breakdown: CostBreakdown | None
    computed_at: datetime


@dataclass(frozen=True, slots=True)
class Cdr:
    """A charge detail record: a finished session as billed, frozen when issued."""

    transaction_pk: int
    """The session's id (``/transactions/{id}``), also the CDR's id."""
    station_id: str
    transaction_id: str
    ocpp_version: str
    evse_id: int | None
    connector_id: int | None
    id_token: str | None
    id_token_type: str | None
    group_id: str | None
    started_at: datetime
    stopped_at: datetime
    stop_reason: str | None
    tariff_id: str | None
    tariff_version: int | None
    cost_revision: int
    currency: str | None
    energy_wh: Decimal
    net: Decimal | None
    tax: Decimal | None
    gross: Decimal | None
    breakdown: CostBreakdown | None
    issued_at: datetime


@dataclass(frozen=True, slots=True)
class CostNotice:
    """A cost to show on a station (translated to CostUpdated / DataTransfer by the handlers)."""

    station_id: str
    ocpp_version: str
    transaction_id: str
    total: Decimal
    """Gross (incl. tax), in ``currency``."""
    currency: str
    energy_wh: Decimal
    final: bool
    at: datetime


@dataclass(frozen=True, slots=True)
class SessionCost:
    """The cost of a session now: live (open session, ``revision`` None) or a stored revision."""

    transaction: Transaction
    tariff: TariffVersion | None
    breakdown: CostBreakdown | None
    revision: int | None
    computed_at: datetime


CostSender = Callable[[CostNotice], Awaitable[None]]


def _decimal(value: float) -> Decimal:
    return Decimal(repr(value))


class CostService:
    """Computes running and final costs, issues CDRs and pushes costs to stations."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        tariffs: TariffService,
        events: FleetEvents,
        *,
        sender: CostSender | None = None,
        updates_enabled: bool = True,
        update_interval: float = 60.0,
        datatransfer_16: bool = False,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self.tariffs = tariffs
        self._sender = sender
        self._updates_enabled = updates_enabled
        self._interval = update_interval
        self._datatransfer_16 = datatransfer_16
        self._locks: dict[int, asyncio.Lock] = {}
        self._last_check: dict[tuple[str, str], float] = {}
        """Per session, when (monotonic seconds) its running cost was last looked at."""
        self._sending: set[tuple[str, str]] = set()
        # Meter values that arrived while the session's last cost was being sent: computed
        # again once that send ends, so the station is not left with a stale cost.
        self._again: set[tuple[str, str]] = set()
        self._sends: asyncio.TaskGroup | None = None
        # Subscribed now so nothing published before run() starts is missed.
        self._subscription = events.subscribe(
            _accepts, types=(MeterValuesStored, TransactionChanged, StationConnected)
        )
        self._versions: dict[str, str] = {}
        """Each station's OCPP version as it last connected: whether its sessions can be shown
        a running cost at all is known without reading them."""

    # ------------------------------------------------------------------ time line

    async def timeline(self, tx: Transaction, end: datetime | None = None) -> SessionTimeline:
        """What the calculator needs of ``tx``: registers (Wh) and charging states until ``end``
        (the stop of a closed session, else now)."""
        start = tx.started_at or tx.created_at
        records = await self._storage.meter.for_transaction(tx.station_id, tx.transaction_id)
        readings = [(at, _decimal(wh)) for at, _context, wh in register_readings(records)]
        if end is None:
            end = tx.stopped_at if not tx.open and tx.stopped_at else self._clock.now()
        # Station clocks drift: a running session never ends before its start or last reading.
        end = max([end, start, *(at for at, _ in readings)])
        if tx.meter_start_wh is not None:
            readings.append((start, _decimal(tx.meter_start_wh)))
        if not tx.open and tx.meter_stop_wh is not None:
            readings.append((end, _decimal(tx.meter_stop_wh)))
        return SessionTimeline(start, end, _dedupe(readings), await self._states(tx, start, end))

    async def _states(
        self, tx: Transaction, start: datetime, end: datetime
    ) -> list[tuple[datetime, bool]]:
        if tx.ocpp_version == "1.6":
            if tx.evse_id is None:
                return []
            reports = await self._storage.tariffs.statuses(tx.station_id, tx.evse_id, start, end)
            return [(at, status in CHARGING_STATES) for at, status in reports]
        states: list[tuple[datetime, bool]] = []
        for event in await self._storage.transactions.events_for(tx.station_id, tx.transaction_id):
            info = orjson.loads(event.payload_json).get("transactionInfo", {})
            state = info.get("chargingState")
            if state is not None:
                states.append((event.timestamp, state in CHARGING_STATES))
        return states

    # ---------------------------------------------------------------------- costs

    async def live(self, tx: Transaction) -> SessionCost:
        """The cost of ``tx`` as of now (nothing stored)."""
        tariff = await self.tariffs.resolve(tx)
        breakdown = None
        if tariff is not None:
            breakdown = compute_cost(tariff.tariff, await self.timeline(tx))
        return SessionCost(tx, tariff, breakdown, None, self._clock.now())

    async def _compute_revision(self, tx: Transaction, revision: int) -> CostRevision:
        tariff = await self.tariffs.resolve(tx)
        breakdown = None
        if tariff is not None:
            breakdown = compute_cost(tariff.tariff, await self.timeline(tx))
        return CostRevision(
            transaction_pk=tx.id,
            revision=revision,
            tariff_id=None if tariff is None else tariff.tariff_id,
            tariff_version=None if tariff is None else tariff.version,
            breakdown=breakdown,
            computed_at=self._clock.now(),
        )

    async def stored(self, tx: Transaction, *, recompute: bool = False) -> SessionCost:
        """A finished session's latest cost revision (computing revision 1 if there is none,
        and a new revision when ``recompute``)."""
        async with self._lock(tx.id):
            revisions = await self._storage.tariffs.costs(tx.id)
            if recompute or not revisions:
                revision = await self._compute_revision(tx, len(revisions) + 1)
                if not await self._storage.tariffs.add_cost(revision):
                    revisions = await self._storage.tariffs.costs(tx.id)  # another node's
                    revision = revisions[-1]
            else:
                revision = revisions[-1]
        tariff = None
        if revision.tariff_id is not None and revision.tariff_version is not None:
            tariff = await self.tariffs.version(revision.tariff_id, revision.tariff_version)
        return SessionCost(tx, tariff, revision.breakdown, revision.revision, revision.computed_at)

    def _lock(self, transaction_pk: int) -> asyncio.Lock:
        lock = self._locks.get(transaction_pk)
        if lock is None:
            if len(self._locks) > 10_000:
                self._locks = {k: v for k, v in self._locks.items() if v.locked()}
            lock = self._locks[transaction_pk] = asyncio.Lock()
        return lock

    # ----------------------------------------------------------------------- CDRs

    async def issue_cdr(self, tx: Transaction) -> Cdr | None:
        """The session's CDR, issued now if it has none (``None``: the session is not a
        finished one). Issuing twice, here or on another node, yields the first CDR."""
        if tx.status is not TransactionStatus.COMPLETED or tx.stopped_at is None:
            return None
        existing = await self._storage.tariffs.cdr(tx.id)
        if existing is not None:
            return existing
        cost = await self.stored(tx)
        b = cost.breakdown
        timeline = await self.timeline(tx)
        cdr = Cdr(
            transaction_pk=tx.id,
            station_id=tx.station_id,
            transaction_id=tx.transaction_id,
            ocpp_version=tx.ocpp_version,
            evse_id=tx.evse_id,
            connector_id=tx.connector_id,
            id_token=tx.id_token,
            id_token_type=tx.id_token_type,
            group_id=tx.group_id,
            started_at=timeline.start,
            stopped_at=tx.stopped_at,
            stop_reason=tx.stop_reason,
            tariff_id=None if cost.tariff is None else cost.tariff.tariff_id,
            tariff_version=None if cost.tariff is None else cost.tariff.version,
            cost_revision=cost.revision or 1,
            currency=None if b is None else b.currency,
            energy_wh=b.energy_wh if b is not None else timeline.energy_at(timeline.end),
            net=None if b is None else b.net,
            tax=None if b is None else b.tax,
            gross=None if b is None else b.gross,
            breakdown=b,
            issued_at=self._clock.now(),
        )
        if await self._storage.tariffs.issue(cdr):
            return cdr
        return await self._storage.tariffs.cdr(tx.id)

    async def total_at_end(self, station_id: str, transaction_id: str) -> Decimal | None:
        """2.0.1 I03: the gross total of a session whose Ended event was just stored, from its
        CDR (issued now if needed); ``None`` when no tariff applies or it is not finished."""
        tx = await self._storage.transactions.by_origin(station_id, origin_key_201(transaction_id))
        if tx is None:
            return None
        cdr = await self.issue_cdr(tx)
        return None if cdr is None else cdr.gross

    async def catch_up(self) -> int:
        """Issue the CDR of every finished session without one; returns how many."""
        issued = 0
        while True:
            pending = await self._storage.tariffs.finished_without_cdr()
            if not pending:
                return issued
            for transaction_pk in pending:
                tx = await self._storage.transactions.get(transaction_pk)
                if tx is not None and await self.issue_cdr(tx) is not None:
                    issued += 1

    # ------------------------------------------------------------------- subscriber

    async def run(self) -> None:
        """Issue CDRs as sessions end, push running costs, and catch up periodically (a task of
        the node's TaskGroup)."""
        try:
            async with asyncio.TaskGroup() as sends:
                self._sends = sends
                sends.create_task(self._catch_up_loop())
                while True:
                    for event in await self._subscription.batch():
                        if type(event) is StationConnected:
                            self._versions[event.station_id] = event.ocpp_version
                            continue
                        try:
                            if type(event) is MeterValuesStored:
                                station_id = event.station_id
                                if self._never_shown(station_id):
                                    continue  # the usual 1.6 case: nothing to build or look at
                                ids = (r.transaction_id for r in event.records)
                                for transaction_id in self._due(station_id, ids):
                                    await self._running(station_id, transaction_id, sends)
                            elif isinstance(event, TransactionChanged):
                                await self._ended(event.transaction, sends)
                        except Exception:
                            log.exception("cost of %s failed", type(event).__name__)
        finally:
            self._subscription.close()

    async def _catch_up_loop(self) -> None:
        while True:
            try:
                count = await self.catch_up()
                if count:
                    log.info("issued %d charge detail records in a catch-up pass", count)
            except Exception:
                log.exception("CDR catch-up failed")
            await asyncio.sleep(CATCH_UP_SECONDS)

    async def _ended(self, tx: Transaction, sends: asyncio.TaskGroup) -> None:
        """A session ended (``_accepts`` lets only closed ones through): its CDR, and for 1.6
        when configured the final cost message."""
        self._last_check.pop((tx.station_id, tx.transaction_id), None)
        cdr = await self.issue_cdr(tx)
        if (
            cdr is not None
            and cdr.gross is not None
            and cdr.currency is not None
            and tx.ocpp_version == "1.6"
            and self._datatransfer_16
        ):
            notice = CostNotice(
                tx.station_id,
                tx.ocpp_version,
                tx.transaction_id,
                cdr.gross,
                cdr.currency,
                cdr.energy_wh,
                final=True,
                at=self._clock.now(),
            )
            sends.create_task(self._send((tx.station_id, tx.transaction_id), notice))

    def _due(self, station_id: str, transaction_ids: Iterable[str | None]) -> list[str]:
        """The sessions among ``transaction_ids`` whose running cost is to be looked at now,
        marked as looked at: at most once per ``cost_updated_interval`` each, and not while its
        last cost is being sent (it is looked at again when that send ends). A station whose
        version gets no running cost under this configuration (1.6 without
        ``cost_datatransfer_16``, or cost updates switched off) has none, without a read: those
        reads, two per session and interval, took ~10 % of the event loop at 1,000 stations."""
        if self._never_shown(station_id):
            return []
        now = self._clock.monotonic()
        due: list[str] = []
        for transaction_id in transaction_ids:
            if not transaction_id or transaction_id in due:
                continue
            key = (station_id, transaction_id)
            if key in self._sending:
                self._again.add(key)
                continue
            last = self._last_check.get(key)
            if last is not None and now - last < self._interval:
                continue
            # Looked at now, whatever the outcome: a session without a tariff, or a version that
            # gets no running cost, costs one read per interval, not two reads per meter value.
            self._last_check[key] = now
            due.append(transaction_id)
        return due

    async def _running(
        self, station_id: str, transaction_id: str, sends: asyncio.TaskGroup
    ) -> None:
        """Compute a session's cost so far and send it (the session is :meth:`_due`)."""
        key = (station_id, transaction_id)
        now = self._clock.now()
        tx = await self._find(station_id, transaction_id)
        if tx is None or not tx.open:
            self._last_check.pop(key, None)
            return
        if not self._shows_running_cost(tx.ocpp_version):
            return
        cost = await self.live(tx)
        if cost.breakdown is None:
            return
        b = cost.breakdown
        notice = CostNotice(
            station_id,
            tx.ocpp_version,
            transaction_id,
            b.gross,
            b.currency,
            b.energy_wh,
            final=False,
            at=now,
        )
        self._sending.add(key)
        sends.create_task(self._send(key, notice))

    def _never_shown(self, station_id: str) -> bool:
        """Whether the station's version, as it last connected, gets no running cost."""
        version = self._versions.get(station_id)
        return version is not None and not self._shows_running_cost(version)

    def _shows_running_cost(self, ocpp_version: str) -> bool:
        """1.6 has no CostUpdated: a running cost goes out only as the configured DataTransfer."""
        return self._datatransfer_16 if ocpp_version == "1.6" else self._updates_enabled

    async def _find(self, station_id: str, transaction_id: str) -> Transaction | None:
        tx = await self._storage.transactions.by_origin(station_id, origin_key_201(transaction_id))
        if tx is None and transaction_id.isdigit():  # 1.6: the id is the CSMS's number
            tx = await self._storage.transactions.get(int(transaction_id))
            if tx is not None and tx.station_id != station_id:
                return None
        return tx

    async def _send(self, key: tuple[str, str], notice: CostNotice) -> None:
        try:
            if self._sender is not None:
                await self._sender(notice)
        except OpenCsmsError as exc:
            log.info("station %s: cost not shown: %s", notice.station_id, exc)
        finally:
            self._sending.discard(key)
            if key in self._again and self._sends is not None:
                self._again.discard(key)
                for transaction_id in self._due(key[0], (key[1],)):
                    self._sends.create_task(self._running(key[0], transaction_id, self._sends))


def _accepts(event: FleetEvent) -> bool:
    """Of the types the subscription hears (exactly MeterValuesStored, TransactionChanged and
    StationConnected), all but a transaction still open: one type check for a meter value."""
    return type(event) is not TransactionChanged or not event.transaction.open


def _dedupe(readings: list[tuple[datetime, Decimal]]) -> list[tuple[datetime, Decimal]]:
    """One reading per instant (the given begin/end registers win over a sample at the same
    instant, they are what the station reported for the transaction)."""
    by_time: dict[datetime, Decimal] = {}
    for at, wh in readings:
        by_time[at] = wh
    return sorted(by_time.items())
