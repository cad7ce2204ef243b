"""Site load management (tables ``load_groups``, ``load_group_members``, ``load_decisions``;
domain/load_management.py). Schedules, priorities and decisions are stored as JSON."""

from __future__ import annotations

import builtins
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.engine import Row

from opencsms.domain.load_management_model import (
    Decision,
    DecisionEntry,
    ExternalSignal,
    GroupMember,
    LoadGroup,
)

from ..statements import Statement, WriteOp
from ..tables import load_decisions, load_group_members, load_groups
from .base import Repository, dialect_insert, storage_errors

__all__ = ["LoadManagementRepository"]

_GROUP_COLUMNS = tuple(c.name for c in load_groups.columns)
_MEMBER_COLUMNS = tuple(c.name for c in load_group_members.columns)
_MEMBER_KEY = ("station_id", "evse_id")
_DECISION_COLUMNS = tuple(c.name for c in load_decisions.columns if c.name != "id")


def _build_group_save(dialect: str) -> Any:
    insert = dialect_insert(dialect, load_groups).values(
        {name: bindparam(name) for name in _GROUP_COLUMNS}
    )
    return insert.on_conflict_do_update(
        index_elements=["id"],
        set_={
            name: insert.excluded[name]
            for name in _GROUP_COLUMNS
            if name not in ("id", "created_at")
        },
    )


def _build_member_save(dialect: str) -> Any:
    insert = dialect_insert(dialect, load_group_members).values(
        {name: bindparam(name) for name in _MEMBER_COLUMNS}
    )
    return insert.on_conflict_do_update(
        index_elements=list(_MEMBER_KEY),
        set_={name: insert.excluded[name] for name in _MEMBER_COLUMNS if name not in _MEMBER_KEY},
    )


_GROUP_SAVE = Statement("load_groups.save", _GROUP_COLUMNS, _build_group_save)
_GROUP_DELETE = Statement(
    "load_groups.delete",
    ("k_id",),
    lambda _d: delete(load_groups).where(load_groups.c.id == bindparam("k_id")),
    counted=True,
)
_GROUP_MEMBERS_DELETE = Statement(
    "load_group_members.delete_group",
    ("k_group",),
    lambda _d: delete(load_group_members).where(
        load_group_members.c.group_id == bindparam("k_group")
    ),
)
_MEMBER_SAVE = Statement("load_group_members.save", _MEMBER_COLUMNS, _build_member_save)
_MEMBER_DELETE = Statement(
    "load_group_members.delete",
    ("k_station", "k_evse", "k_group"),
    lambda _d: delete(load_group_members).where(
        load_group_members.c.station_id == bindparam("k_station"),
        load_group_members.c.evse_id == bindparam("k_evse"),
        load_group_members.c.group_id == bindparam("k_group"),
    ),
    counted=True,
)
_DECISION_INSERT = Statement(
    "load_decisions.insert",
    _DECISION_COLUMNS,
    lambda d: dialect_insert(d, load_decisions).values(
        {name: bindparam(name) for name in _DECISION_COLUMNS}
    ),
)


