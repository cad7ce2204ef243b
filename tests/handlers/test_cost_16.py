"""1.6 cost over the wire: the CDR of a session (energy, idle fee from energy flow and
StatusNotification), and the cost DataTransfer only when configured."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import event

from opencsms.domain.stations import StationSpec
from tests.handlers.builders import booted, meter_16, start_16, stop_16
from tests.handlers.cost_helpers import AnsweringStation, default_tariff, wait_cdr
from tests.wire import raw_station, running_csms, settings_for

V16 = "ocpp1.6"
IDLE_TARIFF = {
    "currency": "EUR",
    "idle_grace_minutes": 15,
    "elements": [
        {
            "components": [
                {"type": "ENERGY", "price": "0.30"},
                {"type": "PARKING_TIME", "price": "0.10"},
            ]
        }
    ],
}


def status(state: str, at: str) -> dict[str, object]:
    return {"connectorId": 1, "errorCode": "NoError", "status": state, "timestamp": at}


async def session(cs: AnsweringStation, *, with_status: bool) -> int:
    """10:00-11:30: 4 kWh until 10:45, nothing after; stopped at 11:30."""
    if with_status:
        await cs.result("StatusNotification", status("Charging", "2026-01-05T10:00:00Z"))
    started = await cs.result("StartTransaction", start_16(meter=1000, at="2026-01-05T10:00:00Z"))
    tx = int(started["transactionId"])
    for at, wh in (("10:30", "3000"), ("10:45", "5000"), ("11:00", "5000")):
        await cs.result("MeterValues", meter_16(tx, f"2026-01-05T{at}:00Z", wh))
    if with_status:
        await cs.result("StatusNotification", status("SuspendedEV", "2026-01-05T11:00:00Z"))
    await cs.result("StopTransaction", stop_16(tx, meter=5000, at="2026-01-05T11:30:00Z"))
    return tx


async def test_idle_fee_from_energy_flow(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path, cost_updated_interval=0)) as csms:
        await csms.stations.create(StationSpec(id="CP1"))
        await default_tariff(csms, IDLE_TARIFF)
        async with raw_station(csms, "CP1", V16) as raw:
            await booted(raw, V16)
            cs = AnsweringStation(raw)
            tx = await session(cs, with_status=False)
            cdr = await wait_cdr(csms, tx)
            assert cs.calls == []  # no DataTransfer unless configured
    # charging ended at 10:45 (last rise): 45 min idle - 15 grace = 30 min × 0.10 = 3.00;
    # 4 kWh × 0.30 = 1.20
    assert cdr.breakdown is not None
    assert (cdr.breakdown.energy, cdr.breakdown.parking) == (Decimal("1.20"), Decimal("3.00"))
    assert (cdr.net, cdr.gross, cdr.energy_wh) == (Decimal("4.20"), Decimal("4.20"), 4000)


async def test_idle_starts_at_the_later_status(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path)) as csms:
        await csms.stations.create(StationSpec(id="CP1"))
        await default_tariff(csms, IDLE_TARIFF)
        async with raw_station(csms, "CP1", V16) as raw:
            await booted(raw, V16)
            tx = await session(AnsweringStation(raw), with_status=True)
            cdr = await wait_cdr(csms, tx)
    # Charging until 11:00 (SuspendedEV): 30 min idle - 15 grace = 15 min × 0.10 = 1.50
    assert cdr.breakdown is not None
    assert cdr.breakdown.charging_ended_at.isoformat().startswith("2026-01-05T11:00:00")
    assert (cdr.breakdown.parking, cdr.net) == (Decimal("1.50"), Decimal("2.70"))


async def test_cost_data_transfer_when_configured(tmp_path: Path) -> None:
    vendor = "org.openchargealliance.costmsg"
    settings = settings_for(tmp_path, cost_updated_interval=0, cost_datatransfer_16=vendor)
    async with running_csms(settings) as csms:
        await csms.stations.create(StationSpec(id="CP1"))
        # energy only: "now" (the end of a running session) is months after these station times
        energy_only = {"components": [{"type": "ENERGY", "price": "0.30"}]}
        await default_tariff(
            csms, {"currency": "EUR", "tax_rate": "0.21", "elements": [energy_only]}
        )
        async with raw_station(csms, "CP1", V16) as raw:
            await booted(raw, V16)
            cs = AnsweringStation(raw, answer={"status": "Accepted"})
            started = await cs.result("StartTransaction", start_16(meter=1000))
            tx = int(started["transactionId"])
            await cs.result("MeterValues", meter_16(tx, "2026-01-01T10:30:00Z", "3000"))
            running = await cs.next_call("DataTransfer")
            while orjson.loads(running["data"])["meterValue"] == 0:  # the start's own push
                running = await cs.next_call("DataTransfer")
            assert (running["vendorId"], running["messageId"]) == (vendor, "RunningCost")
            data = orjson.loads(running["data"])
            # 2 kWh × 0.30 = 0.60 + 21 % = 0.726 → 0.73 (gross, as the station shows it)
            assert (data["transactionId"], data["cost"], data["meterValue"]) == (tx, 0.73, 2000)
            await cs.result("StopTransaction", stop_16(tx, meter=3000))
            final = await cs.next_call("DataTransfer")
            while final["messageId"] != "FinalCost":
                final = await cs.next_call("DataTransfer")
            assert orjson.loads(final["data"])["cost"] == 0.73
            assert orjson.loads(final["data"])["currency"] == "EUR"


@pytest.mark.parametrize("configured", [False, True])
async def test_running_cost_reads_sessions_only_when_it_can_be_sent(
    tmp_path: Path, configured: bool
) -> None:
    """1.6 has no CostUpdated: without ``cost_datatransfer_16`` no running cost can reach the
    station, so its meter values are not followed by reads of the session (measured: those reads
    cost a tenth of the event loop at 1,000 stations). With it, they are, every interval."""
    vendor = "org.openchargealliance.costmsg"
    extra = {"cost_datatransfer_16": vendor} if configured else {}
    async with running_csms(settings_for(tmp_path, cost_updated_interval=0, **extra)) as csms:
        await csms.stations.create(StationSpec(id="CP1"))
        await default_tariff(csms, IDLE_TARIFF)
        session_reads: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.lstrip().upper().startswith("SELECT") and "origin_key =" in statement:
                session_reads.append(statement)

        engine = csms.storage.engine.sync_engine
        async with raw_station(csms, "CP1", V16) as raw:
            await booted(raw, V16)
            cs = AnsweringStation(raw, answer={"status": "Accepted"})
            started = await cs.result("StartTransaction", start_16(meter=1000))
            tx = int(started["transactionId"])
            event.listen(engine, "before_cursor_execute", count)
            try:
                for minute, wh in (("10:30", "3000"), ("10:45", "5000")):
                    await cs.result("MeterValues", meter_16(tx, f"2026-01-01T{minute}:00Z", wh))
                await cs.result("StopTransaction", stop_16(tx, meter=5000))
                await wait_cdr(csms, tx)  # the cost subscriber has handled the meter values
            finally:
                event.remove(engine, "before_cursor_execute", count)
    if configured:
        assert session_reads  # the subscriber did handle the meter values, and read the session
    else:
        assert session_reads == []
        assert cs.calls == []
