"""Every CSMS → station action of OCPP 1.6 and 2.0.1 through the generic API endpoint
(``POST /api/v1/stations/{id}/calls/{Action}``), over real sockets, recorded in the command log:

* answered: each action's example (tests/api/action_examples.py) to a simulated station of its
  version → 200, an answer that passes the response schema and says what the simulator does, and
  the same record in ``GET /commands`` with status ``Answered``;
* rejected: every action whose answer is just a ``status`` that may be ``Rejected``, to a raw
  station that rejects them all → 200 with ``Rejected`` recorded (a refusal is an answer);
* timeout: every action to a raw station that never answers, with a short ``call_timeout`` → 504
  with ``Timeout`` recorded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from opencsms.ocpp.actions import CSMS_TO_STATION
from opencsms.ocpp.schemas import default_registry
from opencsms.ocpp.version import OcppVersion
from opencsms.security.ca import CertificateAuthority
from opencsms.simulator import EvseConfig, SimulatedStation
from tests.api.action_examples import EXAMPLES, NOT_SUPPORTED_BY_SIMULATOR, STAND_IN, Peer
from tests.handlers.builders import booted
from tests.handlers.station_calls import NO_ANSWER, responding
from tests.simulator.helpers import sim_config
from tests.wire import api_client, raw_station, running_csms, settings_for

ON_MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")
"""The tests share the module's CSMS, so they run on its event loop."""

VERSIONS = (OcppVersion.V16, OcppVersion.V201)
SUBPROTOCOL = {OcppVersion.V16: "ocpp1.6", OcppVersion.V201: "ocpp2.0.1"}
CASES = [(v, action) for v in VERSIONS for action in sorted(CSMS_TO_STATION[v])]


@cache
def rejectable(version: OcppVersion) -> tuple[str, ...]:
    """The actions whose answer has a ``status`` that may be ``Rejected`` (read from the response
    schemas, so a new action is covered; ``{"status": "Rejected"}`` must then be a valid
    answer, or the CSMS records it as InvalidResponse and the test says so)."""
    folder = {OcppVersion.V16: "v16", OcppVersion.V201: "v201"}[version]
    schemas = resources.files("ocpp") / folder / "schemas"
    found = []
    for action in sorted(CSMS_TO_STATION[version]):
        text = (schemas / f"{action}Response.json").read_bytes().removeprefix(b"\xef\xbb\xbf")
        schema = orjson.loads(text)
        status = schema.get("properties", {}).get("status")
        if status is None:
            continue
        if "$ref" in status:
            status = schema["definitions"][status["$ref"].rsplit("/", 1)[1]]
        if "Rejected" in status.get("enum", ()):
            found.append(action)
    return tuple(found)


def contains(actual: Any, expected: Any) -> bool:
    """``actual`` carries ``expected``: every key of an expected object (recursively), lists
    item by item with the same length, other values equal."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and contains(actual[key], value) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(contains(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return bool(actual == expected)


async def command_log(api: httpx.AsyncClient, station_id: str) -> dict[int, dict[str, Any]]:
    """The station's commands as ``GET /commands`` lists them, by id."""
    response = await api.get(f"/api/v1/stations/{station_id}/commands", params={"limit": 1000})
    assert response.status_code == 200, response.text
    assert response.json()["next_before"] is None
    return {command["id"]: command for command in response.json()["items"]}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Csms]:
    """One CSMS for the module's stations (each test has its own station): drivers' tokens are
    accepted, so the simulator can start sessions."""
    folder = tmp_path_factory.mktemp("every-action")
    # SignCertificate needs a CA to be Accepted (else Rejected, and the station drops its key).
    CertificateAuthority.init(folder / "ca", organization="T", now=datetime.now(UTC), ecdsa=True)
    settings = settings_for(folder, unknown_tokens="accept", ca_dir=str(folder / "ca"))
    async with running_csms(settings) as csms:
        yield csms


@pytest.mark.parametrize("version", VERSIONS)
def test_every_action_has_an_example(version: OcppVersion) -> None:
    assert set(EXAMPLES[version]) == CSMS_TO_STATION[version]
    for action, example in EXAMPLES[version].items():
        payload = example.build(STAND_IN)
        assert default_registry().validate_request(version, action, payload) == (), action


