"""OCPP 2.0.1 certificates over raw frames: SignCertificate then CertificateSigned (A02,
TC_A_11/14_CSMS), Plug & Charge Authorize with good, revoked and expired contract certificates
(C07, errata C07.FR.13-17), GetCertificateStatus forwarding (M06), Get15118EVCertificate through
an HTTP contract certificate provider (M01/M02)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import orjson
from cryptography import x509
from cryptography.x509 import ocsp

from opencsms.domain.stations import StationSpec
from opencsms.security.ocsp import hash_data_of
from opencsms.simulator import pki as station_pki
from tests.handlers.builders import add_token, booted
from tests.security.helpers import ORGANIZATION, make_ca, until
from tests.security.pki import PncPki, local_responder, pem
from tests.wire import RawStation, raw_station, running_csms, settings_for

EMAID = "DE-ABC-C12345678-9"


def _ocsp_data(cert: x509.Certificate, issuer: x509.Certificate, url: str) -> dict[str, str]:
    data = hash_data_of(cert, issuer)
    return {
        "hashAlgorithm": data.hash_algorithm,
        "issuerNameHash": data.issuer_name_hash,
        "issuerKeyHash": data.issuer_key_hash,
        "serialNumber": data.serial_number,
        "responderURL": url,
    }


async def _authorize(cs: RawStation, token: str = EMAID, **extra: Any) -> dict[str, Any]:
    payload = {"idToken": {"idToken": token, "type": "eMAID"}, **extra}
    return await cs.result("Authorize", payload)


async def test_sign_certificate_answer_then_certificate_signed(tmp_path: Path) -> None:
    ca = make_ca(tmp_path / "ca")
    settings = settings_for(
        tmp_path, ca_dir=str(tmp_path / "ca"), certificate_organization=ORGANIZATION
    )
    async with running_csms(settings) as csms:
        await csms.stations.create(StationSpec(id="CS201"))
        async with raw_station(csms, "CS201", "ocpp2.0.1") as cs:
            await booted(cs, "ocpp2.0.1")
            key = station_pki.new_key()
            csr = station_pki.build_csr(key, "CS201", ORGANIZATION)
            payload = {"csr": csr, "certificateType": "ChargingStationCertificate"}
            await cs.send_raw(orjson.dumps([2, "s1", "SignCertificate", payload]).decode())
            # The answer first (A02.FR.11), then the CSMS's CertificateSigned CALL.
            answer = await cs.recv()
            assert answer == [3, "s1", {"status": "Accepted"}]
            call = await cs.recv()
            assert call[0] == 2
            assert call[2] == "CertificateSigned"
            assert call[3]["certificateType"] == "ChargingStationCertificate"
            chain = x509.load_pem_x509_certificates(call[3]["certificateChain"].encode())
            assert station_pki.same_public_key(chain[0], key)
            assert station_pki.issued_by(chain[0], ca.cert)
            await cs.send_raw(f'[3,"{call[1]}",{{"status":"Rejected"}}]')  # TC_A_14_CSMS
            # Refused CSRs: Rejected with the reason (A02.FR.12).
            other = station_pki.build_csr(key, "SOMEONE-ELSE", ORGANIZATION)
            refused = await cs.result("SignCertificate", {"csr": other})
            assert refused["status"] == "Rejected"
            assert "not the station id" in refused["statusInfo"]["additionalInfo"]
            v2g = await cs.result(
                "SignCertificate",
                {"csr": csr, "certificateType": "V2GCertificate"},
            )
            assert v2g["status"] == "Rejected"  # V2G certificates come from the V2G PKI

            async def delivered() -> bool:
                issued = await csms.certificates.issued("CS201")
                return issued[0].delivery_status == "Rejected"

            await until(delivered)
            requests = await csms.certificates.requests("CS201")
            assert [r.accepted for r in requests] == [False, False, True]


async def test_plug_and_charge_authorize(tmp_path: Path) -> None:
    async with local_responder() as responder:
        url = f"{responder.url}/ocsp"
        pki = PncPki(url)
        trust = tmp_path / "v2g-roots.pem"
        trust.write_text(pem(pki.root.cert))
        good = pki.contract(EMAID)
        revoked = pki.contract("DE-ABC-C00000001-1")
        expired = pki.contract("DE-ABC-C00000002-2", expired=True)
        for cert in (good, expired):
            responder.add(cert, pki.sub)
        responder.add(revoked, pki.sub, revoked=True)
        responder.add(pki.sub.cert, pki.root)
        settings = settings_for(tmp_path, pnc_trust_file=str(trust))
        async with running_csms(settings) as csms:
            await csms.stations.create(StationSpec(id="PNC"))
            for emaid in (EMAID, "DE-ABC-C00000001-1", "DE-ABC-C00000002-2"):
                await add_token(csms, emaid, type="eMAID")
            await add_token(csms, "DE-ABC-C00000009-9", type="eMAID", status="Blocked")
            async with raw_station(csms, "PNC", "ocpp2.0.1") as cs:
                await booted(cs, "ocpp2.0.1")
                # Central contract validation: the chain itself (C07.FR.14/15/16).
                answer = await _authorize(cs, certificate=pki.chain_pem(good))
                assert answer["certificateStatus"] == "Accepted"
                assert answer["idTokenInfo"]["status"] == "Accepted"
                answer = await _authorize(
                    cs, "DE-ABC-C00000001-1", certificate=pki.chain_pem(revoked)
                )
                assert answer["certificateStatus"] == "CertificateRevoked"
                assert answer["idTokenInfo"]["status"] == "Invalid"
                answer = await _authorize(
                    cs, "DE-ABC-C00000002-2", certificate=pki.chain_pem(expired)
                )
                assert answer["certificateStatus"] == "CertificateExpired"
                assert answer["idTokenInfo"]["status"] == "Expired"
                # A chain for another eMAID, or from an unknown PKI: CertChainError (C07.FR.17).
                answer = await _authorize(cs, "DE-ABC-C00000001-1", certificate=pki.chain_pem(good))
                assert answer["certificateStatus"] == "CertChainError"
                assert answer["idTokenInfo"]["status"] == "Invalid"
                stranger = PncPki(url)
                answer = await _authorize(
                    cs, certificate=stranger.chain_pem(stranger.contract(EMAID))
                )
                assert answer["certificateStatus"] == "CertChainError"
                # Hash data: the CSMS asks the responder named in it (C07.FR.06).
                hashed = [_ocsp_data(good, pki.sub.cert, url)]
                hashed.append(_ocsp_data(pki.sub.cert, pki.root.cert, url))
                answer = await _authorize(cs, iso15118CertificateHashData=hashed)
                assert answer["certificateStatus"] == "Accepted"
                hashed[0] = _ocsp_data(revoked, pki.sub.cert, url)
                answer = await _authorize(
                    cs, "DE-ABC-C00000001-1", iso15118CertificateHashData=hashed
                )
                assert answer["certificateStatus"] == "CertificateRevoked"
                # A valid contract whose eMAID is blocked or unknown: ContractCancelled
                # (C07.FR.13) with the token's status.
                hashed[0] = _ocsp_data(good, pki.sub.cert, url)
                answer = await _authorize(
                    cs, "DE-ABC-C00000009-9", iso15118CertificateHashData=hashed
                )
                assert answer["certificateStatus"] == "ContractCancelled"
                assert answer["idTokenInfo"]["status"] == "Blocked"
                answer = await _authorize(cs, "NOBODY", iso15118CertificateHashData=hashed)
                assert answer["certificateStatus"] == "ContractCancelled"
                assert answer["idTokenInfo"]["status"] == "Invalid"
                sent = responder.requests
                await _authorize(cs, iso15118CertificateHashData=hashed)
                assert responder.requests == sent  # answered from the OCSP cache
            # The answer is stored too: another node or a restart reuses it.
            assert await csms.storage.certificates.get_ocsp(hash_data_of(good, pki.sub.cert).key)


async def test_get_certificate_status_forwards_the_ocsp_response(tmp_path: Path) -> None:
    async with local_responder() as responder:
        url = f"{responder.url}/ocsp"
        pki = PncPki(url)
        good = pki.contract(EMAID)
        responder.add(good, pki.sub)
        async with running_csms(settings_for(tmp_path)) as csms:
            await csms.stations.create(StationSpec(id="M06"))
            async with raw_station(csms, "M06", "ocpp2.0.1") as cs:
                await booted(cs, "ocpp2.0.1")
                answer = await cs.result(
                    "GetCertificateStatus", {"ocspRequestData": _ocsp_data(good, pki.sub.cert, url)}
                )
                assert answer["status"] == "Accepted"
                response = ocsp.load_der_ocsp_response(base64.b64decode(answer["ocspResult"]))
                assert response.certificate_status is ocsp.OCSPCertStatus.GOOD
                assert response.serial_number == good.serial_number
                unknown = _ocsp_data(pki.contract("DE-X"), pki.sub.cert, url)
                answer = await cs.result("GetCertificateStatus", {"ocspRequestData": unknown})
                assert answer["status"] == "Failed"
                assert "ocspResult" not in answer


async def test_get_15118_ev_certificate_goes_to_the_provider(tmp_path: Path) -> None:
    async with local_responder() as provider:
        provider.provider = lambda request: (200, {"status": "Accepted", "exiResponse": "gAB="})
        settings = settings_for(tmp_path, contract_provider_url=f"{provider.url}/provider")
        async with running_csms(settings) as csms:
            await csms.stations.create(StationSpec(id="M01"))
            async with raw_station(csms, "M01", "ocpp2.0.1") as cs:
                await booted(cs, "ocpp2.0.1")
                request = {
                    "iso15118SchemaVersion": "urn:iso:15118:2:2013:MsgDef",
                    "action": "Install",
                    "exiRequest": "gAA=",
                }
                answer = await cs.result("Get15118EVCertificate", request)
                assert answer == {"status": "Accepted", "exiResponse": "gAB="}
                assert provider.provider_requests == [{"stationId": "M01", **request}]
                provider.provider = lambda request: (500, {"error": "down"})
                answer = await cs.result("Get15118EVCertificate", {**request, "action": "Update"})
                assert answer["status"] == "Failed"
                assert answer["exiResponse"] == ""


async def test_get_15118_ev_certificate_without_provider_fails(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path)) as csms:
        await csms.stations.create(StationSpec(id="M02"))
        async with raw_station(csms, "M02", "ocpp2.0.1") as cs:
            await booted(cs, "ocpp2.0.1")
            request = {"iso15118SchemaVersion": "urn:iso:15118:2:2013:MsgDef", "action": "Install"}
            answer = await cs.result("Get15118EVCertificate", {**request, "exiRequest": "gAA="})
            assert answer["status"] == "Failed"
            assert "no contract certificate provider" in answer["statusInfo"]["additionalInfo"]
