"""Meter values reach the CSMS store; after a dropped connection queued ones arrive in order."""

from __future__ import annotations

import orjson
import pytest

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import SimulatedStation
from tests.simulator.helpers import ManualClock, sim_config


@pytest.mark.parametrize("version", [OcppVersion.V16, OcppVersion.V201])
async def test_meter_values_are_stored(csms: Csms, version: OcppVersion) -> None:
    await csms.stations.create(StationSpec(id="MV1"))
    clock = ManualClock()
    async with SimulatedStation(sim_config(csms, "MV1", version), clock=clock) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        await st.plug_in(1)
        clock.advance(3600)  # one hour at 11 kW
        message = await st.send_meter_values(1)
        assert await message.delivered == {}
        records = await csms.storage.meter.for_station("MV1")
    assert len(records) == 1
    samples = {
        (s["measurand"], s.get("phase")): float(s["value"])
        for s in orjson.loads(records[0].samples_json)
    }
    assert samples[("Energy.Active.Import.Register", None)] == pytest.approx(11_000)
    assert samples[("Power.Active.Import", None)] == pytest.approx(11_000)
    assert samples[("Current.Import", "L2")] == pytest.approx(11_000 / 690, rel=1e-3)
    assert samples[("Voltage", "L1-N")] == 230
    assert samples[("SoC", None)] == pytest.approx(20 + 11_000 / 60_000 * 100, rel=1e-3)


async def test_reconnect_delivers_queued_meter_values_in_order(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="RC1"))
    clock = ManualClock()
    async with SimulatedStation(sim_config(csms, "RC1", OcppVersion.V201), clock=clock) as st:
        await st.wait_for(lambda s: s.registration == "Accepted" and s.unsent_statuses == 0)
        await st.plug_in(1)
        connection = csms.registry.get("RC1")
        assert connection is not None
        await connection.close()
        await st.wait_for(lambda s: not s.connected)
        queued = []
        for _ in range(3):  # the back-off (0.5 s) keeps the station offline meanwhile
            clock.advance(600)
            queued.append(await st.send_meter_values(1))
        assert all(m.queued_offline for m in queued)
        for message in queued:
            assert await message.delivered == {}
        assert st.connections == 2
        assert st.boot_attempts == 1  # OCPP-J 2.0.1 §5.3: no new boot on a mere reconnect
        records = await csms.storage.meter.for_station("RC1")
    energies = sorted(
        float(s["value"])
        for r in records
        for s in orjson.loads(r.samples_json)
        if s["measurand"] == "Energy.Active.Import.Register"
    )
    assert energies == pytest.approx([11_000 / 6, 2 * 11_000 / 6, 3 * 11_000 / 6])
