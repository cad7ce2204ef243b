"""Reservations over the wire (1.6 §5.1/§5.13, 2.0.1 H01-H04): with the simulator as the station
for what a correct station does, and raw frames for what a buggy one may send: used, expired,
cancelled, a wrong token refused by the CSMS, connector 0, ReservationStatusUpdate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from opencsms.app import Csms
from opencsms.clock import SystemClock
from opencsms.domain.stations import StationSpec
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import EvseConfig, SimulatedStation, StationConfig
from tests.handlers.builders import booted, start_16, tx_event
from tests.handlers.station_calls import responding
from tests.simulator.helpers import sim_config
from tests.wire import RawStation, api_client, raw_station, settings_for

VERSIONS = [OcppVersion.V16, OcppVersion.V201]
SUBPROTOCOLS = ["ocpp1.6", "ocpp2.0.1"]


class ShiftedClock(SystemClock):
    """The real clock, with ``now()`` moved forward on demand (monotonic time runs as usual, so
    call deadlines keep working)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return super().now() + self.offset


def in_minutes(minutes: float) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


async def reserve(csms: Csms, station_id: str, expect: int = 201, **body: Any) -> dict[str, Any]:
    body.setdefault("expires_at", in_minutes(30))
    async with api_client(csms) as api:
        response = await api.post(f"/api/v1/stations/{station_id}/reservations", json=body)
    assert response.status_code == expect, response.text
    out: dict[str, Any] = response.json()
    return out


async def reservations(csms: Csms, station_id: str, **params: Any) -> list[dict[str, Any]]:
    async with api_client(csms) as api:
        response = await api.get(f"/api/v1/stations/{station_id}/reservations", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def cancel(csms: Csms, station_id: str, reservation_id: int) -> dict[str, Any]:
    async with api_client(csms) as api:
        response = await api.delete(f"/api/v1/stations/{station_id}/reservations/{reservation_id}")
    assert response.status_code == 200, response.text
    out: dict[str, Any] = response.json()
    return out


async def transactions(csms: Csms, station_id: str) -> list[dict[str, Any]]:
    async with api_client(csms) as api:
        response = await api.get("/api/v1/transactions", params={"station_id": station_id})
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def two_evses(csms: Csms, station_id: str, version: OcppVersion) -> StationConfig:
    return sim_config(csms, station_id, version, evses=(EvseConfig(), EvseConfig()))


# ---------------------------------------------------------------- with the simulator


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_reservation_is_used_by_its_token(csms: Csms, version: OcppVersion) -> None:
    station_id = f"RES-{version.name}"
    await csms.stations.create(StationSpec(id=station_id))
    await csms.tokens.create({"id_token": "DRIVER-A"})
    async with SimulatedStation(sim_config(csms, station_id, version)) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        made = await reserve(csms, station_id, evse_id=1, id_token="DRIVER-A")
        assert (made["status"], made["reserve_status"], made["evse_id"]) == (
            "Active",
            "Accepted",
            1,
        )
        assert [r.id for r in st.sessions.reservations.active] == [made["id"]]
        await st.wait_for(lambda s: s.unsent_statuses == 0)
        tx = await st.start_transaction(1, "DRIVER-A")
        assert tx.status == "Accepted"
    [used] = await reservations(csms, station_id)
    [session] = await transactions(csms, station_id)
    assert (used["status"], used["used_by"]) == ("Used", session["id"])
    assert session["reservation_id"] == made["id"]


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_reservation_is_cancelled(csms: Csms, version: OcppVersion) -> None:
    station_id = f"CANCEL-{version.name}"
    await csms.stations.create(StationSpec(id=station_id))
    await csms.tokens.create({"id_token": "DRIVER-A"})
    async with SimulatedStation(sim_config(csms, station_id, version)) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        made = await reserve(csms, station_id, evse_id=1, id_token="DRIVER-A")
        cancelled = await cancel(csms, station_id, made["id"])
        assert (cancelled["status"], cancelled["cancel_status"]) == ("Cancelled", "Accepted")
        assert st.sessions.reservations.active == []
        async with api_client(csms) as api:
            again = await api.delete(f"/api/v1/stations/{station_id}/reservations/{made['id']}")
        assert again.status_code == 409  # no longer Active
    assert [r["status"] for r in await reservations(csms, station_id, status="Cancelled")] == [
        "Cancelled"
    ]


async def test_connector_zero_is_used_on_any_connector(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="ZERO"))
    await csms.tokens.create({"id_token": "DRIVER-A"})
    async with SimulatedStation(two_evses(csms, "ZERO", OcppVersion.V16)) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        made = await reserve(csms, "ZERO", id_token="DRIVER-A")  # evse_id 0: any connector
        assert made["evse_id"] == 0
        [request] = [c.payload for c in st.received if c.action == "ReserveNow"]
        assert request["connectorId"] == 0
        await st.start_transaction(2, "DRIVER-A")
    [used] = await reservations(csms, "ZERO")
    assert used["status"] == "Used"


