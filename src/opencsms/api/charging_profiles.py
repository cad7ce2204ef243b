"""``/api/v1/stations/{id}/charging-profiles`` and ``.../composite-schedule``: set, list and
clear charging profiles, preview the composite schedule the CSMS computes from its record, ask
the station for its own, and (2.0.1) reconcile the record with GetChargingProfiles
(docs/charging-profiles.md).

Profiles are checked before anything is sent (domain/charging_profiles.py: shape, read-only
purpose, TxProfile rules, conflicting stack levels → 400) and recorded only when the station
answers Accepted. Every CALL goes through :class:`~opencsms.api.command_runner.CommandRunner`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Query, status
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from opencsms.api.command_runner import COMMAND_RESPONSES, CommandOut, CommandRunner
from opencsms.api.responses import errors
from opencsms.domain.charging_profiles import ProfileRefusedError, StoredProfile
from opencsms.domain.commands import CommandRequest, CommandStatus
from opencsms.domain.model import Station
from opencsms.handlers.charging_profiles import PURPOSES_2, PURPOSES_16, profile_from_payload
from opencsms.ocpp.version import OcppVersion
from opencsms.smartcharging import Criteria, RateUnit

if TYPE_CHECKING:
    from opencsms.app import Csms

__all__ = ["charging_profiles_router"]


class ProfileSet(BaseModel):
    """A profile to install: the OCPP chargingProfile of the station's version (1.6
    csChargingProfiles, 2.0.1 ChargingProfileType) and where (1.6 connectorId, 2.0.1 evseId)."""

    model_config = ConfigDict(extra="forbid")

    evse_id: int = Field(ge=0, description="0: the whole station")
    charging_profile: dict[str, Any] = Field(description="The OCPP chargingProfile, as sent")


class ProfileOut(BaseModel):
    """A profile the station holds, as recorded."""

    profile_id: int
    evse_id: int
    purpose: str = Field(description="StationMax, ExternalConstraints, TxDefault, Tx, ...")
    stack_level: int
    kind: str
    transaction_id: str | None
    valid_from: datetime | None
    valid_to: datetime | None
    source: str = Field(description="Who set it (2.0.1 chargingLimitSource; CSO: the CSMS)")
    report_id: int | None = Field(description="The GetChargingProfiles request that reported it")
    charging_profile: dict[str, Any] = Field(description="The OCPP payload as sent or reported")
    updated_at: datetime


class ProfileCommandOut(BaseModel):
    """What the station answered, and what the CSMS now records."""

    status: str = Field(description="The station's status (Accepted, Rejected, Unknown, ...)")
    recorded: bool = Field(description="Whether the record changed (only on Accepted)")
    removed: list[int] = Field(default_factory=list, description="Profile ids removed")
    profile: ProfileOut | None = None
    command: CommandOut


class ClearCriteria(BaseModel):
    """ClearChargingProfile criteria; every given one must match (1.6 §5.5, 2.0.1 K10)."""

    model_config = ConfigDict(extra="forbid")

    evse_id: int | None = Field(default=None, ge=0)
    purpose: str | None = Field(
        default=None, description="OCPP purpose of the station's version, e.g. TxDefaultProfile"
    )
    stack_level: int | None = Field(default=None, ge=0)


class CompositePeriodOut(BaseModel):
    start_period: int
    limit: float | None = Field(description="null: no recorded profile limits this period")
    number_phases: int | None


class CompositeOut(BaseModel):
    """The CSMS's own composite schedule (1.6 §3.13.4, 2.0.1 K08 rules) from its record."""

    evse_id: int
    start: datetime
    duration: int
    unit: Literal["A", "W"]
    periods: list[CompositePeriodOut]


class StationCompositeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    evse_id: int = Field(ge=0)
    duration: int = Field(ge=0, description="Seconds")
    unit: Literal["A", "W"] | None = None


BAD_PROFILE = errors(
    {400: "Invalid profile (nothing sent)", 404: "Unknown station", 409: "Not connected"}
)


