"""Meter values: one row per ``meterValue`` element (1.6 §4.7, 2.0.1 J01/J02/E01 meter data)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, func, select, tuple_
from sqlalchemy.engine import Row

from opencsms.domain.model import MeterValueRecord

from ..digests import SAMPLES_DIGEST_SQL_FUNCTION, samples_digest
from ..statements import Statement, WriteOp
from ..tables import meter_values
from .base import Repository, dialect_insert, storage_errors

__all__ = ["NO_TRANSACTION", "MeterRepository", "samples_digest"]

NO_TRANSACTION = ""
"""Stored ``transaction_id`` of samples taken outside a transaction (NULL would defeat the unique
index: NULL is distinct from NULL, so a resent sample would be stored twice)."""


_COLUMNS = (
    "station_id",
    "evse_id",
    "connector_id",
    "transaction_id",
    "timestamp",
    "samples",
    "context",
    "received_at",
    "samples_digest",
)


def _insert_values(dialect: str) -> dict[str, Any]:
    """The inserted values: on SQLite the digest is worked out by the writer's connection (an SQL
    function over the same ``samples``), so the event loop does not hash; PostgreSQL gets it
    from the repository."""
    values: dict[str, Any] = {name: bindparam(name) for name in _COLUMNS}
    if dialect == "sqlite":
        values["samples_digest"] = getattr(func, SAMPLES_DIGEST_SQL_FUNCTION)(bindparam("samples"))
    return values


_INSERT = Statement(
    "meter_values.insert",
    _COLUMNS,
    lambda d: (
        dialect_insert(d, meter_values)
        .values(_insert_values(d))
        .on_conflict_do_nothing(
            index_elements=[
                "station_id",
                "transaction_id",
                "timestamp",
                "evse_id",
                "samples_digest",
            ]
        )
    ),
)


def _from_row(row: Row[Any]) -> MeterValueRecord:
    m = row._mapping
    return MeterValueRecord(
        station_id=m["station_id"],
        evse_id=m["evse_id"],
        connector_id=m["connector_id"],
        transaction_id=m["transaction_id"] or None,
        timestamp=m["timestamp"],
        samples_json=m["samples"],
        context=m["context"],
        received_at=m["received_at"],
    )


class MeterRepository(Repository):
    """Table ``meter_values``; a resend of the same element stores nothing new (rule 7)."""

    async def add(self, records: Iterable[MeterValueRecord]) -> None:
        """Store the records durably, ignoring any already stored.

        Identity of a sample set is (station, EVSE, transaction, timestamp, samples): a station
        resending from its offline queue sends the same values again and nothing new is stored;
        a different reading with the same timestamp is stored too.
        """
        ops = self.ops(records)
        if ops:
            await self._writer.submit(*ops)  # execute's commit, one coroutine less per message

    def ops(self, records: Iterable[MeterValueRecord]) -> list[WriteOp]:
        """The writes of :meth:`add`, for a repository that commits them with its own ops."""
        ts = self._ts
        in_sql = self._dialect == "sqlite"  # the statement computes it (_insert_values)
        return [
            WriteOp(
                _INSERT,
                (
                    r.station_id,
                    r.evse_id,
                    r.connector_id,
                    NO_TRANSACTION if r.transaction_id is None else r.transaction_id,
                    ts(r.timestamp),
                    r.samples_json,
                    r.context,
                    ts(r.received_at),
                    None if in_sql else samples_digest(r.samples_json),
                ),
            )
            for r in records
        ]

    async def for_transaction(self, station_id: str, transaction_id: str) -> list[MeterValueRecord]:
        """Every sample set of one transaction, in station-time order."""
        c = meter_values.c
        query = (
            select(meter_values)
            .where(c.station_id == station_id, c.transaction_id == transaction_id)
            .order_by(c.timestamp, c.evse_id)
        )
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_from_row(row) for row in rows]

    async def for_station(self, station_id: str, limit: int = 100) -> list[MeterValueRecord]:
        """The station's most recent samples, newest station timestamp first.

        The table's one index leads with the transaction, not the time (migration 0020), so the
        newest entries are found by reading the station's part of the index alone (every column
        sorted on is in it, no table row is read), and only the ``limit`` rows found are fetched.
        """
        c = meter_values.c
        order = (c.timestamp.desc(), c.evse_id, c.transaction_id, c.samples_digest)
        identity = (c.transaction_id, c.timestamp, c.evse_id, c.samples_digest)
        newest = select(*identity).where(c.station_id == station_id).order_by(*order).limit(limit)
        with storage_errors():
            async with self._engine.connect() as conn:
                keys = [tuple(key) for key in (await conn.execute(newest)).all()]
                if not keys:
                    return []
                query = (
                    select(meter_values)
                    .where(c.station_id == station_id, tuple_(*identity).in_(keys))
                    .order_by(*order)
                )
                rows = (await conn.execute(query)).all()
        return [_from_row(row) for row in rows]