def _group(row: Row[Any]) -> LoadGroup:
    m = row._mapping
    external = None
    if m["ext_set_at"] is not None:
        external = ExternalSignal(
            max_current_a=m["ext_current_a"],
            max_power_w=m["ext_power_w"],
            set_at=m["ext_set_at"],
            until=m["ext_until"],
        )
    return LoadGroup(
        id=m["id"],
        name=m["name"],
        parent_id=m["parent_id"],
        max_current_a=m["max_current_a"],
        max_power_w=m["max_power_w"],
        phases=m["phases"],
        voltage_v=m["voltage_v"],
        schedule=None if m["schedule"] is None else orjson.loads(m["schedule"]),
        priorities={} if m["priorities"] is None else orjson.loads(m["priorities"]),
        external=external,
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def _member(row: Row[Any]) -> GroupMember:
    m = row._mapping
    return GroupMember(
        station_id=m["station_id"],
        evse_id=m["evse_id"],
        group_id=m["group_id"],
        max_current_a=m["max_current_a"],
        phases=m["phases"],
        phase=m["phase"],
        updated_at=m["updated_at"],
    )


def _entry_json(entry: DecisionEntry) -> dict[str, Any]:
    return {
        "station_id": entry.station_id,
        "evse_id": entry.evse_id,
        "kind": entry.kind,
        "limit_a": entry.limit_a,
        "transaction_id": entry.transaction_id,
        "previous_a": entry.previous_a,
        "measured_a": entry.measured_a,
        "status": entry.status,
        "detail": entry.detail,
    }


def _decision(row: Row[Any]) -> Decision:
    m = row._mapping
    return Decision(
        id=m["id"],
        group_id=m["group_id"],
        at=m["at"],
        trigger=m["trigger"],
        groups=orjson.loads(m["groups"]),
        entries=tuple(DecisionEntry(**e) for e in orjson.loads(m["sessions"])),
    )


class LoadManagementRepository(Repository):
    """Tables ``load_groups``, ``load_group_members`` and ``load_decisions``."""

    # ------------------------------------------------------------------ groups

    async def save_group(self, group: LoadGroup) -> None:
        """Create or replace ``group`` (its ``created_at`` is kept on replace)."""
        external = group.external
        values: dict[str, Any] = {
            "id": group.id,
            "name": group.name,
            "parent_id": group.parent_id,
            "max_current_a": group.max_current_a,
            "max_power_w": group.max_power_w,
            "phases": group.phases,
            "voltage_v": group.voltage_v,
            "schedule": None if group.schedule is None else orjson.dumps(group.schedule).decode(),
            "priorities": orjson.dumps(group.priorities).decode() if group.priorities else None,
            "ext_current_a": None if external is None else external.max_current_a,
            "ext_power_w": None if external is None else external.max_power_w,
            "ext_until": None if external is None else self._ts_or_none(external.until),
            "ext_set_at": None if external is None else self._ts(external.set_at),
            "created_at": self._ts(group.created_at),
            "updated_at": self._ts(group.updated_at),
        }
        params = tuple(values[name] for name in _GROUP_COLUMNS)
        await self._writer.execute(WriteOp(_GROUP_SAVE, params))

    async def delete_group(self, group_id: str) -> bool:
        """Remove the group and its members, in one commit; False when it did not exist."""
        counts = await self._writer.execute_counted(
            WriteOp(_GROUP_MEMBERS_DELETE, (group_id,)), WriteOp(_GROUP_DELETE, (group_id,))
        )
        return bool(counts[-1])

    async def groups(self) -> builtins.list[LoadGroup]:
        """Every group, by id."""
        query = select(load_groups).order_by(load_groups.c.id)
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_group(row) for row in rows]

    # ------------------------------------------------------------------ members

    async def save_member(self, member: GroupMember) -> None:
        """Put a station or EVSE under a group (moving it if it was under another)."""
        values: dict[str, Any] = {
            "station_id": member.station_id,
            "evse_id": member.evse_id,
            "group_id": member.group_id,
            "max_current_a": member.max_current_a,
            "phases": member.phases,
            "phase": member.phase,
            "updated_at": self._ts(member.updated_at),
        }
        params = tuple(values[name] for name in _MEMBER_COLUMNS)
        await self._writer.execute(WriteOp(_MEMBER_SAVE, params))

    async def delete_member(self, group_id: str, station_id: str, evse_id: int) -> bool:
        """Take a station or EVSE out of ``group_id``; False when it was not there."""
        counts = await self._writer.execute_counted(
            WriteOp(_MEMBER_DELETE, (station_id, evse_id, group_id))
        )
        return bool(counts[0])

    async def members(self) -> builtins.list[GroupMember]:
        """Every member, by station and EVSE."""
        c = load_group_members.c
        query = select(load_group_members).order_by(c.station_id, c.evse_id)
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_member(row) for row in rows]

    # ------------------------------------------------------------------ decisions

    async def add_decision(self, decision: Decision) -> None:
        values: dict[str, Any] = {
            "group_id": decision.group_id,
            "at": self._ts(decision.at),
            "trigger": decision.trigger,
            "groups": orjson.dumps(decision.groups).decode(),
            "sessions": orjson.dumps([_entry_json(e) for e in decision.entries]).decode(),
            "sent": decision.sent,
            "failed": decision.failed,
        }
        params = tuple(values[name] for name in _DECISION_COLUMNS)
        await self._writer.execute(WriteOp(_DECISION_INSERT, params))

    async def decisions(
        self, group_id: str, *, offset: int = 0, limit: int = 100
    ) -> builtins.list[Decision]:
        """The decisions of root group ``group_id``, newest first."""
        c = load_decisions.c
        query = (
            select(load_decisions)
            .where(c.group_id == group_id)
            .order_by(c.id.desc())
            .offset(offset)
            .limit(limit)
        )
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_decision(row) for row in rows]

    async def count_decisions(self, group_id: str) -> int:
        c = load_decisions.c
        query = select(func.count()).select_from(load_decisions).where(c.group_id == group_id)
        with storage_errors():
            async with self._engine.connect() as conn:
                return int((await conn.execute(query)).scalar_one())
