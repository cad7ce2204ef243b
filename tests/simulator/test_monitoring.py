"""2.0.1/2.1 monitoring (N02-N07) of a simulated station, over the real wire.

The station talks to the scripted CSMS (``CsmsPeer``, which answers every notification) and, once,
to the ``ocpp``-library CSMS, whose own schemas check the station's answers and NotifyEvent.
Monitors fire from real value changes: SetVariables from the CSMS, or the station's own state.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from opencsms.errors import CallErrorResponse
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import BackOffConfig, SimulatedStation, StationConfig
from opencsms.simulator.monitoring import SET_ITEMS_PER_MESSAGE, monitoring
from tests.peers.ocpp_lib_csms import LibCsms
from tests.simulator.csms_peer import CsmsPeer
from tests.simulator.helpers import ManualClock

Payload = dict[str, Any]


@pytest.fixture
async def peer() -> AsyncIterator[CsmsPeer]:
    async with CsmsPeer(OcppVersion.V201) as csms:
        yield csms


def monitor(
    component: str,
    variable: str,
    kind: str,
    value: float,
    severity: int = 5,
    **extra: Any,
) -> Payload:
    return {
        "component": {"name": component},
        "variable": {"name": variable},
        "type": kind,
        "value": value,
        "severity": severity,
        **extra,
    }


def set_variable(component: str, variable: str, value: str) -> Payload:
    return {
        "setVariableData": [
            {
                "component": {"name": component},
                "variable": {"name": variable},
                "attributeValue": value,
            }
        ]
    }


def quick(st: SimulatedStation) -> SimulatedStation:
    """Evaluate the station's monitors every 20 ms instead of every 0.5 s (faster tests)."""
    monitoring(st).interval = 0.02
    return st


async def install(peer: CsmsPeer, *items: Payload) -> list[Payload]:
    answer = await peer.call("SetVariableMonitoring", {"setMonitoringData": list(items)})
    results: list[Payload] = answer["setMonitoringResult"]
    return results


async def heartbeat_interval(peer: CsmsPeer, seconds: int) -> None:
    answer = await peer.call(
        "SetVariables", set_variable("OCPPCommCtrlr", "HeartbeatInterval", str(seconds))
    )
    assert answer["setVariableResult"][0]["attributeStatus"] == "Accepted"


async def next_events(peer: CsmsPeer) -> list[Payload]:
    call = await peer.next_call("NotifyEvent", timeout=5.0)
    assert call.payload["seqNo"] == 0
    events: list[Payload] = call.payload["eventData"]
    return events


# ------------------------------------------------------------------------ N04 / N06


