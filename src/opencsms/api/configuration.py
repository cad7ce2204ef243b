"""``/api/v1/stations/{id}/configuration``: a 1.6 station's configuration keys as the CSMS knows
them, reading them (GetConfiguration) and changing one (ChangeConfiguration)
(docs/configuration-management.md). Each CALL takes the command road
(:mod:`opencsms.api.recorded_calls`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from opencsms.api.command_runner import COMMAND_RESPONSES, CommandOut, CommandRunner
from opencsms.api.recorded_calls import CommandFailed, failed_response, station_calls
from opencsms.api.responses import INVALID_BODY, UNKNOWN_STATION
from opencsms.domain.desired_config import DesiredKind
from opencsms.handlers.v16.configuration import Configuration16

if TYPE_CHECKING:
    from opencsms.app import Csms

__all__ = ["configuration_router"]


class KeyOut(BaseModel):
    key: str
    value: str | None = Field(description="The last known value (null: the station hides it)")
    readonly: bool | None = Field(description="null: the station never reported the key")
    reported_at: datetime | None = Field(description="When the CSMS last learned the value")
    desired: str | None = Field(description="The effective desired value, if any")
    desired_source: str | None = Field(description='"station" or "profile:<name>"')
    in_sync: bool | None = Field(description="null: nothing is desired for the key")
    drift_reason: str | None = Field(
        description="Why a desired value is not in place: the station's last answer "
        "(Rejected, NotSupported, RebootRequired, ...), NotApplied or Unknown"
    )


class ConfigurationOut(BaseModel):
    station_id: str
    ocpp_version: str | None
    keys: list[KeyOut] = Field(description="Reported keys, then desired keys never reported")


class RefreshIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keys: list[str] | None = Field(
        default=None, description="Keys to read; absent or empty: every key (replaces the set)"
    )


class RefreshOut(BaseModel):
    unknown_keys: list[str] = Field(description="Requested keys the station does not know")
    configuration: ConfigurationOut
    command: CommandOut


class ChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str = Field(max_length=500, description="1.6 CiString500")


class ChangeOut(BaseModel):
    key: str
    value: str
    status: str = Field(description="Accepted, Rejected, RebootRequired or NotSupported")
    desired: bool = Field(description="The value was remembered as desired for the station")
    command: CommandOut


def configuration_router(csms: Csms) -> APIRouter:
    """Build the router bound to one CSMS node."""
    router = APIRouter(prefix="/stations", tags=["configuration"])
    runner = CommandRunner(csms)

    async def view(station_id: str) -> ConfigurationOut:
        station = await runner.load(station_id)
        version = runner.version_of(station)
        keys = await csms.configuration.keys(station_id)
        drift = {
            d.key.lower(): d
            for d in await csms.desired_config.drift(station_id, "1.6")
            if d.kind is DesiredKind.KEY
        }
        out = []
        for key in keys:
            d = drift.pop(key.key.lower(), None)
            out.append(
                KeyOut(
                    key=key.key,
                    value=key.value,
                    readonly=key.readonly,
                    reported_at=key.reported_at,
                    desired=d.desired if d else None,
                    desired_source=d.source if d else None,
                    in_sync=d.in_sync if d else None,
                    drift_reason=d.reason if d else None,
                )
            )
        for d in drift.values():
            out.append(
                KeyOut(
                    key=d.key,
                    value=None,
                    readonly=None,
                    reported_at=None,
                    desired=d.desired,
                    desired_source=d.source,
                    in_sync=d.in_sync,
                    drift_reason=d.reason,
                )
            )
        return ConfigurationOut(
            station_id=station_id,
            ocpp_version=version.value if version else None,
            keys=out,
        )

    @router.get(
        "/{station_id}/configuration", response_model=ConfigurationOut, responses=UNKNOWN_STATION
    )
    async def get_configuration(station_id: str) -> ConfigurationOut:
        """The 1.6 keys the station last reported (value, read-only flag), each with its desired
        value and drift; desired keys the station never reported come last."""
        return await view(station_id)

    @router.post(
        "/{station_id}/configuration/refresh",
        response_model=RefreshOut,
        responses=COMMAND_RESPONSES | INVALID_BODY,
    )
    async def refresh(station_id: str, body: RefreshIn | None = None) -> RefreshOut | JSONResponse:
        """Read the station's keys now (GetConfiguration) and store them: without ``keys`` the
        answer replaces the stored set; with ``keys`` only those are updated (unknown ones
        removed)."""
        calls = await station_calls(runner, station_id, v16=True)
        try:
            report = await csms.configuration.refresh(
                station_id, Configuration16(calls), body.keys if body else None
            )
        except CommandFailed as exc:
            return failed_response(exc)
        return RefreshOut(
            unknown_keys=list(report.unknown),
            configuration=await view(station_id),
            command=calls.commands[-1],
        )

    @router.put(
        "/{station_id}/configuration/{key}",
        response_model=ChangeOut,
        responses=COMMAND_RESPONSES | INVALID_BODY,
    )
    async def change_key(
        station_id: str,
        key: str,
        body: Annotated[ChangeIn, Body()],
        desired: Annotated[
            bool, Query(description="Also remember the value as desired for the station")
        ] = False,
    ) -> ChangeOut | JSONResponse:
        """Change one key now (ChangeConfiguration). An Accepted value is stored as the key's
        value; with ``?desired=true`` it is also remembered as desired (and re-applied after
        every boot), whatever the station answered, and the answer is recorded for the drift."""
        calls = await station_calls(runner, station_id, v16=True)
        try:
            answer = await csms.configuration.change(
                station_id, Configuration16(calls), key, body.value
            )
        except CommandFailed as exc:
            return failed_response(exc)
        if desired:
            await csms.desired_config.set_station_values(
                station_id, DesiredKind.KEY, {key: body.value}, answers={key: answer}
            )
        return ChangeOut(
            key=key, value=body.value, status=answer, desired=desired, command=calls.commands[-1]
        )

    return router
