"""``/api/v1/load-groups``: site load management (docs/load-management.md).

Groups form a tree (site → feeder/circuit → station → EVSE group) with limits in A per phase
and/or W, an optional time-varying ``schedule`` and an optional external signal; stations or
EVSEs are put under a group as members. ``.../allocation`` shows the plan the load manager
computes now, ``.../decisions`` the rounds that sent profiles (newest first) and
``.../rebalance`` runs a round at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from opencsms.api.responses import errors
from opencsms.domain.load_management import GroupInUseError
from opencsms.domain.load_management_model import (
    Decision,
    GroupMember,
    InvalidGroupError,
    LoadGroup,
)
from opencsms.errors import AlreadyExistsError, NotFoundError

if TYPE_CHECKING:
    from opencsms.app import Csms

__all__ = ["load_management_router"]


class GroupFields(BaseModel):
    """The editable attributes of a group (limits are checked by the service: 400)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    parent_id: str | None = Field(default=None, description="null: a root (a site)")
    max_current_a: float | None = Field(default=None, description="A per phase; null: none")
    max_power_w: float | None = Field(default=None, description="W in total; null: none")
    phases: int | None = Field(default=None, description="Default phases of sessions (3)")
    voltage_v: float | None = Field(default=None, description="Phase voltage (230)")
    schedule: list[dict[str, Any]] | None = Field(
        default=None,
        description='Time-varying limit: [{"daily": "07:00", "max_current_a": 16}, ...] or '
        '[{"start": "2025-06-03T17:00:00Z", "max_current_a": 80}, ...]',
    )
    priorities: dict[str, int] | None = Field(
        default=None, description="id token or token group id → priority (higher first)"
    )


class GroupCreate(GroupFields):
    id: str = Field(min_length=1, max_length=64, description="Chosen by the operator")


class ExternalIn(BaseModel):
    """An external signal: caps the group on top of its own limit until ``until``."""

    model_config = ConfigDict(extra="forbid")

    max_current_a: float | None = None
    max_power_w: float | None = None
    until: AwareDatetime | None = Field(default=None, description="null: until cleared")


class ExternalOut(BaseModel):
    max_current_a: float | None
    max_power_w: float | None
    set_at: datetime
    until: datetime | None


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_current_a: float | None = Field(default=None, description="EVSE rating, A per phase")
    phases: int | None = Field(default=None, description="1, 2 or 3; null: the group's")
    phase: int | None = Field(default=None, description="Grid phase 1-3 of a 1-phase EVSE")


class MemberOut(BaseModel):
    station_id: str
    evse_id: int = Field(description="0: every EVSE of the station")
    group_id: str
    max_current_a: float | None
    phases: int | None
    phase: int | None
    updated_at: datetime


class GroupOut(BaseModel):
    id: str
    name: str
    parent_id: str | None
    max_current_a: float | None
    max_power_w: float | None
    phases: int
    voltage_v: float
    schedule: list[dict[str, Any]] | None
    priorities: dict[str, int]
    external_limit: ExternalOut | None
    children: list[str]
    members: list[MemberOut]
    created_at: datetime
    updated_at: datetime


class GroupLoadOut(BaseModel):
    id: str
    max_current_a: float | None = Field(description="In force now (configured, schedule, signal)")
    max_power_w: float | None
    current_a: list[float] = Field(description="Planned current on L1, L2, L3")
    power_w: float


class SessionOut(BaseModel):
    station_id: str
    evse_id: int
    transaction_id: str
    group_id: str
    limit_a: float = Field(description="The planned limit (0: paused)")
    sent_a: float | None = Field(description="The limit the station last accepted")
    measured_a: float | None = Field(description="Last measured current per phase")
    min_current_a: float
    max_current_a: float
    phases: int
    priority: int


class AllocationOut(BaseModel):
    group_id: str
    at: datetime
    groups: list[GroupLoadOut]
    sessions: list[SessionOut]
    tx_default: dict[str, float] = Field(description="Station → safe TxDefault limit (A)")


class EntryOut(BaseModel):
    station_id: str
    evse_id: int
    kind: str = Field(description="TxProfile or TxDefault")
    limit_a: float
    transaction_id: str | None
    previous_a: float | None
    measured_a: float | None
    status: str = Field(description="Accepted, Rejected, Failed, Deferred or Unchanged")
    detail: str | None


