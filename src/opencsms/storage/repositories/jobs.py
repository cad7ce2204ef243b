"""Firmware and log jobs (table ``jobs``) and their history (table ``job_events``).

Job ids are allocated by the CSMS like reservation numbers (they are sent as the OCPP
``requestId``): an in-memory counter seeded with ``max(id)`` on first use, the row inserted with
``ON CONFLICT DO NOTHING`` and, if another node took the number, the counter re-seeded and the
job rebuilt with the next one. A job and the events of one change are written in one commit.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from opencsms.domain.job_model import (
    OPEN_STATES,
    EventSource,
    Job,
    JobEvent,
    JobKind,
    JobState,
)
from opencsms.errors import StorageError

from ..statements import Statement, WriteOp
from ..tables import job_events, jobs
from ..writer import GroupCommitWriter
from .base import IdAllocator, Repository, dialect_insert, storage_errors

__all__ = ["JobRepository"]

_COLUMNS = tuple(c.name for c in jobs.columns)
_EVENT_COLUMNS = tuple(c.name for c in job_events.columns if c.name != "id")
_DATETIMES = frozenset(("deadline", "created_at", "updated_at", "finished_at"))
_MAX_ID_ATTEMPTS = 5
_OPEN = tuple(s.value for s in OPEN_STATES)

_INSERT = Statement(
    "jobs.insert",
    _COLUMNS,
    lambda d: (
        dialect_insert(d, jobs)
        .values({name: bindparam(name) for name in _COLUMNS})
        .on_conflict_do_nothing(index_elements=["id"])
    ),
    counted=True,
)


def _build_upsert(dialect: str) -> Any:
    insert = dialect_insert(dialect, jobs).values({name: bindparam(name) for name in _COLUMNS})
    return insert.on_conflict_do_update(
        index_elements=["id"],
        set_={name: insert.excluded[name] for name in _COLUMNS if name not in ("id", "created_at")},
    )


_UPSERT = Statement("jobs.upsert", _COLUMNS, _build_upsert)

_EVENT_INSERT = Statement(
    "job_events.insert",
    _EVENT_COLUMNS,
    lambda d: dialect_insert(d, job_events).values(
        {name: bindparam(name) for name in _EVENT_COLUMNS}
    ),
)


def _job(row: Row[Any]) -> Job:
    m = row._mapping
    values = {name: m[name] for name in _COLUMNS}
    values["kind"] = JobKind(values["kind"])
    values["state"] = JobState(values["state"])
    values["params"] = orjson.loads(values["params"])
    return Job(**values)


def _event(row: Row[Any]) -> JobEvent:
    m = row._mapping
    return JobEvent(
        id=m["id"],
        job_id=m["job_id"],
        station_id=m["station_id"],
        kind=JobKind(m["kind"]),
        source=EventSource(m["source"]),
        action=m["action"],
        status=m["status"],
        request_id=m["request_id"],
        state=None if m["state"] is None else JobState(m["state"]),
        detail=m["detail"],
        at=m["at"],
    )


class JobRepository(Repository):
    """Tables ``jobs`` and ``job_events``."""

    def __init__(self, engine: AsyncEngine, writer: GroupCommitWriter) -> None:
        super().__init__(engine, writer)
        self._ids = IdAllocator(engine, jobs.c.id)

    def _params(self, job: Job) -> tuple[Any, ...]:
        out = []
        for name in _COLUMNS:
            value = getattr(job, name)
            if name in _DATETIMES:
                value = self._ts_or_none(value)
            elif name in ("kind", "state"):
                value = str(value)
            elif name == "params":
                value = orjson.dumps(value).decode()
            out.append(value)
        return tuple(out)

    def _event_params(self, event: JobEvent) -> tuple[Any, ...]:
        values = {
            "job_id": event.job_id,
            "station_id": event.station_id,
            "kind": str(event.kind),
            "source": str(event.source),
            "action": event.action,
            "status": event.status,
            "request_id": event.request_id,
            "state": None if event.state is None else str(event.state),
            "detail": event.detail,
            "at": self._ts(event.at),
        }
        return tuple(values[name] for name in _EVENT_COLUMNS)

    async def create(self, build: Callable[[int], tuple[Job, JobEvent]]) -> Job:
        """Insert the job ``build(new_id)`` makes, with a fresh id, then its first event."""
        for _ in range(_MAX_ID_ATTEMPTS):
            job, event = build(await self._ids.next())
            (inserted,) = await self._writer.execute_counted(WriteOp(_INSERT, self._params(job)))
            if inserted > 0:
                await self._writer.execute(WriteOp(_EVENT_INSERT, self._event_params(event)))
                return job
            self._ids.reseed()  # another node used the number: re-seed from the table
        raise StorageError("could not allocate a job id")

    async def save(self, jobs_changed: Iterable[Job], events: Iterable[JobEvent] = ()) -> None:
        """Store changed jobs (by id) and new events in one commit."""
        ops = [WriteOp(_UPSERT, self._params(job)) for job in jobs_changed]
        ops += [WriteOp(_EVENT_INSERT, self._event_params(event)) for event in events]
        if ops:
            await self._writer.execute(*ops)

    async def _all(self, query: Any) -> builtins.list[Job]:
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_job(row) for row in rows]

    async def get(self, job_id: int) -> Job | None:
        found = await self._all(select(jobs).where(jobs.c.id == job_id))
        return found[0] if found else None

    async def by_token(self, token: str) -> Job | None:
        found = await self._all(select(jobs).where(jobs.c.token == token))
        return found[0] if found else None

    def _filtered(
        self, query: Any, station_id: str | None, kind: str | None, state: str | None
    ) -> Any:
        if station_id is not None:
            query = query.where(jobs.c.station_id == station_id)
        if kind is not None:
            query = query.where(jobs.c.kind == kind)
        if state is not None:
            query = query.where(jobs.c.state == state)
        return query

    async def list(
        self,
        *,
        station_id: str | None = None,
        kind: str | None = None,
        state: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> builtins.list[Job]:
        """Jobs, newest first, optionally of one station, kind and state."""
        query = self._filtered(select(jobs), station_id, kind, state)
        return await self._all(query.order_by(jobs.c.id.desc()).offset(offset).limit(limit))

    async def count(
        self, *, station_id: str | None = None, kind: str | None = None, state: str | None = None
    ) -> int:
        query = self._filtered(select(func.count()).select_from(jobs), station_id, kind, state)
        with storage_errors():
            async with self._engine.connect() as conn:
                value = await conn.scalar(query)
        return int(value or 0)

    async def of_station(
        self, station_id: str, kind: JobKind, *, with_request_id: bool, limit: int = 20
    ) -> builtins.list[Job]:
        """The station's newest jobs of ``kind`` whose messages carry a requestId (or not)."""
        c = jobs.c
        rid = c.request_id.is_not(None) if with_request_id else c.request_id.is_(None)
        query = (
            select(jobs)
            .where(c.station_id == station_id, c.kind == kind.value, rid)
            .order_by(c.id.desc())
            .limit(limit)
        )
        return await self._all(query)

    async def open_with_image(self, image_id: int) -> builtins.list[Job]:
        """Open jobs that install the firmware image ``image_id``."""
        query = select(jobs).where(jobs.c.image_id == image_id, jobs.c.state.in_(_OPEN))
        return await self._all(query)

    async def due(self, now: datetime) -> builtins.list[Job]:
        """Open jobs whose deadline is not after ``now``."""
        c = jobs.c
        query = select(jobs).where(c.state.in_(_OPEN), c.deadline <= now).order_by(c.id)
        return await self._all(query)

    async def events(self, job_id: int) -> builtins.list[JobEvent]:
        """The job's history, oldest first."""
        query = select(job_events).where(job_events.c.job_id == job_id).order_by(job_events.c.id)
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_event(row) for row in rows]

    async def station_events(
        self,
        station_id: str,
        *,
        kind: str | None = None,
        sources: Iterable[EventSource] | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> builtins.list[JobEvent]:
        """The station's job events, newest first, older than event ``before``."""
        c = job_events.c
        query = select(job_events).where(c.station_id == station_id)
        if kind is not None:
            query = query.where(c.kind == kind)
        if sources is not None:
            query = query.where(c.source.in_([str(s) for s in sources]))
        if before is not None:
            query = query.where(c.id < before)
        query = query.order_by(c.id.desc()).limit(limit)
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_event(row) for row in rows]
