"""Desired configuration through the API (docs/configuration-management.md):
``/api/v1/stations/{id}/desired-configuration`` (a station's own entries, applying them now),
``/api/v1/stations/{id}/drift`` and ``/api/v1/configuration-profiles/{name}`` (per vendor and
model)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from opencsms.api.command_runner import COMMAND_RESPONSES, CommandOut, CommandRunner
from opencsms.api.recorded_calls import CommandFailed, failed_response, station_calls
from opencsms.api.responses import INVALID_BODY, UNKNOWN_STATION, errors
from opencsms.domain.desired_config import ConfigProfile, DriftEntry, InvalidDesiredConfig
from opencsms.handlers.configuration import configuration_port

if TYPE_CHECKING:
    from opencsms.app import Csms

__all__ = ["desired_config_router"]

DesiredValues = dict[str, str | int | float | bool]

NO_PROFILE = errors({404: "No such profile"})


class DesiredIn(BaseModel):
    """A station's own desired configuration. A set left out (``null``) is kept as it is."""

    model_config = ConfigDict(extra="forbid")

    configuration: DesiredValues | None = Field(
        default=None, description='1.6 keys, e.g. {"HeartbeatInterval": "300"}'
    )
    variables: DesiredValues | None = Field(
        default=None,
        description='2.0.1 variable paths, e.g. {"OCPPCommCtrlr.HeartbeatInterval": "300"}',
    )


class EffectiveOut(BaseModel):
    kind: str = Field(description="key (1.6) or variable (2.0.1)")
    key: str
    value: str
    source: str = Field(description='"station" or "profile:<name>"')


class DesiredOut(BaseModel):
    station_id: str
    configuration: dict[str, str] = Field(description="The station's own 1.6 keys")
    variables: dict[str, str] = Field(description="The station's own 2.0.1 variables")
    profiles: list[str] = Field(description="Profiles matching the station, in order applied")
    effective: list[EffectiveOut] = Field(description="What the station should run with")
    apply_queued: bool = Field(
        default=False, description="PUT: the station is connected and will be brought in line"
    )


class DriftOut(BaseModel):
    kind: str
    key: str
    desired: str
    actual: str | None = Field(description="The last known value (null: unknown or hidden)")
    source: str
    in_sync: bool
    reason: str | None = Field(
        description="Rejected, NotSupported, RebootRequired, UnknownComponent, UnknownVariable, "
        "NotSupportedAttributeType, a CALLERROR code, Timeout, Offline, NotApplied or Unknown"
    )
    detail: str | None
    attempted_at: datetime | None = Field(description="The last attempt to apply this key")


class DriftReport(BaseModel):
    station_id: str
    ocpp_version: str | None
    in_sync: bool = Field(description="Every desired value is in place")
    entries: list[DriftOut]


class ApplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    retry: bool = Field(
        default=True,
        description="Also resend values the station refused before (automatic applies do not)",
    )


class AttemptOut(BaseModel):
    key: str
    value: str
    status: str
    detail: str | None


class ApplyOut(BaseModel):
    attempts: list[AttemptOut] = Field(description="What was sent and what the station said")
    skipped: list[str] = Field(description="Keys left alone: refused before (retry false)")
    drift: list[DriftOut] = Field(description="Every desired entry afterwards")
    commands: list[CommandOut]


class ProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vendor: str = Field(min_length=1, description="BootNotification vendor (case-insensitive)")
    model: str | None = Field(default=None, description="The model; absent: every model")
    configuration: DesiredValues = Field(default_factory=dict, description="1.6 keys")
    variables: DesiredValues = Field(default_factory=dict, description="2.0.1 variable paths")


class ProfileOut(BaseModel):
    name: str
    vendor: str
    model: str | None
    configuration: dict[str, str]
    variables: dict[str, str]
    created_at: datetime
    updated_at: datetime


def _drift_out(entry: DriftEntry) -> DriftOut:
    return DriftOut(
        kind=entry.kind.value,
        key=entry.key,
        desired=entry.desired,
        actual=entry.actual,
        source=entry.source,
        in_sync=entry.in_sync,
        reason=entry.reason,
        detail=entry.detail,
        attempted_at=entry.attempted_at,
    )


def _profile_out(profile: ConfigProfile) -> ProfileOut:
    return ProfileOut(
        name=profile.name,
        vendor=profile.vendor,
        model=profile.model,
        configuration=profile.desired.configuration,
        variables=profile.desired.variables,
        created_at=profile.created_at,
        updated_at=profile.updated_at,
    )


