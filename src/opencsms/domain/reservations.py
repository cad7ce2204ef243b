"""Reservations: the operator reserves, the station holds, the CSMS keeps the record and refuses
starts that break a reservation (1.6 §3.11, §5.1 CancelReservation, §5.13 ReserveNow; 2.0.1
H01 Reservation, H02 Cancel Reservation, H03 Use a reserved EVSE, H04 Reservation Ended).

The record and the rules are in :mod:`opencsms.domain.reservation_model`; this service runs
ReserveNow / CancelReservation through a :class:`ReservationPort` (implemented per OCPP version by
the handlers), follows what stations report (2.0.1 ReservationStatusUpdate, 1.6 connector
statuses, reservationIds in starts) and tracks expiry by the CSMS's clock.

Open reservations (Requested / Active) are kept in memory by station (read once), so a start on
a station without reservations costs a dict lookup. Like the transaction cache this is the node's
own view; a cluster must route a station's reservations to the node that holds it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from opencsms.clock import Clock
from opencsms.domain.authorization import (
    AuthDecision,
    AuthorizationService,
    AuthPurpose,
    AuthRequest,
    reserved_for_other,
)
from opencsms.domain.local_list_model import MAX_ID_TAG_LENGTH_16
from opencsms.domain.reservation_model import (
    Reservation,
    ReservationStatus,
    check_start,
    effective_status,
    free_evses,
)
from opencsms.domain.tokens import DEFAULT_TOKEN_TYPE, MAX_ID_TOKEN_LENGTH, TOKEN_TYPES
from opencsms.errors import NotFoundError, OpenCsmsError
from opencsms.storage.store import Storage

__all__ = [
    "InvalidReservationError",
    "ReservationPort",
    "ReservationRequest",
    "ReservationService",
    "ReservationStateError",
]

log = logging.getLogger("opencsms.reservations")

UNUSABLE_16 = frozenset({"Faulted", "Unavailable"})
"""1.6 §5.13: a reservation ends "when the Charge Point or connector are set to Faulted or
Unavailable"."""

_OPEN = frozenset({ReservationStatus.REQUESTED, ReservationStatus.ACTIVE})


class InvalidReservationError(OpenCsmsError):
    """The reservation asked for breaks a rule; the message says which (the API answers 422)."""


class ReservationStateError(OpenCsmsError):
    """The reservation is not in a state that allows the operation (the API answers 409)."""


class ReservationPort(Protocol):
    """A connected station's reservation commands in domain terms (handlers/*/reservations.py)."""

    @property
    def ocpp_version(self) -> str: ...

    async def reserve_now(self, reservation: Reservation) -> str:
        """ReserveNow; the station's status (Accepted, Faulted, Occupied, Rejected,
        Unavailable)."""
        ...

    async def cancel_reservation(self, reservation_id: int) -> str:
        """CancelReservation; the station's status (Accepted, Rejected)."""
        ...


@dataclass(frozen=True, slots=True)
class ReservationRequest:
    """What an operator asks for. ``evse_id`` 0 means any EVSE (1.6 connector 0)."""

    station_id: str
    id_token: str
    expires_at: datetime
    evse_id: int = 0
    connector_type: str | None = None
    id_token_type: str | None = None
    group_id: str | None = None


