"""OCPP 1.6 OCTT test case document, Central System section, module "Security": TC_073_CSMS to
TC_088_CSMS, the Central System cases of the OCPP 1.6 security whitepaper (edition 2): security
profiles and Basic authentication (A00, A01, A05), certificates (A02/A03, M03-M05 style
InstallCertificate / GetInstalledCertificateIds / DeleteCertificate), security events, the
security log (GetLog) and signed firmware updates (SignedUpdateFirmware).

Real sockets and real TLS throughout: the CSMS listens on ws (profile 1), wss + Basic auth
(profile 2) and wss + client certificates (profile 3) with a throw-away PKI built by the test
(``tests/transport/tls_pki.py``, independent of the CSMS's CA code); that PKI's root is the
operator's CA (``ca_dir``), which signs the charge point certificates the CSMS issues.
The "Manual Actions" are the security and certificate APIs (docs/security.md,
docs/certificates.md) and the jobs API (docs/jobs.md).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

from tests.conformance import octt
from tests.conformance.octt import Call, Station
from tests.conformance.sut import Sut, new_password, start_sut
from tests.conformance.v16.states import (
    PROTOCOL,
    boot,
    booted,
    check,
    manual_action,
    status,
)
from tests.transport.tls_pki import Issued, issue, make_ca

ORGANIZATION = "Test CPO"
"""<Configured CPO name>: the O of the charge point certificates."""


@dataclass(frozen=True)
class Pki:
    """The operator's CA (also the CSMS's ``ca_dir``), the server chain and another root."""

    ca_dir: Path
    root: Issued
    server: Issued
    other_root: Issued

    def client_context(self, client: Issued | None = None) -> ssl.SSLContext:
        """The charge point's TLS context: trusts the operator's root (the CentralSystemRoot
        certificate it holds), presents ``client`` for profile 3."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.root.cert_file)
        if client is not None:
            context.load_cert_chain(client.cert_file, client.key_file)
        return context

    def station(self, station_id: str) -> Issued:
        """A charge point certificate from the operator's CA (CN = the station id)."""
        return issue(self.ca_dir.parent, self.root, f"cp-{station_id}", cn=station_id)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    base = tmp_path_factory.mktemp("pki")
    ca_dir = base / "ca"
    ca_dir.mkdir()
    root = make_ca(ca_dir, "ca", kind="rsa")  # ca_dir/ca.pem + ca_dir/ca.key
    server = issue(base, root, "server", cn="localhost", kind="rsa", server=True)
    return Pki(ca_dir, root, server, make_ca(base, "other-root", kind="ec"))


@contextlib.asynccontextmanager
async def tls_sut(tmp_path: Path, pki: Pki, **overrides: Any) -> AsyncIterator[Sut]:
    """The CSMS with its profile 2 and 3 listeners and the operator's CA."""
    async with start_sut(
        tmp_path,
        ocpp_tls_port=0,
        ocpp_mtls_port=0,
        tls_cert_file=str(pki.server.cert_file),
        tls_key_file=str(pki.server.key_file),
        tls_client_ca_file=str(pki.root.cert_file),
        ca_dir=str(pki.ca_dir),
        files_dir=str(tmp_path / "files"),
        **overrides,
    ) as running:
        yield running


def _wss(port: int | None) -> str:
    assert port is not None, "the CSMS has no such TLS listener"
    return f"wss://localhost:{port}/ocpp"


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


# ------------------------------------------------------------------ TC_073 password


async def test_TC_073_CSMS(sut: Sut) -> None:
    """Update Charge Point Password for HTTP Basic Authentication (profile 1)."""
    password = new_password()
    await sut.provision("CP073", password=password)
    async with sut.station("CP073", PROTOCOL, password=password) as station:
        await booted(station)
        # Manual Action: update the Basic authentication password.
        rotating = manual_action(sut.api.post("/stations/CP073/password/rotate", {}))
        call = await station.expect("ChangeConfiguration")  # 1.
        key, value = call.payload["key"], call.payload["value"]
        check(key == "AuthorizationKey", f"ChangeConfiguration.req key {key}")
        # The AuthorizationKey is 16-20 bytes, hexadecimal (at most 40 hex digits).
        check(
            32 <= len(value) <= 40 and all(c in "0123456789abcdefABCDEF" for c in value),
            f"AuthorizationKey {value!r} is not 16-20 bytes in hexadecimal",
        )
        await station.respond(call, {"status": "Accepted"})  # 2.
        rotation = await rotating
        assert rotation["rotation"]["status"] == "accepted", rotation
    # 3. The charge point reconnects with the new password; the old one is refused (A01.FR.03).
    async with sut.station("CP073", PROTOCOL, password=value) as station:
        await boot(station)
    assert await octt.refused(sut.ws_url, "CP073", PROTOCOL, password=password) == 401


