"""2.0.1 device models (table ``device_variables``) and their reports (tables ``device_reports``
and ``device_report_parts``); see :mod:`opencsms.domain.device_model_service`."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, or_, select, update
from sqlalchemy.engine import Row

from opencsms.domain.device_model import (
    ReportKind,
    ReportPart,
    ReportRequest,
    VariableCharacteristics,
    VariableRef,
    VariableRow,
)

from ..statements import Statement, WriteOp
from ..tables import device_report_parts, device_reports, device_variables
from .base import Repository, dialect_insert, storage_errors

__all__ = ["DeviceModelRepository"]

_VAR_COLUMNS = tuple(c.name for c in device_variables.columns)
_VAR_KEY = (
    "station_id",
    "component",
    "component_instance",
    "evse_id",
    "connector_id",
    "variable",
    "variable_instance",
    "attribute",
)
_REPORT_COLUMNS = tuple(c.name for c in device_reports.columns)
_PART_COLUMNS = tuple(c.name for c in device_report_parts.columns)
_NONE_TEXT, _NONE_ID = "", -1
"""How an absent instance / EVSE / connector is stored (tables.py)."""

_v, _r = device_variables.c, device_reports.c


def _build_row_upsert(dialect: str) -> Any:
    insert = dialect_insert(dialect, device_variables).values(
        {name: bindparam(name) for name in _VAR_COLUMNS}
    )
    return insert.on_conflict_do_update(
        index_elements=list(_VAR_KEY),
        set_={name: insert.excluded[name] for name in _VAR_COLUMNS if name not in _VAR_KEY},
    )


def _build_value_upsert(dialect: str) -> Any:
    # A value read or set outside a report: what a report said about the attribute is kept.
    insert = dialect_insert(dialect, device_variables).values(
        {name: bindparam(name) for name in _VAR_COLUMNS}
    )
    return insert.on_conflict_do_update(
        index_elements=list(_VAR_KEY),
        set_={"value": insert.excluded.value, "updated_at": insert.excluded.updated_at},
    )


def _build_report_upsert(dialect: str) -> Any:
    insert = dialect_insert(dialect, device_reports).values(
        {name: bindparam(name) for name in _REPORT_COLUMNS}
    )
    return insert.on_conflict_do_update(
        index_elements=["station_id", "request_id"],
        set_={
            name: insert.excluded[name] for name in ("kind", "requested_at", "status", "updated_at")
        },
    )


_ROW_UPSERT = Statement("device_variables.upsert", _VAR_COLUMNS, _build_row_upsert)
_VALUE_UPSERT = Statement("device_variables.upsert_value", _VAR_COLUMNS, _build_value_upsert)
_ROWS_NOT_OF = Statement(
    "device_variables.delete_other_reports",
    ("station_id", "report_id"),
    lambda d: delete(device_variables).where(
        _v.station_id == bindparam("station_id"),
        or_(_v.report_id.is_(None), _v.report_id != bindparam("report_id")),
    ),
)
_REPORT_UPSERT = Statement("device_reports.upsert", _REPORT_COLUMNS, _build_report_upsert)
_REPORT_IF_NEW = Statement(
    "device_reports.insert_if_new",
    _REPORT_COLUMNS,
    lambda d: (
        dialect_insert(d, device_reports)
        .values({name: bindparam(name) for name in _REPORT_COLUMNS})
        .on_conflict_do_nothing(index_elements=["station_id", "request_id"])
    ),
)
_REPORT_STATUS = Statement(
    "device_reports.status",
    ("station_id", "request_id", "status", "updated_at"),
    lambda d: (
        update(device_reports)
        .where(_r.station_id == bindparam("station_id"), _r.request_id == bindparam("request_id"))
        .values(status=bindparam("status"), updated_at=bindparam("updated_at"))
    ),
)
_REPORT_PROGRESS = Statement(
    "device_reports.progress",
    ("station_id", "request_id", "parts", "last_seq_no", "completed_at", "updated_at"),
    lambda d: (
        update(device_reports)
        .where(_r.station_id == bindparam("station_id"), _r.request_id == bindparam("request_id"))
        .values(
            parts=bindparam("parts"),
            last_seq_no=bindparam("last_seq_no"),
            completed_at=bindparam("completed_at"),
            updated_at=bindparam("updated_at"),
        )
    ),
)
_PART_INSERT = Statement(
    "device_report_parts.insert",
    _PART_COLUMNS,
    lambda d: (
        dialect_insert(d, device_report_parts)
        .values({name: bindparam(name) for name in _PART_COLUMNS})
        .on_conflict_do_nothing(index_elements=["station_id", "request_id", "seq_no"])
    ),
)


def _ref_from(m: Any) -> VariableRef:
    return VariableRef(
        component=m["component"],
        variable=m["variable"],
        component_instance=m["component_instance"] or None,
        evse_id=None if m["evse_id"] == _NONE_ID else m["evse_id"],
        connector_id=None if m["connector_id"] == _NONE_ID else m["connector_id"],
        variable_instance=m["variable_instance"] or None,
        attribute=m["attribute"],
    )


def _row_from(row: Row[Any]) -> VariableRow:
    m = row._mapping
    characteristics = None
    if m["data_type"] is not None:
        characteristics = VariableCharacteristics(
            data_type=m["data_type"],
            supports_monitoring=bool(m["supports_monitoring"]),
            unit=m["unit"],
            min_limit=m["min_limit"],
            max_limit=m["max_limit"],
            values_list=m["values_list"],
        )
    return VariableRow(
        station_id=m["station_id"],
        ref=_ref_from(m),
        value=m["value"],
        updated_at=m["updated_at"],
        mutability=m["mutability"],
        persistent=m["persistent"],
        constant=m["constant"],
        characteristics=characteristics,
        report_id=m["report_id"],
    )


def _report_from(row: Row[Any]) -> ReportRequest:
    m = row._mapping
    return ReportRequest(
        station_id=m["station_id"],
        request_id=m["request_id"],
        kind=ReportKind(m["kind"]),
        requested_at=m["requested_at"],
        status=m["status"],
        parts=m["parts"],
        last_seq_no=m["last_seq_no"],
        completed_at=m["completed_at"],
        updated_at=m["updated_at"],
    )


class DeviceModelRepository(Repository):
    """Tables ``device_variables``, ``device_reports`` and ``device_report_parts``."""

    def _row_params(self, row: VariableRow) -> tuple[Any, ...]:
        ref, ch = row.ref, row.characteristics
        values: dict[str, Any] = {
            "station_id": row.station_id,
            "component": ref.component,
            "component_instance": ref.component_instance or _NONE_TEXT,
            "evse_id": _NONE_ID if ref.evse_id is None else ref.evse_id,
            "connector_id": _NONE_ID if ref.connector_id is None else ref.connector_id,
            "variable": ref.variable,
            "variable_instance": ref.variable_instance or _NONE_TEXT,
            "attribute": ref.attribute,
            "value": row.value,
            "mutability": row.mutability,
            "persistent": row.persistent,
            "constant": row.constant,
            "data_type": ch.data_type if ch else None,
            "unit": ch.unit if ch else None,
            "min_limit": ch.min_limit if ch else None,
            "max_limit": ch.max_limit if ch else None,
            "values_list": ch.values_list if ch else None,
            "supports_monitoring": ch.supports_monitoring if ch else None,
            "report_id": row.report_id,
            "updated_at": self._ts(row.updated_at),
        }
        return tuple(values[name] for name in _VAR_COLUMNS)

    def _report_params(self, request: ReportRequest) -> tuple[Any, ...]:
        values: dict[str, Any] = {
            "station_id": request.station_id,
            "request_id": request.request_id,
            "kind": request.kind.value,
            "requested_at": self._ts(request.requested_at),
            "status": request.status,
            "parts": request.parts,
            "last_seq_no": request.last_seq_no,
            "completed_at": self._ts_or_none(request.completed_at),
            "updated_at": self._ts(request.updated_at or request.requested_at),
        }
        return tuple(values[name] for name in _REPORT_COLUMNS)

    # ------------------------------------------------------------------ reports

    async def add_report(self, request: ReportRequest) -> None:
        """Record a report request (before the CALL goes out)."""
        await self._writer.execute(WriteOp(_REPORT_UPSERT, self._report_params(request)))

    async def set_report_status(
        self, station_id: str, request_id: int, status: str, at: datetime
    ) -> None:
        """The station's answer to the request."""
        await self._writer.execute(
            WriteOp(_REPORT_STATUS, (station_id, request_id, status, self._ts(at)))
        )

    async def store_part(self, part: ReportPart, request: ReportRequest) -> None:
        """The part's number and rows, and ``request`` if it is not stored yet, in one commit;
        a part already stored changes nothing but its rows (upserted with the same values)."""
        ops = [WriteOp(_REPORT_IF_NEW, self._report_params(request))]
        values: dict[str, Any] = {
            "station_id": part.station_id,
            "request_id": part.request_id,
            "seq_no": part.seq_no,
            "tbc": part.tbc,
            "generated_at": self._ts(part.generated_at),
            "items": len(part.rows),
            "received_at": self._ts(part.received_at),
        }
        ops.append(WriteOp(_PART_INSERT, tuple(values[name] for name in _PART_COLUMNS)))
        ops += [WriteOp(_ROW_UPSERT, self._row_params(row)) for row in part.rows]
        await self._writer.execute(*ops)

    async def part_numbers(self, station_id: str, request_id: int) -> tuple[set[int], int | None]:
        """The stored parts' numbers, and the number of the last part (``tbc`` false)."""
        p = device_report_parts.c
        query = select(p.seq_no, p.tbc).where(
            p.station_id == station_id, p.request_id == request_id
        )
        with storage_errors():
            async with self._engine.connect() as conn:
                rows: list[tuple[int, bool]] = [
                    (row._mapping["seq_no"], bool(row._mapping["tbc"]))
                    for row in (await conn.execute(query)).all()
                ]
        last = [seq for seq, tbc in rows if not tbc]
        return {seq for seq, _ in rows}, min(last) if last else None

    async def update_progress(self, request: ReportRequest, *, replace_model: bool) -> None:
        """Store how far the report arrived; ``replace_model``: it was a complete
        FullInventory, so rows other reports left are removed (same commit)."""
        ops = [
            WriteOp(
                _REPORT_PROGRESS,
                (
                    request.station_id,
                    request.request_id,
                    request.parts,
                    request.last_seq_no,
                    self._ts_or_none(request.completed_at),
                    self._ts(request.updated_at or request.requested_at),
                ),
            )
        ]
        if replace_model:
            ops.append(WriteOp(_ROWS_NOT_OF, (request.station_id, request.request_id)))
        await self._writer.execute(*ops)

    async def report(self, station_id: str, request_id: int) -> ReportRequest | None:
        query = select(device_reports).where(
            _r.station_id == station_id, _r.request_id == request_id
        )
        with storage_errors():
            async with self._engine.connect() as conn:
                row = (await conn.execute(query)).first()
        return None if row is None else _report_from(row)

    async def reports(self, station_id: str, limit: int) -> builtins.list[ReportRequest]:
        """The station's reports, newest request first."""
        query = (
            select(device_reports)
            .where(_r.station_id == station_id)
            .order_by(_r.requested_at.desc(), _r.request_id.desc())
            .limit(limit)
        )
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_report_from(row) for row in rows]

    # ------------------------------------------------------------------ variables

    async def put_values(self, rows: Iterable[VariableRow]) -> None:
        """Store values learned outside a report (other columns of known rows are kept)."""
        ops = [WriteOp(_VALUE_UPSERT, self._row_params(row)) for row in rows]
        if ops:
            await self._writer.execute(*ops)

    def _filtered(
        self, query: Any, station_id: str, component: str | None, variable: str | None
    ) -> Any:
        query = query.where(_v.station_id == station_id)
        if component is not None:
            query = query.where(func.lower(_v.component) == component.lower())
        if variable is not None:
            query = query.where(func.lower(_v.variable) == variable.lower())
        return query

    async def rows(
        self,
        station_id: str,
        *,
        component: str | None = None,
        variable: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[builtins.list[VariableRow], int]:
        """A page of the station's rows in address order, and how many match."""
        query = self._filtered(select(device_variables), station_id, component, variable)
        query = query.order_by(*(getattr(_v, name) for name in _VAR_KEY[1:]))
        counted = self._filtered(
            select(func.count()).select_from(device_variables), station_id, component, variable
        )
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query.offset(offset).limit(limit))).all()
                total = await conn.scalar(counted)
        return [_row_from(row) for row in rows], int(total or 0)

    async def values(
        self, station_id: str, refs: Sequence[VariableRef]
    ) -> dict[VariableRef, str | None]:
        """The stored values of those ``refs`` the CSMS knows, matched without case."""
        if not refs:
            return {}
        names = sorted({ref.component.lower() for ref in refs})
        query = select(device_variables).where(
            and_(_v.station_id == station_id, func.lower(_v.component).in_(names))
        )
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        known = {(r := _row_from(row)).ref.path.lower(): r.value for row in rows}
        return {ref: known[ref.path.lower()] for ref in refs if ref.path.lower() in known}
