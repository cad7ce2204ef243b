"""Reservations on a simulated station (1.6 §3.11 / §5.13, 2.0.1 H01-H04).

A reservation holds an EVSE (1.6 connector) for one token, or for any token of its group
(1.6 ``parentIdTag``, 2.0.1 ``groupIdToken``), until it is used, cancelled or expires. A reservation
without an EVSE (1.6 connector 0, 2.0.1 without ``evseId``) holds one EVSE of the station: other
tokens may start only while another EVSE stays free for it.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from opencsms.handlers.common import parse_timestamp
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator.connection import HandlerFn, Payload, Reply

if TYPE_CHECKING:
    from opencsms.simulator.station import SimulatedStation

__all__ = ["ROUTES_2", "ROUTES_16", "Reservation", "Reservations"]


@dataclass(frozen=True, slots=True)
class Reservation:
    """One accepted reservation; ``evse`` 0 means any EVSE of the station."""

    id: int
    evse: int
    token: str
    group: str | None
    expiry: datetime

    def admits(self, token: str, group: str | None) -> bool:
        """The reserved token, or one of its group (1.6 §5.13 parentIdTag, H01.FR.xx)."""
        return token == self.token or (self.group is not None and group == self.group)


class Reservations:
    """The reservations of one station and their expiry timers."""

    def __init__(self, station: SimulatedStation) -> None:
        self.station = station
        self._by_id: dict[int, Reservation] = {}
        self._timers: dict[int, asyncio.Task[None]] = {}
        self.expired: list[int] = []
        """Ids of reservations that expired unused, oldest first."""

    @property
    def active(self) -> list[Reservation]:
        """Reservations in force, by id."""
        return [self._by_id[key] for key in sorted(self._by_id)]

    def holds(self, evse: int) -> bool:
        """Whether ``evse`` shows as Reserved (a reservation names it)."""
        return any(r.evse == evse for r in self._by_id.values())

    def may_use(self, evse: int, token: str, group: str | None) -> bool:
        """Whether ``token`` may start on ``evse`` given the reservations in force."""
        return self._decide(evse, token, group) is not False

    def claim(self, evse: int, token: str, group: str | None) -> int | Literal[False] | None:
        """Start on ``evse``: the id of the reservation used up, None if none applied, or
        False when a reservation for someone else forbids it."""
        decision = self._decide(evse, token, group)
        if isinstance(decision, int) and decision is not False:
            self._drop(decision)
        return decision

    def _decide(self, evse: int, token: str, group: str | None) -> int | Literal[False] | None:
        named = next((r for r in self._by_id.values() if r.evse == evse), None)
        if named is not None:
            return named.id if named.admits(token, group) else False
        anywhere = [r for r in self._by_id.values() if r.evse == 0]
        mine = next((r for r in anywhere if r.admits(token, group)), None)
        if mine is not None:
            return mine.id
        if anywhere:
            # Others may use this EVSE only while enough EVSEs stay free for the reservations.
            free = [
                e
                for e in range(1, self.station.evse_count + 1)
                if e != evse and self.station.can_start(e) and not self.holds(e)
            ]
            if len(free) < len(anywhere):
                return False
        return None

    def reserve(self, reservation: Reservation) -> str:
        """ReserveNow's status (1.6 §5.13, H01): Accepted, Occupied, Faulted or Unavailable."""
        station = self.station
        existing = self._by_id.get(reservation.id)
        if reservation.evse:
            target = reservation.evse
            if station.sessions.fault(target) is not None:
                return "Faulted"
            if not station.operative(target):
                return "Unavailable"
            other = next(
                (r for r in self._by_id.values() if r.evse == target and r.id != reservation.id),
                None,
            )
            busy = other is not None or not station.can_start(target) or station.plugged(target)
            if busy and (existing is None or existing.evse != target):
                return "Occupied"
        else:
            free = [
                e
                for e in range(1, station.evse_count + 1)
                if station.can_start(e) and not station.plugged(e) and not self.holds(e)
            ]
            if not free:
                return "Occupied"
        self._drop(reservation.id)  # the same id replaces the old reservation (1.6 §5.13)
        self._by_id[reservation.id] = reservation
        self._timers[reservation.id] = asyncio.get_running_loop().create_task(
            self._expire(reservation)
        )
        return "Accepted"

    def cancel(self, reservation_id: int) -> Reservation | None:
        """CancelReservation: the cancelled reservation, or None if unknown."""
        reservation = self._by_id.get(reservation_id)
        if reservation is not None:
            self._drop(reservation_id)
        return reservation

    def _drop(self, reservation_id: int) -> None:
        self._by_id.pop(reservation_id, None)
        timer = self._timers.pop(reservation_id, None)
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()

    async def _expire(self, reservation: Reservation) -> None:
        """At ``expiry`` (station clock) the reservation ends: H01.FR.xx ReservationStatusUpdate
        Expired, and the EVSE's status goes back to Available."""
        station = self.station
        delay = (reservation.expiry - station.clock.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)
        if self._by_id.get(reservation.id) is not reservation:
            return
        self._drop(reservation.id)
        self.expired.append(reservation.id)
        if reservation.evse:
            station.mark_status_changed([reservation.evse])  # before anyone sees it expired
        await station.notify_changed()
        if station.version is not OcppVersion.V16 and station.online_and_accepted:
            with contextlib.suppress(Exception):
                await station.call(
                    "ReservationStatusUpdate",
                    {"reservationId": reservation.id, "reservationUpdateStatus": "Expired"},
                )
        if reservation.evse:
            await station.send_statuses([reservation.evse])

    def close(self) -> None:
        """Cancel the expiry timers (the station is shutting down)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()


def reserve_now_16(station: SimulatedStation, payload: Payload) -> Reply:
    """1.6 §5.13 ReserveNow; connector 0 when ReserveConnectorZeroSupported."""
    connector = payload["connectorId"]
    if not 0 <= connector <= station.evse_count:
        return Reply({"status": "Rejected"})
    assert station.keys is not None
    if connector == 0 and station.keys.get("ReserveConnectorZeroSupported") != "true":
        return Reply({"status": "Rejected"})
    reservation = Reservation(
        payload["reservationId"],
        connector,
        payload["idTag"],
        payload.get("parentIdTag"),
        parse_timestamp(payload["expiryDate"]),
    )
    return _answer(station, reservation)


def reserve_now_2(station: SimulatedStation, payload: Payload) -> Reply:
    """H01 ReserveNow: a given EVSE, or any EVSE (``connectorType`` is always ours: cType2)."""
    assert station.device_model is not None
    if station.device_model.get("ReservationCtrlr", "Enabled") != "true":
        return Reply({"status": "Rejected"})
    evse = payload.get("evseId", 0)
    if not 0 <= evse <= station.evse_count:
        return Reply({"status": "Rejected"})
    group = payload.get("groupIdToken")
    reservation = Reservation(
        payload["id"],
        evse,
        payload["idToken"]["idToken"],
        group["idToken"] if group else None,
        parse_timestamp(payload["expiryDateTime"]),
    )
    return _answer(station, reservation)


def _answer(station: SimulatedStation, reservation: Reservation) -> Reply:
    if reservation.expiry <= station.clock.now():
        return Reply({"status": "Rejected"})
    status = station.sessions.reservations.reserve(reservation)
    if status != "Accepted" or not reservation.evse:
        return Reply({"status": status})
    return Reply({"status": status}, after=lambda: station.send_statuses([reservation.evse]))


def cancel_reservation(station: SimulatedStation, payload: Payload) -> Reply:
    """1.6 §5.1 / H03 CancelReservation: Accepted and the EVSE is Available again."""
    cancelled = station.sessions.reservations.cancel(payload["reservationId"])
    if cancelled is None:
        return Reply({"status": "Rejected"})
    if not cancelled.evse:
        return Reply({"status": "Accepted"})
    return Reply({"status": "Accepted"}, after=lambda: station.send_statuses([cancelled.evse]))


ROUTES_16: dict[str, HandlerFn] = {
    "CancelReservation": cancel_reservation,
    "ReserveNow": reserve_now_16,
}
ROUTES_2: dict[str, HandlerFn] = {
    "CancelReservation": cancel_reservation,
    "ReserveNow": reserve_now_2,
}
