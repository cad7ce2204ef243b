"""Desired configuration (table ``desired_configuration``) and configuration profiles (table
``configuration_profiles``)."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select

from opencsms.domain.desired_config import ConfigProfile, DesiredKind, DesiredSet, Scope

from ..statements import Statement, WriteOp
from ..tables import configuration_profiles, desired_configuration
from .base import Repository, dialect_insert, storage_errors

__all__ = ["DesiredConfigRepository"]

_ENTRY_COLUMNS = tuple(c.name for c in desired_configuration.columns)
_PROFILE_COLUMNS = tuple(c.name for c in configuration_profiles.columns)
_ENTRY_KEY = ("scope", "owner", "kind", "key")


def _build_entry_upsert(dialect: str) -> Any:
    insert = dialect_insert(dialect, desired_configuration).values(
        {name: bindparam(name) for name in _ENTRY_COLUMNS}
    )
    return insert.on_conflict_do_update(
        index_elements=list(_ENTRY_KEY),
        set_={name: insert.excluded[name] for name in _ENTRY_COLUMNS if name not in _ENTRY_KEY},
    )


def _build_profile_upsert(dialect: str) -> Any:
    insert = dialect_insert(dialect, configuration_profiles).values(
        {name: bindparam(name) for name in _PROFILE_COLUMNS}
    )
    return insert.on_conflict_do_update(
        index_elements=["name"],
        set_={
            name: insert.excluded[name]
            for name in _PROFILE_COLUMNS
            if name not in ("name", "created_at")
        },
    )


_d = desired_configuration.c
_ENTRY_UPSERT = Statement("desired_configuration.upsert", _ENTRY_COLUMNS, _build_entry_upsert)
_ENTRIES_NOT_OF = Statement(
    "desired_configuration.delete_other_generations",
    ("scope", "owner", "kind", "generation"),
    lambda d: delete(desired_configuration).where(
        _d.scope == bindparam("scope"),
        _d.owner == bindparam("owner"),
        _d.kind == bindparam("kind"),
        _d.generation != bindparam("generation"),
    ),
)
_ENTRIES_DELETE = Statement(
    "desired_configuration.delete_owner",
    ("scope", "owner"),
    lambda d: delete(desired_configuration).where(
        _d.scope == bindparam("scope"), _d.owner == bindparam("owner")
    ),
)
_PROFILE_UPSERT = Statement(
    "configuration_profiles.upsert", _PROFILE_COLUMNS, _build_profile_upsert
)
_PROFILE_DELETE = Statement(
    "configuration_profiles.delete",
    ("name",),
    lambda d: delete(configuration_profiles).where(
        configuration_profiles.c.name == bindparam("name")
    ),
    counted=True,
)


class DesiredConfigRepository(Repository):
    """Tables ``desired_configuration`` and ``configuration_profiles``."""

    def _replace_ops(
        self, scope: Scope, owner: str, kind: DesiredKind, values: Mapping[str, str], at: datetime
    ) -> list[WriteOp]:
        # Upsert under a new generation, delete the owner's other rows of the kind: the same
        # result in whichever order the writer runs the two statements (tables.py).
        generation = uuid.uuid4().hex
        ops = [
            WriteOp(
                _ENTRY_UPSERT,
                tuple(
                    {
                        "scope": scope.value,
                        "owner": owner,
                        "kind": kind.value,
                        "key": key,
                        "value": value,
                        "generation": generation,
                        "updated_at": self._ts(at),
                    }[name]
                    for name in _ENTRY_COLUMNS
                ),
            )
            for key, value in values.items()
        ]
        ops.append(WriteOp(_ENTRIES_NOT_OF, (scope.value, owner, kind.value, generation)))
        return ops

    async def replace(
        self,
        scope: Scope,
        owner: str,
        desired: Mapping[DesiredKind, Mapping[str, str]],
        at: datetime,
    ) -> None:
        """Make ``desired`` the owner's entries of each kind it names (other kinds are kept),
        in one commit."""
        ops: list[WriteOp] = []
        for kind, values in desired.items():
            ops += self._replace_ops(scope, owner, kind, values, at)
        if ops:
            await self._writer.execute(*ops)

    async def delete_owner(self, scope: Scope, owner: str) -> None:
        """Forget every entry of the owner."""
        await self._writer.execute(WriteOp(_ENTRIES_DELETE, (scope.value, owner)))

    async def owners(self, scope: Scope) -> set[str]:
        """Every owner of the scope with at least one entry."""
        query = select(_d.owner).where(_d.scope == scope.value).distinct()
        with storage_errors():
            async with self._engine.connect() as conn:
                return set((await conn.scalars(query)).all())

    async def desired(self, scope: Scope, owner: str) -> DesiredSet:
        """The owner's entries."""
        query = select(_d.kind, _d.key, _d.value).where(_d.scope == scope.value, _d.owner == owner)
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query.order_by(_d.kind, _d.key))).all()
        out = DesiredSet()
        for row in rows:
            m = row._mapping
            out.of(DesiredKind(m["kind"]))[m["key"]] = m["value"]
        return out

    # ------------------------------------------------------------------ profiles

    async def put_profile(self, profile: ConfigProfile) -> None:
        """Create or replace the profile and its entries, in one commit (``created_at`` of an
        existing profile is kept)."""
        values: dict[str, Any] = {
            "name": profile.name,
            "vendor": profile.vendor,
            "model": profile.model,
            "created_at": self._ts(profile.created_at),
            "updated_at": self._ts(profile.updated_at),
        }
        ops = [WriteOp(_PROFILE_UPSERT, tuple(values[n] for n in _PROFILE_COLUMNS))]
        for kind in DesiredKind:
            ops += self._replace_ops(
                Scope.PROFILE, profile.name, kind, profile.desired.of(kind), profile.updated_at
            )
        await self._writer.execute(*ops)

    async def delete_profile(self, name: str) -> bool:
        """Delete the profile and its entries; False when there was none."""
        deleted, _ = await self._writer.execute_counted(
            WriteOp(_PROFILE_DELETE, (name,)),
            WriteOp(_ENTRIES_DELETE, (Scope.PROFILE.value, name)),
        )
        return deleted > 0

    async def profiles(self, name: str | None = None) -> builtins.list[ConfigProfile]:
        """Every profile (or the one named), by name, with its entries."""
        p = configuration_profiles.c
        profiles_query = select(configuration_profiles).order_by(p.name)
        entries_query = select(_d.owner, _d.kind, _d.key, _d.value).where(
            _d.scope == Scope.PROFILE.value
        )
        if name is not None:
            profiles_query = profiles_query.where(p.name == name)
            entries_query = entries_query.where(_d.owner == name)
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(profiles_query)).all()
                entries = (await conn.execute(entries_query.order_by(_d.key))).all()
        sets: dict[str, DesiredSet] = {}
        for entry in entries:
            m = entry._mapping
            sets.setdefault(m["owner"], DesiredSet()).of(DesiredKind(m["kind"]))[m["key"]] = m[
                "value"
            ]
        return [
            ConfigProfile(
                name=m["name"],
                vendor=m["vendor"],
                model=m["model"],
                desired=sets.get(m["name"], DesiredSet()),
                created_at=m["created_at"],
                updated_at=m["updated_at"],
            )
            for m in (row._mapping for row in rows)
        ]
