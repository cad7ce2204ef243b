"""2.0.1 GetBaseReport / GetReport: answered, then NotifyReport in numbered parts (B07, B08)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import BackOffConfig, SimulatedStation, StationConfig
from tests.peers.ocpp_lib_csms import LibCsms


@pytest.fixture
async def peer() -> AsyncIterator[LibCsms]:
    async with LibCsms() as csms:
        yield csms


def config(peer: LibCsms) -> StationConfig:
    return StationConfig(
        id="REP-1",
        version=OcppVersion.V201,
        csms_url=peer.url,
        call_timeout=5.0,
        backoff=BackOffConfig(wait_minimum=0.1, random_range=0.0, repeat_times=1),
    )


async def test_full_inventory_in_parts(peer: LibCsms) -> None:
    async with SimulatedStation(config(peer)) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        assert st.device_model is not None
        st.device_model.set("DeviceDataCtrlr", "ItemsPerMessage", "10")
        total = len(st.device_model.items())
        answer = await peer.call(
            "REP-1", "GetBaseReport", {"requestId": 5, "reportBase": "FullInventory"}
        )
        assert answer == {"status": "Accepted"}
        parts_expected = -(-total // 10)
        parts = await peer.recorder.wait_for("REP-1", "NotifyReport", parts_expected)
    payloads = [p.payload for p in parts]
    assert [p["seqNo"] for p in payloads] == list(range(parts_expected))
    assert [p["tbc"] for p in payloads] == [True] * (parts_expected - 1) + [False]
    assert {p["requestId"] for p in payloads} == {5}
    reported = [
        (d["component"]["name"], d["variable"]["name"]) for p in payloads for d in p["reportData"]
    ]
    assert len(reported) == total
    assert ("OCPPCommCtrlr", "HeartbeatInterval") in reported
    assert peer.recorder.errors() == []


async def test_configuration_inventory_leaves_out_read_only(peer: LibCsms) -> None:
    async with SimulatedStation(config(peer)) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        await peer.call(
            "REP-1", "GetBaseReport", {"requestId": 1, "reportBase": "ConfigurationInventory"}
        )
        parts = await peer.recorder.wait_for(
            "REP-1", "NotifyReport", where=lambda r: not r.payload["tbc"]
        )
        summary = await peer.call(
            "REP-1", "GetBaseReport", {"requestId": 2, "reportBase": "SummaryInventory"}
        )
    data = [d for r in peer.recorder.of("REP-1", "NotifyReport") for d in r.payload["reportData"]]
    assert parts
    assert all(d["variableAttribute"][0]["mutability"] != "ReadOnly" for d in data)
    assert summary == {"status": "NotSupported"}


async def test_get_report_by_component_and_empty_result(peer: LibCsms) -> None:
    async with SimulatedStation(config(peer)) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        answer = await peer.call(
            "REP-1",
            "GetReport",
            {
                "requestId": 9,
                "componentVariable": [
                    {
                        "component": {"name": "OCPPCommCtrlr"},
                        "variable": {"name": "HeartbeatInterval"},
                    }
                ],
            },
        )
        assert answer == {"status": "Accepted"}
        [report] = await peer.recorder.wait_for("REP-1", "NotifyReport")
        empty = await peer.call(
            "REP-1",
            "GetReport",
            {"requestId": 10, "componentVariable": [{"component": {"name": "NoSuchCtrlr"}}]},
        )
    [entry] = report.payload["reportData"]
    assert entry["variable"] == {"name": "HeartbeatInterval"}
    assert entry["variableAttribute"][0]["value"] == str(st.heartbeat_interval)
    assert empty == {"status": "EmptyResultSet"}
