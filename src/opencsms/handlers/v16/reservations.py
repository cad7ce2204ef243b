"""OCPP 1.6 Reservation profile, CSMS → charge point: ReserveNow (§5.13) and CancelReservation
(§5.1). :class:`Reservations16` implements :class:`opencsms.domain.reservations.ReservationPort`.

A 1.6 reservation names a connector (``connectorId`` 0: any, when the charge point has
``ReserveConnectorZeroSupported``, §9.3.1) and an idTag with an optional ``parentIdTag``. The
CSMS learns that a reservation was used from the ``reservationId`` of StartTransaction (§4.8);
1.6 has no message for an expired reservation, so the CSMS tracks expiry by its clock.
"""

from __future__ import annotations

from typing import Any, cast

from opencsms.clock import utc_iso
from opencsms.domain.reservation_model import Reservation
from opencsms.handlers.common import StationCall
from opencsms.ocpp.types import v16

__all__ = ["Reservations16", "reserve_now_request"]


def reserve_now_request(reservation: Reservation) -> v16.ReserveNowRequest:
    """§6.37 ReserveNow.req (EVSE c of the CSMS is 1.6 connector c; 0 = any connector)."""
    request: v16.ReserveNowRequest = {
        "connectorId": reservation.evse_id,
        "expiryDate": utc_iso(reservation.expires_at),
        "idTag": reservation.id_token,
        "reservationId": reservation.id,
    }
    if reservation.group_id is not None:
        request["parentIdTag"] = reservation.group_id
    return request


class Reservations16:
    """Reservation commands to one 1.6 charge point."""

    def __init__(self, call: StationCall) -> None:
        self._call = call

    @property
    def ocpp_version(self) -> str:
        return "1.6"

    async def reserve_now(self, reservation: Reservation) -> str:
        """§5.13: Accepted, Faulted, Occupied, Rejected or Unavailable."""
        payload = cast(dict[str, Any], reserve_now_request(reservation))
        result = cast(v16.ReserveNowResponse, await self._call("ReserveNow", payload))
        return result["status"]

    async def cancel_reservation(self, reservation_id: int) -> str:
        """§5.1: Accepted, or Rejected when the charge point has no such reservation."""
        request: v16.CancelReservationRequest = {"reservationId": reservation_id}
        result = cast(
            v16.CancelReservationResponse,
            await self._call("CancelReservation", cast(dict[str, Any], request)),
        )
        return result["status"]
