"""Site load management: the operator's groups, members and external signals
(docs/load-management.md).

:class:`LoadManagementService` keeps the tree of groups (site → feeder/circuit → station →
EVSE) and the stations / EVSEs under them, checks every change before storing it (a known
parent, no cycle, no negative limit, no group deleted while it has children) and keeps an
in-memory copy the allocation rounds read without a database query. Each change calls
``on_change`` so the worker (:mod:`opencsms.domain.load_management_worker`) rebalances at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opencsms.clock import Clock
from opencsms.domain.load_management_model import (
    Decision,
    ExternalSignal,
    GroupMember,
    InvalidGroupError,
    LoadGroup,
    check_group,
    check_member,
    children_of,
    root_of,
)
from opencsms.errors import AlreadyExistsError, NotFoundError
from opencsms.smartcharging.group_schedule import parse_schedule

if TYPE_CHECKING:
    from opencsms.storage.store import Storage

__all__ = ["GroupInUseError", "LoadManagementService"]


class GroupInUseError(ValueError):
    """A group that still has child groups cannot be deleted (API: 409)."""


_EDITABLE = frozenset(
    {
        "name",
        "parent_id",
        "max_current_a",
        "max_power_w",
        "phases",
        "voltage_v",
        "schedule",
        "priorities",
    }
)


class LoadManagementService:
    """Groups, members and external signals: checked, stored, cached (module docstring)."""

    def __init__(
        self, store: Storage, clock: Clock, *, on_change: Callable[[str], None] | None = None
    ) -> None:
        self._store = store
        self._clock = clock
        self.on_change: Callable[[str], None] = on_change or (lambda _reason: None)
        self._groups: dict[str, LoadGroup] = {}
        self._members: dict[tuple[str, int], GroupMember] = {}
        self._managed: frozenset[str] | None = None
        """The stations with a member, derived from ``_members`` when first asked after a change:
        every stored meter value asks, and members change only by operator request."""
        self._lock = asyncio.Lock()
        """Serialises changes: two edits must not both pass the cycle check."""

    async def load(self) -> None:
        """Read the tree from the store (at start)."""
        self._groups = {g.id: g for g in await self._store.load_management.groups()}
        self._members = {
            (m.station_id, m.evse_id): m for m in await self._store.load_management.members()
        }
        self._managed = None

    # ------------------------------------------------------------------ reading

    @property
    def groups(self) -> dict[str, LoadGroup]:
        """Every group by id (a copy)."""
        return dict(self._groups)

    @property
    def members(self) -> list[GroupMember]:
        """Every member (stations and EVSEs under a group)."""
        return list(self._members.values())

    def group(self, group_id: str) -> LoadGroup:
        """The group, or :class:`~opencsms.errors.NotFoundError`."""
        group = self._groups.get(group_id)
        if group is None:
            raise NotFoundError(f"unknown load group {group_id!r}")
        return group

    def members_of(self, group_id: str) -> list[GroupMember]:
        return [m for m in self._members.values() if m.group_id == group_id]

    def managed(self, station_id: str) -> bool:
        """Whether the station or one of its EVSEs is under a group."""
        managed = self._managed
        if managed is None:
            managed = self._managed = frozenset(sid for sid, _ in self._members)
        return station_id in managed

    def member_for(self, station_id: str, evse_id: int) -> GroupMember | None:
        """The member an EVSE's sessions hang under: the EVSE's own, else the station's."""
        return self._members.get((station_id, evse_id)) or self._members.get((station_id, 0))

    def root(self, group_id: str) -> str:
        return root_of(self._groups, group_id)

    def subtree(self, group_id: str) -> set[str]:
        """``group_id`` and every group below it."""
        found, todo = set(), [group_id]
        while todo:
            current = todo.pop()
            if current not in found:
                found.add(current)
                todo.extend(children_of(self._groups, current))
        return found

    async def decisions(
        self, group_id: str, *, offset: int = 0, limit: int = 100
    ) -> tuple[list[Decision], int]:
        """The decisions of the tree ``group_id`` belongs to, newest first, and their count."""
        root = self.root(self.group(group_id).id)
        items = await self._store.load_management.decisions(root, offset=offset, limit=limit)
        return items, await self._store.load_management.count_decisions(root)

    # ------------------------------------------------------------------ groups

    def _checked(self, group: LoadGroup) -> LoadGroup:
        check_group(group, self._groups)
        if group.schedule is not None:
            try:  # the schedule module's own parsing decides what a schedule is
                parse_schedule(group.schedule)
            except ValueError as exc:
                raise InvalidGroupError(f"invalid schedule: {exc}") from None
        for name, priority in group.priorities.items():
            if not name or isinstance(priority, bool) or not isinstance(priority, int):
                raise InvalidGroupError("priorities map a token or group id to a whole number")
        return group

    async def create_group(
        self, group_id: str, name: str | None = None, **fields: Any
    ) -> LoadGroup:
        """Create a group (``fields``: the editable attributes of :class:`LoadGroup`)."""
        unknown = set(fields) - _EDITABLE
        if unknown:
            raise InvalidGroupError(f"unknown fields: {', '.join(sorted(unknown))}")
        async with self._lock:
            if group_id in self._groups:
                raise AlreadyExistsError(f"load group {group_id!r} exists")
            now = self._clock.now()
            group = LoadGroup(
                id=group_id, name=name or group_id, created_at=now, updated_at=now, **fields
            )
            self._checked(group)
            await self._store.load_management.save_group(group)
            self._groups[group.id] = group
        self.on_change(f"group {group_id} created")
        return group

    async def update_group(self, group_id: str, **changes: Any) -> LoadGroup:
        """Change some editable attributes of a group."""
        unknown = set(changes) - _EDITABLE
        if unknown:
            raise InvalidGroupError(f"unknown fields: {', '.join(sorted(unknown))}")
        async with self._lock:
            group = dataclasses.replace(
                self.group(group_id), updated_at=self._clock.now(), **changes
            )
            await self._store.load_management.save_group(self._checked(group))
            self._groups[group.id] = group
        self.on_change(f"group {group_id} changed")
        return group

    async def delete_group(self, group_id: str) -> None:
        """Delete a group without children, and its members (:class:`GroupInUseError`)."""
        async with self._lock:
            self.group(group_id)
            children = children_of(self._groups, group_id)
            if children:
                raise GroupInUseError(
                    f"load group {group_id!r} has child groups: {', '.join(children)}"
                )
            await self._store.load_management.delete_group(group_id)
            del self._groups[group_id]
            for key in [k for k, m in self._members.items() if m.group_id == group_id]:
                del self._members[key]
            self._managed = None
        self.on_change(f"group {group_id} deleted")

    async def set_external(
        self,
        group_id: str,
        *,
        max_current_a: float | None,
        max_power_w: float | None,
        until: datetime | None,
    ) -> LoadGroup:
        """Set the group's external signal (replacing any earlier one)."""
        if max_current_a is None and max_power_w is None:
            raise InvalidGroupError("an external limit needs max_current_a or max_power_w")
        now = self._clock.now()
        if until is not None and until <= now:
            raise InvalidGroupError("until must be in the future")
        signal = ExternalSignal(max_current_a, max_power_w, now, until)
        async with self._lock:
            group = dataclasses.replace(self.group(group_id), external=signal, updated_at=now)
            await self._store.load_management.save_group(self._checked(group))
            self._groups[group_id] = group
        self.on_change(f"external limit on {group_id}")
        return group

    async def clear_external(self, group_id: str) -> LoadGroup:
        """Remove the group's external signal."""
        async with self._lock:
            group = dataclasses.replace(
                self.group(group_id), external=None, updated_at=self._clock.now()
            )
            await self._store.load_management.save_group(group)
            self._groups[group_id] = group
        self.on_change(f"external limit on {group_id} cleared")
        return group

    # ------------------------------------------------------------------ members

    async def put_member(
        self,
        group_id: str,
        station_id: str,
        evse_id: int = 0,
        *,
        max_current_a: float | None = None,
        phases: int | None = None,
        phase: int | None = None,
    ) -> GroupMember:
        """Put a station (``evse_id`` 0) or an EVSE under ``group_id`` (moving it)."""
        if await self._store.stations.get(station_id) is None:
            raise NotFoundError(f"unknown station {station_id!r}")
        member = GroupMember(
            station_id, evse_id, group_id, self._clock.now(), max_current_a, phases, phase
        )
        check_member(member)
        async with self._lock:
            self.group(group_id)
            await self._store.load_management.save_member(member)
            self._members[(station_id, evse_id)] = member
            self._managed = None
        self.on_change(f"{station_id} joined {group_id}")
        return member

    async def provision(self, seeds: Sequence[Mapping[str, Any]]) -> None:
        """Upsert the provisioning file's ``[[load_groups]]`` (docs/load-management.md): each
        group is created, or its given attributes updated, in file order (a parent before its
        children), then its ``members`` are put under it. Attributes the file does not give and
        groups or members it does not name are left as the API set them. Raises
        :class:`InvalidGroupError` naming the entry for a bad one."""
        for index, seed in enumerate(seeds):
            where = f"load_groups[{index}]"
            fields = {k: v for k, v in seed.items() if k not in ("id", "members")}
            group_id = seed.get("id")
            if not isinstance(group_id, str) or not group_id:
                raise InvalidGroupError(f"{where}: id must be a non-empty string")
            try:
                if group_id in self._groups:
                    await self.update_group(group_id, **fields)
                else:
                    await self.create_group(group_id, **fields)
                for number, member in enumerate(seed.get("members", [])):
                    extra = set(member) - {
                        "station_id",
                        "evse_id",
                        "max_current_a",
                        "phases",
                        "phase",
                    }
                    if extra or not isinstance(member.get("station_id"), str):
                        raise InvalidGroupError(
                            f"members[{number}] needs station_id and takes evse_id,"
                            " max_current_a, phases, phase"
                        )
                    await self.put_member(
                        group_id,
                        member["station_id"],
                        member.get("evse_id", 0),
                        max_current_a=member.get("max_current_a"),
                        phases=member.get("phases"),
                        phase=member.get("phase"),
                    )
            except (InvalidGroupError, NotFoundError, TypeError) as exc:
                raise InvalidGroupError(f"{where} ({group_id}): {exc}") from None

    async def delete_member(self, group_id: str, station_id: str, evse_id: int = 0) -> None:
        """Take a station or EVSE out of ``group_id`` (:class:`NotFoundError` if not there)."""
        async with self._lock:
            self.group(group_id)
            if not await self._store.load_management.delete_member(group_id, station_id, evse_id):
                raise NotFoundError(
                    f"station {station_id!r} evse {evse_id} is not in load group {group_id!r}"
                )
            self._members.pop((station_id, evse_id), None)
            self._managed = None
        self.on_change(f"{station_id} left {group_id}")