# ------------------------------------------------------------------ certificates


def _csr(station_id: str) -> tuple[ec.EllipticCurvePrivateKey, str]:
    """The charge point's new key pair and its CSR (CN = id, O = CPO name; whitepaper A02)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, station_id),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
        ]
    )
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return key, csr.public_bytes(serialization.Encoding.PEM).decode()


async def _sign_certificate_exchange(
    sut: Sut, station: Station
) -> tuple[ec.EllipticCurvePrivateKey, Call]:
    """Steps 1-5 of TC_074 / TC_077 (Memory State RenewChargePointCertificate): the CPO asks for
    a renewal, the tool sends its CSR, the CSMS signs it and sends CertificateSigned.req."""
    renewing = manual_action(sut.api.post(f"/stations/{station.station_id}/certificates/renew", {}))
    trigger = await station.expect("ExtendedTriggerMessage")  # 1.
    check(
        trigger.payload == {"requestedMessage": "SignChargePointCertificate"},
        f"ExtendedTriggerMessage.req {trigger.payload}: SignChargePointCertificate, no connector",
    )
    await station.respond(trigger, {"status": "Accepted"})  # 2.
    await renewing
    key, csr = _csr(station.station_id)
    answer = await station.send("SignCertificate", {"csr": csr})  # 3./4.
    check(answer == {"status": "Accepted"}, f"SignCertificate.conf {answer}")
    signed = await station.expect("CertificateSigned")  # 5.
    return key, signed


def _common_name(cert: x509.Certificate) -> str:
    value = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    return value.decode() if isinstance(value, bytes) else value


def _check_signed(station_id: str, key: ec.EllipticCurvePrivateKey, signed: Call) -> list[Any]:
    """Step 5: a valid PEM chain whose leaf has the CSR's public key and CN = the station."""
    chain = x509.load_pem_x509_certificates(signed.payload["certificateChain"].encode())
    leaf = chain[0]
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    check(
        leaf.public_key().public_bytes(serialization.Encoding.DER, spki)
        == key.public_key().public_bytes(serialization.Encoding.DER, spki),
        "the signed certificate does not carry the CSR's public key",
    )
    cn = _common_name(leaf)
    check(cn == station_id, f"the signed certificate's CN is {cn}, want {station_id}")
    return chain


async def _delivery(sut: Sut, station_id: str) -> str | None:
    """The charge point's CertificateSigned answer as the CSMS recorded it. The CSMS stores it
    once its own CALL completes, a moment after the tool answered: wait for it (5 s at most)."""
    delivery: str | None = None
    async with asyncio.timeout(5):
        while delivery is None:
            issued = await sut.api.get("/certificates/issued", params={"station_id": station_id})
            items = issued["items"] if isinstance(issued, dict) else issued
            delivery = items[0]["delivery_status"] if items else None
            if delivery is None:
                await asyncio.sleep(0.05)  # polling the API, bounded by the timeout above
    return delivery


async def test_TC_074_CSMS(tmp_path: Path, pki: Pki) -> None:
    """Update Charge Point Certificate by request of Central System (profile 3)."""
    async with tls_sut(tmp_path, pki, security_profile=3) as sut:
        await sut.provision("CP074")
        mtls = _wss(sut.csms.ports.mtls)
        first = pki.station("CP074")
        async with octt.connect_station(
            mtls, "CP074", PROTOCOL, ssl_context=pki.client_context(first)
        ) as station:
            await booted(station)
            key, signed = await _sign_certificate_exchange(sut, station)  # 1.-5.
            chain = _check_signed("CP074", key, signed)
            await station.respond(signed, {"status": "Accepted"})  # 6.
        # 7. The charge point reconnects with its new certificate; the CSMS accepts it.
        cert_file, key_file = tmp_path / "new.pem", tmp_path / "new.key"
        cert_file.write_text("".join(_pem(c) for c in chain))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        renewed = Issued(chain[0], key, cert_file, key_file)
        async with octt.connect_station(
            mtls, "CP074", PROTOCOL, ssl_context=pki.client_context(renewed)
        ) as station:
            await boot(station)
        assert await _delivery(sut, "CP074") == "Accepted"