async def test_set_and_clear_monitors_answer_every_status(peer: CsmsPeer) -> None:
    async with SimulatedStation(peer.station_config("MON-1")) as st:
        results = await install(
            peer,
            monitor("OCPPCommCtrlr", "HeartbeatInterval", "UpperThreshold", 600),
            monitor("OCPPCommCtrlr", "HeartbeatInterval", "UpperThreshold", 700),  # same severity
            monitor("NoSuchCtrlr", "Enabled", "Delta", 1),
            monitor("OCPPCommCtrlr", "NoSuchVariable", "Delta", 1),
            monitor("AuthCacheCtrlr", "Enabled", "UpperThreshold", 1),  # a boolean
            monitor("OCPPCommCtrlr", "HeartbeatInterval", "Delta", -5),
            monitor("OCPPCommCtrlr", "HeartbeatInterval", "Periodic", 0),
            monitor("OCPPCommCtrlr", "HeartbeatInterval", "Delta", 5, severity=12),
            monitor("OCPPCommCtrlr", "HeartbeatInterval", "Delta", 5, id=999),  # never assigned
            monitor("OCPPCommCtrlr", "HeartbeatInterval", "Delta", 5, id=2),  # another variable's
            monitor("ChargingStation", "Power", "UpperThreshold", 1, id=1),  # hard-wired
            monitor("OCPPCommCtrlr", "HeartbeatInterval", "Delta", 5, severity=0),
        )
        assert [r["status"] for r in results] == [
            "Accepted",
            "Duplicate",
            "UnknownComponent",
            "UnknownVariable",
            "UnsupportedMonitorType",
            "Rejected",
            "Rejected",
            "Rejected",
            "Rejected",
            "Rejected",
            "Rejected",
            "Accepted",
        ]
        first, last = results[0]["id"], results[-1]["id"]
        assert first not in (1, 2)  # the station's own monitors
        assert last == first + 1
        assert all("id" not in r for r in results[1:-1])  # an id only with Accepted
        assert results[2]["component"] == {"name": "NoSuchCtrlr"}

        # Replacing by id keeps the id and takes the new settings (N04).
        [replaced] = await install(
            peer, monitor("OCPPCommCtrlr", "HeartbeatInterval", "UpperThreshold", 900, id=first)
        )
        assert (replaced["status"], replaced["id"]) == ("Accepted", first)
        installed = {m.id: m for m in monitoring(st).monitors()}
        assert installed[first].value == 900
        assert installed[1].kind == "HardWiredMonitor"

        answer = await peer.call("ClearVariableMonitoring", {"id": [first, 1, 4242]})
        assert answer["clearMonitoringResult"] == [
            {"id": first, "status": "Accepted"},
            {"id": 1, "status": "Rejected"},
            {"id": 4242, "status": "NotFound"},
        ]
        assert first not in {m.id for m in monitoring(st).monitors()}

        too_many = [
            monitor("OCPPCommCtrlr", "HeartbeatInterval", "Delta", n)
            for n in range(SET_ITEMS_PER_MESSAGE + 1)
        ]
        with pytest.raises(CallErrorResponse) as refused:  # N04.FR.09
            await install(peer, *too_many)
        assert refused.value.error_code == "OccurrenceConstraintViolation"


# ------------------------------------------------------------------------------ N07


async def test_threshold_alerts_and_clears_after_set_variables(peer: CsmsPeer) -> None:
    async with SimulatedStation(peer.station_config("MON-2")) as st:
        quick(st)
        [result] = await install(
            peer, monitor("OCPPCommCtrlr", "HeartbeatInterval", "UpperThreshold", 600)
        )
        await heartbeat_interval(peer, 900)
        [alert] = await next_events(peer)
        assert alert["trigger"] == "Alerting"
        assert alert["actualValue"] == "900"
        assert alert["variableMonitoringId"] == result["id"]
        assert alert["eventNotificationType"] == "CustomMonitor"
        assert alert["component"] == {"name": "OCPPCommCtrlr"}
        assert "cleared" not in alert
        assert "severity" not in alert  # 2.0.1 EventDataType has none

        await heartbeat_interval(peer, 300)
        [back] = await next_events(peer)
        assert (back["trigger"], back["actualValue"], back["cleared"]) == ("Alerting", "300", True)
        assert back["eventId"] > alert["eventId"]


async def test_delta_monitors_follow_the_last_reported_value(peer: CsmsPeer) -> None:
    async with SimulatedStation(peer.station_config("MON-3")) as st:
        quick(st)
        await install(
            peer,
            monitor("SampledDataCtrlr", "TxUpdatedInterval", "Delta", 10),
            monitor("AuthCacheCtrlr", "Enabled", "Delta", 0),
        )
        for value in ("65", "80"):  # 60 → 65 is within the delta, 80 is not
            await peer.call(
                "SetVariables", set_variable("SampledDataCtrlr", "TxUpdatedInterval", value)
            )
        [first] = await next_events(peer)
        assert (first["trigger"], first["actualValue"]) == ("Delta", "80")
        # From 80 on: 85 is within, 69 is not (it would be within 10 of the old 60).
        for value in ("85", "69"):
            await peer.call(
                "SetVariables", set_variable("SampledDataCtrlr", "TxUpdatedInterval", value)
            )
        [second] = await next_events(peer)
        assert second["actualValue"] == "69"

        # A boolean has no size: any change is a delta (N07.FR.19).
        await peer.call("SetVariables", set_variable("AuthCacheCtrlr", "Enabled", "false"))
        [flag] = await next_events(peer)
        assert (flag["variable"], flag["actualValue"]) == ({"name": "Enabled"}, "false")


