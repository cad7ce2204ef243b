"""Transactions (table ``transactions``) and the raw 2.0.1 TransactionEvent messages (E01-E15)
they are built from (table ``transaction_events``).

Transaction ids. The CSMS numbers every transaction (for 1.6 the number is the station's
transactionId, 1.6 §4.8). Numbers come from an in-memory counter seeded with ``max(id)`` on first
use, so allocating costs no database round trip and no read-modify-write inside a group-commit
batch. A row is inserted with ``ON CONFLICT DO NOTHING`` (any unique key): if nothing was
inserted, either the same message was stored before (its ``origin_key`` finds the row, and its id is
answered again) or another node took the number (PostgreSQL cluster): the counter is re-seeded and
the insert retried.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from opencsms.domain.model import MeterValueRecord, TransactionEventRecord
from opencsms.domain.transaction_model import StopSource, Transaction, TransactionStatus
from opencsms.errors import StorageError

from ..statements import Statement, WriteOp
from ..tables import transaction_events, transactions
from ..writer import GroupCommitWriter
from .base import IdAllocator, Repository, dialect_insert, storage_errors
from .meter import MeterRepository

__all__ = ["TransactionRepository"]

_TX_COLUMNS = tuple(c.name for c in transactions.columns)
_TX_DATETIMES = frozenset(("started_at", "stopped_at", "created_at", "updated_at"))
_TX_FIXED = frozenset(("id", "station_id", "origin_key", "created_at"))
_TX_VALUES = attrgetter(*_TX_COLUMNS)
"""The record's values in column order, read in one C call (an upsert per TransactionEvent)."""
_TX_DATETIMES_AT = tuple(i for i, name in enumerate(_TX_COLUMNS) if name in _TX_DATETIMES)
_TX_ENUMS_AT = tuple(i for i, name in enumerate(_TX_COLUMNS) if name in ("status", "stop_source"))

_TX_INSERT = Statement(
    "transactions.insert",
    _TX_COLUMNS,
    lambda d: (
        dialect_insert(d, transactions)
        .values({name: bindparam(name) for name in _TX_COLUMNS})
        .on_conflict_do_nothing()  # any unique key: a resend (origin) or a taken id
    ),
    counted=True,
)


def _build_tx_upsert(dialect: str) -> Any:
    insert = dialect_insert(dialect, transactions).values(
        {name: bindparam(name) for name in _TX_COLUMNS}
    )
    return insert.on_conflict_do_update(
        index_elements=["station_id", "origin_key"],
        set_={name: insert.excluded[name] for name in _TX_COLUMNS if name not in _TX_FIXED},
    )


_TX_UPSERT = Statement("transactions.upsert", _TX_COLUMNS, _build_tx_upsert)

MAX_ID_ATTEMPTS = 5

_COLUMNS = (
    "station_id",
    "transaction_id",
    "seq_no",
    "event_type",
    "trigger_reason",
    "timestamp",
    "offline",
    "payload",
    "received_at",
)

_INSERT = Statement(
    "transaction_events.insert",
    _COLUMNS,
    lambda d: (
        dialect_insert(d, transaction_events)
        .values({name: bindparam(name) for name in _COLUMNS})
        .on_conflict_do_nothing(index_elements=["station_id", "transaction_id", "seq_no"])
    ),
    # Counted: the caller needs to know whether this was a resend (E01.FR.16 seqNo).
    counted=True,
)


def _from_row(row: Row[Any]) -> TransactionEventRecord:
    m = row._mapping
    return TransactionEventRecord(
        station_id=m["station_id"],
        transaction_id=m["transaction_id"],
        seq_no=m["seq_no"],
        event_type=m["event_type"],
        trigger_reason=m["trigger_reason"],
        timestamp=m["timestamp"],
        offline=m["offline"],
        payload_json=m["payload"],
        received_at=m["received_at"],
    )


def _tx_from_row(row: Row[Any]) -> Transaction:
    m = row._mapping
    values = {name: m[name] for name in _TX_COLUMNS}
    values["status"] = TransactionStatus(values["status"])
    if values["stop_source"] is not None:
        values["stop_source"] = StopSource(values["stop_source"])
    values["offline"] = bool(values["offline"])
    return Transaction(**values)


