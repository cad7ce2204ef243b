"""``/api/v1/tariffs``, ``/tariff-assignments`` and ``/transactions/{id}/cost`` over HTTP."""

from __future__ import annotations

import itertools
from typing import Any

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from tests.handlers.builders import add_token, booted, start_16, stop_16
from tests.handlers.cost_helpers import AnsweringStation, wait_cdr
from tests.wire import api_client, raw_station


def energy(price: str, **extra: Any) -> dict[str, Any]:
    return {
        "currency": "EUR",
        "elements": [{"components": [{"type": "ENERGY", "price": price}]}],
        **extra,
    }


async def test_create_edit_versions_delete(csms: Csms) -> None:
    async with api_client(csms) as api:
        created = await api.post("/api/v1/tariffs", json={"id": "AC", **energy(0.1, name="AC")})
        assert created.status_code == 201, created.text
        body = created.json()
        assert (body["version"], body["tariff"]["elements"][0]["components"][0]["price"]) == (
            1,
            "0.1",
        )
        assert body["tariff"]["time_zone"] == "UTC"  # the setting's default
        assert (
            await api.post("/api/v1/tariffs", json={"id": "AC", **energy("1")})
        ).status_code == 409
        edited = await api.put("/api/v1/tariffs/AC", json=energy("0.35", tax_rate="0.21"))
        assert edited.json()["version"] == 2
        versions = (await api.get("/api/v1/tariffs/AC/versions")).json()
        assert [
            (v["version"], v["tariff"]["elements"][0]["components"][0]["price"]) for v in versions
        ] == [
            (1, "0.1"),
            (2, "0.35"),
        ]
        assert (await api.get("/api/v1/tariffs/AC/versions/1")).json()["tariff"]["tax_rate"] == "0"
        assert [t["id"] for t in (await api.get("/api/v1/tariffs")).json()] == ["AC"]
        await api.put("/api/v1/tariff-assignments/default", json={"tariff_id": "AC"})
        refused = await api.delete("/api/v1/tariffs/AC")
        assert refused.status_code == 409
        assert "default" in refused.json()["detail"]
        assert (await api.delete("/api/v1/tariff-assignments/default")).status_code == 204
        assert (await api.delete("/api/v1/tariffs/AC")).status_code == 204
        assert (await api.get("/api/v1/tariffs/AC")).status_code == 404
        assert (await api.get("/api/v1/tariffs")).json() == []
        # its versions stay for the CDRs that name them
        assert (await api.get("/api/v1/tariffs/AC/versions/2")).status_code == 200


async def test_bad_tariffs_get_precise_422s(csms: Csms) -> None:
    cases = [
        ({"id": "X", **energy("-0.30")}, "elements[0].components[0].price must not be negative"),
        ({"id": "X", **energy("0.30"), "currency": "euro"}, "ISO 4217"),
        ({"id": "X", **energy("0.30"), "time_zone": "Nowhere/City"}, "IANA"),
        ({"id": "X", **energy("0.30"), "tax_rate": "21"}, "fraction"),
        ({"id": "X", **energy("0.30"), "min_price": "9", "max_price": "1"}, "min_price"),
        ({"id": "bad id!", **energy("0.30")}, "tariff id"),
        (
            {
                "id": "X",
                "currency": "EUR",
                "elements": [
                    {
                        "components": [{"type": "ENERGY", "price": "1"}],
                        "restrictions": {"start_time": "7:00"},
                    }
                ],
            },
            "HH:MM",
        ),
    ]
    async with api_client(csms) as api:
        for body, message in cases:
            response = await api.post("/api/v1/tariffs", json=body)
            assert response.status_code == 422, (body, response.text)
            assert message in response.json()["detail"], response.text
        unknown = await api.post("/api/v1/tariffs", json={"id": "X", **energy("1"), "colour": 1})
        assert unknown.status_code == 422
        assert (await api.put("/api/v1/tariffs/nope", json=energy("1"))).status_code == 404
        missing = await api.put("/api/v1/tariff-assignments/default", json={"tariff_id": "nope"})
        assert missing.status_code == 404
        station = await api.post("/api/v1/tariffs", json={"id": "T", **energy("1")})
        assert station.status_code == 201
        unknown_station = await api.put(
            "/api/v1/tariff-assignments/stations/NOPE", json={"tariff_id": "T"}
        )
        assert unknown_station.status_code == 404
        assert (await api.delete("/api/v1/tariff-assignments/groups/G")).status_code == 404


