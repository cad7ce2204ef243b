"""``/api/v1/cdrs`` over HTTP: list and filters, one CDR, CSV and OCPI 2.2.1 exports, and the
catch-up pass that issues CDRs of sessions that ended while nobody issued them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from opencsms.domain.transaction_model import Transaction, TransactionStatus
from opencsms.storage.store import Storage
from tests.handlers.builders import booted, start_16, stop_16
from tests.handlers.cost_helpers import AnsweringStation, default_tariff, wait_cdr
from tests.wire import api_client, fresh_database, raw_station, running_csms, settings_for

TARIFF = {
    "currency": "EUR",
    "tax_rate": "0.21",
    "elements": [
        {
            "components": [
                {"type": "ENERGY", "price": "0.30"},
                {"type": "TIME", "price": "0.01"},
                {"type": "FLAT", "price": "0.50"},
            ]
        }
    ],
}


async def two_sessions(csms: Csms) -> list[int]:
    ids = []
    for station, day in (("CP1", "01"), ("CP2", "02")):
        await csms.stations.create(StationSpec(id=station))
        async with raw_station(csms, station, "ocpp1.6") as raw:
            await booted(raw, "ocpp1.6")
            cs = AnsweringStation(raw)
            started = await cs.result(
                "StartTransaction", start_16("TAG", meter=0, at=f"2026-01-{day}T10:00:00Z")
            )
            tx = int(started["transactionId"])
            await cs.result(
                "StopTransaction", stop_16(tx, meter=10_000, at=f"2026-01-{day}T11:00:00Z")
            )
        ids.append(tx)
        await wait_cdr(csms, tx)
    return ids


async def test_list_filter_get(csms: Csms) -> None:
    await default_tariff(csms, TARIFF)
    first, second = await two_sessions(csms)
    async with api_client(csms) as api:
        page = (await api.get("/api/v1/cdrs")).json()
        assert [c["id"] for c in page["items"]] == [second, first]  # newest end first
        assert page["total"] == 2
        one = (await api.get("/api/v1/cdrs", params={"station_id": "CP1"})).json()
        assert [c["id"] for c in one["items"]] == [first]
        window = {"from": "2026-01-02T00:00:00Z", "to": "2026-01-03T00:00:00Z"}
        assert [
            c["id"] for c in (await api.get("/api/v1/cdrs", params=window)).json()["items"]
        ] == [second]
        cdr = (await api.get(f"/api/v1/cdrs/{first}")).json()
        # 10 kWh × 0.30 + 60 min × 0.01 + 0.50 = 4.10; 21 % = 0.861 → 0.86
        assert (cdr["net"], cdr["tax"], cdr["gross"], cdr["currency"]) == (
            "4.10",
            "0.86",
            "4.96",
            "EUR",
        )
        assert (cdr["breakdown"]["energy"], cdr["breakdown"]["time"], cdr["breakdown"]["flat"]) == (
            "3.00",
            "0.60",
            "0.50",
        )
        assert (await api.get("/api/v1/cdrs/424242")).status_code == 404
        bad = await api.get(
            "/api/v1/cdrs", params={"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}
        )
        assert bad.status_code == 422
        assert "before" in bad.json()["detail"]


async def test_csv_export(csms: Csms) -> None:
    await default_tariff(csms, TARIFF)
    first, second = await two_sessions(csms)
    async with api_client(csms) as api:
        response = await api.get("/api/v1/cdrs/export", params={"format": "csv"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(int(r["id"]), r["station_id"], r["gross"], r["energy_wh"]) for r in rows] == [
        (first, "CP1", "4.96", "10000.0"),
        (second, "CP2", "4.96", "10000.0"),
    ]
    assert rows[0]["charging_seconds"] == "3600.000000"


async def test_ocpi_export(csms: Csms) -> None:
    await default_tariff(csms, TARIFF)
    first, _second = await two_sessions(csms)
    async with api_client(csms) as api:
        response = await api.get(
            "/api/v1/cdrs/export",
            params={"format": "ocpi", "station_id": "CP1", "country_code": "NL", "party_id": "ABC"},
        )
        bad_owner = await api.get("/api/v1/cdrs/export", params={"format": "ocpi", "party_id": "x"})
    assert bad_owner.status_code == 422
    (cdr,) = response.json()
    assert (cdr["country_code"], cdr["party_id"], cdr["id"]) == ("NL", "ABC", str(first))
    assert (cdr["start_date_time"], cdr["end_date_time"]) == (
        "2026-01-01T10:00:00.000Z",
        "2026-01-01T11:00:00.000Z",
    )
    assert cdr["cdr_token"]["uid"] == "TAG"
    assert cdr["cdr_location"]["id"] == "CP1"
    assert (cdr["currency"], cdr["total_energy"], cdr["total_time"]) == ("EUR", 10.0, 1.0)
    assert cdr["total_cost"] == {"excl_vat": 4.1, "incl_vat": 4.96}
    assert cdr["total_energy_cost"] == {"excl_vat": 3.0, "incl_vat": 3.63}
    # 0.50 × 1.21 = 0.605 → 0.60 (half-even)
    assert cdr["total_fixed_cost"] == {"excl_vat": 0.5, "incl_vat": 0.6}
    assert cdr["total_parking_time"] == 0.0
    (period,) = cdr["charging_periods"]
    assert period["dimensions"] == [
        {"type": "ENERGY", "volume": 10.0},
        {"type": "TIME", "volume": 1.0},
    ]
    (tariff,) = cdr["tariffs"]
    prices = {c["type"]: (c["price"], c["vat"]) for c in tariff["elements"][0]["price_components"]}
    assert prices == {
        "ENERGY": (0.3, 21.0),
        "TIME": (0.6, 21.0),
        "FLAT": (0.5, 21.0),
    }  # TIME per hour
    assert cdr["last_updated"].endswith("Z")


async def test_catch_up_issues_cdrs_of_sessions_nobody_issued(tmp_path: Path) -> None:
    """A session finished in the database without a CDR (ended while the CSMS was down, or
    stored by a version without billing) gets one when the CSMS starts."""
    url = fresh_database(tmp_path / "csms.db")
    now = datetime(2026, 1, 5, 12, tzinfo=UTC)
    async with await Storage.open(url, sqlite_process=False) as storage:

        def build(new_id: int) -> Transaction:
            return Transaction(
                id=new_id,
                station_id="CP9",
                ocpp_version="1.6",
                transaction_id=str(new_id),
                origin_key="start16|imported",
                status=TransactionStatus.COMPLETED,
                evse_id=1,
                connector_id=1,
                started_at=datetime(2026, 1, 5, 10, tzinfo=UTC),
                stopped_at=datetime(2026, 1, 5, 11, tzinfo=UTC),
                meter_start_wh=0.0,
                meter_stop_wh=2000.0,
                energy_wh=2000.0,
                created_at=now,
                updated_at=now,
            )

        tx, _fresh = await storage.transactions.create(build)
    async with running_csms(settings_for(tmp_path, db=url)) as csms:
        cdr = await wait_cdr(csms, tx.id)
        assert (cdr.tariff_id, cdr.energy_wh, cdr.gross) == (None, 2000, None)
        await default_tariff(csms, TARIFF)
    async with running_csms(settings_for(tmp_path, db=url)) as csms:  # issued once, kept
        again = await wait_cdr(csms, tx.id)
        assert again == cdr