class TransactionRepository(Repository):
    """Tables ``transactions`` and ``transaction_events`` (unique on station, transactionId,
    seqNo)."""

    def __init__(
        self, engine: AsyncEngine, writer: GroupCommitWriter, meter: MeterRepository
    ) -> None:
        super().__init__(engine, writer)
        self._meter = meter
        self._ids = IdAllocator(engine, transactions.c.id)

    # ------------------------------------------------------------------ transactions

    async def allocate(self) -> int:
        """A fresh transaction number (see the module docstring)."""
        return await self._ids.next()

    def reseed(self) -> None:
        """Forget the counter; the next allocation reads ``max(id)`` again (after a collision)."""
        self._ids.reseed()

    def _tx_params(self, tx: Transaction) -> tuple[Any, ...]:
        values = list(_TX_VALUES(tx))
        ts = self._ts
        for i in _TX_DATETIMES_AT:
            if values[i] is not None:
                values[i] = ts(values[i])
        for i in _TX_ENUMS_AT:
            if values[i] is not None:
                values[i] = str(values[i])  # plain text: the writer's child has no enum classes
        return tuple(values)

    async def create(
        self,
        build: Callable[[int], Transaction],
        *also: Transaction,
        meter_values: Iterable[MeterValueRecord] = (),
    ) -> tuple[Transaction, bool]:
        """Insert the transaction ``build(new_id)`` makes; ``(record, True)``.

        If a transaction with the same (station, origin_key) exists, nothing is written and
        ``(existing, False)`` is returned: the message was a resend. ``also`` are other records to
        save (e.g. a session the new one proves over); they are saved only if the new one is, in a
        second commit. ``meter_values`` are stored with the insert (idempotently either way).
        """
        meter_ops = self._meter.ops(meter_values)
        for _ in range(MAX_ID_ATTEMPTS):
            tx = build(await self._ids.next())
            counts = await self._writer.execute_counted(
                WriteOp(_TX_INSERT, self._tx_params(tx)), *meter_ops
            )
            if counts[0] > 0:
                if also:
                    await self.save(*also)
                return tx, True
            existing = await self.by_origin(tx.station_id, tx.origin_key)
            if existing is not None:
                return existing, False
            self._ids.reseed()  # another node used the number: re-seed from the table
        raise StorageError("could not allocate a transaction id")

    async def save(
        self,
        *records: Transaction,
        meter_values: Iterable[MeterValueRecord] = (),
        event: TransactionEventRecord | None = None,
    ) -> bool:
        """Create or replace ``records`` (by station and origin_key), store ``meter_values`` and
        ``event``, all in one commit. Returns ``False`` if ``event`` had been stored before."""
        ops: list[WriteOp] = []
        if event is not None:
            ops.append(WriteOp(_INSERT, self._event_params(event)))
        ops += [WriteOp(_TX_UPSERT, self._tx_params(tx)) for tx in records]
        ops += self._meter.ops(meter_values)
        if not ops:
            return True
        counts = await self._writer.execute_counted(*ops)
        return event is None or counts[0] > 0

    async def _one(self, *where: Any) -> Transaction | None:
        with storage_errors():
            async with self._engine.connect() as conn:
                row = (await conn.execute(select(transactions).where(*where))).first()
        return None if row is None else _tx_from_row(row)

    async def get(self, transaction_pk: int) -> Transaction | None:
        """The transaction with this CSMS id, or ``None``."""
        return await self._one(transactions.c.id == transaction_pk)

    async def by_origin(self, station_id: str, origin_key: str) -> Transaction | None:
        c = transactions.c
        return await self._one(c.station_id == station_id, c.origin_key == origin_key)

    async def open_for_station(self, station_id: str) -> builtins.list[Transaction]:
        """The station's Active transactions, oldest first."""
        return await self.list(station_id=station_id, status=TransactionStatus.ACTIVE, limit=10_000)

    async def stations_with_open(self) -> set[str]:
        """Ids of the stations that have at least one Active transaction."""
        c = transactions.c
        query = select(c.station_id).where(c.status == TransactionStatus.ACTIVE.value).distinct()
        with storage_errors():
            async with self._engine.connect() as conn:
                return set((await conn.scalars(query)).all())

    async def energy_ended_since(self, since: datetime) -> float:
        """Energy (Wh) of the sessions that stopped at or after ``since`` (live fleet state)."""
        c = transactions.c
        query = select(func.coalesce(func.sum(c.energy_wh), 0.0)).where(c.stopped_at >= since)
        with storage_errors():
            async with self._engine.connect() as conn:
                value = await conn.scalar(query)
        return float(value or 0.0)

    async def count_open_for_token(self, token_key: str, *, exclude_id: int | None) -> int:
        """How many Active transactions the token has, not counting ``exclude_id``."""
        c = transactions.c
        # Only sessions the CSMS accepted count: a 1.6 session started with a refused idTag is
        # recorded (1.6 §4.8) but stopped by the station, and must not lock the token out.
        query = select(func.count()).where(
            c.token_key == token_key,
            c.status == TransactionStatus.ACTIVE.value,
            c.auth_status == "Accepted",
        )
        if exclude_id is not None:
            query = query.where(c.id != exclude_id)
        with storage_errors():
            async with self._engine.connect() as conn:
                value = await conn.scalar(query)
        return int(value or 0)

    def _filtered(self, query: Any, station_id: str | None, status: str | None) -> Any:
        if station_id is not None:
            query = query.where(transactions.c.station_id == station_id)
        if status is not None:
            query = query.where(transactions.c.status == status)
        return query

    async def list(
        self,
        *,
        station_id: str | None = None,
        status: str | None = None,
        offset: int = 0,
        limit: int = 100,
        newest_first: bool = False,
    ) -> builtins.list[Transaction]:
        """Transactions by id (oldest first unless ``newest_first``), optionally filtered."""
        order = transactions.c.id.desc() if newest_first else transactions.c.id
        query = self._filtered(select(transactions), station_id, status)
        query = query.order_by(order).offset(offset).limit(limit)
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_tx_from_row(row) for row in rows]

    async def count(self, *, station_id: str | None = None, status: str | None = None) -> int:
        query = self._filtered(select(func.count()).select_from(transactions), station_id, status)
        with storage_errors():
            async with self._engine.connect() as conn:
                value = await conn.scalar(query)
        return int(value or 0)

    async def iterate(
        self, *, station_id: str | None = None, status: str | None = None, page: int = 1000
    ) -> AsyncIterator[Transaction]:
        """Every matching transaction by id, read in keyset pages (for exports)."""
        after = 0
        while True:
            query = self._filtered(select(transactions), station_id, status)
            query = query.where(transactions.c.id > after).order_by(transactions.c.id).limit(page)
            with storage_errors():
                async with self._engine.connect() as conn:
                    rows = (await conn.execute(query)).all()
            for row in rows:
                yield _tx_from_row(row)
            if len(rows) < page:
                return
            after = rows[-1]._mapping["id"]

    # ------------------------------------------------------------ transaction events

    def _event_params(self, rec: TransactionEventRecord) -> tuple[Any, ...]:
        return (
            rec.station_id,
            rec.transaction_id,
            rec.seq_no,
            rec.event_type,
            rec.trigger_reason,
            self._ts(rec.timestamp),
            rec.offline,
            rec.payload_json,
            self._ts(rec.received_at),
        )

    async def add_event(self, rec: TransactionEventRecord) -> bool:
        """Store the event durably; return ``False`` if this (station, transaction, seqNo) was
        already stored, i.e. the station resent it (ARCHITECTURE rule 7)."""
        (inserted,) = await self._writer.execute_counted(WriteOp(_INSERT, self._event_params(rec)))
        return inserted > 0

    async def events_for(
        self, station_id: str, transaction_id: str
    ) -> builtins.list[TransactionEventRecord]:
        """Every stored event of the transaction, ordered by ``seqNo``."""
        c = transaction_events.c
        query = (
            select(transaction_events)
            .where(c.station_id == station_id, c.transaction_id == transaction_id)
            .order_by(c.seq_no)
        )
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_from_row(row) for row in rows]