async def test_periodic_monitor_reports_every_interval(peer: CsmsPeer) -> None:
    async with SimulatedStation(peer.station_config("MON-4")):
        [result] = await install(peer, monitor("ChargingStation", "Power", "Periodic", 1))
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with asyncio.timeout(2.5):
            first = await next_events(peer)
            second = await next_events(peer)
        elapsed = loop.time() - started
    assert elapsed >= 1.9  # one per second, not a burst
    for [event] in (first, second):
        assert event["trigger"] == "Periodic"
        assert event["actualValue"] == "0"  # nothing is charging
        assert event["variableMonitoringId"] == result["id"]


async def test_clock_aligned_monitor_follows_the_station_clock(peer: CsmsPeer) -> None:
    clock = ManualClock()  # 12:00:00 UTC
    async with SimulatedStation(peer.station_config("MON-5"), clock=clock) as st:
        quick(st)
        aligned, marker = await install(
            peer,
            monitor("OCPPCommCtrlr", "HeartbeatInterval", "PeriodicClockAligned", 60),
            monitor("AuthCacheCtrlr", "Enabled", "Delta", 0),
        )
        clock.advance(59)
        # The marker's event proves an evaluation at 12:00:59, where nothing else was due.
        await peer.call("SetVariables", set_variable("AuthCacheCtrlr", "Enabled", "false"))
        first = await next_events(peer)
        assert [e["variableMonitoringId"] for e in first] == [marker["id"]]
        clock.advance(1)  # 12:01:00, the first multiple of 60 s since midnight
        [event] = await next_events(peer)
    assert event["timestamp"] == "2025-01-01T12:01:00.000Z"
    assert (event["trigger"], event["variableMonitoringId"]) == ("Periodic", aligned["id"])


async def test_monitoring_level_filters_by_severity(peer: CsmsPeer) -> None:
    async with SimulatedStation(peer.station_config("MON-6")) as st:
        quick(st)
        assert await peer.call("SetMonitoringLevel", {"severity": 10}) == {"status": "Rejected"}
        assert await peer.call("SetMonitoringLevel", {"severity": 4}) == {"status": "Accepted"}
        level = await peer.call(
            "GetVariables",
            {
                "getVariableData": [
                    {
                        "component": {"name": "MonitoringCtrlr"},
                        "variable": {"name": "ActiveMonitoringLevel"},
                    }
                ]
            },
        )
        assert level["getVariableResult"][0]["attributeValue"] == "4"
        quiet, loud = await install(
            peer,
            monitor("OCPPCommCtrlr", "HeartbeatInterval", "UpperThreshold", 600, severity=7),
            monitor("OCPPCommCtrlr", "HeartbeatInterval", "UpperThreshold", 700, severity=2),
        )
        await heartbeat_interval(peer, 900)
        assert [e["variableMonitoringId"] for e in await next_events(peer)] == [loud["id"]]
        await heartbeat_interval(peer, 300)
        assert [e["variableMonitoringId"] for e in await next_events(peer)] == [loud["id"]]

        assert await peer.call("SetMonitoringLevel", {"severity": 9}) == {"status": "Accepted"}
        await heartbeat_interval(peer, 900)
        events = await next_events(peer)
    assert sorted(e["variableMonitoringId"] for e in events) == sorted([quiet["id"], loud["id"]])