@ON_MODULE_LOOP
@pytest.mark.parametrize(("version", "action"), CASES, ids=[f"{v.value}-{a}" for v, a in CASES])
async def test_action_is_answered_and_recorded(
    node: Csms, version: OcppVersion, action: str
) -> None:
    example = EXAMPLES[version][action]
    station_id = f"ALL-{version.name}-{action}"
    await node.stations.create(StationSpec(id=station_id))
    config = sim_config(node, station_id, version, evses=(EvseConfig(), EvseConfig()))
    async with SimulatedStation(config) as st, api_client(node) as api:
        await st.wait_for(lambda s: s.registration == "Accepted")
        prepared = await example.prepare(Peer(st, api)) if example.prepare else {}
        payload = example.build(prepared)
        response = await api.post(f"/api/v1/stations/{station_id}/calls/{action}", json=payload)
        body = response.json()
        command = body if response.status_code == 200 else body["command"]
        logged = (await command_log(api, station_id))[command["id"]]
    assert (action, payload) in [(call.action, call.payload) for call in st.received]
    assert logged == command
    assert (logged["action"], logged["payload"], logged["requested_by"]) == (action, payload, "api")
    assert logged["ocpp_version"] == version.value
    if action in NOT_SUPPORTED_BY_SIMULATOR[version]:
        assert response.status_code == 502, response.text
        assert (body["error_code"], logged["status"]) == ("NotSupported", "CallError")
        assert logged["response"] is None
        return
    assert response.status_code == 200, response.text
    assert logged["status"] == "Answered"
    answer = logged["response"]
    assert default_registry().validate_response(version, action, answer) == ()
    assert contains(answer, example.answer), answer
    assert logged["duration_ms"] >= 0


@ON_MODULE_LOOP
@pytest.mark.parametrize("version", VERSIONS)
async def test_every_rejectable_action_records_rejected(node: Csms, version: OcppVersion) -> None:
    actions = rejectable(version)
    station_id = f"REJECTING-{version.name}"
    await node.stations.create(StationSpec(id=station_id))
    answers = {action: {"status": "Rejected"} for action in actions}
    responses: dict[str, httpx.Response] = {}
    async with raw_station(node, station_id, SUBPROTOCOL[version]) as cp:
        await booted(cp, SUBPROTOCOL[version])
        async with responding(cp, answers) as station, api_client(node) as api:
            for action in actions:
                payload = EXAMPLES[version][action].build(STAND_IN)
                responses[action] = await api.post(
                    f"/api/v1/stations/{station_id}/calls/{action}", json=payload
                )
            log = await command_log(api, station_id)
    outcomes = {
        action: (
            response.status_code,
            response.json()["response"],
            log[response.json()["id"]]["status"],
            log[response.json()["id"]]["response"],
        )
        for action, response in responses.items()
    }
    rejected = {"status": "Rejected"}
    assert outcomes == {action: (200, rejected, "Answered", rejected) for action in actions}
    assert len(actions) == (24 if version is OcppVersion.V201 else 17)  # the scan found them
    assert station.actions() == list(actions)


@pytest.mark.parametrize("version", VERSIONS)
async def test_every_action_times_out_to_a_silent_station(
    tmp_path: Path, version: OcppVersion
) -> None:
    actions = sorted(CSMS_TO_STATION[version])
    silence = dict.fromkeys(actions, NO_ANSWER)
    responses: dict[str, httpx.Response] = {}
    async with running_csms(settings_for(tmp_path, call_timeout=0.1)) as csms:
        await csms.stations.create(StationSpec(id="SILENT"))
        async with raw_station(csms, "SILENT", SUBPROTOCOL[version]) as cp:
            await booted(cp, SUBPROTOCOL[version])
            async with responding(cp, silence) as station, api_client(csms) as api:
                for action in actions:
                    payload = EXAMPLES[version][action].build(STAND_IN)
                    responses[action] = await api.post(
                        f"/api/v1/stations/SILENT/calls/{action}", json=payload
                    )
                log = await command_log(api, "SILENT")
    outcomes = {}
    for action, response in responses.items():
        body = response.json()
        logged = log[body["command"]["id"]]
        outcomes[action] = (
            response.status_code,
            body["detail"],
            logged["status"],
            logged["response"] is None and logged["duration_ms"] >= 100,
        )
    assert outcomes == {
        action: (504, f"station 'SILENT' did not answer {action} in time", "Timeout", True)
        for action in actions
    }
    assert station.actions() == actions
