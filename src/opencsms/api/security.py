"""``/api/v1/stations/{id}/security``: a station's security profile and its Basic-auth password
rotation (docs/security.md).

* ``GET /stations/{id}/security``: the profile, a pending upgrade, the last rotation.
* ``PUT /stations/{id}/security-profile``: raise (pending until the station connects at the new
  profile, A05) or, with ``allow_downgrade``, lower it (never over OCPP, A00.FR.005).
* ``POST /stations/{id}/password/rotate``: A01 over the station's live connection; the password
  is never echoed, logged or recorded in clear (A01.FR.09).
* ``POST /stations/{id}/security-profile/upgrade``: A05 over the station's live connection
  (:mod:`opencsms.security.profile_upgrade`), every CALL recorded in the command log.
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
from opencsms.handlers.basic_auth import password_port, upgrade_port
from opencsms.security.profile_upgrade import (
    NetworkProfile,
    ProfileUpgrade,
    UpgradeRefused,
    prerequisite_warnings,
)

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


class UpgradeIn(BaseModel):
    profile: int = Field(ge=1, le=3, description="The new, higher profile (2 or 3)")
    ocpp_csms_url: str | None = Field(
        None,
        description="2.0.1/2.1: the CSMS URL for the new profile, without the station id "
        "(wss://csms.example.com:9443/ocpp); not used for 1.6",
    )
    configuration_slot: int | None = Field(
        None, ge=0, description="2.0.1/2.1: the slot to write; default one above those in use"
    )
    network_priority: list[int] | None = Field(
        None,
        description="2.0.1/2.1: the station's NetworkConfigurationPriority slots as the operator "
        "knows them; given, the CSMS does not read them first (no GetVariables)",
    )
    message_timeout: int = Field(30, ge=1, description="2.0.1/2.1 connectionData.messageTimeout")
    ocpp_interface: str = Field("Wired0", description="2.0.1/2.1 connectionData.ocppInterface")


class UpgradeStepOut(BaseModel):
    action: str
    detail: str
    status: str | None = Field(description="The station's answer; null: none (see error)")
    error: str | None


class UpgradeOut(SecurityOut):
    from_profile: int
    to_profile: int
    sent: bool = Field(
        description="Every step accepted: the station reconnects at the new profile, which "
        "becomes final at that first connection (A05.FR.09)"
    )
    steps: list[UpgradeStepOut]
    warnings: list[str] = Field(
        description="Prerequisites the CSMS's certificate inventory does not show (the station "
        "decides; these explain a Rejected)"
    )


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
        connection = csms.link(station_id)
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

    @router.post(
        "/{station_id}/security-profile/upgrade",
        response_model=UpgradeOut,
        responses=UNKNOWN_STATION
        | errors(
            {
                400: "Not a higher profile (never lowered over OCPP), or a 2.0.1 station "
                "without ocpp_csms_url",
                409: "Not connected, no listener for the profile, or no Basic-auth password",
            }
        ),
    )
    async def upgrade_profile(station_id: str, body: UpgradeIn) -> UpgradeOut:
        """Raise the station's security profile over OCPP (A05): 1.6 ChangeConfiguration
        SecurityProfile; 2.0.1 SetNetworkProfile, SetVariables NetworkConfigurationPriority,
        Reset. The new profile is pending until the station connects at it."""
        station = await csms.storage.stations.get(station_id)
        if station is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"station {station_id!r} not found")
        upgrade = ProfileUpgrade(csms.security)
        try:
            upgrade.check(station_id, body.profile)
        except UpgradeRefused as exc:
            raise HTTPException(exc.status_code, str(exc)) from None
        refusal = _listener_refusal(csms, body.profile)
        if refusal is None and body.profile == 2 and station.password_hash is None:
            refusal = (
                f"station {station_id!r} has no Basic-auth password, which profile 2 needs "
                "(A05.FR.02): set one first (PATCH /stations/{id} or password/rotate)"
            )
        if refusal is not None:
            raise HTTPException(status.HTTP_409_CONFLICT, refusal)
        connection = csms.link(station_id)
        if connection is None:
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"station {station_id!r} is not connected"
            )
        network = None
        if body.ocpp_csms_url is not None:
            network = NetworkProfile(
                body.ocpp_csms_url, body.profile, body.message_timeout, body.ocpp_interface
            )
        installed = {c.type.value for c in await csms.certificates.inventory(station_id)}
        warnings = prerequisite_warnings(body.profile, installed)
        port = upgrade_port(connection.version, csms.own_call(station_id))
        try:
            outcome = await upgrade.run(
                station_id,
                body.profile,
                port,
                network,
                body.configuration_slot,
                known_priority=body.network_priority,
            )
        except UpgradeRefused as exc:
            raise HTTPException(exc.status_code, str(exc)) from None
        return UpgradeOut(
            **await out(station_id),
            from_profile=outcome.from_profile,
            to_profile=outcome.to_profile,
            sent=outcome.sent,
            steps=[
                UpgradeStepOut(action=s.action, detail=s.detail, status=s.status, error=s.error)
                for s in outcome.steps
            ],
            warnings=warnings,
        )

    return router


def _listener_refusal(csms: Csms, profile: int) -> str | None:
    """Why this node cannot take stations at ``profile`` (None: it can)."""
    if profile == 2 and csms.ports.tls is None:
        return (
            "profile 2 needs a TLS listener: this node has none (set ocpp_tls_port, "
            "tls_cert_file and tls_key_file, docs/security.md)"
        )
    if profile == 3 and csms.ports.mtls is None:
        return (
            "profile 3 needs a client-certificate listener and CA: this node has none (set "
            "ocpp_mtls_port, tls_cert_file, tls_key_file and tls_client_ca_file, "
            "docs/security.md)"
        )
    return None
