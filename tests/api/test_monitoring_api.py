"""Variable monitoring over real HTTP and real OCPP-J (N02-N07): monitors set on a simulated
2.0.1 station (accepted and refused items), reported back in several NotifyMonitoringReport
parts, an event raised by a real threshold crossing linked to its monitor, base, level and
clear; raw stations for resent report parts, CALLERROR and timeout; offline and 1.6 refusals."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import SimulatedStation
from opencsms.simulator.config_keys import Variable
from opencsms.simulator.monitoring import monitoring
from tests.api.test_device_model_api import full_report
from tests.handlers.builders import booted
from tests.handlers.station_calls import NO_ANSWER, CallError, responding
from tests.simulator.helpers import sim_config
from tests.wire import api_client, raw_station, running_csms, settings_for

Json = dict[str, Any]


def monitor(
    component: str, variable: str, kind: str, value: float, severity: int = 5, **extra: Any
) -> Json:
    return {
        "component": {"name": component},
        "variable": {"name": variable},
        "type": kind,
        "value": value,
        "severity": severity,
        **extra,
    }


async def post(api: httpx.AsyncClient, path: str, body: Json, expected: int = 200) -> Json:
    response = await api.post(path, json=body)
    assert response.status_code == expected, response.text
    answer: Json = response.json()
    return answer


async def get(api: httpx.AsyncClient, path: str, **params: Any) -> Json:
    response = await api.get(path, params=params)
    assert response.status_code == 200, response.text
    answer: Json = response.json()
    return answer


async def test_set_report_event_base_clear_level(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="MON-1"))
    base = "/api/v1/stations/MON-1"
    async with SimulatedStation(sim_config(csms, "MON-1")) as st, api_client(csms) as api:
        assert st.device_model is not None
        monitoring(st).interval = 0.02  # evaluate every 20 ms: the event comes quickly
        st.device_model.set("DeviceDataCtrlr", "ItemsPerMessage", "1")  # one entry per part

        # N04: one result per item; only the Accepted one is stored, with the station's id.
        answer = await post(
            api,
            f"{base}/monitors",
            {
                "monitors": [
                    monitor("OCPPCommCtrlr", "HeartbeatInterval", "UpperThreshold", 600),
                    monitor("NoSuchCtrlr", "Enabled", "Delta", 1),
                    monitor("AuthCacheCtrlr", "Enabled", "UpperThreshold", 1),
                ]
            },
        )
        statuses = [r["status"] for r in answer["results"]]
        assert statuses == ["Accepted", "UnknownComponent", "UnsupportedMonitorType"]
        custom = answer["results"][0]["id"]
        assert [m["id"] for m in answer["monitors"]] == [custom]
        assert answer["command"]["action"] == "SetVariableMonitoring"
        listed = await get(api, f"{base}/monitors")
        assert [(m["id"], m["origin"], m["kind"]) for m in listed["monitors"]] == [
            (custom, "csms", "CustomMonitor")
        ]

        # N02: the full report arrives in one part per variable and fills in the station's own.
        report = await post(api, f"{base}/monitoring/report", {"wait": 5})
        assert (report["status"], report["complete"], report["full"]) == ("Accepted", True, True)
        assert report["parts"] == 3
        assert report["request_id"] == report["command"]["id"]
        assert report["command"]["payload"] == {"requestId": report["request_id"]}
        monitors = (await get(api, f"{base}/monitors"))["monitors"]
        assert [(m["id"], m["origin"], m["report_id"]) for m in monitors] == [
            (1, "report", report["request_id"]),
            (2, "report", report["request_id"]),
            (custom, "csms", report["request_id"]),
        ]
        assert monitors[0]["component"]["name"] == "ChargingStation"

        # N07: a real threshold crossing raises an event linked to the monitor.
        await post(
            api,
            f"{base}/calls/SetVariables",
            {
                "setVariableData": [
                    {
                        "component": {"name": "OCPPCommCtrlr"},
                        "variable": {"name": "HeartbeatInterval"},
                        "attributeValue": "900",
                    }
                ]
            },
        )
        await st.wait_for(lambda s: monitoring(s).events_sent >= 1)
        events = (await get(api, f"{base}/events"))["items"]
        (alert,) = [e for e in events if e["variable_monitoring_id"] == custom]
        assert (alert["trigger"], alert["actual_value"]) == ("Alerting", "900")
        assert alert["monitor"]["id"] == custom
        assert alert["monitor"]["variable"]["name"] == "HeartbeatInterval"
        only = (await get(api, f"{base}/events", monitor_id=custom))["items"]
        assert [e["event_id"] for e in only] == [alert["event_id"]]
        detail = await get(api, f"{base}/monitors/{custom}")
        assert [e["event_id"] for e in detail["events"]] == [alert["event_id"]]

        # N03: FactoryDefault removes the custom monitor, the station's own ones go stale ...
        changed = await post(api, f"{base}/monitoring/base", {"base": "FactoryDefault"})
        assert (changed["status"], changed["removed"], changed["stale"]) == (
            "Accepted",
            [custom],
            [1, 2],
        )
        assert [m["stale"] for m in (await get(api, f"{base}/monitors"))["monitors"]] == [
            True,
            True,
        ]
        # ... until the next full report confirms them.
        again = await post(api, f"{base}/monitoring/report", {"wait": 5})
        assert again["complete"]
        monitors = (await get(api, f"{base}/monitors"))["monitors"]
        assert [(m["id"], m["stale"]) for m in monitors] == [(1, False), (2, False)]

        # N06: the hard-wired monitor stays, an unknown id is NotFound, the other goes.
        cleared = await post(api, f"{base}/monitors/clear", {"ids": [1, 4242]})
        assert [(r["id"], r["status"]) for r in cleared["results"]] == [
            (1, "Rejected"),
            (4242, "NotFound"),
        ]
        assert cleared["removed"] == []
        deleted = await api.delete(f"{base}/monitors/2")
        assert deleted.status_code == 200, deleted.text
        assert deleted.json()["results"] == [{"id": 2, "status": "Accepted", "reason": None}]

        # N05
        level = await post(api, f"{base}/monitoring/level", {"severity": 4})
        assert level["status"] == "Accepted"
        final = await get(api, f"{base}/monitors")
        log = (await get(api, f"{base}/commands"))["items"]

    assert st.device_model.get("MonitoringCtrlr", "ActiveMonitoringLevel") == "4"
    assert (final["monitoring_base"], final["monitoring_level"]) == ("FactoryDefault", 4)
    assert [m["id"] for m in final["monitors"]] == [1]
    assert [c["action"] for c in reversed(log)] == [
        "SetVariableMonitoring",
        "GetMonitoringReport",
        "SetVariables",
        "SetMonitoringBase",
        "GetMonitoringReport",
        "ClearVariableMonitoring",
        "ClearVariableMonitoring",
        "SetMonitoringLevel",
    ]
    assert {c["status"] for c in log} == {"Answered"}


async def test_filtered_report_and_empty_result(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="MON-2"))
    base = "/api/v1/stations/MON-2"
    async with SimulatedStation(sim_config(csms, "MON-2")), api_client(csms) as api:
        body = {
            "criteria": ["ThresholdMonitoring"],
            "targets": [{"component": {"name": "ChargingStation"}}],
            "wait": 5,
        }
        report = await post(api, f"{base}/monitoring/report", body)
        assert (report["status"], report["full"], report["complete"]) == ("Accepted", False, True)
        assert [m["id"] for m in report["monitors"]] == [1]
        assert report["command"]["payload"]["componentVariable"] == [
            {"component": {"name": "ChargingStation"}}
        ]
        empty = await post(
            api, f"{base}/monitoring/report", {"criteria": ["PeriodicMonitoring"], "wait": 5}
        )
        assert (empty["status"], empty["complete"], empty["parts"]) == ("EmptyResultSet", True, 0)
        listed = await api.get(f"{base}/monitoring/reports")
        missing = await api.get(f"{base}/monitoring/reports/999999")
    assert listed.status_code == 200
    assert [r["request_id"] for r in listed.json()] == [empty["request_id"], report["request_id"]]
    assert missing.status_code == 404


async def test_report_parts_from_a_raw_station_and_a_resent_part(csms: Csms) -> None:
    """Parts are stored as they come; a part sent twice (its answer was lost) is stored once."""
    await csms.stations.create(StationSpec(id="MON-RAW"))
    base = "/api/v1/stations/MON-RAW"
    async with raw_station(csms, "MON-RAW", "ocpp2.0.1") as cp, api_client(csms) as api:
        await booted(cp, "ocpp2.0.1")
        asked = asyncio.ensure_future(api.post(f"{base}/monitoring/report", json={}))
        call = await cp.recv()
        assert call[2] == "GetMonitoringReport"
        request_id = call[3]["requestId"]
        await cp.send_raw(orjson.dumps([3, call[1], {"status": "Accepted"}]).decode())
        answered = await asked
        assert answered.status_code == 200, answered.text
        assert answered.json()["complete"] is False

        def part(seq_no: int, monitor_id: int, tbc: bool) -> Json:
            return {
                "requestId": request_id,
                "seqNo": seq_no,
                "tbc": tbc,
                "generatedAt": "2026-01-01T10:00:00Z",
                "monitor": [
                    {
                        "component": {"name": "EVSE", "evse": {"id": 1}},
                        "variable": {"name": "Power", "instance": "Max"},
                        "variableMonitoring": [
                            {
                                "id": monitor_id,
                                "transaction": False,
                                "value": 7000,
                                "type": "UpperThreshold",
                                "severity": 2,
                            }
                        ],
                    }
                ],
            }

        assert await cp.result("NotifyMonitoringReport", part(0, 31, True)) == {}
        assert await cp.result("NotifyMonitoringReport", part(0, 31, True)) == {}  # resent
        middle = await get(api, f"{base}/monitoring/reports/{request_id}")
        assert (middle["parts"], middle["complete"]) == (1, False)
        assert await cp.result("NotifyMonitoringReport", part(1, 32, False)) == {}
        done = await get(api, f"{base}/monitoring/reports/{request_id}")
        monitors = (await get(api, f"{base}/monitors"))["monitors"]
    assert (done["parts"], done["complete"]) == (2, True)
    assert [(m["id"], m["component"]["evse_id"], m["variable"]["instance"]) for m in monitors] == [
        (31, 1, "Max"),
        (32, 1, "Max"),
    ]


async def test_call_error_timeout_and_refusals(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path, call_timeout=0.3)) as csms:
        for station_id in ("RAW", "AWAY", "OLD"):
            await csms.stations.create(StationSpec(id=station_id))
        answers = {
            "SetVariableMonitoring": CallError("OccurrenceConstraintViolation", "too many"),
            "GetMonitoringReport": NO_ANSWER,
            "SetMonitoringLevel": {"status": "Rejected"},
        }
        item = {"monitors": [monitor("OCPPCommCtrlr", "HeartbeatInterval", "Delta", 5)]}
        async with raw_station(csms, "RAW", "ocpp2.0.1") as cp, api_client(csms) as api:
            await booted(cp, "ocpp2.0.1")
            async with responding(cp, answers):
                refused = await api.post("/api/v1/stations/RAW/monitors", json=item)
                silent = await api.post("/api/v1/stations/RAW/monitoring/report", json={})
                level = await api.post(
                    "/api/v1/stations/RAW/monitoring/level", json={"severity": 3}
                )
            reports = (await api.get("/api/v1/stations/RAW/monitoring/reports")).json()
            monitors = await get(api, "/api/v1/stations/RAW/monitors")
            away = await api.post("/api/v1/stations/AWAY/monitors", json=item)
            unknown = await api.post("/api/v1/stations/NOPE/monitors", json=item)
            bad = await api.post(
                "/api/v1/stations/RAW/monitors",
                json={"monitors": [monitor("X", "Y", "Delta", 1, severity=10)]},
            )
            async with SimulatedStation(sim_config(csms, "OLD", OcppVersion.V16)):
                old = await api.post("/api/v1/stations/OLD/monitoring/base", json={"base": "All"})
                old_events = await api.get("/api/v1/stations/OLD/events")
    assert refused.status_code == 502
    assert refused.json()["error_code"] == "OccurrenceConstraintViolation"
    assert silent.status_code == 504
    assert silent.json()["command"]["status"] == "Timeout"
    # The request went out: it is kept, unanswered (status null), for parts that may follow.
    assert [(r["request_id"], r["status"]) for r in reports] == [
        (silent.json()["command"]["id"], None)
    ]
    assert level.status_code == 200
    assert level.json()["status"] == "Rejected"
    assert monitors["monitoring_level"] is None  # only an Accepted level is stored
    assert monitors["monitors"] == []
    assert away.status_code == 409
    assert "not connected" in away.json()["detail"]
    assert unknown.status_code == 404
    assert bad.status_code == 422
    assert old.status_code == 400
    assert "not in OCPP 1.6" in old.json()["detail"]
    assert old_events.status_code == 200


@pytest.mark.parametrize("version", [OcppVersion.V201, OcppVersion.V21])
async def test_v21_reports_carry_the_monitor_kind(csms: Csms, version: OcppVersion) -> None:
    station_id = f"KIND-{version.name}"
    await csms.stations.create(StationSpec(id=station_id))
    base = f"/api/v1/stations/{station_id}"
    async with SimulatedStation(sim_config(csms, station_id, version)), api_client(csms) as api:
        report = await post(api, f"{base}/monitoring/report", {"wait": 5})
    kinds = [m["kind"] for m in report["monitors"]]
    if version is OcppVersion.V21:
        assert kinds == ["HardWiredMonitor", "PreconfiguredMonitor"]
    else:
        assert kinds == [None, None]  # 2.0.1 does not say


async def test_set_and_clear_split_by_the_station_limits(csms: Csms) -> None:
    """MonitoringCtrlr.ItemsPerMessage (part 2 appendix 3.1.11) learnt from the station's
    report: five monitors go out as three SetVariableMonitoring CALLs, each in the command log,
    every accepted monitor recorded; clearing them takes three ClearVariableMonitoring CALLs."""
    await csms.stations.create(StationSpec(id="MON-SPLIT"))
    base = "/api/v1/stations/MON-SPLIT"
    variables = [
        ("OCPPCommCtrlr", "HeartbeatInterval"),
        ("OCPPCommCtrlr", "RetryBackOffWaitMinimum"),
        ("OCPPCommCtrlr", "RetryBackOffRandomRange"),
        ("OCPPCommCtrlr", "RetryBackOffRepeatTimes"),
        ("SampledDataCtrlr", "TxUpdatedInterval"),
    ]
    async with SimulatedStation(sim_config(csms, "MON-SPLIT")) as st, api_client(csms) as api:
        await st.wait_for(lambda s: s.registration == "Accepted")
        assert st.device_model is not None
        st.device_model.add("MonitoringCtrlr", "ItemsPerMessage", Variable("2", "ReadOnly"))
        await full_report(api, "MON-SPLIT")  # the CSMS learns the limit from the report
        answer = await post(
            api,
            f"{base}/monitors",
            {
                "monitors": [
                    monitor(c, v, "UpperThreshold", 1000 + i) for i, (c, v) in enumerate(variables)
                ]
            },
        )
        ids = [r["id"] for r in answer["results"]]
        listed = (await get(api, f"{base}/monitors"))["monitors"]
        cleared = await post(api, f"{base}/monitors/clear", {"ids": ids})
        after = (await get(api, f"{base}/monitors"))["monitors"]
        log = (await api.get(f"{base}/commands", params={"limit": 50})).json()["items"]
    sent = [c for c in st.received if c.action == "SetVariableMonitoring"]
    assert [len(c.payload["setMonitoringData"]) for c in sent] == [2, 2, 1]
    assert [r["status"] for r in answer["results"]] == ["Accepted"] * 5
    assert len(set(ids)) == 5
    assert [(m["variable"]["name"], m["value"]) for m in answer["monitors"]] == [
        (v, 1000 + i) for i, (_, v) in enumerate(variables)
    ]
    assert sorted(m["id"] for m in listed) == sorted(ids)
    assert len(answer["commands"]) == 3
    assert answer["command"] == answer["commands"][-1]
    logged = {c["id"]: c["action"] for c in log}
    assert all(logged[c["id"]] == "SetVariableMonitoring" for c in answer["commands"])
    assert [c["action"] for c in log].count("SetVariableMonitoring") == 3
    assert [r["status"] for r in cleared["results"]] == ["Accepted"] * 5
    assert sorted(cleared["removed"]) == sorted(ids)
    assert [len(c["payload"]["id"]) for c in cleared["commands"]] == [2, 2, 1]
    assert [c["action"] for c in log].count("ClearVariableMonitoring") == 3
    assert after == []


async def test_failed_call_keeps_what_earlier_calls_got_accepted(csms: Csms) -> None:
    """No MonitoringCtrlr limit known: 4 monitors per CALL. The second CALL gets a CALLERROR:
    502 with the first CALL in ``commands``, and the monitors it got accepted stay recorded."""
    await csms.stations.create(StationSpec(id="MON-HALF"))
    calls = 0

    def answer(request: Json) -> Json | CallError:
        nonlocal calls
        calls += 1
        if calls > 1:
            return CallError("OccurrenceConstraintViolation", "too many")
        return {
            "setMonitoringResult": [
                {
                    "status": "Accepted",
                    "id": 100 + i,
                    "type": item["type"],
                    "severity": item["severity"],
                    "component": item["component"],
                    "variable": item["variable"],
                }
                for i, item in enumerate(request["setMonitoringData"])
            ]
        }

    monitors = [monitor("OCPPCommCtrlr", f"V{i}", "Delta", i + 1) for i in range(6)]
    async with raw_station(csms, "MON-HALF", "ocpp2.0.1") as cp, api_client(csms) as api:
        await booted(cp, "ocpp2.0.1")
        async with responding(cp, {"SetVariableMonitoring": answer}) as responder:
            failed = await api.post(
                "/api/v1/stations/MON-HALF/monitors", json={"monitors": monitors}
            )
        listed = await get(api, "/api/v1/stations/MON-HALF/monitors")
    sizes = [len(p["setMonitoringData"]) for p in responder.payloads("SetVariableMonitoring")]
    assert sizes == [4, 2]
    assert failed.status_code == 502
    body = failed.json()
    assert body["error_code"] == "OccurrenceConstraintViolation"
    assert [c["action"] for c in body["commands"]] == ["SetVariableMonitoring"]
    assert [(m["id"], m["variable"]["name"]) for m in listed["monitors"]] == [
        (100 + i, f"V{i}") for i in range(4)
    ]