async def test_TC_077_CSMS(tmp_path: Path, pki: Pki) -> None:
    """Invalid ChargePointCertificate Security Event."""
    async with tls_sut(tmp_path, pki, security_profile=3) as sut:
        await sut.provision("CP077")
        async with octt.connect_station(
            _wss(sut.csms.ports.mtls),
            "CP077",
            PROTOCOL,
            ssl_context=pki.client_context(pki.station("CP077")),
        ) as station:
            await booted(station)
            _, signed = await _sign_certificate_exchange(sut, station)  # 1.-5.
            # The charge point deems the certificate invalid.
            await station.respond(signed, {"status": "Rejected"})  # 6.
            event = {"type": "InvalidChargePointCertificate", "timestamp": octt.now()}
            assert await station.send("SecurityEventNotification", event) == {}  # 7./8.
        events = await sut.api.get("/stations/CP077/security-events")
        assert events["items"][0]["type"] == "InvalidChargePointCertificate", events
        # The CSMS records that the charge point refused the certificate.
        assert await _delivery(sut, "CP077") == "Rejected"


def _hash_data(cert: x509.Certificate, algorithm: str = "SHA256") -> dict[str, str]:
    """The whitepaper's CertificateHashData of ``cert`` (a root: issuer = subject)."""
    digest = {"SHA256": hashlib.sha256, "SHA384": hashlib.sha384, "SHA512": hashlib.sha512}[
        algorithm
    ]
    public_key = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # issuerKeyHash: the hash of the issuer's public key bit string (RFC 6960 style); for
    # the tool's purpose (an identifier the CSMS echoes) the SPKI digest serves.
    return {
        "hashAlgorithm": algorithm,
        "issuerNameHash": digest(cert.issuer.public_bytes()).hexdigest(),
        "issuerKeyHash": digest(public_key).hexdigest(),
        "serialNumber": format(cert.serial_number, "x"),
    }


async def _install(
    sut: Sut, station: Station, api_type: str, wire_type: str, cert: x509.Certificate, answer: str
) -> Any:
    """Manual Action: install ``cert``; 1. InstallCertificate.req / 2. conf ``answer``."""
    body = {"certificate_type": api_type, "pem": _pem(cert)}
    installing = manual_action(
        sut.api.post(f"/stations/{station.station_id}/certificates/install", body)
    )
    call = await station.expect("InstallCertificate")
    check(
        call.payload["certificateType"] == wire_type,
        f"InstallCertificate.req certificateType {call.payload['certificateType']}",
    )
    check(
        x509.load_pem_x509_certificate(call.payload["certificate"].encode()) == cert,
        "InstallCertificate.req does not carry the configured certificate",
    )
    await station.respond(call, {"status": answer})
    return await installing


async def _installed_ids(
    sut: Sut, station: Station, api_type: str, wire_type: str, hash_data: list[dict[str, str]]
) -> Any:
    """Manual Action: GetInstalledCertificateIds for one type; the tool reports ``hash_data``."""
    refreshing = manual_action(
        sut.api.post(
            f"/stations/{station.station_id}/certificates/refresh",
            {"certificate_type": api_type},
        )
    )
    call = await station.expect("GetInstalledCertificateIds")
    check(
        call.payload == {"certificateType": wire_type},
        f"GetInstalledCertificateIds.req {call.payload}, want certificateType {wire_type}",
    )
    answer: dict[str, Any] = {"status": "Accepted" if hash_data else "NotFound"}
    if hash_data:
        answer["certificateHashData"] = hash_data
    await station.respond(call, answer)
    return await refreshing


async def _install_and_list(
    sut: Sut, tmp_path: Path, station_id: str, api_type: str, wire_type: str
) -> None:
    """TC_075_x: InstallCertificate Accepted, then GetInstalledCertificateIds of that type."""
    await sut.provision(station_id)
    async with sut.station(station_id, PROTOCOL) as station:
        await booted(station)
        root = make_ca(tmp_path, f"root-{station_id}", kind="ec").cert
        result = await _install(sut, station, api_type, wire_type, root, "Accepted")  # 1./2.
        assert result["status"] == "Accepted", result
        await _installed_ids(sut, station, api_type, wire_type, [_hash_data(root)])  # 3./4.
    inventory = await sut.api.get(f"/stations/{station_id}/certificates")
    kinds = {item["certificate_type"] for item in inventory["items"]}
    assert api_type in kinds, inventory


