"""From profile 1 to profile 3 end to end: ``opencsms ca init`` and ``ca issue-server`` make the
CA and the server certificate the TLS listeners use as they are; a simulated 2.0.1 station gets
the CA as its CSMS root (InstallCertificate) and a CA-signed certificate (SignCertificate →
CertificateSigned), then the operator upgrades it twice through the API (A05: SetNetworkProfile,
SetVariables NetworkConfigurationPriority, Reset) and it reconnects over wss with Basic auth
(profile 2) and then with its client certificate (profile 3).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from opencsms.app import Csms
from opencsms.config import StationSeed
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import SimulatedStation
from tests.security.helpers import api_get, api_post
from tests.simulator.helpers import sim_config
from tests.wire import api_client, running_csms, settings_for

OPENCSMS = str(Path(sys.executable).with_name("opencsms"))
ORGANIZATION = "OpenCSMS"  # the simulator's default CpoName
PASSWORD = "e2e-upgrade-password-01"


async def _cli(*args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        OPENCSMS, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await process.communicate()
    assert process.returncode == 0, out.decode()
    return out.decode()


async def _upgrade(csms: Csms, station_id: str, profile: int, port: int) -> None:
    async with api_client(csms) as api:
        response = await api.post(
            f"/api/v1/stations/{station_id}/security-profile/upgrade",
            json={"profile": profile, "ocpp_csms_url": f"wss://127.0.0.1:{port}/ocpp"},
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["sent"] is True, body["steps"]
    # Pending until the station connects at it, which may already have happened: the
    # simulator resets at once and reconnects before the API has answered.
    assert profile in (body["pending_security_profile"], body["security_profile"])
    # The CA was installed and the station certificate signed first (the whitepaper's order).
    assert body["warnings"] == []


@pytest.mark.timeout(120)
async def test_ca_init_output_serves_profiles_2_and_3_and_the_simulator_upgrades(
    tmp_path: Path,
) -> None:
    ca_dir = tmp_path / "ca"
    await _cli("ca", "init", "--dir", str(ca_dir), "--organization", ORGANIZATION, "--ecdsa")
    await _cli("ca", "issue-server", "--dir", str(ca_dir), "--host", "127.0.0.1")
    settings = settings_for(
        tmp_path,
        ocpp_tls_port=0,
        ocpp_mtls_port=0,
        tls_cert_file=str(ca_dir / "server.pem"),
        tls_key_file=str(ca_dir / "server.key"),
        tls_client_ca_file=str(ca_dir / "ca.pem"),
        ca_dir=str(ca_dir),
        certificate_organization=ORGANIZATION,
        stations=(StationSeed(id="UP-1", password=PASSWORD),),
    )
    async with running_csms(settings) as csms:
        assert csms.ports.tls is not None
        assert csms.ports.mtls is not None
        config = sim_config(csms, "UP-1", OcppVersion.V201, password=PASSWORD)
        async with SimulatedStation(config) as station:
            await station.wait_for(lambda s: s.registration == "Accepted")
            served = await api_get(csms, "/ca")
            install = {"certificate_type": "CSMSRootCertificate", "pem": served["pem"]}
            answer = await api_post(csms, "/stations/UP-1/certificates/install", install)
            assert answer == {"status": "Accepted"}
            renewed = await api_post(csms, "/stations/UP-1/certificates/renew", {})
            assert renewed == {"status": "Accepted"}
            await station.wait_for(lambda s: s.certificates.certificate() is not None)

            connections = station.connections
            await _upgrade(csms, "UP-1", 2, csms.ports.tls)
            await station.wait_for(
                lambda s: s.connections > connections and s.registration == "Accepted"
            )
            assert station.device_model is not None
            assert station.device_model.get("SecurityCtrlr", "SecurityProfile") == "2"
            assert csms.security.profile_of("UP-1") == 2  # final: it connected at 2 (A05.FR.09)
            assert csms.security.get("UP-1").pending_security_profile is None

            connections = station.connections
            await _upgrade(csms, "UP-1", 3, csms.ports.mtls)
            await station.wait_for(
                lambda s: s.connections > connections and s.registration == "Accepted"
            )
            assert station.device_model.get("SecurityCtrlr", "SecurityProfile") == "3"
            assert csms.security.profile_of("UP-1") == 3
            priority = station.device_model.get("OCPPCommCtrlr", "NetworkConfigurationPriority")
            assert priority == "2,1,0"
