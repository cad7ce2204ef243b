"""Tariffs with versions, their assignments, cost revisions and charge detail records
(tables ``tariffs``, ``tariff_versions``, ``tariff_assignments`` and their history
``tariff_assignment_history``, ``transaction_costs``, ``cdrs``; docs/tariffs.md).

Inserts that must happen once are ``ON CONFLICT DO NOTHING`` and counted: a second tariff with
the same id, two edits racing for one version number, two cost revisions with one number, a second
CDR for a session — the caller learns it lost and nothing is overwritten. CDRs are never updated.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import and_, bindparam, delete, exists, func, select, update
from sqlalchemy.engine import Row

from opencsms.billing import breakdown_from_json, breakdown_json, parse_tariff
from opencsms.domain.cdrs import Cdr, CostRevision
from opencsms.domain.tariffs import Assignment, AssignmentScope, StoredTariff, TariffVersion

from ..statements import Statement, WriteOp
from ..tables import (
    cdrs,
    status_history,
    tariff_assignment_history,
    tariff_assignments,
    tariff_versions,
    tariffs,
    transaction_costs,
    transactions,
)
from .base import Repository, dialect_insert, insert_or_ignore, storage_errors

__all__ = ["TariffRepository"]

_TARIFF_COLUMNS = ("id", "name", "current_version", "archived", "created_at", "updated_at")
_VERSION_COLUMNS = ("tariff_id", "version", "body", "created_at")
_ASSIGNMENT_COLUMNS = ("scope", "target", "tariff_id", "updated_at")
_COST_COLUMNS = tuple(c.name for c in transaction_costs.columns)
_CDR_COLUMNS = tuple(c.name for c in cdrs.columns)


_TARIFF_INSERT = insert_or_ignore("tariffs.insert", tariffs, _TARIFF_COLUMNS)
_VERSION_INSERT = insert_or_ignore("tariff_versions.insert", tariff_versions, _VERSION_COLUMNS)
_COST_INSERT = insert_or_ignore("transaction_costs.insert", transaction_costs, _COST_COLUMNS)
_CDR_INSERT = insert_or_ignore("cdrs.insert", cdrs, _CDR_COLUMNS)

_TARIFF_BUMP = Statement(
    "tariffs.bump",
    ("k_id", "name", "current_version", "updated_at"),
    lambda _d: (
        update(tariffs)
        .where(tariffs.c.id == bindparam("k_id"))
        .values(
            name=bindparam("name"),
            current_version=bindparam("current_version"),
            updated_at=bindparam("updated_at"),
        )
    ),
)
_TARIFF_ARCHIVE = Statement(
    "tariffs.archive",
    ("k_id", "archived", "updated_at"),
    lambda _d: (
        update(tariffs)
        .where(tariffs.c.id == bindparam("k_id"))
        .values(archived=bindparam("archived"), updated_at=bindparam("updated_at"))
    ),
)


def _build_assignment_upsert(dialect: str) -> Any:
    insert = dialect_insert(dialect, tariff_assignments).values(
        {c: bindparam(c) for c in _ASSIGNMENT_COLUMNS}
    )
    return insert.on_conflict_do_update(
        index_elements=["scope", "target"],
        set_={"tariff_id": insert.excluded.tariff_id, "updated_at": insert.excluded.updated_at},
    )


_ASSIGNMENT_UPSERT = Statement(
    "tariff_assignments.upsert", _ASSIGNMENT_COLUMNS, _build_assignment_upsert
)
_ASSIGNMENT_DELETE = Statement(
    "tariff_assignments.delete",
    ("k_scope", "k_target"),
    lambda _d: delete(tariff_assignments).where(
        tariff_assignments.c.scope == bindparam("k_scope"),
        tariff_assignments.c.target == bindparam("k_target"),
    ),
    counted=True,
)


# History: a change closes the place's open interval and opens the next one, in the same
# transaction as the change itself. Two changes within one clock tick share `valid_from`: the
# later one wins (the zero-length interval of the earlier one is overwritten).
_HISTORY_CLOSE = Statement(
    "tariff_assignment_history.close",
    ("valid_to", "k_scope", "k_target"),
    lambda _d: (
        update(tariff_assignment_history)
        .where(
            tariff_assignment_history.c.scope == bindparam("k_scope"),
            tariff_assignment_history.c.target == bindparam("k_target"),
            tariff_assignment_history.c.valid_to.is_(None),
        )
        .values(valid_to=bindparam("valid_to"))
    ),
)
_HISTORY_COLUMNS = ("scope", "target", "valid_from", "valid_to", "tariff_id")


def _build_history_open(dialect: str) -> Any:
    insert = dialect_insert(dialect, tariff_assignment_history).values(
        {c: bindparam(c) for c in _HISTORY_COLUMNS}
    )
    return insert.on_conflict_do_update(
        index_elements=["scope", "target", "valid_from"],
        set_={"tariff_id": insert.excluded.tariff_id, "valid_to": insert.excluded.valid_to},
    )


_HISTORY_OPEN = Statement("tariff_assignment_history.open", _HISTORY_COLUMNS, _build_history_open)


def _assignment_from_row(r: Row[Any], updated_at: str) -> Assignment:
    m = r._mapping
    return Assignment(
        scope=AssignmentScope(m["scope"]),
        target=m["target"],
        tariff_id=m["tariff_id"],
        updated_at=m[updated_at],
    )


def _tariff_from_row(row: Row[Any]) -> StoredTariff:
    m = row._mapping
    return StoredTariff(
        id=m["id"],
        name=m["name"],
        current_version=m["current_version"],
        archived=bool(m["archived"]),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def _version_from_row(row: Row[Any]) -> TariffVersion:
    m = row._mapping
    return TariffVersion(
        tariff_id=m["tariff_id"],
        version=m["version"],
        tariff=parse_tariff(orjson.loads(m["body"])),
        created_at=m["created_at"],
    )


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _cost_from_row(row: Row[Any]) -> CostRevision:
    m = row._mapping
    body = m["breakdown"]
    return CostRevision(
        transaction_pk=m["transaction_pk"],
        revision=m["revision"],
        tariff_id=m["tariff_id"],
        tariff_version=m["tariff_version"],
        breakdown=None if body is None else breakdown_from_json(orjson.loads(body)),
        computed_at=m["computed_at"],
    )


def _cdr_from_row(row: Row[Any]) -> Cdr:
    m = row._mapping
    values = {name: m[name] for name in _CDR_COLUMNS}
    body = values.pop("breakdown")
    values["breakdown"] = None if body is None else breakdown_from_json(orjson.loads(body))
    for name in ("net", "tax", "gross"):
        values[name] = _dec(values[name])
    values["energy_wh"] = Decimal(values["energy_wh"])
    return Cdr(**values)


class TariffRepository(Repository):
    """Tariffs, versions, assignments, cost revisions and CDRs."""

    # -------------------------------------------------------------------- tariffs

    async def create(self, tariff_id: str, name: str, body: dict[str, Any], now: datetime) -> bool:
        """Store a new tariff at version 1; ``False`` if the id exists (nothing written)."""
        ts = self._ts(now)
        (inserted,) = await self._writer.execute_counted(
            WriteOp(_TARIFF_INSERT, (tariff_id, name, 1, False, ts, ts))
        )
        if not inserted:
            return False
        await self._writer.execute(
            WriteOp(_VERSION_INSERT, (tariff_id, 1, orjson.dumps(body).decode(), ts))
        )
        return True

    async def add_version(
        self, tariff_id: str, version: int, name: str, body: dict[str, Any], now: datetime
    ) -> bool:
        """Store version ``version`` and make it current; ``False`` if it exists already."""
        ts = self._ts(now)
        (inserted,) = await self._writer.execute_counted(
            WriteOp(_VERSION_INSERT, (tariff_id, version, orjson.dumps(body).decode(), ts))
        )
        if not inserted:
            return False
        await self._writer.execute(WriteOp(_TARIFF_BUMP, (tariff_id, name, version, ts)))
        return True

    async def archive(self, tariff_id: str, now: datetime) -> None:
        await self._writer.execute(WriteOp(_TARIFF_ARCHIVE, (tariff_id, True, self._ts(now))))

    async def _rows(self, query: Any) -> builtins.list[Row[Any]]:
        with storage_errors():
            async with self._engine.connect() as conn:
                return list((await conn.execute(query)).all())

    async def get(self, tariff_id: str) -> StoredTariff | None:
        rows = await self._rows(select(tariffs).where(tariffs.c.id == tariff_id))
        return _tariff_from_row(rows[0]) if rows else None

    async def list(self) -> builtins.list[StoredTariff]:
        return [
            _tariff_from_row(r) for r in await self._rows(select(tariffs).order_by(tariffs.c.id))
        ]

    async def version(self, tariff_id: str, version: int) -> TariffVersion | None:
        c = tariff_versions.c
        rows = await self._rows(
            select(tariff_versions).where(c.tariff_id == tariff_id, c.version == version)
        )
        return _version_from_row(rows[0]) if rows else None

    async def versions(self, tariff_id: str) -> builtins.list[TariffVersion]:
        c = tariff_versions.c
        query = select(tariff_versions).where(c.tariff_id == tariff_id).order_by(c.version)
        return [_version_from_row(r) for r in await self._rows(query)]

    async def version_at(self, tariff_id: str, at: datetime) -> int | None:
        """The newest version created at or before ``at``."""
        c = tariff_versions.c
        query = select(func.max(c.version)).where(c.tariff_id == tariff_id, c.created_at <= at)
        rows = await self._rows(query)
        value = rows[0][0] if rows else None
        return None if value is None else int(value)

    # ----------------------------------------------------------------- assignments

    async def set_assignment(self, assignment: Assignment) -> None:
        """Assign (or re-assign) the place from ``assignment.updated_at`` on; the history
        records the change in the same transaction."""
        a = assignment
        ts = self._ts(a.updated_at)
        await self._writer.execute(
            WriteOp(_HISTORY_CLOSE, (ts, a.scope.value, a.target)),
            WriteOp(_HISTORY_OPEN, (a.scope.value, a.target, ts, None, a.tariff_id)),
            WriteOp(_ASSIGNMENT_UPSERT, (a.scope.value, a.target, a.tariff_id, ts)),
        )

    async def delete_assignment(self, scope: AssignmentScope, target: str, at: datetime) -> bool:
        """Unassign the place from ``at`` on; ``False`` if nothing was assigned there."""
        (deleted, _closed) = await self._writer.execute_counted(
            WriteOp(_ASSIGNMENT_DELETE, (scope.value, target)),
            WriteOp(_HISTORY_CLOSE, (self._ts(at), scope.value, target)),
        )
        return deleted > 0

    async def assignments_at(self, at: datetime) -> builtins.list[Assignment]:
        """The assignments in force at ``at`` (``updated_at``: when each began)."""
        c = tariff_assignment_history.c
        query = (
            select(tariff_assignment_history)
            .where(c.valid_from <= at, (c.valid_to.is_(None)) | (c.valid_to > at))
            .order_by(c.scope, c.target)
        )
        return [_assignment_from_row(r, "valid_from") for r in await self._rows(query)]

    async def assignment_history(
        self, scope: AssignmentScope, target: str
    ) -> builtins.list[tuple[Assignment, datetime | None]]:
        """Every assignment the place had, oldest first, with when it ended (None: current)."""
        c = tariff_assignment_history.c
        query = (
            select(tariff_assignment_history)
            .where(c.scope == scope.value, c.target == target)
            .order_by(c.valid_from)
        )
        return [
            (_assignment_from_row(r, "valid_from"), r._mapping["valid_to"])
            for r in await self._rows(query)
        ]

    async def assignments(self) -> builtins.list[Assignment]:
        c = tariff_assignments.c
        rows = await self._rows(select(tariff_assignments).order_by(c.scope, c.target))
        return [_assignment_from_row(r, "updated_at") for r in rows]

    # -------------------------------------------------------------- cost revisions

    async def add_cost(self, cost: CostRevision) -> bool:
        """Store a cost revision; ``False`` if that revision number is taken."""
        body = None if cost.breakdown is None else breakdown_json(cost.breakdown)
        params = (
            cost.transaction_pk,
            cost.revision,
            cost.tariff_id,
            cost.tariff_version,
            None if body is None else orjson.dumps(body).decode(),
            self._ts(cost.computed_at),
        )
        (inserted,) = await self._writer.execute_counted(WriteOp(_COST_INSERT, params))
        return inserted > 0

    async def costs(self, transaction_pk: int) -> builtins.list[CostRevision]:
        """Every cost revision of the session, oldest first."""
        c = transaction_costs.c
        query = (
            select(transaction_costs).where(c.transaction_pk == transaction_pk).order_by(c.revision)
        )
        return [_cost_from_row(r) for r in await self._rows(query)]

    # ------------------------------------------------------------------------ CDRs

    async def issue(self, cdr: Cdr) -> bool:
        """Insert the CDR; ``False`` if the session has one already (it is left unchanged)."""
        values: dict[str, Any] = {name: getattr(cdr, name) for name in _CDR_COLUMNS}
        for name in ("started_at", "stopped_at", "issued_at"):
            values[name] = self._ts(values[name])
        for name in ("energy_wh", "net", "tax", "gross"):
            values[name] = None if values[name] is None else str(values[name])
        if cdr.breakdown is not None:
            values["breakdown"] = orjson.dumps(breakdown_json(cdr.breakdown)).decode()
        params = tuple(values[name] for name in _CDR_COLUMNS)
        (inserted,) = await self._writer.execute_counted(WriteOp(_CDR_INSERT, params))
        return inserted > 0

    async def cdr(self, transaction_pk: int) -> Cdr | None:
        rows = await self._rows(select(cdrs).where(cdrs.c.transaction_pk == transaction_pk))
        return _cdr_from_row(rows[0]) if rows else None

    def _cdr_filter(
        self, query: Any, station_id: str | None, since: datetime | None, until: datetime | None
    ) -> Any:
        c = cdrs.c
        if station_id is not None:
            query = query.where(c.station_id == station_id)
        if since is not None:
            query = query.where(c.stopped_at >= since)
        if until is not None:
            query = query.where(c.stopped_at < until)
        return query

    async def cdrs(
        self,
        *,
        station_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> builtins.list[Cdr]:
        """CDRs by session end, newest first; ``since`` inclusive, ``until`` exclusive."""
        query = self._cdr_filter(select(cdrs), station_id, since, until)
        query = query.order_by(cdrs.c.stopped_at.desc(), cdrs.c.transaction_pk.desc())
        return [_cdr_from_row(r) for r in await self._rows(query.offset(offset).limit(limit))]

    async def count_cdrs(
        self,
        *,
        station_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        query = self._cdr_filter(select(func.count()).select_from(cdrs), station_id, since, until)
        rows = await self._rows(query)
        return int(rows[0][0] or 0)

    async def iterate_cdrs(
        self,
        *,
        station_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page: int = 500,
    ) -> AsyncIterator[Cdr]:
        """Every matching CDR by session id, read in keyset pages (exports)."""
        after = -1
        while True:
            query = self._cdr_filter(select(cdrs), station_id, since, until)
            query = query.where(cdrs.c.transaction_pk > after)
            rows = await self._rows(query.order_by(cdrs.c.transaction_pk).limit(page))
            for row in rows:
                yield _cdr_from_row(row)
            if len(rows) < page:
                return
            after = rows[-1]._mapping["transaction_pk"]

    async def finished_without_cdr(self, limit: int = 200) -> builtins.list[int]:
        """Ids of Completed sessions that have no CDR yet (the catch-up pass), oldest first."""
        t = transactions.c
        query = (
            select(t.id)
            .where(
                t.status == "Completed",
                t.stopped_at.is_not(None),
                ~exists().where(cdrs.c.transaction_pk == t.id),
            )
            .order_by(t.id)
            .limit(limit)
        )
        return [int(r[0]) for r in await self._rows(query)]

    # ---------------------------------------------------------------- 1.6 states

    async def statuses(
        self, station_id: str, evse_id: int, since: datetime, until: datetime
    ) -> builtins.list[tuple[datetime, str]]:
        """(station time, status) of a 1.6 connector from the last report before ``since`` to
        ``until``, oldest first (reports without a station time use their arrival time)."""
        s = status_history.c
        when = func.coalesce(s.reported_at, s.received_at)
        base = and_(s.station_id == station_id, s.evse_id == evse_id)
        before = (
            select(s.reported_at, s.received_at, s.status)
            .where(base, when < since)
            .order_by(when.desc())
            .limit(1)
        )
        during = (
            select(s.reported_at, s.received_at, s.status)
            .where(base, when >= since, when <= until)
            .order_by(when)
        )
        rows = [*await self._rows(before), *await self._rows(during)]
        return [
            (r._mapping["reported_at"] or r._mapping["received_at"], r._mapping["status"])
            for r in rows
        ]
