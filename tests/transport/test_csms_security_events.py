"""Security events the CSMS logs itself when it refuses a station (1.6 whitepaper A00.FR.323,
A00.FR.408), over real sockets and TLS, read back through the security events API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from opencsms.app import Csms
from opencsms.config import StationSeed
from tests.transport.tls_pki import TestPki, make_pki, tls_station
from tests.wire import api_client, basic_auth, raw_station, running_csms, settings_for

PW = "events-password-00000001"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
async def csms(tmp_path: Path, pki: TestPki) -> AsyncIterator[Csms]:
    settings = settings_for(
        tmp_path,
        ocpp_mtls_port=0,
        tls_cert_file=str(pki.server_rsa.cert_file),
        tls_key_file=str(pki.server_rsa.key_file),
        tls_client_ca_file=str(pki.root.cert_file),
        stations=(
            StationSeed(id="E1", password=PW, security_profile=1),
            StationSeed(id="E3", security_profile=3),
        ),
    )
    async with running_csms(settings) as node:
        yield node


async def _events(csms: Csms, station_id: str) -> list[dict[str, Any]]:
    async with api_client(csms) as api:
        response = await api.get(f"/api/v1/stations/{station_id}/security-events")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _refused(connecting: Any) -> int:
    with pytest.raises(InvalidStatus) as refused:
        async with connecting:
            pass
    return refused.value.response.status_code


async def test_refused_credentials_and_wrong_listener_are_logged_as_csms_events(
    csms: Csms, pki: TestPki
) -> None:
    assert await _events(csms, "E1") == []
    wrong = basic_auth("E1", "not-the-password-0000")
    assert await _refused(raw_station(csms, "E1", headers=wrong)) == 401
    (event,) = await _events(csms, "E1")
    assert event["type"] == "FailedToAuthenticateAtCsms"
    assert event["source"] == "csms"
    assert event["tech_info"].startswith("[CSMS] ")
    assert "Basic" in event["tech_info"]
    assert "127.0.0.1" in event["tech_info"]
    assert event["critical"] is False  # 2.0.1 appendix 1: not critical

    # A profile 3 station at the profile 1 listener (A00.FR.002).
    assert await _refused(raw_station(csms, "E3")) == 403
    (event,) = await _events(csms, "E3")
    assert event["type"] == "FailedToAuthenticateAtCsms"
    assert "A00.FR.002" in event["tech_info"]

    # A good password: nothing more is logged.
    async with raw_station(csms, "E1", headers=basic_auth("E1", PW)):
        pass
    assert len(await _events(csms, "E1")) == 1


async def test_a_client_certificate_of_another_station_is_logged(csms: Csms, pki: TestPki) -> None:
    """A00.FR.405 refusal, logged as A00.FR.408 recommends."""
    assert csms.ports.mtls is not None
    context = pki.client_context(pki.station("E3", cn="E9"))
    assert await _refused(tls_station(csms.ports.mtls, "E3", context)) == 403
    (event,) = await _events(csms, "E3")
    assert event["type"] == "InvalidChargingStationCertificate"
    assert event["source"] == "csms"
    assert "'E9'" in event["tech_info"]
    async with api_client(csms) as api:
        fleet = (await api.get("/api/v1/security-events")).json()["items"]
    assert [e["station_id"] for e in fleet if e["source"] == "csms"] == ["E3"]


async def test_a_station_cannot_pass_its_event_off_as_the_csms(csms: Csms) -> None:
    async with raw_station(csms, "E1", "ocpp2.0.1", headers=basic_auth("E1", PW)) as station:
        await station.result(
            "SecurityEventNotification",
            {
                "type": "InvalidMessages",
                "timestamp": "2026-01-01T00:00:00Z",
                "techInfo": "[CSMS] forged",
            },
        )
    (event,) = await _events(csms, "E1")
    assert event["source"] == "station"
    assert event["tech_info"] == "[station] [CSMS] forged"
