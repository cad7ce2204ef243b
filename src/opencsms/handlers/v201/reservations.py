"""OCPP 2.0.1 block H (Reservation): ReserveNow (H01) and CancelReservation (H02) sent by the
CSMS, and the ReservationStatusUpdate (H01/H04) a station sends when a reservation ends without
being used. :class:`Reservations201` implements
:class:`opencsms.domain.reservations.ReservationPort` (for 2.1 too: its messages keep these
shapes).
"""

from __future__ import annotations

from typing import Any, cast

from opencsms.clock import utc_iso
from opencsms.domain.reservation_model import Reservation
from opencsms.domain.tokens import DEFAULT_TOKEN_TYPE
from opencsms.handlers.common import StationCall
from opencsms.handlers.router import CallContext, Payload, reply
from opencsms.ocpp.types import v201

__all__ = ["Reservations201", "reservation_status_update", "reserve_now_request"]


def reserve_now_request(reservation: Reservation) -> v201.ReserveNowRequest:
    """ReserveNowRequest: ``evseId`` left out for a reservation of any EVSE (H01 S1),
    ``groupIdToken`` as a Central token (the group is a CSMS-side identifier)."""
    request: v201.ReserveNowRequest = {
        "id": reservation.id,
        "expiryDateTime": utc_iso(reservation.expires_at),
        "idToken": {
            "idToken": reservation.id_token,
            "type": cast(v201.IdTokenEnumType, reservation.id_token_type or DEFAULT_TOKEN_TYPE),
        },
    }
    if reservation.evse_id:
        request["evseId"] = reservation.evse_id
    if reservation.connector_type is not None:
        request["connectorType"] = cast(v201.ConnectorEnumType, reservation.connector_type)
    if reservation.group_id is not None:
        request["groupIdToken"] = {"idToken": reservation.group_id, "type": "Central"}
    return request


class Reservations201:
    """Reservation commands to one 2.0.1 (or 2.1) station."""

    def __init__(self, call: StationCall, ocpp_version: str = "2.0.1") -> None:
        self._call = call
        self._version = ocpp_version

    @property
    def ocpp_version(self) -> str:
        return self._version

    async def reserve_now(self, reservation: Reservation) -> str:
        """H01: Accepted, Faulted, Occupied, Rejected or Unavailable."""
        payload = cast(dict[str, Any], reserve_now_request(reservation))
        result = cast(v201.ReserveNowResponse, await self._call("ReserveNow", payload))
        return result["status"]

    async def cancel_reservation(self, reservation_id: int) -> str:
        """H02: Accepted, or Rejected when the station has no such reservation."""
        request: v201.CancelReservationRequest = {"reservationId": reservation_id}
        result = cast(
            v201.CancelReservationResponse,
            await self._call("CancelReservation", cast(dict[str, Any], request)),
        )
        return result["status"]


async def reservation_status_update(ctx: CallContext, payload: Payload) -> Payload:
    """H01/H04 ReservationStatusUpdate: the station ended a reservation (Expired or Removed);
    recorded on the reservation before the answer."""
    request = cast(v201.ReservationStatusUpdateRequest, payload)
    await ctx.services.reservations.station_update(
        ctx.station_id, request["reservationId"], request["reservationUpdateStatus"]
    )
    response: v201.ReservationStatusUpdateResponse = {}
    return reply(response)
