"""Metadata of the files the CSMS hosts (table ``files``); the bytes are in the blob store
(:mod:`opencsms.storage.blobs`), found by the row's ``sha256``.

File ids are allocated like job ids (in-memory counter, ``ON CONFLICT DO NOTHING``, re-seed).
A station's upload for a job is keyed on (job, file name): an upload of the same name again
replaces the row's content (HTTP PUT semantics) and keeps its id.
"""

from __future__ import annotations

import builtins
from dataclasses import replace
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from opencsms.domain.job_model import HostedFile, JobKind
from opencsms.errors import StorageError

from ..statements import Statement, WriteOp
from ..tables import files
from ..writer import GroupCommitWriter
from .base import IdAllocator, Repository, dialect_insert, storage_errors

__all__ = ["FileRepository"]

_COLUMNS = tuple(c.name for c in files.columns)
_MAX_ID_ATTEMPTS = 5

# No conflict target: a taken id (another node) and a (job, name) already stored both make
# the insert a no-op, told apart afterwards.
_INSERT = Statement(
    "files.insert",
    _COLUMNS,
    lambda d: (
        dialect_insert(d, files)
        .values({name: bindparam(name) for name in _COLUMNS})
        .on_conflict_do_nothing()
    ),
    counted=True,
)

_CONTENT = ("size", "sha256", "content_type", "created_at")
_REPLACE_CONTENT = Statement(
    "files.replace_content",
    ("id", *_CONTENT),
    lambda d: (
        update(files)
        .where(files.c.id == bindparam("id"))
        .values({name: bindparam(name) for name in _CONTENT})
    ),
)

_DELETE = Statement(
    "files.delete",
    ("id",),
    lambda d: delete(files).where(files.c.id == bindparam("id")),
    counted=True,
)


def _file(row: Row[Any]) -> HostedFile:
    m = row._mapping
    values = {name: m[name] for name in _COLUMNS}
    values["kind"] = JobKind(values["kind"])
    return HostedFile(**values)


class FileRepository(Repository):
    """Table ``files``."""

    def __init__(self, engine: AsyncEngine, writer: GroupCommitWriter) -> None:
        super().__init__(engine, writer)
        self._ids = IdAllocator(engine, files.c.id)

    def _params(self, item: HostedFile) -> tuple[Any, ...]:
        values = {name: getattr(item, name) for name in _COLUMNS}
        values["kind"] = str(item.kind)
        values["created_at"] = self._ts(item.created_at)
        return tuple(values[name] for name in _COLUMNS)

    async def add(self, item: HostedFile) -> HostedFile:
        """Insert ``item`` under a fresh id (its ``id`` is ignored); returns it as stored.

        An item with a ``job_id`` replaces the content of the job's file of the same name, if
        there is one, and keeps that file's id."""
        for _ in range(_MAX_ID_ATTEMPTS):
            item = replace(item, id=await self._ids.next())
            (inserted,) = await self._writer.execute_counted(WriteOp(_INSERT, self._params(item)))
            if inserted > 0:
                return item
            if item.job_id is not None:
                stored = await self.by_job_name(item.job_id, item.name)
                if stored is not None:
                    item = replace(item, id=stored.id)
                    content = (
                        self._ts(item.created_at) if n == "created_at" else getattr(item, n)
                        for n in _CONTENT
                    )
                    await self._writer.execute(WriteOp(_REPLACE_CONTENT, (item.id, *content)))
                    return item
            self._ids.reseed()  # another node used the number: re-seed from the table
        raise StorageError("could not allocate a file id")

    async def delete(self, file_id: int) -> bool:
        """Remove the row; False when there was none."""
        (deleted,) = await self._writer.execute_counted(WriteOp(_DELETE, (file_id,)))
        return deleted > 0

    async def _all(self, query: Any) -> builtins.list[HostedFile]:
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_file(row) for row in rows]

    async def get(self, file_id: int) -> HostedFile | None:
        found = await self._all(select(files).where(files.c.id == file_id))
        return found[0] if found else None

    async def by_job_name(self, job_id: int, name: str) -> HostedFile | None:
        found = await self._all(select(files).where(files.c.job_id == job_id, files.c.name == name))
        return found[0] if found else None

    def _filtered(
        self, query: Any, kind: str | None, station_id: str | None, job_id: int | None
    ) -> Any:
        if kind is not None:
            query = query.where(files.c.kind == kind)
        if station_id is not None:
            query = query.where(files.c.station_id == station_id)
        if job_id is not None:
            query = query.where(files.c.job_id == job_id)
        return query

    async def list(
        self,
        *,
        kind: str | None = None,
        station_id: str | None = None,
        job_id: int | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> builtins.list[HostedFile]:
        """Files, newest first, optionally of one kind, station and job."""
        query = self._filtered(select(files), kind, station_id, job_id)
        return await self._all(query.order_by(files.c.id.desc()).offset(offset).limit(limit))

    async def count(
        self, *, kind: str | None = None, station_id: str | None = None, job_id: int | None = None
    ) -> int:
        query = self._filtered(select(func.count()).select_from(files), kind, station_id, job_id)
        with storage_errors():
            async with self._engine.connect() as conn:
                value = await conn.scalar(query)
        return int(value or 0)

    async def references(self, sha256: str) -> int:
        """How many rows point at the content ``sha256``."""
        query = select(func.count()).select_from(files).where(files.c.sha256 == sha256)
        with storage_errors():
            async with self._engine.connect() as conn:
                value = await conn.scalar(query)
        return int(value or 0)