_hours = itertools.count(1)


async def stopped_session(csms: Csms, id_tag: str, connector: int) -> int:
    """A 1.6 session of 10 kWh (each one starts at another hour: a StartTransaction with the
    same fields would be a resend)."""
    async with raw_station(csms, "CP1", "ocpp1.6") as raw:
        await booted(raw, "ocpp1.6")
        cs = AnsweringStation(raw)
        at = f"2026-01-01T{next(_hours):02d}:00:00Z"
        started = await cs.result(
            "StartTransaction", start_16(id_tag, connector=connector, meter=0, at=at)
        )
        tx = int(started["transactionId"])
        await cs.result("StopTransaction", stop_16(tx, meter=10_000))
    return tx


async def test_assignment_precedence_evse_station_group_default(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CP1"))
    await add_token(csms, "CARD", group_id="FLEET")
    async with api_client(csms) as api:
        for tariff_id, price in (("D", "0.10"), ("G", "0.20"), ("S", "0.30"), ("E", "0.40")):
            assert (
                await api.post("/api/v1/tariffs", json={"id": tariff_id, **energy(price)})
            ).status_code == 201
        assert (
            await api.put("/api/v1/tariff-assignments/default", json={"tariff_id": "D"})
        ).status_code == 200
        await api.put("/api/v1/tariff-assignments/groups/FLEET", json={"tariff_id": "G"})
        await api.put("/api/v1/tariff-assignments/stations/CP1", json={"tariff_id": "S"})
        put = await api.put(
            "/api/v1/tariff-assignments/stations/CP1/evses/2", json={"tariff_id": "E"}
        )
        assert put.json()["target"] == "CP1/2"
        listed = (await api.get("/api/v1/tariff-assignments")).json()
        assert {(a["scope"], a["target"]) for a in listed} == {
            ("default", ""),
            ("group", "FLEET"),
            ("station", "CP1"),
            ("evse", "CP1/2"),
        }
    # 10 kWh each: EVSE 2 → 4.00; EVSE 1 → station 3.00
    on_evse = await wait_cdr(csms, await stopped_session(csms, "CARD", 2))
    on_station = await wait_cdr(csms, await stopped_session(csms, "CARD", 1))
    assert (on_evse.tariff_id, str(on_evse.gross)) == ("E", "4.00")
    assert (on_station.tariff_id, str(on_station.gross)) == ("S", "3.00")
    async with api_client(csms) as api:
        deleted = await api.delete("/api/v1/tariff-assignments/stations/CP1")
        assert deleted.status_code == 204, deleted.text
    by_group = await wait_cdr(csms, await stopped_session(csms, "CARD", 1))
    by_default = await wait_cdr(csms, await stopped_session(csms, "OTHER", 1))
    assert (by_group.tariff_id, by_default.tariff_id) == ("G", "D")


async def test_validity_dates_skip_to_the_next_assignment(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CP1"))
    async with api_client(csms) as api:
        await api.post(
            "/api/v1/tariffs",
            json={"id": "PROMO", **energy("0.01", valid_to="2025-01-01T00:00:00Z")},
        )
        await api.post("/api/v1/tariffs", json={"id": "STD", **energy("0.50")})
        await api.put("/api/v1/tariff-assignments/stations/CP1", json={"tariff_id": "PROMO"})
        await api.put("/api/v1/tariff-assignments/default", json={"tariff_id": "STD"})
    cdr = await wait_cdr(csms, await stopped_session(csms, "TAG", 1))  # starts 2026-01-01
    assert (cdr.tariff_id, str(cdr.gross)) == ("STD", "5.00")


async def test_cost_recompute_adds_a_revision_and_leaves_the_cdr(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CP1"))
    async with api_client(csms) as api:
        await api.post("/api/v1/tariffs", json={"id": "T", **energy("0.30")})
        await api.put("/api/v1/tariff-assignments/default", json={"tariff_id": "T"})
        tx = await stopped_session(csms, "TAG", 1)
        cdr = await wait_cdr(csms, tx)
        cost = (await api.get(f"/api/v1/transactions/{tx}/cost")).json()
        assert (cost["final"], cost["revision"], cost["breakdown"]["gross"]) == (True, 1, "3.00")
        await api.put("/api/v1/tariffs/T", json=energy("0.40"))
        await api.put("/api/v1/tariff-assignments/default", json={"tariff_id": "T"})
        again = (await api.get(f"/api/v1/transactions/{tx}/cost")).json()
        assert again["revision"] == 1  # no recompute asked
        # the session started before version 2 existed: a recompute still prices version 1...
        recomputed = (await api.get(f"/api/v1/transactions/{tx}/cost?recompute=true")).json()
        assert (recomputed["revision"], recomputed["tariff_version"]) == (2, 1)
        stored = (await api.get(f"/api/v1/cdrs/{tx}")).json()
        assert (stored["cost_revision"], stored["gross"]) == (1, "3.00")
        assert stored["issued_at"] == cdr.issued_at.isoformat().replace("+00:00", "Z")
        assert (await api.get("/api/v1/transactions/999/cost")).status_code == 404


async def test_a_recompute_uses_the_assignment_in_force_when_the_session_started(
    csms: Csms,
) -> None:
    """Assignment history: re-assigning a place prices the sessions that start afterwards, while
    a recompute of an older session keeps the tariff assigned at its start."""
    await csms.stations.create(StationSpec(id="CP1"))
    async with api_client(csms) as api:
        await api.post("/api/v1/tariffs", json={"id": "OLD", **energy("0.30")})
        await api.post("/api/v1/tariffs", json={"id": "NEW", **energy("0.50")})
        await api.put("/api/v1/tariff-assignments/stations/CP1", json={"tariff_id": "OLD"})
        before = await stopped_session(csms, "TAG", 1)
        assert (await wait_cdr(csms, before)).tariff_id == "OLD"
        await api.put("/api/v1/tariff-assignments/stations/CP1", json={"tariff_id": "NEW"})
        after = await stopped_session(csms, "TAG", 1)
        assert (await wait_cdr(csms, after)).tariff_id == "NEW"
        recomputed = (await api.get(f"/api/v1/transactions/{before}/cost?recompute=true")).json()
        assert (recomputed["revision"], recomputed["tariff_id"]) == (2, "OLD")
        assert recomputed["breakdown"]["gross"] == "3.00"
        # unassigned: a later session pays nothing, the earlier ones keep their tariffs
        gone = await api.delete("/api/v1/tariff-assignments/stations/CP1")
        assert gone.status_code == 204
        unpriced = await stopped_session(csms, "TAG", 1)
        assert (await wait_cdr(csms, unpriced)).tariff_id is None
        again = (await api.get(f"/api/v1/transactions/{after}/cost?recompute=true")).json()
        assert again["tariff_id"] == "NEW"
        history = await api.get(
            "/api/v1/tariff-assignments/history", params={"scope": "station", "target": "CP1"}
        )
        bad_scope = await api.get("/api/v1/tariff-assignments/history", params={"scope": "x"})
    assert history.status_code == 200, history.text
    periods = history.json()
    assert [p["tariff_id"] for p in periods] == ["OLD", "NEW"]
    assert periods[0]["valid_to"] == periods[1]["valid_from"]
    assert periods[1]["valid_to"] is not None  # closed by the unassignment
    assert bad_scope.status_code == 422
