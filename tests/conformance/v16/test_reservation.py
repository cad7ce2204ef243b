"""OCPP 1.6 OCTT test case document, Central System section, module "Reservation":
TC_046_CSMS to TC_053_CSMS (ReserveNow §5.13, CancelReservation §5.1).

The "Manual Action" of reserving is ``POST /stations/{id}/reservations`` and of cancelling
``DELETE /stations/{id}/reservations/{reservation_id}`` (docs/reservations.md); the CSMS's record
of each reservation, read back through the API, shows what it made of the charge point's answers.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conformance.octt import Call, Station
from tests.conformance.sut import CONFIGURED, Sut
from tests.conformance.v16.states import (
    PROTOCOL,
    Tx,
    authorized,
    booted,
    check,
    manual_action,
    start_transaction,
    status,
)

EXPIRY_OFFSET = timedelta(minutes=30)
"""<Configured Expiry Date Offset>."""


def _in(offset: timedelta) -> str:
    return (datetime.now(UTC) + offset).isoformat(timespec="seconds").replace("+00:00", "Z")


def _reserve(
    sut: Sut,
    station_id: str,
    *,
    connector_id: int = CONFIGURED.connector_id,
    id_tag: str = CONFIGURED.valid_id_token,
    offset: timedelta = EXPIRY_OFFSET,
    expect: int | tuple[int, ...] = 201,
    **fields: Any,
) -> asyncio.Task[Any]:
    """Manual Action: reserve a connector for an idTag."""
    body = {"evse_id": connector_id, "id_token": id_tag, "expires_at": _in(offset), **fields}
    return manual_action(sut.api.post(f"/stations/{station_id}/reservations", body, expect=expect))


async def _reserve_now(
    station: Station,
    answer: str,
    *,
    connector_id: int = CONFIGURED.connector_id,
    id_tag: str = CONFIGURED.valid_id_token,
) -> Call:
    """1. ReserveNow.req (connectorId and idTag validated) / 2. ReserveNow.conf ``answer``."""
    call = await station.expect("ReserveNow")
    check(
        call.payload["connectorId"] == connector_id,
        f"ReserveNow.req connectorId {call.payload['connectorId']}, want {connector_id}",
    )
    check(
        call.payload["idTag"] == id_tag,
        f"ReserveNow.req idTag {call.payload['idTag']}, want {id_tag}",
    )
    await station.respond(call, {"status": answer})
    return call


async def _reservation(sut: Sut, station_id: str, reservation_id: int) -> dict[str, Any]:
    record: dict[str, Any] = await sut.api.get(
        f"/stations/{station_id}/reservations/{reservation_id}"
    )
    return record


async def _reserved(sut: Sut, station: Station, **kw: Any) -> tuple[Call, dict[str, Any]]:
    """Steps 1-4 of an accepted reservation: ReserveNow Accepted, StatusNotification Reserved."""
    connector_id = kw.get("connector_id", CONFIGURED.connector_id)
    reserving = _reserve(sut, station.station_id, **kw)
    call = await _reserve_now(
        station,
        "Accepted",
        connector_id=connector_id,
        id_tag=kw.get("id_tag", CONFIGURED.valid_id_token),
    )
    reservation: dict[str, Any] = await reserving
    check(
        call.payload["reservationId"] == reservation["id"],
        f"ReserveNow.req reservationId {call.payload['reservationId']} is not the reservation's",
    )
    await status(station, "Reserved", connector_id=max(connector_id, 1))  # 3./4.
    return call, reservation


async def _start_with_reservation(station: Station, tx: Tx, reservation_id: int) -> dict[str, Any]:
    """Reusable State Charging, with the reservationId in StartTransaction.req."""
    await status(station, "Preparing", connector_id=tx.connector_id)
    response = await start_transaction(station, tx, reservationId=reservation_id)
    got = response["idTagInfo"]["status"]
    check(got == "Accepted", f"StartTransaction.conf idTagInfo.status {got}, want Accepted")
    await status(station, "Charging", connector_id=tx.connector_id)
    return response


async def test_TC_046_CSMS(sut: Sut) -> None:
    """Reservation of a Connector - Transaction."""
    await sut.provision("CP046")
    await sut.add_token(CONFIGURED.valid_id_token)
    async with sut.station("CP046", PROTOCOL) as station:
        await booted(station)
        _, reservation = await _reserved(sut, station)  # 1.-4.
        # 5. Reusable State Charging (after Authorized) with the reservationId from step 1.
        tx = Tx()
        await authorized(station, tx)
        await _start_with_reservation(station, tx, reservation["id"])
    record = await _reservation(sut, "CP046", reservation["id"])
    assert record["status"] == "Used", record
    assert record["used_by"] is not None, record


async def test_TC_047_CSMS(sut: Sut) -> None:
    """Reservation of a Connector - Expire."""
    await sut.provision("CP047")
    await sut.add_token(CONFIGURED.valid_id_token)
    offset = timedelta(seconds=2)  # a short <Configured Expiry Date Offset> keeps the test fast
    async with sut.station("CP047", PROTOCOL) as station:
        await booted(station)
        call, reservation = await _reserved(sut, station, offset=offset)  # 1.-4.
        # Step 1: expiryDate is current time + <Configured Expiry Date Offset>.
        expiry = datetime.fromisoformat(call.payload["expiryDate"].replace("Z", "+00:00"))
        check(
            abs(expiry - (datetime.now(UTC) + offset)) < timedelta(seconds=3),
            f"ReserveNow.req expiryDate {call.payload['expiryDate']} is not now + offset",
        )
        # [The EV driver does not arrive before the expiry date.] The CSMS sees it expire.
        record = await _reservation(sut, "CP047", reservation["id"])
        async with asyncio.timeout(10):
            while record["status"] != "Expired":
                await station.expect_nothing(0.25)
                record = await _reservation(sut, "CP047", reservation["id"])
        await status(station, "Available")  # 5./6.
    assert record["status"] == "Expired", record


async def _refused(sut: Sut, station: Station, answer: str) -> None:
    """TC_048_x: ReserveNow answered ``answer``; the CSMS accepts the refusal and records it."""
    reserving = _reserve(sut, station.station_id, expect=409)
    await _reserve_now(station, answer)
    refusal = await reserving
    assert refusal["reserve_status"] == answer, refusal
    record = await _reservation(sut, station.station_id, refusal["reservation"]["id"])
    assert record["status"] == "Rejected", record
    assert record["reserve_status"] == answer, record


async def test_TC_048_1_CSMS(sut: Sut) -> None:
    """Reservation of a Connector - Faulted."""
    await sut.provision("CP0481")
    await sut.add_token(CONFIGURED.valid_id_token)
    async with sut.station("CP0481", PROTOCOL) as station:
        await booted(station)
        await _refused(sut, station, "Faulted")


async def test_TC_048_2_CSMS(sut: Sut) -> None:
    """Reservation of a Connector - Occupied."""
    await sut.provision("CP0482")
    await sut.add_token(CONFIGURED.valid_id_token)
    async with sut.station("CP0482", PROTOCOL) as station:
        await booted(station)
        # [EV driver plugs in the cable.] 1./2.
        await status(station, "Preparing")
        await _refused(sut, station, "Occupied")  # 3./4.


async def test_TC_048_3_CSMS(sut: Sut) -> None:
    """Reservation of a Connector - Unavailable."""
    await sut.provision("CP0483")
    await sut.add_token(CONFIGURED.valid_id_token)
    async with sut.station("CP0483", PROTOCOL) as station:
        await booted(station)
        # Manual Action: make the connector Inoperative.
        changing = manual_action(
            sut.api.post(
                "/stations/CP0483/commands/availability",
                {"operative": False, "evse_id": CONFIGURED.connector_id},
            )
        )
        call = await station.expect("ChangeAvailability")  # 1.
        check(
            call.payload == {"connectorId": CONFIGURED.connector_id, "type": "Inoperative"},
            f"ChangeAvailability.req {call.payload}",
        )
        await station.respond(call, {"status": "Accepted"})  # 2.
        await changing
        await status(station, "Unavailable")  # 3./4.
        await _refused(sut, station, "Unavailable")  # 5./6.


async def test_TC_048_4_CSMS(sut: Sut) -> None:
    """Reservation of a Connector - Rejected."""
    await sut.provision("CP0484")
    await sut.add_token(CONFIGURED.valid_id_token)
    async with sut.station("CP0484", PROTOCOL) as station:
        await booted(station)
        await _refused(sut, station, "Rejected")


async def test_TC_049_CSMS(sut: Sut) -> None:
    """Reservation of a Charge Point - Transaction (connectorId 0)."""
    await sut.provision("CP049")
    await sut.add_token(CONFIGURED.valid_id_token)
    async with sut.station("CP049", PROTOCOL) as station:
        await booted(station)
        # Step 1: connectorId should be 0.
        _, reservation = await _reserved(sut, station, connector_id=0)  # 1.-4.
        # Expected: only the reserved idTag charges, on any available connector.
        tx = Tx()
        await authorized(station, tx)
        await _start_with_reservation(station, tx, reservation["id"])
    record = await _reservation(sut, "CP049", reservation["id"])
    assert record["evse_id"] in (0, None), record
    assert record["status"] == "Used", record


async def test_TC_051_CSMS(sut: Sut) -> None:
    """Cancel Reservation."""
    await sut.provision("CP051")
    await sut.add_token(CONFIGURED.valid_id_token)
    async with sut.station("CP051", PROTOCOL) as station:
        await booted(station)
        call, reservation = await _reserved(sut, station)  # 1.-4.
        check(call.payload["connectorId"] != 0, "Step 1: connectorId should not be 0")
        # Manual Action: cancel the reservation.
        cancelling = manual_action(
            sut.api.delete(f"/stations/CP051/reservations/{reservation['id']}")
        )
        cancel = await station.expect("CancelReservation")  # 5.
        check(
            cancel.payload == {"reservationId": call.payload["reservationId"]},
            f"CancelReservation.req {cancel.payload}: the reservationId of step 1 expected",
        )
        await station.respond(cancel, {"status": "Accepted"})  # 6.
        record = await cancelling
        await status(station, "Available")  # 7./8.
    assert record["status"] == "Cancelled", record
    assert record["cancel_status"] == "Accepted", record


async def test_TC_052_CSMS(sut: Sut) -> None:
    """Cancel Reservation - Rejected."""
    await sut.provision("CP052")
    await sut.add_token(CONFIGURED.valid_id_token)
    async with sut.station("CP052", PROTOCOL) as station:
        await booted(station)
        call, reservation = await _reserved(sut, station)  # 1.-4.
        cancelling = manual_action(
            sut.api.delete(f"/stations/CP052/reservations/{reservation['id']}")
        )
        cancel = await station.expect("CancelReservation")  # 5.
        check(
            cancel.payload["reservationId"] == call.payload["reservationId"],
            f"CancelReservation.req {cancel.payload}",
        )
        await station.respond(cancel, {"status": "Rejected"})  # 6.
        record = await cancelling
    # The CSMS handles the rejection: the charge point holds no such reservation.
    assert record["cancel_status"] == "Rejected", record


async def test_TC_053_CSMS(sut: Sut) -> None:
    """Use a reserved Connector with parentIdTag."""
    parent = CONFIGURED.group_id_token
    other = "OCTTVALID02"
    await sut.provision("CP053")
    await sut.add_token(CONFIGURED.valid_id_token, group_id=parent)
    await sut.add_token(other, group_id=parent)
    async with sut.station("CP053", PROTOCOL) as station:
        await booted(station)
        # Manual Action: reserve a connector; 1. ReserveNow.req with reservationId, idTag and
        # parentIdTag. Step 1: connectorId does not equal 0.
        call, reservation = await _reserved(sut, station, group_id=parent)  # 1.-4.
        check(call.payload["connectorId"] != 0, "Step 1: connectorId should not be 0")
        check(
            call.payload.get("parentIdTag") == parent,
            f"ReserveNow.req parentIdTag {call.payload.get('parentIdTag')}, want {parent}",
        )
        # [The EV driver swipes a card with the parentIdTag of step 1 but another idTag.]
        # 5. Reusable State Charging.
        tx = Tx(id_tag=other)
        await authorized(station, tx)
        await _start_with_reservation(station, tx, reservation["id"])
    record = await _reservation(sut, "CP053", reservation["id"])
    assert record["status"] == "Used", record