def _out(stored: StoredProfile) -> ProfileOut:
    p = stored.profile
    return ProfileOut(
        profile_id=p.id,
        evse_id=p.evse,
        purpose=p.purpose.value,
        stack_level=p.stack_level,
        kind=p.kind.value,
        transaction_id=p.transaction_id,
        valid_from=p.valid_from,
        valid_to=p.valid_to,
        source=stored.source,
        report_id=stored.report_id,
        charging_profile=stored.payload,
        updated_at=stored.updated_at,
    )


def charging_profiles_router(csms: Csms) -> APIRouter:
    """Build the router bound to one CSMS node."""
    router = APIRouter(prefix="/stations", tags=["charging profiles"])
    runner = CommandRunner(csms)

    async def connected_version(station_id: str) -> tuple[Station, OcppVersion]:
        station = await runner.load(station_id)
        version = runner.version_of(station)
        if version is None:
            raise HTTPException(status.HTTP_409_CONFLICT, f"station {station_id!r} never connected")
        return station, version

    async def send(
        station_id: str, version: OcppVersion, action: str, payload: dict[str, Any]
    ) -> CommandOut | JSONResponse:
        return await runner.send(station_id, version, action, payload)

    @router.get("/{station_id}/charging-profiles", responses=errors({404: "Unknown station"}))
    async def list_profiles(station_id: str) -> list[ProfileOut]:
        """The profiles the station holds, as the CSMS records them."""
        await runner.load(station_id)
        return [_out(s) for s in await csms.charging_profiles.held(station_id)]

    @router.post(
        "/{station_id}/charging-profiles",
        response_model=ProfileCommandOut,
        responses=COMMAND_RESPONSES,
    )
    async def set_profile(station_id: str, body: ProfileSet) -> ProfileCommandOut | JSONResponse:
        """Check the profile, send SetChargingProfile, record it when Accepted."""
        _, version = await connected_version(station_id)
        raw = body.charging_profile
        if version is OcppVersion.V16:
            action_payload = {"connectorId": body.evse_id, "csChargingProfiles": raw}
        else:
            action_payload = {"evseId": body.evse_id, "chargingProfile": raw}
        try:
            profile = profile_from_payload(version, body.evse_id, raw)
        except (KeyError, ValueError, TypeError):
            profile = None  # malformed: the runner's schema validation names the problem
        if profile is not None:
            try:
                await csms.charging_profiles.check(
                    station_id, profile, version is not OcppVersion.V16
                )
            except ProfileRefusedError as exc:
                request = CommandRequest(
                    station_id, version.value, "SetChargingProfile", action_payload
                )
                await csms.commands.refuse(request, CommandStatus.INVALID, str(exc))
                raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
        answer = await send(station_id, version, "SetChargingProfile", action_payload)
        if isinstance(answer, JSONResponse):
            return answer
        assert profile is not None, "a schema-valid payload translates"
        assert answer.response is not None
        state = answer.response.get("status", "")
        if state != "Accepted":
            return ProfileCommandOut(status=state, recorded=False, command=answer)
        stored = await csms.charging_profiles.accepted(station_id, version.value, profile, raw)
        return ProfileCommandOut(status=state, recorded=True, profile=_out(stored), command=answer)

    async def clear(
        station_id: str, version: OcppVersion, criteria: Criteria, payload: dict[str, Any]
    ) -> ProfileCommandOut | JSONResponse:
        answer = await send(station_id, version, "ClearChargingProfile", payload)
        if isinstance(answer, JSONResponse):
            return answer
        state = (answer.response or {}).get("status", "")
        removed = (
            await csms.charging_profiles.cleared(station_id, criteria)
            if state == "Accepted"
            else []
        )
        return ProfileCommandOut(
            status=state, recorded=bool(removed), removed=removed, command=answer
        )

    @router.delete(
        "/{station_id}/charging-profiles/{profile_id}",
        response_model=ProfileCommandOut,
        responses=COMMAND_RESPONSES,
    )
    async def delete_profile(station_id: str, profile_id: int) -> ProfileCommandOut | JSONResponse:
        """ClearChargingProfile by id (1.6 ``id``, 2.0.1 ``chargingProfileId``)."""
        _, version = await connected_version(station_id)
        key = "id" if version is OcppVersion.V16 else "chargingProfileId"
        return await clear(
            station_id, version, Criteria(ids=frozenset([profile_id])), {key: profile_id}
        )

    @router.post(
        "/{station_id}/charging-profiles/clear",
        response_model=ProfileCommandOut,
        responses=COMMAND_RESPONSES,
    )
    async def clear_profiles(
        station_id: str, given: Annotated[ClearCriteria | None, Body()] = None
    ) -> ProfileCommandOut | JSONResponse:
        """ClearChargingProfile by criteria (none: every profile the station holds)."""
        body = given or ClearCriteria()
        _, version = await connected_version(station_id)
        purposes = PURPOSES_16 if version is OcppVersion.V16 else PURPOSES_2
        if body.purpose is not None and body.purpose not in purposes:
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST,
                f"OCPP {version.value} purposes are {', '.join(purposes)}",
            )
        fields: dict[str, Any] = {}
        if body.purpose is not None:
            fields["chargingProfilePurpose"] = body.purpose
        if body.stack_level is not None:
            fields["stackLevel"] = body.stack_level
        if version is OcppVersion.V16:
            payload = fields | ({} if body.evse_id is None else {"connectorId": body.evse_id})
        else:
            wanted = fields | ({} if body.evse_id is None else {"evseId": body.evse_id})
            payload = {"chargingProfileCriteria": wanted} if wanted else {}
        criteria = Criteria(
            evse=body.evse_id,
            purpose=None if body.purpose is None else purposes[body.purpose],
            stack_level=body.stack_level,
        )
        return await clear(station_id, version, criteria, payload)

    @router.get(
        "/{station_id}/composite-schedule",
        response_model=CompositeOut,
        responses=errors({404: "Unknown station"}),
    )
    async def csms_composite(
        station_id: str,
        evse_id: Annotated[int, Query(ge=0)],
        duration: Annotated[int, Query(ge=0, le=7 * 86_400, description="Seconds")],
        unit: Literal["A", "W"] = "A",
        start: Annotated[AwareDatetime | None, Query(description="Default: now")] = None,
    ) -> CompositeOut:
        """The composite schedule the CSMS computes from its record, without asking the
        station (rating and running transactions unknown: see docs)."""
        await runner.load(station_id)
        schedule = await csms.charging_profiles.composite(
            station_id, evse_id, duration, RateUnit(unit), start
        )
        return CompositeOut(
            evse_id=evse_id,
            start=schedule.start,
            duration=schedule.duration,
            unit=unit,
            periods=[
                CompositePeriodOut(
                    start_period=p.start_period, limit=p.limit, number_phases=p.number_phases
                )
                for p in schedule.periods
            ],
        )

    @router.post(
        "/{station_id}/composite-schedule/station",
        response_model=CommandOut,
        responses=COMMAND_RESPONSES,
    )
    async def station_composite(
        station_id: str, body: StationCompositeIn
    ) -> CommandOut | JSONResponse:
        """GetCompositeSchedule (1.6 §5.7, 2.0.1 K08): the station's answer in ``response``."""
        _, version = await connected_version(station_id)
        where = "connectorId" if version is OcppVersion.V16 else "evseId"
        payload: dict[str, Any] = {where: body.evse_id, "duration": body.duration}
        if body.unit is not None:
            payload["chargingRateUnit"] = body.unit
        return await send(station_id, version, "GetCompositeSchedule", payload)

    @router.post(
        "/{station_id}/charging-profiles/reconcile",
        response_model=CommandOut,
        responses=COMMAND_RESPONSES,
    )
    async def reconcile(station_id: str) -> CommandOut | JSONResponse:
        """2.0.1 GetChargingProfiles without a filter (K09): the station's complete
        ReportChargingProfiles replaces the record (NoProfiles empties it). 1.6 has no way to
        list a station's profiles: 400."""
        _, version = await connected_version(station_id)
        if version is OcppVersion.V16:
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST,
                "OCPP 1.6 cannot list a station's profiles; compare GET composite-schedule "
                "with POST composite-schedule/station instead",
            )
        request_id, payload = csms.charging_profiles.full_report_request(station_id)
        answer = await send(station_id, version, "GetChargingProfiles", payload)
        answered = None if isinstance(answer, JSONResponse) else answer.response
        await csms.charging_profiles.full_report_answered(station_id, request_id, answered)
        return answer

    return router
