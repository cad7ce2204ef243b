"""Scenario files: parsing (every shipped example, clear errors), a run against a foreign CSMS."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from opencsms.simulator import SimulatedStation
from opencsms.simulator.fleet import run_scenario
from opencsms.simulator.scenario import SCENARIO_DIR, ScenarioError, load_scenario, parse_scenario
from tests.peers.ocpp_lib_csms import LibCsms

SHIPPED = sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def test_the_examples_the_issue_asks_for_ship() -> None:
    assert {"depot-ac", "dc-fast", "flaky-network", "demo"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenario_parses(name: str) -> None:
    scenario = load_scenario(name)
    assert scenario.station_count >= 1
    assert scenario.tokens  # every shipped scenario has drivers
    for group in scenario.groups:
        assert group.configs("ws://x/ocpp")[0].id.startswith(group.prefix)


def test_depot_is_twenty_ac_chargers() -> None:
    depot = load_scenario("depot-ac")
    assert depot.station_count == 20
    assert all(e.max_power_w == 22_000 for g in depot.groups for e in g.evses)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"groups": []}, "at least one [[groups]]"),
        ({"groups": [{"prefix": "A-", "colour": "red"}]}, "unknown key(s) colour"),
        ({"groups": [{"version": "1.5"}]}, "version must be 1.6, 2.0.1 or 2.1"),
        ({"groups": [{"sessions": {"arrival": "5m..1m"}}]}, "ends before it starts"),
        ({"groups": [{"sessions": {"plugged": "soon"}}]}, "is not a duration"),
        ({"groups": [{"network": {"outage": "5s"}}]}, "drop_every is required"),
        ({"groups": [{"prefix": "A-"}, {"prefix": "A-"}]}, "same station ids"),
        (
            {
                "groups": [{"prefix": "A-"}],
                "timeline": [{"at": 1, "station": "B-0001", "action": "fault"}],
            },
            "no station 'B-0001'",
        ),
        (
            {
                "groups": [{"prefix": "A-"}],
                "timeline": [{"at": 1, "station": "A-0001", "action": "explode"}],
            },
            "action 'explode' is not one of",
        ),
    ],
)
def test_bad_scenarios_are_refused_with_the_reason(data: dict[str, object], message: str) -> None:
    with pytest.raises(ScenarioError, match=re.escape(message)):
        parse_scenario(data)  # type: ignore[arg-type]


def test_unknown_file_names_the_shipped_ones(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"shipped ones: .*depot-ac"):
        load_scenario(str(tmp_path / "missing.toml"))


async def test_scenario_runs_sessions_network_flaps_and_timeline() -> None:
    scenario = parse_scenario(
        {
            "scenario": {"name": "quick", "duration": "4s"},
            "groups": [
                {
                    "prefix": "Q16-",
                    "count": 2,
                    "version": "1.6",
                    "meter_sample_interval": 1,
                    "sessions": {
                        "tokens": ["T1", "T2"],
                        "arrival": "0.1..0.3",
                        "plugged": "0.5..1",
                    },
                },
                {
                    "prefix": "Q201-",
                    "count": 1,
                    "version": "2.0.1",
                    "meter_sample_interval": 1,
                    "sessions": {"tokens": ["T1"], "arrival": "0.1..0.3", "plugged": "0.5..1"},
                    "network": {"drop_every": "1s..1.5s", "outage": "0.2s"},
                    "backoff": {"wait_minimum": "0.1s", "random_range": 0, "repeat_times": 1},
                },
            ],
            "timeline": [
                {
                    "at": "0.5s",
                    "station": "Q16-0002",
                    "action": "fault",
                    "error_code": "HighTemperature",
                }
            ],
        }
    )
    seen: list[SimulatedStation] = []
    async with LibCsms() as peer:
        result = await run_scenario(
            scenario, peer.url, live=False, seed=7, started=lambda stations: seen.extend(stations)
        )
    assert result.stations == 3
    assert result.sessions >= 3  # every EVSE saw at least one driver in 4 s
    # Stopping the scenario ends the open sessions: every start has its stop.
    assert result.charging == 0
    for station in ("Q16-0001", "Q16-0002"):
        starts = peer.recorder.of(station, "StartTransaction")
        assert len(peer.recorder.of(station, "StopTransaction")) == len(starts)
    ended = [
        e
        for e in peer.recorder.of("Q201-0001", "TransactionEvent")
        if e.payload["eventType"] == "Ended"
    ]
    started = [
        e
        for e in peer.recorder.of("Q201-0001", "TransactionEvent")
        if e.payload["eventType"] == "Started"
    ]
    assert len(ended) == len(started)
    assert peer.recorder.of("Q16-0001", "StartTransaction")
    assert peer.recorder.of("Q16-0001", "StopTransaction")
    events = peer.recorder.of("Q201-0001", "TransactionEvent")
    assert {e.payload["eventType"] for e in events} >= {"Started", "Ended"}
    flaky = next(s for s in seen if s.config.id == "Q201-0001")
    assert flaky.connections >= 2  # the network dropped and it came back
    faulted = [
        r.payload
        for r in peer.recorder.of("Q16-0002", "StatusNotification")
        if r.payload["status"] == "Faulted"
    ]
    assert faulted
    assert faulted[0]["errorCode"] == "HighTemperature"
    assert peer.recorder.errors() == []
