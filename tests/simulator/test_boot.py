"""Boot sequence against a real CSMS: Accepted on every version, Pending then Accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencsms.app import Csms
from opencsms.domain.model import RegistrationStatus
from opencsms.domain.stations import StationSpec
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import EvseConfig, SimulatedStation
from tests.simulator.helpers import sim_config
from tests.wire import running_csms, settings_for


@pytest.mark.parametrize("version", list(OcppVersion))
async def test_boot_accepted_then_status_per_connector(csms: Csms, version: OcppVersion) -> None:
    await csms.stations.create(StationSpec(id="SIM1", password="a-long-password-123"))
    cfg = sim_config(
        csms,
        "SIM1",
        version,
        evses=(EvseConfig(), EvseConfig(max_power_w=7_400, phases=1)),
        password="a-long-password-123",
    )
    async with SimulatedStation(cfg) as st:
        await st.wait_for(lambda s: s.registration == "Accepted" and s.unsent_statuses == 0)
        stored = await csms.storage.status.for_station("SIM1")
        station = await csms.storage.stations.get("SIM1")
    # 1.6 also reports connector 0 (the charge point itself, 1.6 §4.9).
    expected = {(0, 0), (1, 1), (2, 1)} if version is OcppVersion.V16 else {(1, 1), (2, 1)}
    assert {(s.evse_id, s.connector_id) for s in stored} == expected
    assert {s.status for s in stored} == {"Available"}
    assert station is not None
    assert station.boot is not None
    assert station.boot.vendor == "OpenCSMS"
    assert station.ocpp_version == version.value
    assert st.boot_attempts == 1


async def test_pending_station_retries_then_accepted_on_trigger(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path, boot_retry_interval=1)) as csms:
        await csms.stations.create(StationSpec(id="SIM2", registration=RegistrationStatus.PENDING))
        async with SimulatedStation(sim_config(csms, "SIM2", OcppVersion.V16)) as st:
            assert st.registration == "Pending"
            await st.wait_for(lambda s: s.boot_attempts >= 2)  # retried after the interval
            await csms.stations.update("SIM2", {"registration": RegistrationStatus.ACCEPTED})
            answer = await csms.call_station(
                "SIM2", "TriggerMessage", {"requestedMessage": "BootNotification"}
            )
            assert answer == {"status": "Accepted"}
            await st.wait_for(lambda s: s.registration == "Accepted" and s.unsent_statuses == 0)
            frames = await csms.audit.page("SIM2", None, 100)
    calls_in = [f.action for f in reversed(frames) if f.direction == "in" and f.message_type == 2]
    first_other = next(i for i, a in enumerate(calls_in) if a != "BootNotification")
    # While Pending the station sent nothing but BootNotification (1.6 §4.2, B02).
    assert calls_in[:first_other].count("BootNotification") >= 3
    assert calls_in[first_other] == "StatusNotification"
    assert [c.action for c in st.received] == ["TriggerMessage"]


async def test_reset_reboots_with_a_new_boot_notification(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="SIM3"))
    async with SimulatedStation(sim_config(csms, "SIM3", OcppVersion.V201)) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        # Counted from here: on a loaded machine the first boot may itself have been retried.
        boots_before, connections_before = st.boots_answered, st.connections
        answer = await csms.call_station("SIM3", "Reset", {"type": "Immediate"})
        assert answer == {"status": "Accepted"}
        # Answered, not only sent: the CSMS has read (and logged) the new BootNotification.
        await st.wait_for(
            lambda s: s.boots_answered == boots_before + 1 and s.registration == "Accepted"
        )
        assert st.connections == connections_before + 1
        frames = await csms.audit.page("SIM3", None, 100)
    boots = [f.payload for f in frames if f.action == "BootNotification" and f.message_type == 2]
    assert any('"RemoteReset"' in p for p in boots)