async def test_an_expired_reservation_is_reported_by_a_201_station(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="EXP-201"))
    await csms.tokens.create({"id_token": "DRIVER-A"})
    async with SimulatedStation(sim_config(csms, "EXP-201", OcppVersion.V201)) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        soon = (datetime.now(UTC) + timedelta(seconds=1.5)).isoformat()
        made = await reserve(csms, "EXP-201", evse_id=1, id_token="DRIVER-A", expires_at=soon)
        # the station's ReservationStatusUpdate is answered before its next StatusNotification
        await st.wait_for(
            lambda s: made["id"] in s.sessions.reservations.expired and s.unsent_statuses == 0
        )
    [expired] = await reservations(csms, "EXP-201")
    assert (expired["status"], expired["update_status"]) == ("Expired", "Expired")


# ---------------------------------------------------------------- raw frames

ACCEPT_RESERVATIONS = {
    "ReserveNow": {"status": "Accepted"},
    "CancelReservation": {"status": "Rejected"},
}


async def reserve_raw(csms: Csms, cp: RawStation, station_id: str, **body: Any) -> dict[str, Any]:
    async with responding(cp, ACCEPT_RESERVATIONS):
        return await reserve(csms, station_id, **body)


@pytest.mark.parametrize("subprotocol", SUBPROTOCOLS)
async def test_the_wrong_token_is_refused_even_if_the_station_starts_it(
    csms: Csms, subprotocol: str
) -> None:
    """A buggy station starts another driver's session on a reserved EVSE: the CSMS refuses the
    token (1.6 Invalid, 2.0.1 NotAtThisTime); the reservation stays for its driver, who may start,
    as may a member of the reservation's group."""
    await csms.stations.create(StationSpec(id="BUGGY"))
    await csms.tokens.create({"id_token": "DRIVER-A"})
    await csms.tokens.create({"id_token": "STRANGER"})
    await csms.tokens.create({"id_token": "COLLEAGUE", "group_id": "FLEET"})
    async with raw_station(csms, "BUGGY", subprotocol) as cp:
        await booted(cp, subprotocol)
        first = await reserve_raw(csms, cp, "BUGGY", evse_id=1, id_token="DRIVER-A")
        group = await reserve_raw(
            csms, cp, "BUGGY", evse_id=2, id_token="DRIVER-A", group_id="FLEET"
        )
        if subprotocol == "ocpp1.6":
            stranger = await cp.result("StartTransaction", start_16("STRANGER", connector=1))
            assert stranger["idTagInfo"]["status"] == "Invalid"
            # naming the reservation does not make another driver's card the reserved one
            claims = {
                **start_16("STRANGER", connector=1, at="2026-01-01T10:01:00Z"),
                "reservationId": first["id"],
            }
            assert (await cp.result("StartTransaction", claims))["idTagInfo"]["status"] == "Invalid"
            elsewhere = await cp.result("StartTransaction", start_16("STRANGER", connector=3))
            assert elsewhere["idTagInfo"]["status"] == "Accepted"
            colleague = await cp.result(
                "StartTransaction",
                {**start_16("COLLEAGUE", connector=2), "reservationId": group["id"]},
            )
            assert colleague["idTagInfo"]["status"] == "Accepted"
            mine = start_16("driver-a", connector=1, at="2026-01-01T10:05:00Z")
            started = await cp.result("StartTransaction", {**mine, "reservationId": first["id"]})
            assert started["idTagInfo"]["status"] == "Accepted"
        else:
            stranger = await cp.result(
                "TransactionEvent", tx_event("Started", 0, tx="T-S", evse=1, id_token="STRANGER")
            )
            assert stranger["idTokenInfo"]["status"] == "NotAtThisTime"
            colleague = await cp.result(
                "TransactionEvent",
                {
                    **tx_event("Started", 0, tx="T-C", evse=2, id_token="COLLEAGUE"),
                    "reservationId": group["id"],
                },
            )
            assert colleague["idTokenInfo"]["status"] == "Accepted"
            # the reserved driver authorizes a session that started at plug-in (H03)
            await cp.result(
                "TransactionEvent",
                tx_event("Started", 0, tx="T-A", evse=1, trigger="CablePluggedIn"),
            )
            started = await cp.result(
                "TransactionEvent", tx_event("Updated", 1, tx="T-A", evse=1, id_token="DRIVER-A")
            )
            assert started["idTokenInfo"]["status"] == "Accepted"
    by_id = {r["id"]: r for r in await reservations(csms, "BUGGY")}
    assert by_id[first["id"]]["status"] == "Used"
    assert by_id[group["id"]]["status"] == "Used"
    by_place = {(t["evse_id"], t["id_token"].upper()): t for t in await transactions(csms, "BUGGY")}
    # the refusal is stored with the session (1.6 receives it as Invalid)
    assert by_place[(1, "STRANGER")]["auth_status"] == "NotAtThisTime"
    assert by_place[(1, "DRIVER-A")]["id"] == by_id[first["id"]]["used_by"]
    assert by_place[(2, "COLLEAGUE")]["id"] == by_id[group["id"]]["used_by"]


