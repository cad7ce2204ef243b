"""Station certificates end to end: the simulator and a real CSMS with its own CA.

The operator installs the CA as the station's CSMS root and asks for a renewal (2.0.1
TriggerMessage SignChargingStationCertificate / 1.6 ExtendedTriggerMessage
SignChargePointCertificate); the station sends a CSR for a fresh key (SignCertificate), the CSMS
checks and signs it, answers Accepted and then sends CertificateSigned; the station verifies the
chain against the installed root and installs it (A02). The inventory follows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from opencsms.app import Csms
from opencsms.domain.fleet_events import CertificateExpiring
from opencsms.domain.stations import StationSpec
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import SimulatedStation
from tests.security.helpers import ORGANIZATION, api_get, api_post, make_ca, until
from tests.simulator.helpers import sim_config
from tests.wire import api_client, running_csms, settings_for

VERSIONS = [OcppVersion.V16, OcppVersion.V201]


async def _issued(csms: Csms, station_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (
        await api_get(csms, "/certificates/issued", station_id=station_id)
    )["items"]
    return items


@pytest.mark.parametrize("version", VERSIONS)
async def test_renewal_signs_and_installs_the_station_certificate(
    tmp_path: Path, version: OcppVersion
) -> None:
    ca = make_ca(tmp_path / "ca")
    settings = settings_for(
        tmp_path, ca_dir=str(tmp_path / "ca"), certificate_organization=ORGANIZATION
    )
    station_id = f"CERT-{version.name}"
    async with running_csms(settings) as csms:
        await csms.stations.create(StationSpec(id=station_id))
        async with SimulatedStation(sim_config(csms, station_id, version)) as st:
            await st.wait_for(lambda s: s.registration == "Accepted")
            served = await api_get(csms, "/ca")
            assert x509.load_pem_x509_certificate(served["pem"].encode()) == ca.cert
            install = {"certificate_type": "CSMSRootCertificate", "pem": served["pem"]}
            answer = await api_post(csms, f"/stations/{station_id}/certificates/install", install)
            assert answer == {"status": "Accepted"}
            assert st.certificates.roots() == [ca.cert]

            renewed = await api_post(csms, f"/stations/{station_id}/certificates/renew", {})
            assert renewed == {"status": "Accepted"}
            await st.wait_for(lambda s: s.certificates.certificate() is not None)
            leaf = st.certificates.certificate()
            assert leaf is not None
            assert leaf[0].issuer == ca.cert.subject
            assert leaf[0].subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
                station_id
            )
            usage = leaf[0].extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            assert ExtendedKeyUsageOID.CLIENT_AUTH in usage

            async def delivered() -> bool:
                issued = await _issued(csms, station_id)
                return bool(issued) and issued[0]["delivery_status"] == "Accepted"

            await until(delivered)
            (issued,) = await _issued(csms, station_id)
            assert issued["serial"] == format(leaf[0].serial_number, "x")
            assert issued["use"] == "ChargingStationCertificate"
            requests = await api_get(csms, f"/stations/{station_id}/certificates/requests")
            assert [(r["accepted"], r["serial"]) for r in requests["items"]] == [
                (True, issued["serial"])
            ]

            inventory = await api_get(csms, f"/stations/{station_id}/certificates")
            kinds = {(e["certificate_type"], e["source"]) for e in inventory["items"]}
            assert kinds == {
                ("CSMSRootCertificate", "installed"),
                ("ChargingStationCertificate", "signed"),
            }
            # M03: what the station reports replaces the roots; the PEM stays known.
            refreshed = await api_post(csms, f"/stations/{station_id}/certificates/refresh")
            roots = [
                e for e in refreshed["items"] if e["certificate_type"] == "CSMSRootCertificate"
            ]
            assert len(roots) == 1
            assert roots[0]["pem"] is not None
            assert len(refreshed["items"]) == 2
            # M04: delete the root by its inventory id, with the station's hash data.
            async with api_client(csms) as api:
                response = await api.delete(
                    f"/api/v1/stations/{station_id}/certificates/{roots[0]['id']}"
                )
            assert response.status_code == 200, response.text
            assert response.json() == {"status": "Accepted"}
            assert st.certificates.roots() == []
            inventory = await api_get(csms, f"/stations/{station_id}/certificates")
            assert [e["certificate_type"] for e in inventory["items"]] == [
                "ChargingStationCertificate"
            ]
            # The command log: the operator's calls, and CertificateSigned as the CSMS's own.
            log = await api_get(csms, f"/stations/{station_id}/commands")
            by = {(c["action"], c["requested_by"]) for c in log["items"]}
            trigger = "ExtendedTriggerMessage" if version is OcppVersion.V16 else "TriggerMessage"
            assert {
                ("InstallCertificate", "api"),
                (trigger, "api"),
                ("CertificateSigned", "csms"),
                ("GetInstalledCertificateIds", "api"),
                ("DeleteCertificate", "api"),
            } <= by


@pytest.mark.parametrize("version", VERSIONS)
async def test_csr_of_another_organization_is_rejected(
    tmp_path: Path, version: OcppVersion
) -> None:
    make_ca(tmp_path / "ca")
    settings = settings_for(
        tmp_path, ca_dir=str(tmp_path / "ca"), certificate_organization="Another CPO"
    )
    station_id = f"REJ-{version.name}"
    async with running_csms(settings) as csms:
        await csms.stations.create(StationSpec(id=station_id))
        async with SimulatedStation(sim_config(csms, station_id, version)) as st:
            await st.wait_for(lambda s: s.registration == "Accepted")
            renewed = await api_post(csms, f"/stations/{station_id}/certificates/renew", {})
            assert renewed == {"status": "Accepted"}
            # A02.FR.12: Rejected; the station drops the key it generated.
            await st.wait_for(lambda s: s.certificates.csrs_sent == 1)
            assert not st.certificates.awaiting()
            assert st.certificates.certificate() is None
            requests = await api_get(csms, f"/stations/{station_id}/certificates/requests")
            (request,) = requests["items"]
            assert request["accepted"] is False
            assert "Another CPO" in request["reason"]
            assert await _issued(csms, station_id) == []


async def test_without_a_ca_signing_is_rejected_and_ca_is_404(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="NOCA"))
    async with SimulatedStation(sim_config(csms, "NOCA", OcppVersion.V201)) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        assert await st.certificates.request_certificate() == "Rejected"
    async with api_client(csms) as api:
        response = await api.get("/api/v1/ca")
    assert response.status_code == 404
    assert "ca_dir" in response.json()["detail"]


async def test_expiry_is_published_once_and_renewal_follows(tmp_path: Path) -> None:
    make_ca(tmp_path / "ca")
    settings = settings_for(
        tmp_path,
        ca_dir=str(tmp_path / "ca"),
        certificate_validity_days=10,
        certificate_expiry_warning_days=30,
        certificate_auto_renew=True,
    )
    async with running_csms(settings) as csms:
        await csms.stations.create(StationSpec(id="EXP"))
        async with SimulatedStation(sim_config(csms, "EXP", OcppVersion.V201)) as st:
            await st.wait_for(lambda s: s.registration == "Accepted")
            await api_post(
                csms, "/stations/EXP/certificates/renew", {"use": "ChargingStationCertificate"}
            )
            await st.wait_for(lambda s: s.certificates.certificate() is not None)
            first = st.certificates.certificate()
            assert first is not None

            async def accepted(count: int) -> bool:
                issued = await _issued(csms, "EXP")
                return len(issued) == count and issued[0]["delivery_status"] == "Accepted"

            await until(lambda: accepted(1))
            with csms.events.subscription(lambda e: isinstance(e, CertificateExpiring)) as seen:
                published = await csms.certificates.check_expiry()
                assert [(e.station_id, e.serial) for e in published] == [
                    ("EXP", format(first[0].serial_number, "x"))
                ]
                assert seen.pending() == published
                # certificate_auto_renew: the station was asked for a new CSR and got a new one.
                await st.wait_for(lambda s: s.certificates.certificate() != first)
                await until(lambda: accepted(2))
                second = st.certificates.certificate()
                assert second is not None
                # The old one is not announced again; the new one (10 days too) is, once.
                again = await csms.certificates.check_expiry()
                assert [e.serial for e in again] == [format(second[0].serial_number, "x")]
                await st.wait_for(lambda s: s.certificates.csrs_sent == 3)
                await until(lambda: accepted(3))
                third = st.certificates.certificate()
                assert third is not None
                assert third != second