class DecisionOut(BaseModel):
    id: int | None
    group_id: str = Field(description="The root group of the tree")
    at: datetime
    trigger: str
    groups: dict[str, Any]
    sessions: list[EntryOut]
    sent: int
    failed: int


class DecisionPage(BaseModel):
    items: list[DecisionOut]
    total: int
    offset: int
    limit: int


def _decision_out(decision: Decision) -> DecisionOut:
    return DecisionOut(
        id=decision.id,
        group_id=decision.group_id,
        at=decision.at,
        trigger=decision.trigger,
        groups=decision.groups,
        sessions=[EntryOut.model_validate(e, from_attributes=True) for e in decision.entries],
        sent=decision.sent,
        failed=decision.failed,
    )


def _member_out(member: GroupMember) -> MemberOut:
    return MemberOut.model_validate(member, from_attributes=True)


GROUP_ERRORS = errors(
    {
        400: "Invalid group (unknown parent, cycle, negative limit, bad schedule)",
        404: "Unknown group",
    }
)


def load_management_router(csms: Csms) -> APIRouter:
    """Build the router bound to one CSMS node."""
    router = APIRouter(prefix="/load-groups", tags=["load management"])

    def group_out(group: LoadGroup) -> GroupOut:
        service = csms.load_management
        ext = group.external
        return GroupOut(
            id=group.id,
            name=group.name,
            parent_id=group.parent_id,
            max_current_a=group.max_current_a,
            max_power_w=group.max_power_w,
            phases=group.phases,
            voltage_v=group.voltage_v,
            schedule=group.schedule,
            priorities=group.priorities,
            external_limit=None
            if ext is None
            else ExternalOut(
                max_current_a=ext.max_current_a,
                max_power_w=ext.max_power_w,
                set_at=ext.set_at,
                until=ext.until,
            ),
            children=sorted(g.id for g in service.groups.values() if g.parent_id == group.id),
            members=[_member_out(m) for m in service.members_of(group.id)],
            created_at=group.created_at,
            updated_at=group.updated_at,
        )

    def found(group_id: str) -> LoadGroup:
        try:
            return csms.load_management.group(group_id)
        except NotFoundError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None

    async def changing(action: Any) -> Any:
        try:
            return await action
        except InvalidGroupError as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
        except NotFoundError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
        except (AlreadyExistsError, GroupInUseError) as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        response_model=GroupOut,
        responses=errors({400: "Invalid group", 409: "The id is taken"}),
    )
    async def create_group(body: GroupCreate) -> GroupOut:
        """Create a group (a root when ``parent_id`` is null)."""
        fields = body.model_dump(exclude_unset=True, exclude={"id", "name"})
        fields = {k: v for k, v in fields.items() if v is not None or k == "parent_id"}
        group = await changing(csms.load_management.create_group(body.id, body.name, **fields))
        return group_out(group)

    @router.get("", response_model=list[GroupOut])
    async def list_groups() -> list[GroupOut]:
        """Every group, by id."""
        return [group_out(g) for g in sorted(csms.load_management.groups.values(), key=_id)]

    @router.get("/{group_id}", response_model=GroupOut, responses=errors({404: "Unknown group"}))
    async def get_group(group_id: str) -> GroupOut:
        """The group with its children, members and external signal."""
        return group_out(found(group_id))

    @router.patch("/{group_id}", response_model=GroupOut, responses=GROUP_ERRORS)
    async def update_group(group_id: str, body: GroupFields) -> GroupOut:
        """Change the given attributes (null clears a limit, a schedule or the parent)."""
        changes = body.model_dump(exclude_unset=True)
        for key in ("name", "phases", "voltage_v"):
            if key in changes and changes[key] is None:
                raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{key} cannot be null")
        if "priorities" in changes and changes["priorities"] is None:
            changes["priorities"] = {}
        group = await changing(csms.load_management.update_group(group_id, **changes))
        return group_out(group)

    @router.delete(
        "/{group_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        responses=errors({404: "Unknown group", 409: "The group has child groups"}),
    )
    async def delete_group(group_id: str) -> Response:
        """Delete a group without children (its members leave load management)."""
        await changing(csms.load_management.delete_group(group_id))
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.put(
        "/{group_id}/members/{station_id}",
        response_model=MemberOut,
        responses=errors({400: "Invalid rating or wiring", 404: "Unknown group or station"}),
    )
    async def put_member(
        group_id: str,
        station_id: str,
        body: MemberIn | None = None,
        evse_id: Annotated[int, Query(description="0: the whole station")] = 0,
    ) -> MemberOut:
        """Put a station (or one EVSE) under the group; moves it from another group."""
        given = body or MemberIn()
        member = await changing(
            csms.load_management.put_member(
                group_id,
                station_id,
                evse_id,
                max_current_a=given.max_current_a,
                phases=given.phases,
                phase=given.phase,
            )
        )
        return _member_out(member)

    @router.delete(
        "/{group_id}/members/{station_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        responses=errors({404: "Unknown group, or the station is not in it"}),
    )
    async def delete_member(
        group_id: str, station_id: str, evse_id: Annotated[int, Query()] = 0
    ) -> Response:
        """Take a station (or one EVSE) out of the group: it leaves load management."""
        await changing(csms.load_management.delete_member(group_id, station_id, evse_id))
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.put("/{group_id}/external-limit", response_model=GroupOut, responses=GROUP_ERRORS)
    async def set_external(group_id: str, body: ExternalIn) -> GroupOut:
        """Set the external signal (applied at once)."""
        group = await changing(
            csms.load_management.set_external(
                group_id,
                max_current_a=body.max_current_a,
                max_power_w=body.max_power_w,
                until=body.until,
            )
        )
        return group_out(group)

    @router.delete(
        "/{group_id}/external-limit",
        response_model=GroupOut,
        responses=errors({404: "Unknown group"}),
    )
    async def clear_external(group_id: str) -> GroupOut:
        """Clear the external signal (applied at once)."""
        group = await changing(csms.load_management.clear_external(group_id))
        return group_out(group)

    @router.get(
        "/{group_id}/allocation",
        response_model=AllocationOut,
        responses=errors({404: "Unknown group"}),
    )
    async def allocation(group_id: str) -> AllocationOut:
        """The allocation the load manager computes now for the group and everything below
        it (nothing is sent)."""
        found(group_id)
        below = csms.load_management.subtree(group_id)
        manager = csms.load_manager
        plan = await manager.plan()
        sessions = [
            SessionOut(
                station_id=p.session.station_id,
                evse_id=p.session.evse_id,
                transaction_id=p.session.transaction_id,
                group_id=p.group_id,
                limit_a=p.limit_a,
                sent_a=manager.accepted_limit(key),
                measured_a=manager.measured(key),
                min_current_a=p.demand.min_current_a,
                max_current_a=p.demand.max_current_a,
                phases=p.demand.phases,
                priority=p.demand.priority,
            )
            for key, p in sorted(plan.sessions.items())
            if p.group_id in below
        ]
        groups = [
            GroupLoadOut(
                id=g.id,
                max_current_a=g.max_current_a,
                max_power_w=g.max_power_w,
                # Rounded for reading (0.1 A, 1 W): the sums carry float noise.
                current_a=[round(a, 1) for a in g.load.current_a],
                power_w=float(round(g.load.power_w)),
            )
            for gid, g in sorted(plan.groups.items())
            if gid in below
        ]
        stations = {m.station_id for gid in below for m in csms.load_management.members_of(gid)}
        defaults = {s: a for s, a in plan.tx_default.items() if s in stations}
        return AllocationOut(
            group_id=group_id, at=plan.at, groups=groups, sessions=sessions, tx_default=defaults
        )

    @router.get(
        "/{group_id}/decisions",
        response_model=DecisionPage,
        responses=errors({404: "Unknown group"}),
    )
    async def decisions(
        group_id: str,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> DecisionPage:
        """The rounds that sent profiles in the group's tree, newest first."""
        found(group_id)
        items, total = await csms.load_management.decisions(group_id, offset=offset, limit=limit)
        return DecisionPage(
            items=[_decision_out(d) for d in items], total=total, offset=offset, limit=limit
        )

    @router.post(
        "/{group_id}/rebalance",
        response_model=list[DecisionOut],
        responses=errors({404: "Unknown group"}),
    )
    async def rebalance(group_id: str) -> list[DecisionOut]:
        """Run a round now; the decisions it took (empty: nothing needed sending)."""
        found(group_id)
        taken = await csms.load_manager.rebalance("operator rebalance")
        return [_decision_out(d) for d in taken]

    return router


def _id(group: LoadGroup) -> str:
    return group.id
