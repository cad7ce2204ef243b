"""Certificates of a simulated station over the real wire: the test plays the CSMS and its CA.

The station generates a real key and CSR; the test signs it with its own CA (``TestCa``) and
sends CertificateSigned; hash data are checked against values computed independently
(``expected_hash_data``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import SimulatedStation
from tests.simulator.certs import TestCa, expected_hash_data, pem
from tests.simulator.csms_peer import CsmsPeer


def _subject(csr_pem: str) -> dict[str, str]:
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    assert csr.is_signature_valid
    return {
        "CN": str(csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value),
        "O": str(csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value),
    }


def _variable(component: str, name: str, value: str | None = None) -> dict[str, object]:
    item: dict[str, object] = {"component": {"name": component}, "variable": {"name": name}}
    if value is not None:
        item["attributeValue"] = value
    return item


# ------------------------------------------------------------------------ 2.0.1 / 2.1


@pytest.mark.parametrize("version", [OcppVersion.V201, OcppVersion.V21])
async def test_v2_sign_install_list_and_delete(version: OcppVersion) -> None:
    ca = TestCa("CSMS Root")
    async with (
        CsmsPeer(version) as peer,
        SimulatedStation(peer.station_config("CRT2")) as st,
    ):
        install = {"certificateType": "CSMSRootCertificate", "certificate": ca.pem}
        assert await peer.call("InstallCertificate", install) == {"status": "Accepted"}
        organization = _variable("SecurityCtrlr", "OrganizationName", "ACME Charging")
        answer = await peer.call("SetVariables", {"setVariableData": [organization]})
        assert answer["setVariableResult"][0]["attributeStatus"] == "Accepted"
        # A02: triggered, the station sends a CSR for a fresh key.
        trigger = {"requestedMessage": "SignChargingStationCertificate"}
        assert await peer.call("TriggerMessage", trigger) == {"status": "Accepted"}
        sign = await peer.next_call("SignCertificate")
        assert sign.payload["certificateType"] == "ChargingStationCertificate"
        assert _subject(sign.payload["csr"]) == {"CN": "CRT2", "O": "ACME Charging"}
        await st.wait_for(lambda s: s.certificates.csrs_sent == 1)
        assert st.certificates.awaiting()
        leaf = ca.sign_csr(sign.payload["csr"])
        signed = {
            "certificateChain": pem(leaf, ca.cert),
            "certificateType": sign.payload["certificateType"],
        }
        assert await peer.call("CertificateSigned", signed) == {"status": "Accepted"}
        assert st.certificates.certificate() == [leaf, ca.cert]
        assert not st.certificates.awaiting()
        # M03: the installed root, by its hash data.
        listed = await peer.call(
            "GetInstalledCertificateIds", {"certificateType": ["CSMSRootCertificate"]}
        )
        assert listed == {
            "status": "Accepted",
            "certificateHashDataChain": [
                {
                    "certificateType": "CSMSRootCertificate",
                    "certificateHashData": expected_hash_data(ca.cert, ca.cert),
                }
            ],
        }
        entries = await peer.call(
            "GetVariables", {"getVariableData": [_variable("SecurityCtrlr", "CertificateEntries")]}
        )
        assert entries["getVariableResult"][0]["attributeValue"] == "2"
        # M04.FR.05: the station certificate cannot be deleted; the root can, once.
        own = {"certificateHashData": expected_hash_data(leaf, ca.cert)}
        assert await peer.call("DeleteCertificate", own) == {"status": "Failed"}
        root = {"certificateHashData": expected_hash_data(ca.cert, ca.cert, "SHA512")}
        assert await peer.call("DeleteCertificate", root) == {"status": "Accepted"}
        assert await peer.call("DeleteCertificate", root) == {"status": "NotFound"}
        assert await peer.call("GetInstalledCertificateIds", {}) == {"status": "NotFound"}
        assert st.certificates.roots() == []


async def test_v201_certificate_signed_refusals() -> None:
    ca, other = TestCa("CSMS Root"), TestCa("Another Root")
    async with (
        CsmsPeer(OcppVersion.V201) as peer,
        SimulatedStation(peer.station_config("REJ2")) as st,
    ):
        # Nothing was requested yet: no key to match.
        stranger = ca.issue(ec.generate_private_key(ec.SECP256R1()).public_key(), ca.name)
        assert await peer.call("CertificateSigned", {"certificateChain": pem(stranger)}) == {
            "status": "Rejected"
        }
        event = await peer.next_call("SecurityEventNotification")  # critical in 2.0.1
        assert event.payload["type"] == "InvalidChargingStationCertificate"
        install = {"certificateType": "CSMSRootCertificate", "certificate": ca.pem}
        assert await peer.call("InstallCertificate", install) == {"status": "Accepted"}
        trigger = {"requestedMessage": "SignChargingStationCertificate"}
        assert await peer.call("TriggerMessage", trigger) == {"status": "Accepted"}
        csr_pem = (await peer.next_call("SignCertificate")).payload["csr"]
        csr = x509.load_pem_x509_csr(csr_pem.encode())
        key = csr.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey)
        refusals = {
            "another key": pem(
                ca.issue(ec.generate_private_key(ec.SECP256R1()).public_key(), csr.subject)
            ),
            "expired": pem(
                ca.issue(
                    key,
                    csr.subject,
                    not_before=datetime.now(UTC) - timedelta(days=10),
                    not_after=datetime.now(UTC) - timedelta(days=1),
                )
            ),
            "another hierarchy": pem(other.sign_csr(csr_pem), other.cert),
            "broken chain": pem(ca.sign_csr(csr_pem), other.cert),
            "garbage": "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n",
        }
        for case, chain in refusals.items():
            answer = await peer.call("CertificateSigned", {"certificateChain": chain})
            assert answer == {"status": "Rejected"}, case
            event = await peer.next_call("SecurityEventNotification")
            assert event.payload["type"] == "InvalidChargingStationCertificate", case
        assert st.certificates.certificate() is None
        assert st.certificates.awaiting()  # A02.FR.07: discarded, the key still waits
        # The right certificate still gets in.
        good = pem(ca.sign_csr(csr_pem))
        assert await peer.call("CertificateSigned", {"certificateChain": good}) == {
            "status": "Accepted"
        }
        # A CSMS refusing to sign (A02.FR.12): the key is dropped.
        peer.answers["SignCertificate"] = {"status": "Rejected"}
        assert await peer.call("TriggerMessage", trigger) == {"status": "Accepted"}
        await peer.next_call("SignCertificate")
        await st.wait_for(lambda s: s.certificates.csrs_sent == 2)
        assert not st.certificates.awaiting()


async def test_v201_v2g_certificate_chain() -> None:
    root = TestCa("V2G Root")
    sub = TestCa("V2G Sub-CA", parent=root)
    async with (
        CsmsPeer(OcppVersion.V201) as peer,
        SimulatedStation(peer.station_config("V2G2")) as st,
    ):
        install = {"certificateType": "V2GRootCertificate", "certificate": root.pem}
        assert await peer.call("InstallCertificate", install) == {"status": "Accepted"}
        mo = TestCa("MO Root")
        install = {"certificateType": "MORootCertificate", "certificate": mo.pem}
        assert await peer.call("InstallCertificate", install) == {"status": "Accepted"}
        trigger = {"requestedMessage": "SignV2GCertificate"}
        assert await peer.call("TriggerMessage", trigger) == {"status": "Accepted"}
        sign = await peer.next_call("SignCertificate")
        assert sign.payload["certificateType"] == "V2GCertificate"
        leaf = sub.sign_csr(sign.payload["csr"])
        signed = {"certificateChain": pem(leaf, sub.cert), "certificateType": "V2GCertificate"}
        assert await peer.call("CertificateSigned", signed) == {"status": "Accepted"}
        assert st.certificates.certificate("V2GCertificate") == [leaf, sub.cert]
        chain = await peer.call(
            "GetInstalledCertificateIds", {"certificateType": ["V2GCertificateChain"]}
        )
        assert chain["certificateHashDataChain"] == [
            {
                "certificateType": "V2GCertificateChain",
                "certificateHashData": expected_hash_data(leaf, sub.cert),
                "childCertificateHashData": [expected_hash_data(sub.cert, root.cert)],
            }
        ]
        everything = await peer.call("GetInstalledCertificateIds", {})
        types = [entry["certificateType"] for entry in everything["certificateHashDataChain"]]
        assert sorted(types) == ["MORootCertificate", "V2GCertificateChain", "V2GRootCertificate"]
        only_mo = await peer.call(
            "GetInstalledCertificateIds", {"certificateType": ["MORootCertificate"]}
        )
        assert only_mo["certificateHashDataChain"][0]["certificateHashData"] == expected_hash_data(
            mo.cert, mo.cert
        )
        # The V2G chain may be deleted (only the station certificate is protected).
        delete = {"certificateHashData": expected_hash_data(leaf, sub.cert)}
        assert await peer.call("DeleteCertificate", delete) == {"status": "Accepted"}
        assert st.certificates.certificate("V2GCertificate") is None


# ------------------------------------------------------------------------------- 1.6


async def test_v16_sign_install_list_and_delete() -> None:
    ca = TestCa("Central System Root")
    async with (
        CsmsPeer(OcppVersion.V16) as peer,
        SimulatedStation(peer.station_config("CRT16")) as st,
    ):
        change = {"key": "CpoName", "value": "ACME CPO"}
        assert await peer.call("ChangeConfiguration", change) == {"status": "Accepted"}
        install = {"certificateType": "CentralSystemRootCertificate", "certificate": ca.pem}
        assert await peer.call("InstallCertificate", install) == {"status": "Accepted"}
        assert await peer.call("InstallCertificate", install) == {"status": "Accepted"}
        assert len(st.certificates.roots()) == 1  # installed once
        trigger = {"requestedMessage": "SignChargePointCertificate"}
        assert await peer.call("ExtendedTriggerMessage", trigger) == {"status": "Accepted"}
        sign = await peer.next_call("SignCertificate")
        assert set(sign.payload) == {"csr"}  # 1.6: no certificateType
        assert _subject(sign.payload["csr"]) == {"CN": "CRT16", "O": "ACME CPO"}  # A02.FR.13
        leaf = ca.sign_csr(sign.payload["csr"])
        answer = await peer.call("CertificateSigned", {"certificateChain": pem(leaf)})
        assert answer == {"status": "Accepted"}
        assert st.certificates.certificate() == [leaf]
        listed = await peer.call(
            "GetInstalledCertificateIds", {"certificateType": "CentralSystemRootCertificate"}
        )
        assert listed == {
            "status": "Accepted",
            "certificateHashData": [expected_hash_data(ca.cert, ca.cert)],
        }
        manufacturer = {"certificateType": "ManufacturerRootCertificate"}
        assert await peer.call("GetInstalledCertificateIds", manufacturer) == {"status": "NotFound"}
        # M04.FR.07: the hash algorithm of the request is used.
        root = {"certificateHashData": expected_hash_data(ca.cert, ca.cert, "SHA384")}
        assert await peer.call("DeleteCertificate", root) == {"status": "Accepted"}
        listed = await peer.call(
            "GetInstalledCertificateIds", {"certificateType": "CentralSystemRootCertificate"}
        )
        assert listed == {"status": "NotFound"}
        configuration = await peer.call("GetConfiguration", {"key": ["CertificateStoreMaxLength"]})
        assert configuration["configurationKey"][0]["readonly"] is True


async def test_v16_refusals_are_logged_not_pushed() -> None:
    ca = TestCa("Central System Root")
    async with (
        CsmsPeer(OcppVersion.V16) as peer,
        SimulatedStation(peer.station_config("REJ16")) as st,
    ):
        trigger = {"requestedMessage": "SignChargePointCertificate"}
        assert await peer.call("ExtendedTriggerMessage", trigger) == {"status": "Accepted"}
        await peer.next_call("SignCertificate")
        other = ca.issue(ec.generate_private_key(ec.SECP256R1()).public_key(), ca.name)
        answer = await peer.call("CertificateSigned", {"certificateChain": pem(other)})
        assert answer == {"status": "Rejected"}
        # InvalidChargePointCertificate is not critical in 1.6 (whitepaper §8): logged only.
        await st.wait_for(lambda s: len(s.certificates.security_log) == 1)
        event = st.certificates.security_log[0]
        assert event.type == "InvalidChargePointCertificate"
        assert not event.sent
        assert st.queued == 0
        assert "SecurityEventNotification" not in peer.actions()
        # M05.FR.06: not a certificate, or not a CA → Rejected.
        for certificate in ("garbage", pem(other)):
            install = {"certificateType": "ManufacturerRootCertificate", "certificate": certificate}
            assert await peer.call("InstallCertificate", install) == {"status": "Rejected"}
        assert st.certificates.roots() == []


async def test_v201_plug_and_charge_requests_reach_the_csms() -> None:
    root = TestCa("MO Root")
    contract = TestCa("Contract Sub-CA", parent=root)
    async with (
        CsmsPeer(OcppVersion.V201) as peer,
        SimulatedStation(peer.station_config("PNC2")) as st,
    ):
        peer.answers["GetCertificateStatus"] = {"status": "Accepted", "ocspResult": "MIIB"}
        peer.answers["Get15118EVCertificate"] = {"status": "Accepted", "exiResponse": "gAB="}
        url = "http://ocsp.example.com/"
        answer = await st.certificates.get_certificate_status(contract.cert, root.cert, url)
        assert answer == {"status": "Accepted", "ocspResult": "MIIB"}
        sent = (await peer.next_call("GetCertificateStatus")).payload["ocspRequestData"]
        assert sent == expected_hash_data(contract.cert, root.cert) | {"responderURL": url}
        answer = await st.certificates.get_15118_ev_certificate(
            "urn:iso:15118:2:2013:MsgDef", "Install", "gAA="
        )
        assert answer["exiResponse"] == "gAB="
        request = (await peer.next_call("Get15118EVCertificate")).payload
        assert request == {
            "iso15118SchemaVersion": "urn:iso:15118:2:2013:MsgDef",
            "action": "Install",
            "exiRequest": "gAA=",
        }
