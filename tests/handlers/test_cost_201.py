"""2.0.1 cost over the wire: CostUpdated during a session (I02), totalCost in the Ended answer
(I03) equal to the CDR, time-of-day prices and tax rounding."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from opencsms.domain.stations import StationSpec
from opencsms.domain.transaction_model import origin_key_201
from tests.handlers.builders import booted, register_201, tx_event
from tests.handlers.cost_helpers import AnsweringStation, default_tariff, wait_cdr
from tests.wire import api_client, raw_station, running_csms, settings_for

V201 = "ocpp2.0.1"
ENERGY_TARIFF = {
    "currency": "EUR",
    "tax_rate": "0.21",
    "elements": [{"components": [{"type": "ENERGY", "price": "0.30"}]}],
}


async def test_running_cost_and_total_cost_equal_to_the_cdr(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path, cost_updated_interval=0)) as csms:
        await csms.stations.create(StationSpec(id="CS1"))
        await default_tariff(csms, ENERGY_TARIFF)
        async with raw_station(csms, "CS1", V201) as raw:
            await booted(raw, V201)
            cs = AnsweringStation(raw)
            begin = register_201("2026-01-01T10:00:00Z", 1000, context="Transaction.Begin")
            await cs.result(
                "TransactionEvent",
                tx_event("Started", 0, trigger="CablePluggedIn", state="Charging", meter=[begin]),
            )
            first = await cs.next_call("CostUpdated")
            assert first == {"totalCost": 0.0, "transactionId": "TX-1"}
            periodic = register_201("2026-01-01T10:30:00Z", 6000)
            await cs.result(
                "TransactionEvent",
                tx_event(
                    "Updated",
                    1,
                    trigger="MeterValuePeriodic",
                    at="2026-01-01T10:30:00Z",
                    meter=[periodic],
                ),
            )
            # 5 kWh × 0.30 = 1.50 net; 21 % of it is 0.315 → 0.32 (half-even); 1.82 gross
            assert await cs.next_call("CostUpdated") == {"totalCost": 1.82, "transactionId": "TX-1"}
            end = register_201("2026-01-01T11:00:00Z", 11_000, context="Transaction.End")
            ended = await cs.result(
                "TransactionEvent",
                tx_event(
                    "Ended",
                    2,
                    trigger="EVDeparted",
                    at="2026-01-01T11:00:00Z",
                    state="Idle",
                    stopped_reason="EVDisconnected",
                    meter=[end],
                ),
            )
            assert ended == {"totalCost": 3.63}  # 10 kWh × 0.30 = 3.00 + 0.63
            assert not [c for c in cs.calls if c[0] == "CostUpdated"]  # none after the end
        tx = await csms.storage.transactions.by_origin("CS1", origin_key_201("TX-1"))
        assert tx is not None
        cdr = await wait_cdr(csms, tx.id)
        assert (cdr.net, cdr.tax, cdr.gross, cdr.currency) == (
            Decimal("3.00"),
            Decimal("0.63"),
            Decimal("3.63"),
            "EUR",
        )
        assert float(cdr.gross or 0) == ended["totalCost"]
        assert (cdr.tariff_id, cdr.tariff_version, cdr.energy_wh) == ("T1", 1, Decimal(10_000))


async def test_time_of_day_boundary_and_tax_over_the_wire(tmp_path: Path) -> None:
    """21:30-22:30 Amsterdam time (20:30Z-21:30Z) at 11 kW across a 22:00 night price."""
    async with running_csms(settings_for(tmp_path, cost_updates_enabled=False)) as csms:
        await csms.stations.create(StationSpec(id="CS1"))
        await default_tariff(
            csms,
            {
                "currency": "EUR",
                "time_zone": "Europe/Amsterdam",
                "tax_rate": "0.21",
                "elements": [
                    {
                        "components": [{"type": "ENERGY", "price": "0.20"}],
                        "restrictions": {"start_time": "22:00", "end_time": "07:00"},
                    },
                    {
                        "components": [
                            {"type": "ENERGY", "price": "0.40"},
                            {"type": "TIME", "price": "0.05"},
                        ]
                    },
                ],
            },
        )
        async with raw_station(csms, "CS1", V201) as raw:
            await booted(raw, V201)
            cs = AnsweringStation(raw)
            times = ["20:30", "20:45", "21:00", "21:15", "21:30"]
            for seq, hhmm in enumerate(times):
                context = (
                    "Transaction.Begin"
                    if seq == 0
                    else "Transaction.End"
                    if seq == 4
                    else "Sample.Periodic"
                )
                at = f"2026-01-05T{hhmm}:00Z"
                meter = [register_201(at, 2750 * seq, context=context)]
                kind = "Started" if seq == 0 else "Ended" if seq == 4 else "Updated"
                answer = await cs.result(
                    "TransactionEvent",
                    tx_event(
                        kind,
                        seq,
                        trigger="MeterValuePeriodic",
                        at=at,
                        state="Charging",
                        meter=meter,
                    ),
                )
            # 5.5 kWh × 0.40 + 5.5 kWh × 0.20 + 60 min × 0.05 = 2.20 + 1.10 + 3.00 = 6.30;
            # tax 1.323 → 1.32; gross 7.62
            assert answer == {"totalCost": 7.62}
            assert cs.calls == []  # cost_updates_enabled = false
        async with api_client(csms) as api:
            (item,) = (await api.get("/api/v1/transactions")).json()["items"]
            cost = (await api.get(f"/api/v1/transactions/{item['id']}/cost")).json()
        b = cost["breakdown"]
        assert (b["energy"], b["time"], b["net"], b["tax"], b["gross"]) == (
            "3.30",
            "3.00",
            "6.30",
            "1.32",
            "7.62",
        )
        assert [p["energy_price"] for p in b["periods"]] == ["0.40", "0.20"]


async def test_no_total_cost_without_a_tariff(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path, cost_updated_interval=0)) as csms:
        await csms.stations.create(StationSpec(id="CS1"))
        async with raw_station(csms, "CS1", V201) as raw:
            await booted(raw, V201)
            cs = AnsweringStation(raw)
            begin = register_201("2026-01-01T10:00:00Z", 1000, context="Transaction.Begin")
            await cs.result("TransactionEvent", tx_event("Started", 0, meter=[begin]))
            ended = await cs.result(
                "TransactionEvent", tx_event("Ended", 1, at="2026-01-01T10:10:00Z")
            )
            assert ended == {}
            assert cs.calls == []
        tx = await csms.storage.transactions.by_origin("CS1", origin_key_201("TX-1"))
        assert tx is not None
        cdr = await wait_cdr(csms, tx.id)
        assert (cdr.tariff_id, cdr.gross, cdr.energy_wh) == (None, None, Decimal(0))


async def test_resent_ended_event_gets_the_same_total(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path, cost_updates_enabled=False)) as csms:
        await csms.stations.create(StationSpec(id="CS1"))
        await default_tariff(csms, ENERGY_TARIFF)
        async with raw_station(csms, "CS1", V201) as raw:
            await booted(raw, V201)
            cs = AnsweringStation(raw)
            begin = register_201("2026-01-01T10:00:00Z", 0, context="Transaction.Begin")
            await cs.result("TransactionEvent", tx_event("Started", 0, meter=[begin]))
            end = register_201("2026-01-01T11:00:00Z", 2000, context="Transaction.End")
            ended = tx_event("Ended", 1, at="2026-01-01T11:00:00Z", meter=[end])
            first = await cs.result("TransactionEvent", ended)
            # the tariff changes; the answer to a resend still comes from the issued CDR
            await csms.tariffs.update("T1", {**ENERGY_TARIFF, "tax_rate": "0"})
            again = await cs.result("TransactionEvent", ended)
        assert first == again == {"totalCost": 0.73}  # 0.60 + 0.126 → 0.13
