"""``/api/v1/stations/{id}/reservations`` over real HTTP: validation, a station that refuses or
fails, listing and cancelling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from tests.handlers.builders import booted
from tests.handlers.station_calls import CallError, responding
from tests.wire import api_client, raw_station


def body(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "evse_id": 1,
        "id_token": "DRIVER-A",
        "expires_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
    }
    values.update(changes)
    return values


async def test_validation_and_unknowns(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CP1"))
    await csms.tokens.create({"id_token": "DRIVER-A"})
    await csms.tokens.create({"id_token": "BLOCKED", "status": "Blocked"})
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    async with raw_station(csms, "CP1") as cp:
        await booted(cp, "ocpp1.6")
        async with api_client(csms) as api:
            base = "/api/v1/stations/CP1/reservations"
            assert (
                await api.post("/api/v1/stations/NOPE/reservations", json=body())
            ).status_code == 404
            assert (await api.post(base, json=body(evse_id=-1))).status_code == 422
            assert (
                await api.post(base, json=body(expires_at="2030-01-01T00:00:00"))
            ).status_code == 422
            expired = await api.post(base, json=body(expires_at=past))
            unknown = await api.post(base, json=body(id_token="NEVER-SEEN"))
            blocked = await api.post(base, json=body(id_token="BLOCKED"))
            typed = await api.post(base, json=body(connector_type="cType2"))
            missing = await api.delete(f"{base}/4242")
            listing = (await api.get(base)).json()
    assert expired.status_code == 422
    assert "future" in expired.json()["detail"]
    assert unknown.status_code == 422
    assert "not accepted here (Invalid)" in unknown.json()["detail"]
    assert blocked.status_code == 422
    assert "(Blocked)" in blocked.json()["detail"]
    assert typed.status_code == 422  # 1.6 has no connector types
    assert missing.status_code == 404
    assert listing == {"items": [], "total": 0, "offset": 0, "limit": 100}  # nothing was sent


async def test_not_connected(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="AWAY"))
    await csms.tokens.create({"id_token": "DRIVER-A"})
    async with api_client(csms) as api:
        response = await api.post("/api/v1/stations/AWAY/reservations", json=body())
    assert response.status_code == 409
    assert response.json()["detail"] == "station 'AWAY' is not connected"


async def test_refused_and_failed_reservations_are_kept(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CS1"))
    await csms.tokens.create({"id_token": "DRIVER-A", "type": "eMAID"})
    answers = iter([{"status": "Occupied"}, CallError("InternalError", "relay stuck")])
    async with raw_station(csms, "CS1", "ocpp2.0.1") as cs:
        await booted(cs, "ocpp2.0.1")
        async with (
            responding(cs, {"ReserveNow": lambda _p: next(answers)}) as station,
            api_client(csms) as api,
        ):
            occupied = await api.post(
                "/api/v1/stations/CS1/reservations",
                json=body(evse_id=0, group_id="FLEET", connector_type="cType2"),
            )
            failed = await api.post("/api/v1/stations/CS1/reservations", json=body())
            listing = (await api.get("/api/v1/stations/CS1/reservations?status=Rejected")).json()
            cancel = await api.delete(
                f"/api/v1/stations/CS1/reservations/{occupied.json()['reservation']['id']}"
            )
    assert occupied.status_code == 409
    assert occupied.json()["reserve_status"] == "Occupied"
    assert occupied.json()["reservation"]["status"] == "Rejected"
    first_request, second_request = station.payloads("ReserveNow")
    # evse 0 = any EVSE: evseId left out; the group is a Central token; the stored type is used
    assert first_request["idToken"] == {"idToken": "DRIVER-A", "type": "eMAID"}
    assert first_request["groupIdToken"] == {"idToken": "FLEET", "type": "Central"}
    assert first_request["connectorType"] == "cType2"
    assert "evseId" not in first_request
    assert second_request["evseId"] == 1
    assert second_request["id"] == first_request["id"] + 1  # CSMS-allocated, never reused
    assert failed.status_code == 502
    assert "relay stuck" in failed.json()["detail"]
    assert [(r["reserve_status"], r["error"] is not None) for r in listing["items"]] == [
        (None, True),
        ("Occupied", False),
    ]
    assert cancel.status_code == 409  # only an Active reservation can be cancelled
