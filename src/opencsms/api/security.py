"""``/api/v1/stations/{id}/security``: a station's security profile and its Basic-auth password
rotation (docs/security.md).

* ``GET /stations/{id}/security``: the profile, a pending upgrade, the last rotation.
* ``PUT /stations/{id}/security-profile``: raise (pending until the station connects at the new
  profile, A05) or, with ``allow_downgrade``, lower it (never over OCPP, A00.FR.005).
* ``POST /stations/{id}/password/rotate``: A01 over the station's live connection; the password
  is never echoed, logged or recorded in clear (A01.FR.09).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from opencsms.api.responses import UNKNOWN_STATION, errors
from opencsms.domain.basic_auth import InvalidNewPassword, RotationRefused, redact_payload
from opencsms.domain.commands import CommandRequest
from opencsms.domain.security_profiles import InvalidSecurityChange, StationSecurity
from opencsms.handlers.basic_auth import password_port

if TYPE_CHECKING:
    from opencsms.app import Csms

__all__ = ["security_router"]


class RotationOut(BaseModel):
    status: str | None = Field(
        description="pending, accepted, rejected, reboot_required, unconfirmed or abandoned "
        "(docs/security.md); null: never rotated"
    )
    requested_at: datetime | None
    finished_at: datetime | None
    new_password_pending: bool = Field(
        description="The new password is accepted next to the current one until this settles"
    )


class SecurityOut(BaseModel):
    station_id: str
    security_profile: int = Field(description="The profile the station must connect with")
    own_profile: bool = Field(description="False: the node's default (security_profile setting)")
    pending_security_profile: int | None = Field(
        description="A raised profile, final at the station's first connection at it (A05.FR.09)"
    )
    password_set: bool
    password_rotated_at: datetime | None
    rotation: RotationOut


class ProfileIn(BaseModel):
    security_profile: int = Field(ge=1, le=3, description="1, 2 or 3")
    allow_downgrade: bool = Field(
        False, description="Needed to lower the profile (OCPP never does, A00.FR.005)"
    )


class RotateIn(BaseModel):
    password: str | None = Field(
        None,
        description="The new password (16-40 letters, digits, * - _ = : + | @ .); "
        "leave out to have a random one generated (1.6: 40 hex digits)",
    )


class RotateOut(SecurityOut):
    station_status: str | None = Field(
        description="The station's answer (Accepted, Rejected, RebootRequired, NotSupported...); "
        "null when it gave none"
    )
    error: str | None = Field(description="Why there was no answer (timeout, CALLERROR...)")


def security_router(csms: Csms) -> APIRouter:
    """Build the router bound to one CSMS node."""
    router = APIRouter(prefix="/stations", tags=["security"])

    async def out(station_id: str, state: StationSecurity | None = None) -> dict[str, Any]:
        station = await csms.storage.stations.get(station_id)
        if station is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"station {station_id!r} not found")
        state = state or csms.security.get(station_id)
        return {
            "station_id": station_id,
            "security_profile": csms.security.profile_of(station_id),
            "own_profile": state.security_profile is not None,
            "pending_security_profile": state.pending_security_profile,
            "password_set": station.password_hash is not None,
            "password_rotated_at": state.password_rotated_at,
            "rotation": RotationOut(
                status=state.rotation_status.value if state.rotation_status else None,
                requested_at=state.rotation_requested_at,
                finished_at=state.rotation_finished_at,
                new_password_pending=state.pending_password_hash is not None,
            ),
        }

    @router.get("/{station_id}/security", response_model=SecurityOut, responses=UNKNOWN_STATION)
    async def get_security(station_id: str) -> SecurityOut:
        """The station's security profile and password rotation state."""
        return SecurityOut(**await out(station_id))

    @router.put(
        "/{station_id}/security-profile",
        response_model=SecurityOut,
        responses=UNKNOWN_STATION | errors({400: "A lower profile without allow_downgrade"}),
    )
    async def set_profile(station_id: str, body: ProfileIn) -> SecurityOut:
        """Raise the station's profile (pending until it connects at it) or lower it."""
        await out(station_id)  # 404 first
        try:
            state = await csms.security.set_profile(
                station_id, body.security_profile, allow_downgrade=body.allow_downgrade
            )
        except InvalidSecurityChange as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
        return SecurityOut(**await out(station_id, state))

    @router.post(
        "/{station_id}/password/rotate",
        response_model=RotateOut,
        responses=UNKNOWN_STATION
        | errors(
            {
                400: "The password breaks the passwordString rules",
                409: "Not connected, on profile 3, or a rotation is waiting for its answer",
            }
        ),
    )
    async def rotate_password(station_id: str, body: RotateIn) -> RotateOut:
        """Set a new Basic-auth password on the station (1.6 ChangeConfiguration
        AuthorizationKey, 2.0.1 SetVariables SecurityCtrlr.BasicAuthPassword) and settle which
        password the CSMS accepts from the answer (A01)."""
        await out(station_id)  # 404 first
        connection = csms.registry.get(station_id)
        if connection is None:
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"station {station_id!r} is not connected"
            )
        bound = csms.bound_call(connection)
        version = connection.version

        async def call(action: str, payload: dict[str, Any]) -> dict[str, Any]:
            # The command log gets the payload without the password (A01.FR.09); the station
            # gets it with.
            request = CommandRequest(
                station_id, version.value, action, redact_payload(action, payload)
            )

            async def send(sent_action: str, _redacted: dict[str, Any]) -> dict[str, Any]:
                return await bound(sent_action, payload)

            return (await csms.commands.send(request, send)).result()

        password = body.password
        try:
            outcome = await csms.passwords.rotate(
                station_id, password_port(version, call), password
            )
        except InvalidNewPassword as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
        except RotationRefused as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        return RotateOut(
            **await out(station_id, outcome.state),
            station_status=outcome.station_status,
            error=outcome.error,
        )

    return router
