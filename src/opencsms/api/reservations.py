"""``/api/v1/stations/{id}/reservations``: reserve an EVSE for a driver, list and cancel
reservations (docs/reservations.md)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from opencsms.api.responses import STATION_CALL, UNKNOWN_STATION, errors
from opencsms.api.station_calls import station_call_errors
from opencsms.domain.reservation_model import Reservation, ReservationStatus
from opencsms.domain.reservations import (
    InvalidReservationError,
    ReservationRequest,
    ReservationStateError,
)
from opencsms.domain.tokens import MAX_ID_TOKEN_LENGTH
from opencsms.errors import NotFoundError

if TYPE_CHECKING:
    from opencsms.app import Csms

ReservationStatusName = Literal[
    "Requested", "Active", "Used", "Expired", "Cancelled", "Removed", "Rejected"
]
ConnectorTypeName = Literal[
    "cCCS1",
    "cCCS2",
    "cG105",
    "cTesla",
    "cType1",
    "cType2",
    "s309-1P-16A",
    "s309-1P-32A",
    "s309-3P-16A",
    "s309-3P-32A",
    "sBS1361",
    "sCEE-7-7",
    "sType2",
    "sType3",
    "Other1PhMax16A",
    "Other1PhOver16A",
    "Other3Ph",
    "Pan",
    "wInductive",
    "wResonant",
    "Undetermined",
    "Unknown",
]
"""2.0.1 ConnectorEnumType."""
TokenTypeName = Literal[
    "Central", "eMAID", "ISO14443", "ISO15693", "KeyCode", "Local", "MacAddress", "NoAuthorization"
]


class ReservationCreate(BaseModel):
    """A reservation to make. ``evse_id`` 0 (or absent) reserves any EVSE (1.6 connector 0)."""

    model_config = ConfigDict(extra="forbid")

    evse_id: int = Field(default=0, ge=0, description="0 = any EVSE; 1.6: the connectorId")
    connector_type: ConnectorTypeName | None = Field(
        default=None, description="2.0.1 only: the connector type wanted"
    )
    id_token: str = Field(min_length=1, max_length=MAX_ID_TOKEN_LENGTH)
    id_token_type: TokenTypeName | None = Field(
        default=None, description="2.0.1 only; default: the stored token's type, else ISO14443"
    )
    group_id: str | None = Field(
        default=None,
        max_length=MAX_ID_TOKEN_LENGTH,
        description="Tokens of this group may use the reservation too (1.6 parentIdTag, 2.0.1 "
        "groupIdToken)",
    )
    expires_at: AwareDatetime


class ReservationOut(BaseModel):
    id: int = Field(description="The reservationId sent to the station")
    station_id: str
    evse_id: int
    connector_type: str | None
    id_token: str
    id_token_type: str | None
    group_id: str | None
    expires_at: datetime
    status: ReservationStatusName
    reserve_status: str | None = Field(description="The station's answer to ReserveNow")
    cancel_status: str | None = Field(description="The station's answer to CancelReservation")
    update_status: str | None = Field(
        description="What the station reported: 2.0.1 ReservationStatusUpdate, 1.6 the "
        "Faulted/Unavailable status that ended it"
    )
    error: str | None = Field(description="Why a call to the station failed")
    used_by: int | None = Field(description="The transaction (id) that used the reservation")
    created_at: datetime
    updated_at: datetime


class ReservationPage(BaseModel):
    items: list[ReservationOut]
    total: int
    offset: int
    limit: int


class ReservationRefusedOut(BaseModel):
    """A reservation the station did not make (or could not be asked for)."""

    detail: str
    reserve_status: str | None = Field(
        default=None, description="The station's answer to ReserveNow"
    )
    reservation: ReservationOut | None = Field(
        default=None, description="The reservation as stored (status Rejected)"
    )


UNKNOWN_RESERVATION = errors({404: "Unknown station or reservation"})


def _out(r: Reservation) -> ReservationOut:
    return ReservationOut(
        id=r.id,
        station_id=r.station_id,
        evse_id=r.evse_id,
        connector_type=r.connector_type,
        id_token=r.id_token,
        id_token_type=r.id_token_type,
        group_id=r.group_id,
        expires_at=r.expires_at,
        status=r.status.value,
        reserve_status=r.reserve_status,
        cancel_status=r.cancel_status,
        update_status=r.update_status,
        error=r.error,
        used_by=r.used_by,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


def reservations_router(csms: Csms) -> APIRouter:
    """Build the router bound to one CSMS node."""
    router = APIRouter(prefix="/stations", tags=["reservations"])

    async def load(station_id: str) -> None:
        if await csms.storage.stations.get(station_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"station {station_id!r} not found")

    @router.post(
        "/{station_id}/reservations",
        status_code=status.HTTP_201_CREATED,
        response_model=ReservationOut,
        responses=UNKNOWN_STATION
        | STATION_CALL
        | errors(
            {
                409: "Not connected, or the station did not accept the reservation "
                "(reserve_status: Occupied, Faulted, Rejected, Unavailable)"
            },
            ReservationRefusedOut,
        ),
    )
    async def create_reservation(station_id: str, body: ReservationCreate) -> Any:
        """Reserve: ReserveNow with a CSMS-allocated id. 201 when the station accepts; 409 with
        its status (Occupied, Faulted, Rejected, Unavailable) and the stored record otherwise."""
        await load(station_id)
        request = ReservationRequest(
            station_id=station_id,
            id_token=body.id_token,
            expires_at=body.expires_at,
            evse_id=body.evse_id,
            connector_type=body.connector_type,
            id_token_type=body.id_token_type,
            group_id=body.group_id,
        )
        with station_call_errors(station_id):
            commands = csms.station_commands(station_id)
            try:
                reservation = await csms.reservations.create(request, commands.reservations)
            except InvalidReservationError as exc:
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
        out = _out(reservation)
        if reservation.status is not ReservationStatus.ACTIVE:
            return JSONResponse(
                {
                    "detail": f"the station answered {reservation.reserve_status}",
                    "reserve_status": reservation.reserve_status,
                    "reservation": out.model_dump(mode="json"),
                },
                status_code=status.HTTP_409_CONFLICT,
            )
        return out

    @router.get(
        "/{station_id}/reservations", response_model=ReservationPage, responses=UNKNOWN_STATION
    )
    async def list_reservations(
        station_id: str,
        status_: Annotated[ReservationStatusName | None, Query(alias="status")] = None,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> ReservationPage:
        """The station's reservations, newest first, with their status as of now."""
        await load(station_id)
        items, total = await csms.reservations.for_station(
            station_id, status=status_, offset=offset, limit=limit
        )
        return ReservationPage(
            items=[_out(r) for r in items], total=total, offset=offset, limit=limit
        )

    @router.get(
        "/{station_id}/reservations/{reservation_id}",
        response_model=ReservationOut,
        responses=UNKNOWN_RESERVATION,
    )
    async def get_reservation(station_id: str, reservation_id: int) -> ReservationOut:
        """One reservation of the station."""
        try:
            return _out(await csms.reservations.get(station_id, reservation_id))
        except NotFoundError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None

    @router.delete(
        "/{station_id}/reservations/{reservation_id}",
        response_model=ReservationOut,
        responses=STATION_CALL
        | UNKNOWN_RESERVATION
        | errors({409: "Not connected, or the reservation is not Active"}),
    )
    async def cancel_reservation(station_id: str, reservation_id: int) -> ReservationOut:
        """Cancel an Active reservation (CancelReservation). It is Cancelled whatever the
        station answers (Rejected: it holds no such reservation); ``cancel_status`` says what it
        answered. 404 for an unknown reservation, 409 when it is not Active."""
        await load(station_id)
        try:
            await csms.reservations.get(station_id, reservation_id)
        except NotFoundError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
        with station_call_errors(station_id):
            commands = csms.station_commands(station_id)
            try:
                cancelled = await csms.reservations.cancel(
                    station_id, reservation_id, commands.reservations
                )
            except ReservationStateError as exc:
                raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        return _out(cancelled)

    return router