async def test_TC_075_1_CSMS(sut: Sut, tmp_path: Path) -> None:
    """Install a certificate on the Charge Point - ManufacturerRootCertificate."""
    await _install_and_list(
        sut, tmp_path, "CP0751", "ManufacturerRootCertificate", "ManufacturerRootCertificate"
    )


async def test_TC_075_2_CSMS(sut: Sut, tmp_path: Path) -> None:
    """Install a certificate on the Charge Point - CentralSystemRootCertificate."""
    await _install_and_list(
        sut, tmp_path, "CP0752", "CSMSRootCertificate", "CentralSystemRootCertificate"
    )


async def test_TC_076_CSMS(sut: Sut, tmp_path: Path) -> None:
    """Delete a specific certificate from the Charge Point, for each hash algorithm."""
    await sut.provision("CP076")
    async with sut.station("CP076", PROTOCOL) as station:
        await booted(station)
        for algorithm in ("SHA256", "SHA384", "SHA512"):
            # Install CentralSystemRootCertificate 2 (1./2.).
            second = make_ca(tmp_path, f"cs-root-2-{algorithm}", kind="ec").cert
            await _install(
                sut,
                station,
                "CSMSRootCertificate",
                "CentralSystemRootCertificate",
                second,
                "Accepted",
            )
            # 3./4. GetInstalledCertificateIds: the tool reports it with <hash alg>.
            hash_data = _hash_data(second, algorithm)
            inventory = await _installed_ids(
                sut, station, "CSMSRootCertificate", "CentralSystemRootCertificate", [hash_data]
            )
            items = inventory["items"] if isinstance(inventory, dict) else inventory
            entry = next(
                item
                for item in items
                if item["hash_data"]["serial_number"] == hash_data["serialNumber"]
            )
            # Manual Action: delete it (5./6.): the hash data as the charge point reported it.
            deleting = manual_action(sut.api.delete(f"/stations/CP076/certificates/{entry['id']}"))
            call = await station.expect("DeleteCertificate")  # 5.
            check(
                call.payload == {"certificateHashData": hash_data},
                f"DeleteCertificate.req {call.payload}, want the reported {hash_data}",
            )
            await station.respond(call, {"status": "Accepted"})  # 6.
            await deleting
            # 7./8. (optional) GetInstalledCertificateIds: it is gone.
            await _installed_ids(
                sut, station, "CSMSRootCertificate", "CentralSystemRootCertificate", []
            )


async def test_TC_078_CSMS(sut: Sut, tmp_path: Path) -> None:
    """Invalid CentralSystemCertificate Security Event."""
    await sut.provision("CP078")
    async with sut.station("CP078", PROTOCOL) as station:
        await booted(station)
        root = make_ca(tmp_path, "cs-root-078", kind="ec").cert
        # 1./2. The tool rejects any certificate in this test case.
        result = await _install(
            sut, station, "CSMSRootCertificate", "CentralSystemRootCertificate", root, "Rejected"
        )
        assert result["status"] == "Rejected", result
        event = {"type": "InvalidCentralSystemCertificate", "timestamp": octt.now()}
        assert await station.send("SecurityEventNotification", event) == {}  # 3./4.
    events = await sut.api.get("/stations/CP078/security-events")
    assert events["items"][0]["type"] == "InvalidCentralSystemCertificate", events
    inventory = await sut.api.get("/stations/CP078/certificates")
    assert inventory["items"] == [], inventory


# ------------------------------------------------------------------ security log, firmware