def desired_config_router(csms: Csms) -> APIRouter:
    """Build the router bound to one CSMS node."""
    router = APIRouter(tags=["desired configuration"])
    runner = CommandRunner(csms)

    async def desired_out(station_id: str) -> DesiredOut:
        own = await csms.desired_config.station_desired(station_id)
        entries, profiles = await csms.desired_config.effective(station_id)
        return DesiredOut(
            station_id=station_id,
            configuration=own.configuration,
            variables=own.variables,
            profiles=profiles,
            effective=[
                EffectiveOut(kind=e.kind.value, key=e.key, value=e.value, source=e.source)
                for e in entries
            ],
        )

    @router.get(
        "/stations/{station_id}/desired-configuration",
        response_model=DesiredOut,
        responses=UNKNOWN_STATION,
    )
    async def get_desired(station_id: str) -> DesiredOut:
        """The station's own desired configuration, the profiles that match it and the
        effective result."""
        await runner.load(station_id)
        return await desired_out(station_id)

    @router.put(
        "/stations/{station_id}/desired-configuration",
        response_model=DesiredOut,
        responses=UNKNOWN_STATION | INVALID_BODY,
    )
    async def put_desired(station_id: str, body: DesiredIn) -> DesiredOut:
        """Replace the station's own desired 1.6 keys and/or 2.0.1 variables (a set left out is
        kept). A connected station is brought in line in the background."""
        await runner.load(station_id)
        try:
            await csms.desired_config.set_station(station_id, body.configuration, body.variables)
        except InvalidDesiredConfig as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
        out = await desired_out(station_id)
        if csms.registry.get(station_id) is not None:
            csms.desired_config_worker.station_changed(station_id)
            out.apply_queued = True
        elif csms.link(station_id) is not None:  # held by another node: its worker applies it
            csms.config_changed("desired", station_id)
            out.apply_queued = True
        return out

    @router.delete(
        "/stations/{station_id}/desired-configuration",
        status_code=204,
        responses=UNKNOWN_STATION,
    )
    async def delete_desired(station_id: str) -> Response:
        """Forget the station's own desired configuration (its profiles still apply)."""
        await runner.load(station_id)
        await csms.desired_config.clear_station(station_id)
        return Response(status_code=204)

    @router.post(
        "/stations/{station_id}/desired-configuration/apply",
        response_model=ApplyOut,
        responses=COMMAND_RESPONSES | INVALID_BODY,
    )
    async def apply_now(station_id: str, body: ApplyIn | None = None) -> ApplyOut | JSONResponse:
        """Bring the station in line now, as the operator's commands (1.6: GetConfiguration then
        ChangeConfiguration; 2.0.1: GetVariables then SetVariables)."""
        calls = await station_calls(runner, station_id)
        try:
            report = await csms.desired_config.apply(
                station_id,
                configuration_port(calls.version, calls),
                retry=body.retry if body is not None else True,
            )
        except CommandFailed as exc:
            return failed_response(exc)
        return ApplyOut(
            attempts=[
                AttemptOut(key=a.key, value=a.value, status=a.status, detail=a.detail)
                for a in report.attempts
            ],
            skipped=report.skipped,
            drift=[_drift_out(d) for d in report.drift],
            commands=calls.commands,
        )

    @router.get(
        "/stations/{station_id}/drift", response_model=DriftReport, responses=UNKNOWN_STATION
    )
    async def get_drift(
        station_id: str,
        all_entries: Annotated[
            bool, Query(alias="all", description="Include the entries in sync")
        ] = False,
    ) -> DriftReport:
        """Desired values the station is not known to run with, and why."""
        station = await runner.load(station_id)
        version = runner.version_of(station)
        entries = await csms.desired_config.drift(station_id, version.value if version else None)
        return DriftReport(
            station_id=station_id,
            ocpp_version=version.value if version else None,
            in_sync=all(e.in_sync for e in entries),
            entries=[_drift_out(e) for e in entries if all_entries or not e.in_sync],
        )

    @router.get("/configuration-profiles", response_model=list[ProfileOut])
    async def list_profiles() -> list[ProfileOut]:
        """Every configuration profile, by name."""
        return [_profile_out(p) for p in await csms.desired_config.profiles()]

    @router.get(
        "/configuration-profiles/{name}",
        response_model=ProfileOut,
        responses=NO_PROFILE,
    )
    async def get_profile(name: str) -> ProfileOut:
        """One configuration profile."""
        profile = await csms.desired_config.profile(name)
        if profile is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no configuration profile {name!r}")
        return _profile_out(profile)

    @router.put(
        "/configuration-profiles/{name}",
        response_model=ProfileOut,
        # Every route with a path parameter documents its 404; this one creates what is missing.
        responses=errors({404: "Never: a missing profile is created"}) | INVALID_BODY,
    )
    async def put_profile(name: str, body: ProfileIn) -> ProfileOut:
        """Create or replace a profile: desired configuration for every station whose
        BootNotification vendor (and model, if given) match. Connected stations are brought in
        line in the background."""
        try:
            profile = await csms.desired_config.put_profile(
                name, body.vendor, body.model, body.configuration, body.variables
            )
        except InvalidDesiredConfig as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
        csms.desired_config_worker.profiles_changed()
        csms.config_changed("desired", "*")  # the other nodes' stations too
        return _profile_out(profile)

    @router.delete(
        "/configuration-profiles/{name}",
        status_code=204,
        responses=NO_PROFILE,
    )
    async def delete_profile(name: str) -> Response:
        """Delete a profile (what it set on stations stays as it is)."""
        if not await csms.desired_config.delete_profile(name):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no configuration profile {name!r}")
        csms.config_changed("desired", "*")
        return Response(status_code=204)

    return router
