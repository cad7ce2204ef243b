"""Reservations: the record and the pure rules about who may start where (1.6 §3.11 / §5.13,
2.0.1 H01-H04).

A reservation holds an EVSE (1.6: a connector) of one station for one id token, or any token of
its group (1.6 ``parentIdTag``, 2.0.1 ``groupIdToken``), until ``expires_at``. ``evse_id`` 0 holds
no particular EVSE (1.6 connectorId 0, 2.0.1 without ``evseId``): the station keeps one EVSE free
for the token (1.6 §5.13: "one connector remains available for the reserved idTag").

Statuses (:class:`ReservationStatus`): ``Requested`` while ReserveNow is on its way, then
``Active`` (the station accepted) or ``Rejected`` (it answered Occupied/Faulted/Rejected/
Unavailable, or the call failed). An Active reservation ends ``Used`` (its token started a
session), ``Cancelled`` (CancelReservation), ``Expired`` (``expires_at`` passed on the CSMS's
clock, or a 2.0.1 ReservationStatusUpdate Expired) or ``Removed`` (2.0.1 ReservationStatusUpdate
Removed; 1.6: the reserved connector, or the charge point, reported Faulted or Unavailable: 1.6
§5.13 "(3) when the Charge Point or connector are set to Faulted or Unavailable").

:func:`check_start` is the CSMS's side of "only the reserved token may start there" (1.6 §5.13:
the station "SHALL refuse charging for all incoming idTags on the reserved connector, except when
the incoming idTag or the parent idTag match"; H03): a buggy or stale station may still send the
start, and the CSMS then refuses it (see :func:`opencsms.domain.authorization.reserved_for_other`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from opencsms.domain.tokens import token_key

__all__ = [
    "FREE_STATUSES",
    "Reservation",
    "ReservationStatus",
    "StartCheck",
    "check_start",
    "effective_status",
    "free_evses",
]


class ReservationStatus(StrEnum):
    REQUESTED = "Requested"
    ACTIVE = "Active"
    USED = "Used"
    EXPIRED = "Expired"
    CANCELLED = "Cancelled"
    REMOVED = "Removed"
    REJECTED = "Rejected"


FREE_STATUSES = frozenset({"Available"})
"""Connector statuses (1.6 §7.7, 2.0.1 ConnectorStatusEnumType) of a connector a driver can use
right now."""


@dataclass(frozen=True, slots=True)
class Reservation:
    """One reservation. ``id`` is allocated by the CSMS and is the OCPP reservationId / id.

    ``reserve_status`` / ``cancel_status`` are the station's answers to ReserveNow and
    CancelReservation, ``update_status`` a 2.0.1 ReservationStatusUpdate, ``error`` why a call
    failed; ``used_by`` is the CSMS number of the transaction that used it.
    """

    id: int
    station_id: str
    ocpp_version: str
    evse_id: int
    id_token: str
    expires_at: datetime
    status: ReservationStatus = ReservationStatus.REQUESTED
    connector_type: str | None = None
    id_token_type: str | None = None
    group_id: str | None = None
    reserve_status: str | None = None
    cancel_status: str | None = None
    update_status: str | None = None
    error: str | None = None
    used_by: int | None = None
    created_at: datetime = field(kw_only=True)
    updated_at: datetime = field(kw_only=True)

    @property
    def token_key(self) -> str:
        return token_key(self.id_token)

    def admits(self, key: str, group_id: str | None) -> bool:
        """Whether the token with ``key`` (and group ``group_id``) is the one this reservation
        is for: the token itself, or a member of the reservation's group (1.6 §5.13 parentIdTag,
        H03.FR.07/08 groupIdToken)."""
        if key == self.token_key:
            return True
        return (
            self.group_id is not None
            and group_id is not None
            and token_key(group_id) == token_key(self.group_id)
        )


def effective_status(reservation: Reservation, now: datetime) -> ReservationStatus:
    """The status as of ``now``: an Active reservation past ``expires_at`` is Expired (the CSMS
    tracks expiry by its own clock; a 1.6 station does not report it)."""
    if reservation.status is ReservationStatus.ACTIVE and reservation.expires_at <= now:
        return ReservationStatus.EXPIRED
    return reservation.status


def free_evses(statuses: Mapping[int, Sequence[str]]) -> set[int]:
    """EVSEs (> 0) all of whose reported connectors are Available, from ``{evse: [status, ...]}``
    (1.6 connector c is EVSE c)."""
    return {
        evse
        for evse, states in statuses.items()
        if evse > 0 and states and all(s in FREE_STATUSES for s in states)
    }


@dataclass(frozen=True, slots=True)
class StartCheck:
    """What the reservations say about a session starting: the reservation it uses up
    (``claim``), or the one that forbids it (``blocked_by``); at most one is set."""

    claim: Reservation | None = None
    blocked_by: Reservation | None = None


def check_start(
    active: Sequence[Reservation],
    *,
    evse_id: int | None,
    key: str | None,
    group_id: str | None,
    reservation_id: int | None,
    free: set[int] | None,
) -> StartCheck:
    """Decide a start on ``evse_id`` by the token ``key`` (group ``group_id``) against the
    station's open reservations (``active``: Active ones in force, and Requested ones whose
    ReserveNow is still on its way, which may be used but forbid nothing yet).

    * A reservation held for the EVSE forbids every token it does not admit, and is used up by
      one it admits.
    * A reservation without an EVSE is used up by a token it admits on any EVSE (1.6 §3.11
      "on any connector (when unspecified)"); it forbids another token only if, without the
      starting EVSE, fewer EVSEs are ``free`` than such reservations are waiting (the station
      must keep one free for each). ``free is None`` (no connector statuses known) forbids
      nothing: the CSMS does not refuse on ignorance.
    * ``reservation_id`` (1.6 StartTransaction reservationId, 2.0.1 TransactionEvent
      reservationId) names the reservation the station says was used: it is claimed when it
      admits the token (or no token is known), whatever EVSE it was for.
    """

    def forbids(r: Reservation) -> bool:
        return r.status is ReservationStatus.ACTIVE and (key is None or not r.admits(key, group_id))

    if reservation_id is not None:
        named = next((r for r in active if r.id == reservation_id), None)
        if named is not None and (key is None or named.admits(key, group_id)):
            holder = next((r for r in active if r.evse_id == evse_id and r is not named), None)
            if evse_id and holder is not None and key is not None and forbids(holder):
                return StartCheck(blocked_by=holder)
            return StartCheck(claim=named)
    if key is None or evse_id is None:
        return StartCheck()
    held = next((r for r in active if r.evse_id == evse_id), None)
    if held is not None:
        if held.admits(key, group_id):
            return StartCheck(claim=held)
        return StartCheck(blocked_by=held) if forbids(held) else StartCheck()
    anywhere = [r for r in active if r.evse_id == 0]
    mine = next((r for r in anywhere if r.admits(key, group_id)), None)
    if mine is not None:
        return StartCheck(claim=mine)
    waiting = [r for r in anywhere if forbids(r)]
    if waiting and free is not None:
        reserved = {r.evse_id for r in active if r.evse_id > 0}
        others = free - {evse_id} - reserved
        if len(others) < len(waiting):
            return StartCheck(blocked_by=waiting[0])
    return StartCheck()