async def test_offline_events_wait_up_to_the_offline_severity(peer: CsmsPeer) -> None:
    async with SimulatedStation(peer.station_config("MON-7")) as st:
        quick(st)
        important, chatty = await install(
            peer,
            monitor("LocalAuthListCtrlr", "Entries", "UpperThreshold", 3, severity=1),
            monitor("LocalAuthListCtrlr", "Entries", "Delta", 0, severity=8),
        )
        await st.go_offline()
        assert st.device_model is not None
        st.device_model.set("LocalAuthListCtrlr", "Entries", "7")  # the station's own state
        await st.wait_for(lambda s: monitoring(s).queued == 1)
        st.go_online()
        events = await next_events(peer)
    # OfflineQueuingSeverity is 4: the severity-8 delta was not kept.
    assert [(e["variableMonitoringId"], e["actualValue"]) for e in events] == [
        (important["id"], "7")
    ]
    assert chatty["status"] == "Accepted"


# ------------------------------------------------------------------------------ N02 / N03


async def test_monitoring_report_in_parts_and_filtered(peer: CsmsPeer) -> None:
    async with SimulatedStation(peer.station_config("MON-8")) as st:
        assert st.device_model is not None
        st.device_model.set("DeviceDataCtrlr", "ItemsPerMessage", "2")
        await install(
            peer,
            monitor("OCPPCommCtrlr", "HeartbeatInterval", "Delta", 10),
            monitor("OCPPCommCtrlr", "RetryBackOffWaitMinimum", "UpperThreshold", 100),
            monitor("SampledDataCtrlr", "TxUpdatedInterval", "Periodic", 3600),
        )
        answer = await peer.call("GetMonitoringReport", {"requestId": 7})
        assert answer == {"status": "Accepted"}
        parts = [(await peer.next_call("NotifyMonitoringReport")).payload for _ in range(3)]
        assert [(p["requestId"], p["seqNo"], p["tbc"]) for p in parts] == [
            (7, 0, True),
            (7, 1, True),
            (7, 2, False),
        ]
        reported = {
            (m["component"]["name"], m["variable"]["name"]): m["variableMonitoring"]
            for p in parts
            for m in p["monitor"]
        }
        assert len(reported) == 5  # the three above, the hard-wired and the pre-configured one
        [power] = reported[("ChargingStation", "Power")]
        assert (power["id"], power["type"], power["transaction"]) == (1, "UpperThreshold", False)
        assert "eventNotificationType" not in power  # 2.1 only

        # Criteria and componentVariable together: both must match (N02).
        answer = await peer.call(
            "GetMonitoringReport",
            {
                "requestId": 8,
                "monitoringCriteria": ["DeltaMonitoring", "PeriodicMonitoring"],
                "componentVariable": [{"component": {"name": "OCPPCommCtrlr"}}],
            },
        )
        assert answer == {"status": "Accepted"}
        [only] = (await peer.next_call("NotifyMonitoringReport")).payload["monitor"]
        assert only["variable"] == {"name": "HeartbeatInterval"}

        empty = await peer.call(
            "GetMonitoringReport",
            {
                "requestId": 9,
                "monitoringCriteria": ["PeriodicMonitoring"],
                "componentVariable": [{"component": {"name": "OCPPCommCtrlr"}}],
            },
        )
        assert empty == {"status": "EmptyResultSet"}
        with pytest.raises(CallErrorResponse) as refused:  # N02.FR.07: more than ItemsPerMessage
            await peer.call(
                "GetMonitoringReport",
                {"requestId": 10, "componentVariable": [{"component": {"name": "X"}}] * 3},
            )
        assert refused.value.error_code == "OccurrenceConstraintViolation"