async def test_TC_079_CSMS(tmp_path: Path) -> None:
    """Get Security Log."""
    async with start_sut(tmp_path, files_dir=str(tmp_path / "files")) as sut:
        await sut.provision("CP079")
        async with sut.station("CP079", PROTOCOL) as station:
            await booted(station)
            starting = manual_action(
                sut.api.post("/stations/CP079/jobs/log", {"log_type": "SecurityLog"}, expect=202)
            )
            call = await station.expect("GetLog")  # 1.
            check(call.payload["logType"] == "SecurityLog", f"GetLog.req logType {call.payload}")
            location = call.payload["log"]["remoteLocation"]
            request_id = call.payload["requestId"]
            await station.respond(call, {"status": "Accepted", "filename": "security.log"})  # 2.
            job = await starting
            uploading = {"status": "Uploading", "requestId": request_id}
            await station.send("LogStatusNotification", uploading)  # 3./4.
            async with httpx.AsyncClient() as client:
                response = await client.put(f"{location}security.log", content=b"security\n")
            assert response.status_code == 201, response.text
            uploaded = {"status": "Uploaded", "requestId": request_id}
            await station.send("LogStatusNotification", uploaded)  # 5./6.
        job = await sut.api.get(f"/jobs/{job['id']}", params={"wait": 10})
    assert job["state"] == "Succeeded", job
    assert job["log_type"] == "SecurityLog", job
    assert [f["name"] for f in job["files"]] == ["security.log"], job


def _signing(tmp_path: Path) -> tuple[str, str]:
    """A firmware signing certificate and a signature of the image (RSA-SHA256, Base64)."""
    root = make_ca(tmp_path, "firmware-root", kind="rsa")
    signer = issue(tmp_path, root, "firmware-signer", cn="OCTT firmware signer", kind="rsa")
    assert isinstance(signer.key, rsa.RSAPrivateKey)
    signature = signer.key.sign(b"OCTT firmware", padding.PKCS1v15(), hashes.SHA256())
    return _pem(signer.cert), base64.b64encode(signature).decode()


async def _signed_update(
    sut: Sut, station: Station, signing_certificate: str, signature: str
) -> tuple[Call, dict[str, Any]]:
    """Manual Action: a secure firmware update; 1. SignedUpdateFirmware.req / 2. Accepted."""
    body = {
        "location": "https://firmware.example.com/octt/fw-1.0.1.bin",  # <Firmware Download URL>
        "signing_certificate": signing_certificate,
        "signature": signature,
    }
    starting = manual_action(
        sut.api.post(f"/stations/{station.station_id}/jobs/firmware", body, expect=202)
    )
    call = await station.expect("SignedUpdateFirmware")
    firmware = call.payload["firmware"]
    check(firmware["location"] == body["location"], f"firmware.location {firmware}")
    check(firmware["signature"] == signature, "firmware.signature is not the configured one")
    check(
        firmware["signingCertificate"] == signing_certificate,
        "firmware.signingCertificate is not the configured one",
    )
    await station.respond(call, {"status": "Accepted"})
    job: dict[str, Any] = await starting
    return call, job


async def _signed_status(station: Station, request_id: int, firmware_status: str) -> None:
    payload = {"status": firmware_status, "requestId": request_id}
    assert await station.send("SignedFirmwareStatusNotification", payload) == {}


async def test_TC_080_CSMS(sut: Sut, tmp_path: Path) -> None:
    """Secure Firmware Update."""
    certificate, signature = _signing(tmp_path)
    await sut.provision("CP080")
    async with sut.station("CP080", PROTOCOL) as station:
        await booted(station)
        call, job = await _signed_update(sut, station, certificate, signature)  # 1./2.
        request_id = call.payload["requestId"]
        await _signed_status(station, request_id, "Downloading")  # 3./4.
        await _signed_status(station, request_id, "Downloaded")  # 5./6.
        await _signed_status(station, request_id, "SignatureVerified")  # 7./8.
        await status(station, "Unavailable")  # the charge point MAY set its connectors
        await _signed_status(station, request_id, "Installing")  # 9./10.
        await _signed_status(station, request_id, "InstallRebooting")  # 11./12.
    async with sut.station("CP080", PROTOCOL) as station:
        response = await boot(station)  # 13./14.
        check(response["status"] == "Accepted", f"BootNotification.conf {response}")
        event = {"type": "FirmwareUpdated", "timestamp": octt.now()}
        assert await station.send("SecurityEventNotification", event) == {}  # 15./16.
        await status(station, "Available")  # 17./18.
        await _signed_status(station, request_id, "Installed")  # 19./20.
        job = await sut.api.get(f"/jobs/{job['id']}", params={"wait": 10})
    events = await sut.api.get("/stations/CP080/security-events")
    assert events["items"][0]["type"] == "FirmwareUpdated", events
    assert job["state"] == "Succeeded", job
    assert job["station_status"] == "Installed", job
    assert job["action"] == "SignedUpdateFirmware", job


