"""Security events over real OCPP-J and real HTTP (1.6 security whitepaper §4, 2.0.1 A04): a
simulated 2.0.1 station refusing a bad CertificateSigned and a simulated 1.6 station detecting
tampering push SecurityEventNotification, stored and listed per station and fleet-wide with the
criticality of their version; a raw station resending the same event has it stored once; paging
walks every event once."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import SimulatedStation
from tests.handlers.builders import booted
from tests.simulator.helpers import sim_config
from tests.wire import api_client, raw_station

Json = dict[str, Any]

BAD_CHAIN = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"


async def listed(api: httpx.AsyncClient, path: str, **params: Any) -> Json:
    response = await api.get(path, params=params)
    assert response.status_code == 200, response.text
    page: Json = response.json()
    return page


async def test_simulated_stations_events_are_stored_and_listed(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="SEC-2"))
    await csms.stations.create(StationSpec(id="SEC-16"))
    async with (
        SimulatedStation(sim_config(csms, "SEC-2")) as st2,
        SimulatedStation(sim_config(csms, "SEC-16", OcppVersion.V16)) as st16,
        api_client(csms) as api,
    ):
        await st2.wait_for(lambda s: s.registration == "Accepted")
        await st16.wait_for(lambda s: s.registration == "Accepted")
        refused = await api.post(
            "/api/v1/stations/SEC-2/calls/CertificateSigned", json={"certificateChain": BAD_CHAIN}
        )
        assert refused.status_code == 200, refused.text
        assert refused.json()["response"] == {"status": "Rejected"}
        # The simulator pushes the event after its answer; it leaves its outbox once the CSMS
        # acknowledged it, i.e. once it is stored.
        await asyncio.wait_for(
            st2.wait_for(lambda s: len(s.certificates.security_log) == 1 and s.queued == 0), 5
        )
        queued = await st16.certificates.security_event("TamperDetectionActivated", "lid open")
        assert queued is not None  # critical in 1.6: pushed
        assert await asyncio.wait_for(queued.delivered, 5) == {}
        station2 = await listed(api, "/api/v1/stations/SEC-2/security-events")
        station16 = await listed(api, "/api/v1/stations/SEC-16/security-events")
        fleet = await listed(api, "/api/v1/security-events")
        critical = await listed(api, "/api/v1/security-events", critical="true")
        unknown = await api.get("/api/v1/stations/NOPE/security-events")
    [event2] = station2["items"]
    assert (event2["type"], event2["critical"]) == ("InvalidChargingStationCertificate", True)
    assert event2["tech_info"]
    assert event2["station_id"] == "SEC-2"
    [event16] = station16["items"]
    assert (event16["type"], event16["tech_info"], event16["critical"]) == (
        "TamperDetectionActivated",
        "lid open",
        True,
    )
    assert [e["type"] for e in fleet["items"]] == [
        "TamperDetectionActivated",
        "InvalidChargingStationCertificate",
    ]
    assert fleet["next_before"] is None
    assert len(critical["items"]) == 2
    assert unknown.status_code == 404


async def test_resent_event_is_stored_once_and_pages_walk_all(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="SEC-RAW"))
    events = [
        {"type": "StartupOfTheDevice", "timestamp": "2026-11-25T10:00:00Z"},
        {"type": "InvalidMessages", "timestamp": "2026-11-25T10:01:00Z", "techInfo": "bad"},
        {"type": "ResetOrReboot", "timestamp": "2026-11-25T10:02:00Z"},
    ]
    async with raw_station(csms, "SEC-RAW", "ocpp2.0.1") as cp, api_client(csms) as api:
        await booted(cp, "ocpp2.0.1")
        for event in events:
            assert await cp.result("SecurityEventNotification", event) == {}
        assert await cp.result("SecurityEventNotification", events[1]) == {}  # resent
        base = "/api/v1/stations/SEC-RAW/security-events"
        first = await listed(api, base, limit=2)
        second = await listed(api, base, limit=2, before=first["next_before"])
        not_critical = await listed(api, "/api/v1/security-events", critical="false")
        bad_cursor = await api.get(base, params={"before": "garbage"})
    assert [e["type"] for e in first["items"]] == ["ResetOrReboot", "InvalidMessages"]
    assert first["next_before"] is not None
    assert [e["type"] for e in second["items"]] == ["StartupOfTheDevice"]
    assert second["next_before"] is None
    assert [(e["type"], e["tech_info"]) for e in not_critical["items"]] == [
        ("InvalidMessages", "bad")
    ]
    assert bad_cursor.status_code == 422
    assert "next_before" in bad_cursor.json()["detail"]