class ReservationService:
    """Creates, cancels and follows reservations (one instance per node)."""

    def __init__(self, storage: Storage, clock: Clock, authorization: AuthorizationService) -> None:
        self._storage = storage
        self._clock = clock
        self._auth = authorization
        self._open: dict[str, dict[int, Reservation]] | None = None

    # ------------------------------------------------------------------ bookkeeping

    async def _by_station(self) -> dict[str, dict[int, Reservation]]:
        if self._open is None:
            grouped: dict[str, dict[int, Reservation]] = defaultdict(dict)
            for r in await self._storage.reservations.open():
                grouped[r.station_id][r.id] = r
            self._open = dict(grouped)
        return self._open

    async def _remember(self, reservation: Reservation) -> None:
        by_station = await self._by_station()
        if reservation.status in _OPEN:
            by_station.setdefault(reservation.station_id, {})[reservation.id] = reservation
            return
        held = by_station.get(reservation.station_id)
        if held is not None:
            held.pop(reservation.id, None)
            if not held:
                del by_station[reservation.station_id]

    async def _store(self, reservation: Reservation, **changes: object) -> Reservation:
        updated = replace(reservation, updated_at=self._clock.now(), **changes)  # type: ignore[arg-type]
        await self._storage.reservations.save(updated)
        await self._remember(updated)
        return updated

    async def open(self, station_id: str) -> list[Reservation]:
        """The station's open reservations, oldest first: Active ones in force now (not past
        their expiry) and Requested ones whose ReserveNow is on its way."""
        held = (await self._by_station()).get(station_id)
        if not held:
            return []
        now = self._clock.now()
        return [
            r
            for _, r in sorted(held.items())
            if effective_status(r, now) in _OPEN and r.expires_at > now
        ]

    async def get(self, station_id: str, reservation_id: int) -> Reservation:
        """One reservation of the station, its status as of now (``NotFoundError``)."""
        stored = await self._storage.reservations.get(reservation_id)
        if stored is None or stored.station_id != station_id:
            raise NotFoundError(f"reservation {reservation_id} of station {station_id!r} not found")
        return self.as_of_now(stored)

    def as_of_now(self, reservation: Reservation) -> Reservation:
        """The record with its status as of now (an Active one past its expiry is Expired)."""
        status = effective_status(reservation, self._clock.now())
        return reservation if status is reservation.status else replace(reservation, status=status)

    # ------------------------------------------------------------------ operator

    async def create(self, request: ReservationRequest, port: ReservationPort) -> Reservation:
        """Reserve: store the reservation (Requested), send ReserveNow, store the answer.

        Raises :class:`InvalidReservationError` before anything is sent, and
        ``CallFailedError`` (the reservation is stored as Rejected with the error) when the
        station does not answer.
        """
        version = port.ocpp_version
        type_ = await self._check(request, version)
        now = self._clock.now()

        def build(new_id: int) -> Reservation:
            return Reservation(
                id=new_id,
                station_id=request.station_id,
                ocpp_version=version,
                evse_id=request.evse_id,
                id_token=request.id_token,
                expires_at=request.expires_at,
                connector_type=request.connector_type,
                id_token_type=type_,
                group_id=request.group_id,
                created_at=now,
                updated_at=now,
            )

        # Stored before the call: a start that uses the reservation may arrive right after the
        # station's answer, before this coroutine runs again.
        reservation = await self._storage.reservations.create(build)
        await self._remember(reservation)
        try:
            answer = await port.reserve_now(reservation)
        except OpenCsmsError as exc:  # no answer: the reservation is not known to be held
            await self._store(reservation, status=ReservationStatus.REJECTED, error=str(exc))
            raise
        status = ReservationStatus.ACTIVE if answer == "Accepted" else ReservationStatus.REJECTED
        return await self._store(reservation, status=status, reserve_status=answer)

    async def _check(self, request: ReservationRequest, version: str) -> str | None:
        """Validate ``request``; returns the idToken type to send (2.0.1) or None (1.6)."""
        now = self._clock.now()
        if request.expires_at.utcoffset() is None or request.expires_at <= now:
            raise InvalidReservationError("expires_at must be a future date-time with a zone")
        if request.evse_id < 0:
            raise InvalidReservationError("evse_id must be 0 (any) or an EVSE number")
        is_16 = version == "1.6"
        limit = MAX_ID_TAG_LENGTH_16 if is_16 else MAX_ID_TOKEN_LENGTH
        for name, value in (("id_token", request.id_token), ("group_id", request.group_id)):
            if value is not None and not 1 <= len(value) <= limit:
                raise InvalidReservationError(f"{name} must be 1-{limit} characters here")
        if is_16 and (request.connector_type or request.id_token_type):
            raise InvalidReservationError(
                "connector_type and id_token_type do not exist in OCPP 1.6"
            )
        if request.id_token_type is not None and request.id_token_type not in TOKEN_TYPES:
            raise InvalidReservationError(f"id_token_type must be one of {sorted(TOKEN_TYPES)}")
        # A reservation for a token that would be refused anyway only blocks the EVSE.
        decision = await self._auth.authorize(
            AuthRequest(
                request.id_token,
                request.id_token_type,
                request.station_id,
                request.evse_id or None,
                AuthPurpose.AUTHORIZE,
            )
        )
        if not decision.accepted:
            raise InvalidReservationError(
                f"id token {request.id_token!r} is not accepted here ({decision.status.value})"
            )
        if is_16:
            return None
        if request.id_token_type is not None:
            return request.id_token_type
        token = await self._storage.id_tokens.get(request.id_token)
        return token.type if token is not None and token.type else DEFAULT_TOKEN_TYPE

    async def cancel(
        self, station_id: str, reservation_id: int, port: ReservationPort
    ) -> Reservation:
        """CancelReservation of an Active reservation (``NotFoundError``,
        :class:`ReservationStateError` when it is not Active, ``CallFailedError``).

        The reservation is Cancelled whatever the station answers: ``Rejected`` means the
        station holds no such reservation (it was used, expired or removed there), so it is not
        in force either way; the answer is kept in ``cancel_status``.
        """
        reservation = await self.get(station_id, reservation_id)
        if reservation.status is not ReservationStatus.ACTIVE:
            raise ReservationStateError(
                f"reservation {reservation_id} is {reservation.status.value}, not Active"
            )
        try:
            answer = await port.cancel_reservation(reservation_id)
        except OpenCsmsError as exc:
            await self._store(reservation, error=str(exc))
            raise
        return await self._store(
            reservation, status=ReservationStatus.CANCELLED, cancel_status=answer, error=None
        )

    async def for_station(
        self, station_id: str, *, status: str | None = None, offset: int = 0, limit: int = 100
    ) -> tuple[list[Reservation], int]:
        """The station's reservations (newest first) with their status as of now, and the total.

        Expiry is applied before filtering, so ``status="Expired"`` finds the ones just past
        their time too.
        """
        await self.expire_due()
        repo = self._storage.reservations
        items = await repo.list(station_id=station_id, status=status, offset=offset, limit=limit)
        total = await repo.count(station_id=station_id, status=status)
        return [self.as_of_now(r) for r in items], total

    async def expire_due(self) -> list[Reservation]:
        """Store Expired for every open reservation past ``expires_at`` (a periodic job; a
        Requested one that old never got its answer, e.g. the CSMS stopped meanwhile)."""
        due = await self._storage.reservations.due(self._clock.now())
        return [await self._store(r, status=ReservationStatus.EXPIRED) for r in due]

    # ------------------------------------------------------------------ station reports

    async def station_update(self, station_id: str, reservation_id: int, update: str) -> None:
        """2.0.1 ReservationStatusUpdate (H01.FR.xx, H04): the station ended the reservation,
        ``Expired`` or ``Removed``. Recorded on the reservation; an unknown id is logged."""
        stored = await self._storage.reservations.get(reservation_id)
        if stored is None or stored.station_id != station_id:
            log.info("station %s: update for unknown reservation %s", station_id, reservation_id)
            return
        ended = ReservationStatus.EXPIRED if update == "Expired" else ReservationStatus.REMOVED
        if stored.status in _OPEN:
            await self._store(stored, status=ended, update_status=update)
        else:  # already ended (used, cancelled, or expired by the CSMS's clock): keep its status
            await self._store(stored, update_status=update)

    async def connector_status_16(self, station_id: str, connector_id: int, status: str) -> None:
        """1.6 StatusNotification: a Faulted/Unavailable connector ends its reservation, and the
        charge point (connector 0) all of them (1.6 §5.13 (3)). A dict lookup otherwise."""
        if status not in UNUSABLE_16:
            return
        held = (await self._by_station()).get(station_id)
        if not held:
            return
        for reservation in list(held.values()):
            if connector_id == 0 or reservation.evse_id == connector_id:
                await self._store(
                    reservation, status=ReservationStatus.REMOVED, update_status=status
                )

    async def check_start(
        self,
        station_id: str,
        *,
        evse_id: int | None,
        key: str | None,
        decision: AuthDecision | None,
        reservation_id: int | None,
    ) -> tuple[AuthDecision | None, Reservation | None]:
        """A session starts on ``evse_id`` with the token ``key`` (``decision`` is its
        authorization): the decision as the reservations change it, and the reservation it uses
        up (mark it with :meth:`mark_used` once the session is stored). See
        :func:`~opencsms.domain.reservation_model.check_start`."""
        active = await self.open(station_id)
        if not active:
            return decision, None
        group = decision.group_id if decision is not None else None
        free: set[int] | None = None
        if any(r.evse_id == 0 for r in active) and key is not None:
            free = await self._free_evses(station_id)
        verdict = check_start(
            active,
            evse_id=evse_id,
            key=key,
            group_id=group,
            reservation_id=reservation_id,
            free=free,
        )
        if verdict.blocked_by is not None and decision is not None:
            log.info(
                "station %s: EVSE %s is reserved (reservation %s) for another token",
                station_id,
                evse_id,
                verdict.blocked_by.id,
            )
            decision = reserved_for_other(decision)
        return decision, verdict.claim

    async def _free_evses(self, station_id: str) -> set[int] | None:
        statuses: dict[int, list[str]] = defaultdict(list)
        for s in await self._storage.status.for_station(station_id):
            statuses[s.evse_id].append(s.status)
        return free_evses(statuses) if any(evse > 0 for evse in statuses) else None

    async def mark_used(self, reservation: Reservation, transaction_pk: int) -> None:
        """The session ``transaction_pk`` used ``reservation`` (1.6 §5.13, H03.FR.09)."""
        current = (await self._by_station()).get(reservation.station_id, {}).get(reservation.id)
        if current is None:  # ended meanwhile (cancelled, removed): its record stands
            return
        await self._store(current, status=ReservationStatus.USED, used_by=transaction_pk)
