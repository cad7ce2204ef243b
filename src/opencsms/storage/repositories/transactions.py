"""Transaction events: 2.0.1 TransactionEvent messages (E01-E15), raw but indexed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Row

from opencsms.domain.model import TransactionEventRecord

from ..statements import Statement, WriteOp
from ..tables import transaction_events
from .base import Repository, dialect_insert, storage_errors

__all__ = ["TransactionRepository"]

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


class TransactionRepository(Repository):
    """Table ``transaction_events``; unique on (station, transactionId, seqNo)."""

    async def add_event(self, rec: TransactionEventRecord) -> bool:
        """Store the event durably; return ``False`` if this (station, transaction, seqNo) was
        already stored, i.e. the station resent it (ARCHITECTURE rule 7)."""
        params = (
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
        (inserted,) = await self._writer.execute_counted(WriteOp(_INSERT, params))
        return inserted > 0

    async def events_for(
        self, station_id: str, transaction_id: str
    ) -> list[TransactionEventRecord]:
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