async def test_TC_081_CSMS(sut: Sut, tmp_path: Path) -> None:
    """Secure Firmware Update - Invalid Signature."""
    certificate, _ = _signing(tmp_path)
    invalid = base64.b64encode(b"not a signature of the image").decode()
    await sut.provision("CP081")
    async with sut.station("CP081", PROTOCOL) as station:
        await booted(station)
        call, job = await _signed_update(sut, station, certificate, invalid)  # 1./2.
        request_id = call.payload["requestId"]
        await _signed_status(station, request_id, "Downloading")  # 3./4.
        await _signed_status(station, request_id, "Downloaded")  # 5./6.
        await _signed_status(station, request_id, "InvalidSignature")  # 7./8.
        job = await sut.api.get(f"/jobs/{job['id']}", params={"wait": 10})
    assert job["state"] == "Failed", job
    assert job["station_status"] == "InvalidSignature", job


# ------------------------------------------------------------------ profiles and connections


async def test_TC_083_CSMS(tmp_path: Path, pki: Pki) -> None:
    """Upgrade Charge Point Security Profile - Accepted (profile 1 → 2)."""
    async with tls_sut(tmp_path, pki) as sut:
        password = new_password()
        await sut.provision("CP083", password=password)
        async with sut.station("CP083", PROTOCOL, password=password) as station:
            await booted(station)
            # Manual Action: ChangeConfiguration SecurityProfile = current + 1.
            upgrading = manual_action(
                sut.api.post("/stations/CP083/security-profile/upgrade", {"profile": 2})
            )
            call = await station.expect("ChangeConfiguration")  # 1.
            check(
                call.payload == {"key": "SecurityProfile", "value": "2"},
                f"ChangeConfiguration.req {call.payload}",
            )
            await station.respond(call, {"status": "Accepted"})  # 2.
            upgrade = await upgrading
            assert upgrade["sent"], upgrade
            assert upgrade["pending_security_profile"] == 2, upgrade
            # Manual Action: Reset Hard.
            resetting = manual_action(
                sut.api.post("/stations/CP083/commands/reset", {"type": "hard"})
            )
            reset = await station.expect("Reset")  # 3.
            check(reset.payload == {"type": "Hard"}, f"Reset.req {reset.payload}")
            await station.respond(reset, {"status": "Accepted"})  # 4.
            await resetting
        tls = _wss(sut.csms.ports.tls)
        context = pki.client_context()
        # 5./6. The charge point reconnects with security profile 2; 7.-10. it boots.
        async with octt.connect_station(
            tls, "CP083", PROTOCOL, password=password, ssl_context=context
        ) as station:
            await booted(station)
        # 11./12. A connection with the old profile is refused.
        assert await octt.refused(sut.ws_url, "CP083", PROTOCOL, password=password) in (
            401,
            403,
        )
        # 13./14. The upgraded profile is accepted again.
        async with octt.connect_station(
            tls, "CP083", PROTOCOL, password=password, ssl_context=context
        ) as station:
            await boot(station)
        security = await sut.api.get("/stations/CP083/security")
        assert security["security_profile"] == 2, security


async def test_TC_085_CSMS(sut: Sut) -> None:
    """Basic Authentication - Valid username/password combination."""
    password = new_password()
    await sut.provision("CP085", password=password)
    # 1./2. An upgrade request without an Authorization header is refused.
    assert await octt.refused(sut.ws_url, "CP085", PROTOCOL) == 401
    # 3./4. With Basic <Base64(id:password)> it is accepted; 5.-8. Booted.
    async with sut.station("CP085", PROTOCOL, password=password) as station:
        await booted(station)


def _server_certificate(station: Station) -> x509.Certificate:
    transport = station.ws.transport
    ssl_object = transport.get_extra_info("ssl_object")
    der = ssl_object.getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der)