async def test_monitoring_base_keeps_or_drops_monitors(peer: CsmsPeer) -> None:
    async with SimulatedStation(peer.station_config("MON-9")) as st:
        quick(st)
        await install(peer, monitor("OCPPCommCtrlr", "HeartbeatInterval", "Delta", 10))
        assert await peer.call("SetMonitoringBase", {"monitoringBase": "All"}) == {
            "status": "Accepted"
        }
        assert len(monitoring(st).monitors()) == 3
        assert await peer.call("SetMonitoringBase", {"monitoringBase": "HardWiredOnly"}) == {
            "status": "Accepted"
        }
        await peer.call("GetMonitoringReport", {"requestId": 1})
        [hardwired] = (await peer.next_call("NotifyMonitoringReport")).payload["monitor"]
        assert hardwired["variableMonitoring"][0]["id"] == 1
        base = await peer.call(
            "GetVariables",
            {
                "getVariableData": [
                    {
                        "component": {"name": "MonitoringCtrlr"},
                        "variable": {"name": "ActiveMonitoringBase"},
                    }
                ]
            },
        )
        assert base["getVariableResult"][0]["attributeValue"] == "HardWiredOnly"

        # A disabled pre-configured monitor does not fire: 95 entries would cross its 90.
        assert st.device_model is not None
        [watch] = await install(peer, monitor("LocalAuthListCtrlr", "Entries", "Delta", 50))
        st.device_model.set("LocalAuthListCtrlr", "Entries", "95")
        [event] = await next_events(peer)
        assert event["variableMonitoringId"] == watch["id"]

        assert await peer.call("SetMonitoringBase", {"monitoringBase": "FactoryDefault"}) == {
            "status": "Accepted"
        }
        assert [(m.id, m.kind) for m in monitoring(st).monitors()] == [
            (1, "HardWiredMonitor"),
            (2, "PreconfiguredMonitor"),
        ]


# ------------------------------------------------------------------------------ 2.1 / interop


async def test_v21_events_carry_severity_and_notification_type() -> None:
    async with (
        CsmsPeer(OcppVersion.V21) as peer,
        SimulatedStation(peer.station_config("MON-21")) as st,
    ):
        quick(st)
        results = await install(
            peer,
            monitor("OCPPCommCtrlr", "HeartbeatInterval", "UpperThreshold", 600, severity=3),
            monitor("OCPPCommCtrlr", "HeartbeatInterval", "TargetDelta", 5),
        )
        assert [r["status"] for r in results] == ["Accepted", "UnsupportedMonitorType"]
        await heartbeat_interval(peer, 900)
        [event] = await next_events(peer)
        assert (event["severity"], event["eventNotificationType"]) == (3, "CustomMonitor")
        await peer.call(
            "GetMonitoringReport", {"requestId": 3, "monitoringCriteria": ["ThresholdMonitoring"]}
        )
        report = (await peer.next_call("NotifyMonitoringReport")).payload
    kinds = {m["variableMonitoring"][0]["eventNotificationType"] for m in report["monitor"]}
    assert kinds == {"HardWiredMonitor", "PreconfiguredMonitor", "CustomMonitor"}


async def test_monitor_events_reach_an_ocpp_library_csms() -> None:
    async with LibCsms() as csms:
        config = StationConfig(
            id="MON-LIB",
            version=OcppVersion.V201,
            csms_url=csms.url,
            call_timeout=5.0,
            backoff=BackOffConfig(wait_minimum=0.1, random_range=0.0, repeat_times=1),
        )
        async with SimulatedStation(config):
            threshold = monitor("OCPPCommCtrlr", "HeartbeatInterval", "UpperThreshold", 600)
            answer = await csms.call(
                "MON-LIB", "SetVariableMonitoring", {"setMonitoringData": [threshold]}
            )
            assert answer["setMonitoringResult"][0]["status"] == "Accepted"
            await csms.call(
                "MON-LIB", "SetVariables", set_variable("OCPPCommCtrlr", "HeartbeatInterval", "900")
            )
            [notify] = await csms.recorder.wait_for("MON-LIB", "NotifyEvent")
    assert notify.payload["eventData"][0]["actualValue"] == "900"
    assert csms.recorder.errors() == []