async def test_a_reservation_expires_by_the_csms_clock(tmp_path: Path) -> None:
    """1.6 stations do not report expiry: the CSMS's clock ends the reservation, and the EVSE
    takes anybody again."""
    clock = ShiftedClock()
    async with Csms(settings_for(tmp_path), clock=clock) as csms:
        await csms.stations.create(StationSpec(id="CLOCK"))
        await csms.tokens.create({"id_token": "DRIVER-A"})
        await csms.tokens.create({"id_token": "STRANGER"})
        async with raw_station(csms, "CLOCK") as cp:
            await booted(cp, "ocpp1.6")
            made = await reserve_raw(
                csms, cp, "CLOCK", evse_id=1, id_token="DRIVER-A", expires_at=in_minutes(10)
            )
            clock.offset = timedelta(minutes=11)
            [listed] = await reservations(csms, "CLOCK", status="Expired")
            assert listed["id"] == made["id"]
            started = await cp.result("StartTransaction", start_16("STRANGER", connector=1))
            assert started["idTagInfo"]["status"] == "Accepted"
        assert await csms.reservations.expire_due() == []  # the listing stored it already
        stored = await csms.storage.reservations.get(made["id"])
        assert stored is not None
        assert stored.status.value == "Expired"


async def test_a_201_station_reports_a_removed_reservation(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="REMOVED"))
    await csms.tokens.create({"id_token": "DRIVER-A"})
    async with raw_station(csms, "REMOVED", "ocpp2.0.1") as cp:
        await booted(cp, "ocpp2.0.1")
        made = await reserve_raw(csms, cp, "REMOVED", evse_id=1, id_token="DRIVER-A")
        update = {"reservationId": made["id"], "reservationUpdateStatus": "Removed"}
        assert await cp.result("ReservationStatusUpdate", update) == {}
        unknown = {"reservationId": 999_999, "reservationUpdateStatus": "Expired"}
        assert await cp.result("ReservationStatusUpdate", unknown) == {}
    [removed] = await reservations(csms, "REMOVED")
    assert (removed["status"], removed["update_status"]) == ("Removed", "Removed")


async def test_a_faulted_16_connector_ends_its_reservation(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="FAULT"))
    await csms.tokens.create({"id_token": "DRIVER-A"})
    async with raw_station(csms, "FAULT") as cp:
        await booted(cp, "ocpp1.6")
        on_1 = await reserve_raw(csms, cp, "FAULT", evse_id=1, id_token="DRIVER-A")
        on_2 = await reserve_raw(csms, cp, "FAULT", evse_id=2, id_token="DRIVER-A")
        status = {"connectorId": 1, "errorCode": "GroundFailure", "status": "Faulted"}
        await cp.result("StatusNotification", status)
    by_id = {r["id"]: r for r in await reservations(csms, "FAULT")}
    assert (by_id[on_1["id"]]["status"], by_id[on_1["id"]]["update_status"]) == (
        "Removed",
        "Faulted",
    )
    assert by_id[on_2["id"]]["status"] == "Active"


async def test_cancel_rejected_by_the_station_still_ends_it(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="FORGOT"))
    await csms.tokens.create({"id_token": "DRIVER-A"})
    async with raw_station(csms, "FORGOT") as cp:
        await booted(cp, "ocpp1.6")
        made = await reserve_raw(csms, cp, "FORGOT", evse_id=1, id_token="DRIVER-A")
        async with responding(cp, ACCEPT_RESERVATIONS) as station:
            cancelled = await cancel(csms, "FORGOT", made["id"])
    assert station.payloads("CancelReservation") == [{"reservationId": made["id"]}]
    assert (cancelled["status"], cancelled["cancel_status"]) == ("Cancelled", "Rejected")
