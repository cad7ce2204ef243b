"""``/api/v1/stations/{id}/charging-limits``, ``.../ev-charging-needs`` and
``.../ev-charging-schedules``: what the stations reported about external limits (2.0.1 K12,
K13) and ISO 15118 EVs (K15, K17), read-only (docs/charging-profiles.md)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from opencsms.api.command_runner import CommandRunner
from opencsms.api.responses import UNKNOWN_STATION
from opencsms.domain.ev_charging import StoredLimit, StoredNeeds
from opencsms.domain.ev_charging_model import EvChargingSchedule

if TYPE_CHECKING:
    from opencsms.app import Csms

__all__ = ["ev_charging_router"]


class ChargingLimitOut(BaseModel):
    station_id: str
    evse_id: int = Field(description="0: the whole station")
    source: str = Field(description="Who set it: EMS, Other, SO (system operator), CSO")
    grid_critical: bool | None
    limit_a: float | None = Field(
        description="Lowest limit in amperes (per phase) of the periods in force when reported"
    )
    limit_w: float | None = Field(
        description="Lowest limit in watts of the periods in force when reported"
    )
    schedules: list[dict[str, Any]] | None = Field(
        description="The chargingSchedule list as the station sent it"
    )
    state: str = Field(description="current, replaced (by a newer report) or cleared (K13)")
    received_at: datetime
    ended_at: datetime | None = Field(description="When it was replaced or cleared")


class EvChargingNeedsOut(BaseModel):
    station_id: str
    evse_id: int
    status: str = Field(description="What the CSMS answered: Accepted or Rejected")
    reason: str | None = Field(description="reasonCode of a Rejected answer, e.g. TxNotFound")
    transaction_id: str | None = Field(description="The transaction running on the EVSE")
    requested_energy_transfer: str
    phases: int
    departure_time: datetime | None
    energy_amount_wh: float | None
    ac_min_current_a: float | None
    ac_max_current_a: float | None
    ac_max_voltage_v: float | None
    dc_max_current_a: float | None
    dc_max_voltage_v: float | None
    dc_max_power_w: float | None
    state_of_charge: int | None
    max_schedule_tuples: int | None
    received_at: datetime
    payload: dict[str, Any] = Field(description="The NotifyEVChargingNeedsRequest as sent")


class EvChargingScheduleOut(BaseModel):
    station_id: str
    evse_id: int
    time_base: datetime = Field(description="The schedule's periods count from here")
    transaction_id: str | None
    within_limits: bool = Field(description="Within the TxProfile the CSMS holds (K15.FR.11)")
    status: str = Field(description="What the CSMS answered: Accepted or Rejected (K15.FR.12)")
    reason: str | None
    detail: str | None
    schedule: dict[str, Any] = Field(description="The chargingSchedule as the station sent it")
    received_at: datetime


def _limit(stored: StoredLimit) -> ChargingLimitOut:
    limit = stored.limit
    return ChargingLimitOut(
        station_id=limit.station_id,
        evse_id=limit.evse_id or 0,
        source=limit.source,
        grid_critical=limit.grid_critical,
        limit_a=limit.limit_a,
        limit_w=limit.limit_w,
        schedules=stored.schedules,
        state=stored.state,
        received_at=limit.received_at,
        ended_at=stored.ended_at,
    )


def _needs(stored: StoredNeeds) -> EvChargingNeedsOut:
    n = stored.needs
    return EvChargingNeedsOut(
        station_id=n.station_id,
        evse_id=n.evse_id,
        status=stored.status,
        reason=stored.reason,
        transaction_id=n.transaction_id,
        requested_energy_transfer=n.requested_energy_transfer,
        phases=n.phases,
        departure_time=n.departure_time,
        energy_amount_wh=n.energy_amount_wh,
        ac_min_current_a=n.ac_min_current_a,
        ac_max_current_a=n.ac_max_current_a,
        ac_max_voltage_v=n.ac_max_voltage_v,
        dc_max_current_a=n.dc_max_current_a,
        dc_max_voltage_v=n.dc_max_voltage_v,
        dc_max_power_w=n.dc_max_power_w,
        state_of_charge=n.state_of_charge,
        max_schedule_tuples=n.max_schedule_tuples,
        received_at=n.received_at,
        payload=stored.payload,
    )


def _schedule(record: EvChargingSchedule) -> EvChargingScheduleOut:
    return EvChargingScheduleOut(
        station_id=record.station_id,
        evse_id=record.evse_id,
        time_base=record.time_base,
        transaction_id=record.transaction_id,
        within_limits=record.within_limits,
        status="Accepted" if record.within_limits else "Rejected",
        reason=record.reason,
        detail=record.detail,
        schedule=dict(record.schedule),
        received_at=record.received_at,
    )


All = Annotated[
    bool, Query(description="true: every limit ever reported (newest first), not only current")
]
Limit = Annotated[int, Query(ge=1, le=1000, description="Most entries returned")]


def ev_charging_router(csms: Csms) -> APIRouter:
    """Build the router bound to one CSMS node."""
    router = APIRouter(tags=["charging profiles"])
    runner = CommandRunner(csms)

    @router.get(
        "/stations/{station_id}/charging-limits",
        response_model=list[ChargingLimitOut],
        responses=UNKNOWN_STATION,
    )
    async def charging_limits(
        station_id: str, all: All = False, limit: Limit = 100
    ) -> list[ChargingLimitOut]:
        """External limits in force on the station (K12), by EVSE then source; ``all=true``:
        the history too, newest first."""
        await runner.load(station_id)
        if all:
            stored = await csms.ev_charging.limit_history(station_id, limit=limit)
        else:
            stored = await csms.ev_charging.current_limits(station_id)
        return [_limit(s) for s in stored]

    @router.get(
        "/stations/{station_id}/ev-charging-needs",
        response_model=list[EvChargingNeedsOut],
        responses=UNKNOWN_STATION,
    )
    async def ev_charging_needs(station_id: str) -> list[EvChargingNeedsOut]:
        """The latest NotifyEVChargingNeeds of each EVSE (K15) and what the CSMS answered."""
        await runner.load(station_id)
        return [_needs(s) for s in await csms.ev_charging.stored_needs(station_id)]

    @router.get(
        "/stations/{station_id}/ev-charging-schedules",
        response_model=list[EvChargingScheduleOut],
        responses=UNKNOWN_STATION,
    )
    async def ev_charging_schedules(
        station_id: str, limit: Limit = 100
    ) -> list[EvChargingScheduleOut]:
        """The schedules EVs chose (NotifyEVChargingSchedule, K15.FR.10), newest time base
        first, with the CSMS's check against its TxProfile."""
        await runner.load(station_id)
        records = await csms.ev_charging.ev_schedules(station_id, limit=limit)
        return [_schedule(r) for r in records]

    return router
