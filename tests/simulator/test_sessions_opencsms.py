"""Full charging sessions of the simulator against OpenCSMS, read back through the operator API:
the transaction the CSMS recorded has the simulator's token, times, reason and energy."""

from __future__ import annotations

from typing import Any

import pytest

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import SimulatedStation
from opencsms.simulator.authorization import AuthEntry
from opencsms.simulator.sessions import NotAuthorizedError
from tests.simulator.helpers import ManualClock, sim_config
from tests.wire import api_client

VERSIONS = [OcppVersion.V16, OcppVersion.V201]


async def add_token(csms: Csms, token: str, status: str = "Accepted") -> None:
    async with api_client(csms) as api:
        response = await api.post(
            "/api/v1/id-tokens",
            json={
                "id_token": token,
                "type": "ISO14443",
                "status": status,
                "expires_at": None,
                "group_id": None,
            },
        )
    assert response.status_code == 201, response.text


async def transactions(csms: Csms, station: str) -> list[dict[str, Any]]:
    async with api_client(csms) as api:
        response = await api.get("/api/v1/transactions", params={"station_id": station})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.mark.parametrize("version", VERSIONS)
async def test_session_recorded_with_its_energy(csms: Csms, version: OcppVersion) -> None:
    station_id = f"SESS-{version.name}"
    await csms.stations.create(StationSpec(id=station_id))
    await add_token(csms, "DRIVER-1")
    clock = ManualClock()
    async with SimulatedStation(sim_config(csms, station_id, version), clock=clock) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        tx = await st.start_transaction(1, "DRIVER-1")
        assert tx.status == "Accepted"  # the CSMS's answer to the start
        clock.advance(600)  # ten minutes at 11 kW: about 1.8 kWh
        await st.sessions.send_meter(tx, "Sample.Periodic", "MeterValuePeriodic")
        clock.advance(600)
        await st.stop_transaction(1)
        await st.unplug(1)
        stop_register = st.meter(1).energy_wh
    [recorded] = await transactions(csms, station_id)
    assert recorded["status"] == "Completed"
    assert recorded["id_token"] == "DRIVER-1"
    assert recorded["stop_reason"] == "Local"
    assert recorded["evse_id"] == 1
    assert recorded["stopped_at"] is not None
    if version is OcppVersion.V16:
        assert recorded["transaction_id"] == tx.id
        # 1.6 meterStart/meterStop are integer Wh registers.
        expected = int(stop_register) - int(tx.meter_start_wh)
    else:
        assert recorded["transaction_id"] == tx.id
        expected = round(stop_register, 3) - round(tx.meter_start_wh, 3)
    assert recorded["energy_wh"] == pytest.approx(expected, abs=0.01)
    assert recorded["energy_wh"] > 3000  # 20 minutes at 11 kW


@pytest.mark.parametrize("version", VERSIONS)
async def test_unknown_and_blocked_tokens_are_refused(csms: Csms, version: OcppVersion) -> None:
    station_id = f"AUTH-{version.name}"
    await csms.stations.create(StationSpec(id=station_id))
    await add_token(csms, "STOLEN-CARD", status="Blocked")
    async with SimulatedStation(sim_config(csms, station_id, version)) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        with pytest.raises(NotAuthorizedError) as unknown:
            await st.start_transaction(1, "NEVER-SEEN")
        with pytest.raises(NotAuthorizedError) as blocked:
            await st.start_transaction(1, "STOLEN-CARD")
    assert unknown.value.status == "Invalid"
    assert blocked.value.status == "Blocked"
    assert await transactions(csms, station_id) == []


@pytest.mark.parametrize("version", VERSIONS)
async def test_offline_session_arrives_once_and_complete(csms: Csms, version: OcppVersion) -> None:
    """A session run during a network outage (local list) reaches the CSMS afterwards, with
    duplicates sent on top: the CSMS records it once, completed, with the right energy."""
    station_id = f"OFF-{version.name}"
    await csms.stations.create(StationSpec(id=station_id))
    await add_token(csms, "DRIVER-2")
    clock = ManualClock()
    async with SimulatedStation(sim_config(csms, station_id, version), clock=clock) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        st.sessions.auth.entries["DRIVER-2"] = AuthEntry("Accepted")  # on the local list
        st.faults.duplicate_transaction_messages = True
        await st.go_offline()
        tx = await st.start_transaction(1, "DRIVER-2")
        clock.advance(900)
        await st.sessions.send_meter(tx, "Sample.Periodic", "MeterValuePeriodic")
        await st.stop_transaction(1)
        stop_register = st.meter(1).energy_wh
        st.go_online()
        await st.wait_for(lambda s: s.queued == 0 and s.connected)
    [recorded] = await transactions(csms, station_id)
    assert recorded["status"] == "Completed"
    assert recorded["transaction_id"] == tx.id
    if version is OcppVersion.V16:
        expected = int(stop_register) - int(tx.meter_start_wh)
    else:
        expected = round(stop_register, 3) - round(tx.meter_start_wh, 3)
    assert recorded["energy_wh"] == pytest.approx(expected, abs=0.01)