async def test_TC_086_CSMS(tmp_path: Path, pki: Pki) -> None:
    """TLS - server-side certificate - Valid certificate (profile 2)."""
    async with tls_sut(tmp_path, pki, security_profile=2) as sut:
        password = new_password()
        await sut.provision("CP086", password=password)
        # 1.-4. TLS handshake; 5./6. upgrade with username/password (profile 2).
        async with octt.connect_station(
            _wss(sut.csms.ports.tls),
            "CP086",
            PROTOCOL,
            password=password,
            ssl_context=pki.client_context(),
        ) as station:
            ssl_object = station.ws.transport.get_extra_info("ssl_object")
            # Step 2: TLS 1.2 or higher; a key of at least 2048 bits (RSA) / 224 bits (ECC);
            # an X.509 certificate with a serial number whose CN is the server's FQDN.
            check(ssl_object.version() in ("TLSv1.2", "TLSv1.3"), ssl_object.version())
            cert = _server_certificate(station)
            key = cert.public_key()
            if isinstance(key, rsa.RSAPublicKey):
                check(key.key_size >= 2048, f"RSA key of {key.key_size} bits")
            else:
                assert isinstance(key, ec.EllipticCurvePublicKey)
                check(key.curve.key_size >= 224, f"EC key of {key.curve.key_size} bits")
            check(cert.serial_number > 0, "the server certificate has no serial number")
            cn = _common_name(cert)
            check(cn == "localhost", f"server certificate CN {cn}, want the FQDN localhost")
            await booted(station)  # 7.-10.
        # Step 2: the required TLS 1.2 suites of an RSA server certificate (A00.FR.317):
        # TLS_RSA_WITH_AES_128_GCM_SHA256 and TLS_RSA_WITH_AES_256_GCM_SHA384.
        for suite in ("AES128-GCM-SHA256", "AES256-GCM-SHA384"):
            context = pki.client_context()
            context.maximum_version = ssl.TLSVersion.TLSv1_2
            context.set_ciphers(suite)
            async with octt.connect_station(
                _wss(sut.csms.ports.tls), "CP086", PROTOCOL, password=password, ssl_context=context
            ) as station:
                ssl_object = station.ws.transport.get_extra_info("ssl_object")
                check(ssl_object.cipher()[0] == suite, f"negotiated {ssl_object.cipher()}")


async def test_TC_087_CSMS(tmp_path: Path, pki: Pki) -> None:
    """TLS - Client-side certificate - valid certificate (profile 3)."""
    async with tls_sut(tmp_path, pki, security_profile=3) as sut:
        await sut.provision("CP087")
        async with octt.connect_station(
            _wss(sut.csms.ports.mtls),
            "CP087",
            PROTOCOL,
            ssl_context=pki.client_context(pki.station("CP087")),
        ) as station:
            ssl_object = station.ws.transport.get_extra_info("ssl_object")
            check(ssl_object.version() in ("TLSv1.2", "TLSv1.3"), ssl_object.version())
            await booted(station)  # 7.-10.


async def test_TC_088_CSMS(sut: Sut) -> None:
    """WebSocket Subprotocol negotiation.

    Step 2 "rejects the connection attempt": OCPP-J 1.6 §3.1.2 says how a Central System that
    supports none of the offered subprotocols refuses one: it MUST complete the handshake
    without a Sec-WebSocket-Protocol header and then immediately close the connection. The test
    accepts that, or a refusal of the upgrade itself; never an OCPP connection."""
    await sut.provision("CP088")
    url = f"{sut.ws_url}/CP088"
    # 1./2. Only an unsupported subprotocol: no OCPP connection.
    try:
        async with connect(url, subprotocols=[Subprotocol("ocpp0.1")], open_timeout=5) as ws:
            check(ws.subprotocol is None, f"the CSMS agreed to {ws.subprotocol}")
            async with asyncio.timeout(5):
                await ws.wait_closed()  # closed immediately, without a frame exchanged
    except InvalidStatus as refusal:  # or refused before the upgrade: an HTTP error status
        status_code = refusal.response.status_code
        check(status_code >= 400, f"the upgrade was answered {status_code}")
    except InvalidHandshake:
        pass  # refused before the upgrade in another way
    # 3./4. ocpp0.1 and ocpp1.6: the Central System upgrades with Sec-WebSocket-Protocol ocpp1.6.
    async with connect(
        url, subprotocols=[Subprotocol("ocpp0.1"), Subprotocol("ocpp1.6")], open_timeout=5
    ) as ws:
        assert ws.response is not None
        header = ws.response.headers.get("Sec-WebSocket-Protocol")
        check(header == "ocpp1.6", f"Sec-WebSocket-Protocol: {header}, want ocpp1.6")
