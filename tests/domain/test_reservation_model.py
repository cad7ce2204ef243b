"""Who may start where when a station has reservations (domain/reservation_model.py and
authorization.reserved_for_other, pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from opencsms.domain.authorization import AuthDecision, AuthorizationStatus, reserved_for_other
from opencsms.domain.reservation_model import (
    Reservation,
    ReservationStatus,
    check_start,
    effective_status,
    free_evses,
)

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def reservation(
    rid: int, evse: int, token: str = "DRIVER", group: str | None = None
) -> Reservation:
    return Reservation(
        id=rid,
        station_id="CS1",
        ocpp_version="1.6",
        evse_id=evse,
        id_token=token,
        group_id=group,
        expires_at=NOW + timedelta(hours=1),
        status=ReservationStatus.ACTIVE,
        created_at=NOW,
        updated_at=NOW,
    )


def start(
    active: list[Reservation],
    evse: int,
    key: str | None,
    *,
    group: str | None = None,
    rid: int | None = None,
    free: set[int] | None = None,
) -> tuple[int | None, int | None]:
    check = check_start(
        active, evse_id=evse, key=key, group_id=group, reservation_id=rid, free=free
    )
    return (
        check.claim.id if check.claim else None,
        check.blocked_by.id if check.blocked_by else None,
    )


def test_a_reserved_evse_takes_only_its_token_or_group() -> None:
    held = [reservation(1, 2, "Driver", group="Fleet")]
    assert start(held, 2, "driver") == (1, None)  # case-insensitive, like every token
    assert start(held, 2, "colleague", group="FLEET") == (1, None)
    assert start(held, 2, "stranger") == (None, 1)
    assert start(held, 2, "stranger", group="OTHER") == (None, 1)
    assert start(held, 1, "stranger") == (None, None)  # another EVSE is not reserved


def test_the_reservation_id_in_a_start_names_the_one_used() -> None:
    held = [reservation(1, 2), reservation(5, 3, "OTHER")]
    assert start(held, 2, "driver", rid=1) == (1, None)
    assert start(held, 2, None, rid=1) == (1, None)  # 2.0.1 event without a token
    # a station claiming a reservation for a token it does not admit: refused as usual
    assert start(held, 2, "stranger", rid=1) == (None, 1)
    # the named reservation was for EVSE 2, but EVSE 3 is reserved for someone else
    assert start(held, 3, "driver", rid=1) == (None, 5)


def test_a_reservation_of_any_evse_keeps_one_free_for_its_token() -> None:
    anywhere = [reservation(1, 0)]
    assert start(anywhere, 2, "driver", free={1, 2}) == (1, None)
    assert start(anywhere, 1, "stranger", free={1, 2}) == (None, None)  # EVSE 2 stays free
    assert start(anywhere, 1, "stranger", free={1}) == (None, 1)  # it was the last one
    # EVSE 2 is free but held by a reservation of its own: it does not count
    assert start([*anywhere, reservation(2, 2, "OTHER")], 1, "stranger", free={1, 2}) == (None, 1)
    # nothing known about the connectors: the CSMS does not refuse on ignorance
    assert start(anywhere, 1, "stranger", free=None) == (None, None)


def test_free_evses_are_those_whose_connectors_are_all_available() -> None:
    statuses = {0: ["Available"], 1: ["Available"], 2: ["Available", "Occupied"], 3: ["Reserved"]}
    assert free_evses(statuses) == {1}


def test_an_active_reservation_expires_by_the_csms_clock() -> None:
    r = reservation(1, 1)
    assert effective_status(r, NOW) is ReservationStatus.ACTIVE
    assert effective_status(r, r.expires_at) is ReservationStatus.EXPIRED
    used = replace(r, status=ReservationStatus.USED)
    assert effective_status(used, r.expires_at) is ReservationStatus.USED


def test_a_reserved_evse_refuses_an_accepted_token_as_not_at_this_time() -> None:
    accepted = AuthDecision(AuthorizationStatus.ACCEPTED, "FLEET")
    assert reserved_for_other(accepted) == AuthDecision(
        AuthorizationStatus.NOT_AT_THIS_TIME, "FLEET"
    )
    blocked = AuthDecision(AuthorizationStatus.BLOCKED)
    assert reserved_for_other(blocked) is blocked


def test_a_requested_reservation_may_be_used_but_forbids_nothing_yet() -> None:
    """ReserveNow on its way: the station may already have answered Accepted and the driver
    started, or it may answer Occupied because somebody else is starting right now."""
    requested = [replace(reservation(1, 2), status=ReservationStatus.REQUESTED)]
    assert start(requested, 2, "driver") == (1, None)
    assert start(requested, 2, "stranger") == (None, None)
    anywhere = [replace(reservation(1, 0), status=ReservationStatus.REQUESTED)]
    assert start(anywhere, 1, "stranger", free={1}) == (None, None)
