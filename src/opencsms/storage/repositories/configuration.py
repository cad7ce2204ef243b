"""1.6 configuration keys (table ``configuration_keys``) and the results of applying desired
configuration (table ``configuration_results``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.engine import Row

from opencsms.domain.configuration import ConfigurationKey
from opencsms.domain.desired_config import ApplyResult, DesiredKind

from ..statements import Statement, WriteOp
from ..tables import configuration_keys, configuration_results
from .base import Repository, dialect_insert, storage_errors

__all__ = ["ConfigurationRepository"]

_KEY_COLUMNS = tuple(c.name for c in configuration_keys.columns)
_RESULT_COLUMNS = tuple(c.name for c in configuration_results.columns)


def _build_key_upsert(dialect: str) -> Any:
    insert = dialect_insert(dialect, configuration_keys).values(
        {name: bindparam(name) for name in _KEY_COLUMNS}
    )
    return insert.on_conflict_do_update(
        index_elements=["station_id", "key"],
        set_={
            name: insert.excluded[name]
            for name in _KEY_COLUMNS
            if name not in ("station_id", "key")
        },
    )


def _build_result_upsert(dialect: str) -> Any:
    insert = dialect_insert(dialect, configuration_results).values(
        {name: bindparam(name) for name in _RESULT_COLUMNS}
    )
    return insert.on_conflict_do_update(
        index_elements=["station_id", "kind", "key"],
        set_={
            name: insert.excluded[name]
            for name in _RESULT_COLUMNS
            if name not in ("station_id", "kind", "key")
        },
    )


_KEY_UPSERT = Statement("configuration_keys.upsert", _KEY_COLUMNS, _build_key_upsert)
_KEYS_NOT_OF = Statement(
    "configuration_keys.delete_other_generations",
    ("station_id", "generation"),
    lambda d: delete(configuration_keys).where(
        configuration_keys.c.station_id == bindparam("station_id"),
        configuration_keys.c.generation != bindparam("generation"),
    ),
)
_KEY_DELETE = Statement(
    "configuration_keys.delete",
    ("station_id", "key"),
    lambda d: delete(configuration_keys).where(
        configuration_keys.c.station_id == bindparam("station_id"),
        configuration_keys.c.key == bindparam("key"),
    ),
)
_RESULT_UPSERT = Statement("configuration_results.upsert", _RESULT_COLUMNS, _build_result_upsert)


def _key_from_row(row: Row[Any]) -> ConfigurationKey:
    m = row._mapping
    return ConfigurationKey(
        station_id=m["station_id"],
        key=m["key"],
        value=m["value"],
        readonly=bool(m["readonly"]),
        reported_at=m["reported_at"],
    )


def _result_from_row(row: Row[Any]) -> ApplyResult:
    m = row._mapping
    return ApplyResult(
        station_id=m["station_id"],
        kind=DesiredKind(m["kind"]),
        key=m["key"],
        value=m["value"],
        status=m["status"],
        detail=m["detail"],
        attempted_at=m["attempted_at"],
    )


class ConfigurationRepository(Repository):
    """Tables ``configuration_keys`` and ``configuration_results``."""

    def _key_params(self, key: ConfigurationKey, generation: str) -> tuple[Any, ...]:
        values: dict[str, Any] = {
            "station_id": key.station_id,
            "key": key.key,
            "value": key.value,
            "readonly": key.readonly,
            "reported_at": self._ts(key.reported_at),
            "generation": generation,
        }
        return tuple(values[name] for name in _KEY_COLUMNS)

    async def keys(self, station_id: str) -> list[ConfigurationKey]:
        """The station's keys, by name."""
        c = configuration_keys.c
        query = select(configuration_keys).where(c.station_id == station_id).order_by(c.key)
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_key_from_row(row) for row in rows]

    async def put_keys(self, keys: Iterable[ConfigurationKey]) -> None:
        """Create or update ``keys``, in one commit."""
        generation = uuid.uuid4().hex
        ops = [WriteOp(_KEY_UPSERT, self._key_params(key, generation)) for key in keys]
        if ops:
            await self._writer.execute(*ops)

    async def replace_keys(self, station_id: str, keys: Sequence[ConfigurationKey]) -> None:
        """Make ``keys`` the station's whole set, in one commit: upserted under a new
        generation, every other row of the station deleted (order-independent, see tables.py)."""
        generation = uuid.uuid4().hex
        ops = [WriteOp(_KEY_UPSERT, self._key_params(key, generation)) for key in keys]
        ops.append(WriteOp(_KEYS_NOT_OF, (station_id, generation)))
        await self._writer.execute(*ops)

    async def remove_keys(self, station_id: str, names: Iterable[str]) -> None:
        """Forget keys the station says it does not have."""
        ops = [WriteOp(_KEY_DELETE, (station_id, name)) for name in names]
        if ops:
            await self._writer.execute(*ops)

    # ------------------------------------------------------------------ apply results

    async def put_results(self, results: Iterable[ApplyResult]) -> None:
        """Record the latest attempt per (station, kind, key), in one commit."""
        ops = []
        for result in results:
            values: dict[str, Any] = {
                "station_id": result.station_id,
                "kind": result.kind.value,
                "key": result.key,
                "value": result.value,
                "status": result.status,
                "detail": result.detail,
                "attempted_at": self._ts(result.attempted_at),
            }
            ops.append(WriteOp(_RESULT_UPSERT, tuple(values[n] for n in _RESULT_COLUMNS)))
        if ops:
            await self._writer.execute(*ops)

    async def results(self, station_id: str) -> list[ApplyResult]:
        """The station's latest attempt per desired key."""
        c = configuration_results.c
        query = (
            select(configuration_results).where(c.station_id == station_id).order_by(c.kind, c.key)
        )
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_result_from_row(row) for row in rows]
