"""CSMS-initiated calls answered with the station's real state, and heartbeats."""

from __future__ import annotations

import orjson
import pytest

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from opencsms.errors import CallErrorResponse
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import SimulatedStation
from tests.simulator.helpers import sim_config


async def test_heartbeat_at_the_interval_the_csms_returned(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="HB1", heartbeat_interval=1))
    async with SimulatedStation(sim_config(csms, "HB1", OcppVersion.V201)) as st:
        assert st.heartbeat_interval == 1  # adopted from the BootNotification answer
        await st.wait_for(lambda s: s.heartbeats_sent >= 1, timeout=5)
        frames = await csms.audit.page("HB1", None, 50)
    assert any(f.action == "Heartbeat" and f.direction == "in" for f in frames)


async def test_trigger_status_notification_reports_current_status(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="TR1"))
    async with SimulatedStation(sim_config(csms, "TR1", OcppVersion.V16)) as st:
        await st.wait_for(lambda s: s.registration == "Accepted" and s.unsent_statuses == 0)
        await st.plug_in(1)
        assert st.status(1) == "Preparing"
        before = st.statuses_sent
        answer = await csms.call_station(
            "TR1", "TriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 1}
        )
        assert answer == {"status": "Accepted"}
        await st.wait_for(lambda s: s.statuses_sent == before + 1)
        stored = {s.evse_id: s.status for s in await csms.storage.status.for_station("TR1")}
        assert stored[1] == "Preparing"
        # ChangeAvailability changes the status and reports it.
        answer = await csms.call_station(
            "TR1", "ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}
        )
        assert answer == {"status": "Accepted"}
        await st.wait_for(lambda s: s.statuses_sent == before + 2)
        stored = {s.evse_id: s.status for s in await csms.storage.status.for_station("TR1")}
        assert stored[1] == "Unavailable"
        assert await csms.call_station("TR1", "ClearCache", {}) == {"status": "Accepted"}
        answer = await csms.call_station("TR1", "DataTransfer", {"vendorId": "X"})
        assert answer == {"status": "UnknownVendorId"}


async def test_v16_get_and_change_configuration(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CF1", heartbeat_interval=120))
    async with SimulatedStation(sim_config(csms, "CF1", OcppVersion.V16)) as st:
        answer = await csms.call_station(
            "CF1", "GetConfiguration", {"key": ["HeartbeatInterval", "NumberOfConnectors", "Nope"]}
        )
        assert answer["configurationKey"] == [
            {"key": "HeartbeatInterval", "readonly": False, "value": "120"},
            {"key": "NumberOfConnectors", "readonly": True, "value": "1"},
        ]
        assert answer["unknownKey"] == ["Nope"]
        change = {"key": "HeartbeatInterval", "value": "45"}
        assert await csms.call_station("CF1", "ChangeConfiguration", change) == {
            "status": "Accepted"
        }
        assert st.heartbeat_interval == 45
        readonly = {"key": "NumberOfConnectors", "value": "4"}
        assert await csms.call_station("CF1", "ChangeConfiguration", readonly) == {
            "status": "Rejected"
        }
        bad = {"key": "MeterValuesSampledData", "value": "Energy.Active.Import.Register,Bogus"}
        assert await csms.call_station("CF1", "ChangeConfiguration", bad) == {"status": "Rejected"}
        unknown = {"key": "Nope", "value": "1"}
        assert await csms.call_station("CF1", "ChangeConfiguration", unknown) == {
            "status": "NotSupported"
        }
        everything = await csms.call_station("CF1", "GetConfiguration", {})
        assert {k["key"] for k in everything["configurationKey"]} >= {"MeterValueSampleInterval"}


async def test_v201_get_and_set_variables(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="DM1"))
    async with SimulatedStation(sim_config(csms, "DM1", OcppVersion.V201)) as st:
        comm = {"name": "OCPPCommCtrlr"}
        result = await csms.call_station(
            "DM1",
            "SetVariables",
            {
                "setVariableData": [
                    {
                        "component": comm,
                        "variable": {"name": "HeartbeatInterval"},
                        "attributeValue": "90",
                    },
                    {
                        "component": {"name": "SecurityCtrlr"},
                        "variable": {"name": "Identity"},
                        "attributeValue": "X",
                    },
                    {
                        "component": {"name": "Nope"},
                        "variable": {"name": "A"},
                        "attributeValue": "1",
                    },
                ]
            },
        )
        statuses = [r["attributeStatus"] for r in result["setVariableResult"]]
        assert statuses == ["Accepted", "Rejected", "UnknownComponent"]
        assert st.heartbeat_interval == 90
        result = await csms.call_station(
            "DM1",
            "GetVariables",
            {
                "getVariableData": [
                    {"component": comm, "variable": {"name": "HeartbeatInterval"}},
                    {"component": comm, "variable": {"name": "Missing"}},
                    {
                        "component": {"name": "SampledDataCtrlr"},
                        "variable": {"name": "TxUpdatedMeasurands"},
                    },
                ]
            },
        )
        got = result["getVariableResult"]
        assert (got[0]["attributeStatus"], got[0]["attributeValue"]) == ("Accepted", "90")
        assert got[1]["attributeStatus"] == "UnknownVariable"
        assert "Energy.Active.Import.Register" in got[2]["attributeValue"]


async def test_unhandled_action_is_answered_not_supported(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="NS1"))
    async with SimulatedStation(sim_config(csms, "NS1", OcppVersion.V201)):
        connection = csms.registry.get("NS1")
        assert connection is not None
        await csms.call_station("NS1", "ClearCache", {})
        with pytest.raises(CallErrorResponse) as refused:
            # PublishFirmware is for local controllers (L03), not charging stations.
            await csms.call_station(
                "NS1",
                "PublishFirmware",
                {"location": "http://x/f.bin", "checksum": "0" * 32, "requestId": 1},
            )
        assert refused.value.error_code == "NotSupported"
        frames = await csms.audit.page("NS1", None, 10)
    errors = [orjson.loads(f.payload) for f in frames if f.message_type == 4]
    assert errors
    assert errors[0][2] == "NotSupported"
