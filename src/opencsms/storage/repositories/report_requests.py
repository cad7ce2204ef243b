"""Reports asked of stations and their parts (tables ``requested_reports`` and
``requested_report_parts``; domain/report_requests.py).

The part statements are exposed as :class:`WriteOp` builders (:meth:`ReportRepository.part_ops`)
so a repository that applies a part's content (the monitors of a monitoring report) commits the
part and its content in one transaction.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.engine import Row

from opencsms.domain.report_requests import ReportKind, ReportPart, ReportRequest

from ..statements import Statement, WriteOp
from ..tables import requested_report_parts, requested_reports
from .base import Repository, dialect_insert, storage_errors

__all__ = ["ReportRepository"]

_REQUEST_COLUMNS = tuple(c.name for c in requested_reports.columns)
_PART_COLUMNS = tuple(c.name for c in requested_report_parts.columns)
_KEY = ("station_id", "kind", "request_id")


def _build_create(dialect: str) -> Any:
    insert = dialect_insert(dialect, requested_reports).values(
        {name: bindparam(name) for name in _REQUEST_COLUMNS}
    )
    return insert.on_conflict_do_update(
        index_elements=list(_KEY),
        set_={
            name: insert.excluded[name]
            for name in ("parameters", "full", "requested_at", "status", "completed_at")
        },
    )


_CREATE = Statement("requested_reports.create", _REQUEST_COLUMNS, _build_create)

_ENSURE = Statement(
    "requested_reports.ensure",
    _REQUEST_COLUMNS,
    lambda d: (
        dialect_insert(d, requested_reports)
        .values({name: bindparam(name) for name in _REQUEST_COLUMNS})
        .on_conflict_do_nothing(index_elements=list(_KEY))
    ),
)


def _where_key(table: Any) -> Any:
    c = table.c
    return (
        (c.station_id == bindparam("k_station"))
        & (c.kind == bindparam("k_kind"))
        & (c.request_id == bindparam("k_request"))
    )


_KEY_PARAMS = ("k_station", "k_kind", "k_request")

_SET_STATUS = Statement(
    "requested_reports.set_status",
    ("status", *_KEY_PARAMS),
    lambda _d: (
        update(requested_reports)
        .where(_where_key(requested_reports))
        .values(status=bindparam("status"))
    ),
)

_SET_COMPLETED = Statement(
    "requested_reports.set_completed",
    ("completed_at", *_KEY_PARAMS),
    lambda _d: (
        update(requested_reports)
        .where(_where_key(requested_reports), requested_reports.c.completed_at.is_(None))
        .values(completed_at=bindparam("completed_at"))
    ),
)

_DELETE = Statement(
    "requested_reports.delete",
    _KEY_PARAMS,
    lambda _d: delete(requested_reports).where(_where_key(requested_reports)),
)

_DELETE_PARTS = Statement(
    "requested_report_parts.delete",
    _KEY_PARAMS,
    lambda _d: delete(requested_report_parts).where(_where_key(requested_report_parts)),
)

_ADD_PART = Statement(
    "requested_report_parts.insert",
    _PART_COLUMNS,
    lambda d: (
        dialect_insert(d, requested_report_parts)
        .values({name: bindparam(name) for name in _PART_COLUMNS})
        .on_conflict_do_nothing(index_elements=[*_KEY, "seq_no"])
    ),
)


def _request_from_row(row: Row[Any]) -> ReportRequest:
    m = row._mapping
    return ReportRequest(
        station_id=m["station_id"],
        kind=ReportKind(m["kind"]),
        request_id=m["request_id"],
        parameters=None if m["parameters"] is None else orjson.loads(m["parameters"]),
        full=m["full"],
        requested_at=m["requested_at"],
        status=m["status"],
        completed_at=m["completed_at"],
        created_at=m["created_at"],
    )


def _part_from_row(row: Row[Any]) -> ReportPart:
    m = row._mapping
    return ReportPart(
        station_id=m["station_id"],
        kind=ReportKind(m["kind"]),
        request_id=m["request_id"],
        seq_no=m["seq_no"],
        tbc=m["tbc"],
        data=m["data"],
        generated_at=m["generated_at"],
        received_at=m["received_at"],
    )


class ReportRepository(Repository):
    """Tables ``requested_reports`` and ``requested_report_parts``."""

    def _request_params(self, r: ReportRequest) -> tuple[Any, ...]:
        parameters = None if r.parameters is None else orjson.dumps(r.parameters).decode()
        values = {
            "station_id": r.station_id,
            "kind": r.kind.value,
            "request_id": r.request_id,
            "parameters": parameters,
            "full": r.full,
            "requested_at": self._ts_or_none(r.requested_at),
            "status": r.status,
            "completed_at": self._ts_or_none(r.completed_at),
            "created_at": self._ts(r.created_at),
        }
        return tuple(values[name] for name in _REQUEST_COLUMNS)

    @staticmethod
    def _key(station_id: str, kind: ReportKind, request_id: int) -> tuple[Any, ...]:
        return (station_id, kind.value, request_id)

    async def create(self, request: ReportRequest) -> None:
        """Record a request before it is sent (replacing one of the same number, if any)."""
        await self._writer.execute(WriteOp(_CREATE, self._request_params(request)))

    async def set_status(
        self, station_id: str, kind: ReportKind, request_id: int, status: str | None
    ) -> None:
        """Store the station's answer to the request."""
        key = self._key(station_id, kind, request_id)
        await self._writer.execute(WriteOp(_SET_STATUS, (status, *key)))

    def completed_op(
        self, station_id: str, kind: ReportKind, request_id: int, at: datetime
    ) -> WriteOp:
        """Mark the report complete (once: a later call keeps the first time)."""
        return WriteOp(_SET_COMPLETED, (self._ts(at), *self._key(station_id, kind, request_id)))

    async def set_completed(
        self, station_id: str, kind: ReportKind, request_id: int, at: datetime
    ) -> None:
        await self._writer.execute(self.completed_op(station_id, kind, request_id, at))

    async def delete(self, station_id: str, kind: ReportKind, request_id: int) -> None:
        """Forget a request (nothing was sent) and any part stored for it."""
        key = self._key(station_id, kind, request_id)
        await self._writer.execute(WriteOp(_DELETE, key), WriteOp(_DELETE_PARTS, key))

    def part_ops(self, part: ReportPart) -> list[WriteOp]:
        """Store ``part`` (ignored if that seqNo is stored) and make sure its request exists
        (an unsolicited report gets a row without parameters)."""
        unsolicited = ReportRequest(
            station_id=part.station_id,
            kind=part.kind,
            request_id=part.request_id,
            parameters=None,
            full=False,
            requested_at=None,
            status=None,
            completed_at=None,
            created_at=part.received_at,
        )
        values = {
            "station_id": part.station_id,
            "kind": part.kind.value,
            "request_id": part.request_id,
            "seq_no": part.seq_no,
            "tbc": part.tbc,
            "data": part.data,
            "generated_at": self._ts_or_none(part.generated_at),
            "received_at": self._ts(part.received_at),
        }
        return [
            WriteOp(_ENSURE, self._request_params(unsolicited)),
            WriteOp(_ADD_PART, tuple(values[name] for name in _PART_COLUMNS)),
        ]

    def ensure_op(
        self, station_id: str, kind: ReportKind, request_id: int, at: datetime
    ) -> WriteOp:
        """Make sure a request row exists (for reports whose parts are not kept)."""
        row = ReportRequest(station_id, kind, request_id, None, False, None, None, None, at)
        return WriteOp(_ENSURE, self._request_params(row))

    async def add_part(self, part: ReportPart) -> None:
        """Store ``part`` durably (idempotent)."""
        await self._writer.execute(*self.part_ops(part))

    async def get(self, station_id: str, kind: ReportKind, request_id: int) -> ReportRequest | None:
        c = requested_reports.c
        query = select(requested_reports).where(
            c.station_id == station_id, c.kind == kind.value, c.request_id == request_id
        )
        with storage_errors():
            async with self._engine.connect() as conn:
                row = (await conn.execute(query)).first()
        return None if row is None else _request_from_row(row)

    async def list(
        self, station_id: str, kind: ReportKind, limit: int = 100
    ) -> builtins.list[ReportRequest]:
        """The station's requests of ``kind``, newest first."""
        c = requested_reports.c
        query = (
            select(requested_reports)
            .where(c.station_id == station_id, c.kind == kind.value)
            .order_by(c.created_at.desc(), c.request_id.desc())
            .limit(limit)
        )
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_request_from_row(row) for row in rows]

    async def parts(
        self, station_id: str, kind: ReportKind, request_id: int
    ) -> builtins.list[ReportPart]:
        """The stored parts of a report, by seqNo."""
        c = requested_report_parts.c
        query = (
            select(requested_report_parts)
            .where(c.station_id == station_id, c.kind == kind.value, c.request_id == request_id)
            .order_by(c.seq_no)
        )
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_part_from_row(row) for row in rows]
