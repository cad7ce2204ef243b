"""The simulator's ISO 15118 EVs and external limits against OpenCSMS (2.0.1 K12, K13, K15,
K17): the EV's needs arrive after the transaction starts, are stored and listed by the API; a
TxProfile for the transaction makes the EV choose a schedule within it, which the CSMS accepts;
external limits set and cleared through the station show up in the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opencsms.app import Csms
from opencsms.clock import utc_iso
from opencsms.domain.stations import StationSpec
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import EvModel, Iso15118Config, SimulatedStation
from tests.simulator.helpers import sim_config
from tests.simulator.test_sessions_opencsms import add_token
from tests.wire import api_client


async def api_get(csms: Csms, path: str, **params: Any) -> Any:
    async with api_client(csms) as api:
        response = await api.get(f"/api/v1{path}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("version", [OcppVersion.V201, OcppVersion.V21])
async def test_needs_then_tx_profile_then_ev_schedule(csms: Csms, version: OcppVersion) -> None:
    station_id = f"ISO-{version.name}"
    await csms.stations.create(StationSpec(id=station_id))
    await add_token(csms, "DRIVER-1")
    config = sim_config(csms, station_id, version, iso15118=Iso15118Config(departure_s=7200))
    async with SimulatedStation(config) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        ev = EvModel(battery_wh=50_000.0, soc=40.0, max_power_w=6_900.0)
        await st.plug_in(1, ev)
        tx = await st.start_transaction(1, "DRIVER-1")
        exchange = st.iso15118.exchange(1)
        await st.wait_for(lambda _s: bool(exchange.needs_answers))
        assert exchange.needs_answers == [{"status": "Accepted"}]

        (needs,) = await api_get(csms, f"/stations/{station_id}/ev-charging-needs")
        assert (needs["evse_id"], needs["transaction_id"], needs["status"]) == (
            1,
            tx.id,
            "Accepted",
        )
        assert needs["requested_energy_transfer"] == "AC_three_phase"
        # 60 % of 50 kWh at plug-in, less what the EV took before the station sent its needs
        # (the transaction runs meanwhile): between that and what it still needs now.
        st.meter(1).advance(st.clock.monotonic())
        still_needed = (100.0 - ev.soc) / 100.0 * ev.battery_wh
        assert round(still_needed) <= needs["energy_amount_wh"] <= 30_000.0
        assert (needs["ac_min_current_a"], needs["ac_max_current_a"]) == (6.0, 10.0)
        assert needs["max_schedule_tuples"] == 24
        stored = await csms.ev_charging.latest_needs(station_id, 1)
        assert stored is not None
        assert stored.departure_time is not None

        # The CSMS answers with a TxProfile (here through the API): the EV picks its schedule.
        begin = utc_iso(datetime.now(UTC) - timedelta(seconds=5))
        profile = {
            "id": 77,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Absolute",
            "transactionId": tx.id,
            "chargingSchedule": [
                {
                    "id": 3,
                    "chargingRateUnit": "A",
                    "startSchedule": begin,
                    "duration": 7200,
                    "chargingSchedulePeriod": [
                        {"startPeriod": 0, "limit": 16.0},
                        {"startPeriod": 1800, "limit": 8.0},
                    ],
                }
            ],
        }
        async with api_client(csms) as api:
            set_it = await api.post(
                f"/api/v1/stations/{station_id}/charging-profiles",
                json={"evse_id": 1, "charging_profile": profile},
            )
        assert set_it.status_code == 200, set_it.text
        await st.wait_for(lambda _s: bool(exchange.schedule_answers))
        assert exchange.schedule_answers == [{"status": "Accepted"}]
        sent = exchange.schedules_sent[0]["chargingSchedule"]
        limits = [p["limit"] for p in sent["chargingSchedulePeriod"]]
        # The EV's 10 A, then the profile's 8 A (its last seconds: unlimited, the EV's 10 A).
        assert limits[:2] == [10.0, 8.0]

        (record,) = await api_get(csms, f"/stations/{station_id}/ev-charging-schedules")
        assert (record["within_limits"], record["transaction_id"]) == (True, tx.id)
        assert record["schedule"] == sent


async def test_dc_needs_and_rejection_without_transaction(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="ISO-DC"))
    config = sim_config(csms, "ISO-DC", iso15118=Iso15118Config(dc=True, dc_voltage_v=800.0))
    async with SimulatedStation(config) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        await st.plug_in(1, EvModel(battery_wh=80_000.0, soc=25.0, max_power_w=150_000.0))
        # Sent outside a transaction (e.g. a station that reports before it starts one).
        answer = await st.call("NotifyEVChargingNeeds", st.iso15118.needs_payload(1))
        assert answer["status"] == "Rejected"
        assert answer["statusInfo"]["reasonCode"] == "TxNotFound"
    (needs,) = await api_get(csms, "/stations/ISO-DC/ev-charging-needs")
    assert (needs["status"], needs["reason"]) == ("Rejected", "TxNotFound")
    assert needs["requested_energy_transfer"] == "DC"
    assert (needs["dc_max_power_w"], needs["dc_max_voltage_v"], needs["state_of_charge"]) == (
        150_000.0,
        800.0,
        25,
    )
    assert needs["energy_amount_wh"] == 60_000.0


async def test_external_limit_set_and_cleared_through_the_station(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="ISO-EMS"))
    async with SimulatedStation(sim_config(csms, "ISO-EMS")) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        schedule = {
            "id": 1,
            "chargingRateUnit": "W",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7000.0}],
        }
        answer = await st.iso15118.notify_charging_limit(
            "EMS", evse=1, grid_critical=True, schedules=[schedule]
        )
        assert answer == {}
        (limit,) = await api_get(csms, "/stations/ISO-EMS/charging-limits")
        assert (limit["source"], limit["evse_id"], limit["limit_w"]) == ("EMS", 1, 7000.0)
        assert limit["grid_critical"] is True
        assert await st.iso15118.cleared_charging_limit("EMS", evse=1) == {}
        assert await api_get(csms, "/stations/ISO-EMS/charging-limits") == []
        history = await api_get(csms, "/stations/ISO-EMS/charging-limits", all="true")
        assert [h["state"] for h in history] == ["cleared"]
