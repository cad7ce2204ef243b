"""OCPP 2.0.1 Part 6 §3.2, A Security: the CSMS test cases TC_A_xx_CSMS.

TC_A_01-03 Basic authentication; TC_A_04-08 TLS at security profiles 2 and 3 (the tool's TLS
client is Python's ``ssl``; certificates from tls_material.py); TC_A_09/10 the BasicAuthPassword
update (A01); TC_A_11/14 the station certificate renewal (A02, Memory State
RenewChargingStationCertificate); TC_A_19 the security profile upgrade (A05). The Manual Actions
are the API endpoints of docs/security.md and docs/certificates.md.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from tests.conformance import octt
from tests.conformance.sut import Sut, new_password, start_sut
from tests.conformance.v201.states import booted, check
from tests.conformance.v201.tls_material import (
    SERVER_HOST,
    Handshake,
    Material,
    Pki,
    PrivateKey,
    connect_at,
    connection_refused,
    handshake,
    handshake_refused,
    listener_url,
    make_csr,
    make_pki,
)


async def test_TC_A_01_CSMS(sut: Sut) -> None:
    """Basic Authentication - Valid username/password combination (A00.FR.204, B01.FR.02)."""
    password = new_password()
    await sut.provision("CS-A01", password=password)
    async with sut.station("CS-A01", password=password) as station:
        await booted(station)


async def test_TC_A_02_CSMS(sut: Sut) -> None:
    """Basic Authentication - Username does not equal ChargingStationId (A00.FR.204)."""
    password = new_password()
    await sut.provision("CS-A02", password=password)
    status = await octt.refused(
        sut.ws_url, "CS-A02", "ocpp2.0.1", password=password, username="CS-A02Invalid"
    )
    assert status == 401


async def test_TC_A_03_CSMS(sut: Sut) -> None:
    """Basic Authentication - Invalid password (A00.FR.204)."""
    await sut.provision("CS-A03", password=new_password())
    status = await octt.refused(sut.ws_url, "CS-A03", "ocpp2.0.1", password=new_password())
    assert status == 401


# ---------------------------------------------------------------- TLS, profiles 2 and 3 (A00)

REQUIRED_SUITES = (
    # Tool validation (TC_A_04 / TC_A_07 step 3): at least these four suites (A00.FR.317/421).
    ("ECDHE-ECDSA-AES128-GCM-SHA256", ec.EllipticCurvePublicKey),
    ("ECDHE-ECDSA-AES256-GCM-SHA384", ec.EllipticCurvePublicKey),
    ("AES128-GCM-SHA256", rsa.RSAPublicKey),  # TLS_RSA_WITH_AES_128_GCM_SHA256
    ("AES256-GCM-SHA384", rsa.RSAPublicKey),  # TLS_RSA_WITH_AES_256_GCM_SHA384
)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
async def tls_sut(tmp_path: Path, pki: Pki) -> AsyncIterator[Sut]:
    """The CSMS deployed with its profile 2 and 3 listeners, the <Configured server
    certificate> (RSA and ECDSA chains) and the CSMS root as its CA."""
    async with start_sut(tmp_path, **pki.csms_settings()) as running:
        yield running


async def configure(sut: Sut, station_id: str, profile: int) -> str | None:
    """Configuration State: the station at ``profile``, with a Basic-auth password for 1 and 2
    (returned). A raised profile is final once the station connects at it (A05.FR.09)."""
    password = new_password() if profile < 3 else None
    await sut.provision(station_id, password=password)
    if profile > 1:
        await sut.api.put(f"/stations/{station_id}/security-profile", {"security_profile": profile})
    return password


def listener_port(sut: Sut, profile: int) -> int:
    port: int = sut.csms.ports.tls if profile == 2 else sut.csms.ports.mtls
    return port


def check_server_certificate(seen: Handshake) -> None:
    """The tool validations of the server certificate (TC_A_04 step 3: A00.FR.502/503,
    A00.FR.507/508, A00.FR.510)."""
    key = seen.certificate.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        check(key.key_size >= 2048, f"RSA server key of {key.key_size} bits, want >= 2048")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        check(key.key_size >= 224, f"EC server key of {key.key_size} bits, want >= 224")
    else:
        raise octt.ConformanceFailure(f"server key of type {type(key).__name__}")
    # X.509, which the tool reads as PEM.
    pem = seen.certificate.public_bytes(serialization.Encoding.PEM)
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    check(der == seen.certificate_der, "the server certificate is not X.509")
    check(seen.certificate.serial_number > 0, "the server certificate has no serial number")
    names = seen.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    check(
        [n.value for n in names] == [SERVER_HOST],
        f"server certificate subject CN {[n.value for n in names]}, want the FQDN {SERVER_HOST}",
    )


async def check_tls_handshakes(sut: Sut, pki: Pki, profile: int, client: Material | None) -> None:
    """Steps 1-4 with the tool validations of step 3, once per required TLS 1.2 suite (each
    with the certificate of its key type, A00.FR.318), then at the highest version both offer."""
    port = listener_port(sut, profile)
    for suite, key_type in REQUIRED_SUITES:
        context = pki.client_context(client, max_version=ssl.TLSVersion.TLSv1_2, ciphers=suite)
        seen = await handshake(port, context)
        check(seen.version == "TLSv1.2", f"{suite}: TLS version {seen.version}")
        check(seen.cipher == suite, f"offered only {suite}, the CSMS chose {seen.cipher}")
        check(
            isinstance(seen.certificate.public_key(), key_type),
            f"{suite}: a server certificate of the wrong key type",
        )
        check_server_certificate(seen)
    seen = await handshake(port, pki.client_context(client))
    check(seen.version in ("TLSv1.2", "TLSv1.3"), f"TLS version {seen.version}, want >= 1.2")
    check_server_certificate(seen)


@pytest.mark.parametrize("profile", [2, 3])
async def test_TC_A_04_CSMS(tls_sut: Sut, pki: Pki, profile: int) -> None:
    """TLS - server-side certificate - Valid certificate (A00.FR.306/307/312/318/321,
    A00.FR.502/503/507/508/510), at security profile 2 and 3."""
    station_id = f"CS-A04-P{profile}"
    password = await configure(tls_sut, station_id, profile)
    client = pki.station(station_id) if profile == 3 else None
    # 1.-4. The TLS handshake, with the tool validations of step 3.
    await check_tls_handshakes(tls_sut, pki, profile, client)
    # 5.-6. The HTTP upgrade (a password only at profile 2).
    connection = connect_at(tls_sut, pki, station_id, profile, password=password, client=client)
    async with connection as station:
        # 7.-10. BootNotification (Accepted, step 8) and the connectors' state.
        await booted(station)
    security = await tls_sut.api.get(f"/stations/{station_id}/security")
    assert security["security_profile"] == profile


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
@pytest.mark.parametrize("profile", [2, 3])
async def test_TC_A_06_CSMS(tls_sut: Sut, pki: Pki, profile: int) -> None:
    """TLS - server-side certificate - TLS version too low (A00.FR.314/315, A00.FR.409/416-418),
    at security profile 2 and 3."""
    station_id = f"CS-A06-P{profile}"
    password = await configure(tls_sut, station_id, profile)
    client = pki.station(station_id) if profile == 3 else None
    port = listener_port(tls_sut, profile)
    # 1.-2. A Client Hello of TLS 1.0, and of TLS 1.1: the CSMS terminates the connection.
    for version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        await handshake_refused(port, pki.client_context(client, max_version=version))
    # 3.-6. A handshake at TLS 1.2 or above succeeds.
    seen = await handshake(port, pki.client_context(client))
    check(seen.version in ("TLSv1.2", "TLSv1.3"), f"TLS version {seen.version}, want >= 1.2")
    # 7.-8. The upgrade; 9.-12. BootNotification (Accepted, step 10) and the connectors.
    connection = connect_at(tls_sut, pki, station_id, profile, password=password, client=client)
    async with connection as station:
        await booted(station)


async def test_TC_A_07_CSMS(tls_sut: Sut, pki: Pki) -> None:
    """TLS - Client-side certificate - valid certificate (A00.FR.409/410/415/416/421)."""
    station_id = "CS-A07"
    await configure(tls_sut, station_id, 3)
    client = pki.station(station_id)  # <Configured client certificate>
    # 1.-4. The handshake with the client certificate, with the tool validations of step 3.
    await check_tls_handshakes(tls_sut, pki, 3, client)
    # 5.-6. The upgrade; 7.-10. BootNotification (Accepted, step 8) and the connectors.
    async with connect_at(tls_sut, pki, station_id, 3, client=client) as station:
        await booted(station)
    security = await tls_sut.api.get(f"/stations/{station_id}/security")
    assert security["security_profile"] == 3


@pytest.mark.parametrize("invalid", ["unknown", "expired", "commonName"])
async def test_TC_A_08_CSMS(tls_sut: Sut, pki: Pki, invalid: str) -> None:
    """TLS - Client-side certificate - Invalid certificate (A00.FR.405/407/409/410): an
    unknown certificate, an expired one, and one whose commonName is not the station's
    identity."""
    station_id = f"CS-A08-{invalid}"
    await configure(tls_sut, station_id, 3)
    bad = {
        "unknown": lambda: pki.station(station_id, other_ca=True),
        "expired": lambda: pki.station(station_id, expired=True),
        "commonName": lambda: pki.station(station_id, cn=f"{station_id}-OTHER"),
    }[invalid]()
    url = listener_url(tls_sut, 3)
    # 1.-4. The <Configured invalid client certificate>: the CSMS terminates the connection.
    how = await connection_refused(url, station_id, pki.client_context(bad))
    if invalid == "commonName":
        # The certificate is valid; only the identity in the URL shows it is not this
        # station's, so the refusal comes at the HTTP upgrade (A00.FR.405).
        assert how == "HTTP 403", how
    else:
        assert not how.startswith("HTTP"), f"refused after the TLS handshake: {how}"
    # 5.-10. The <Configured client certificate>: handshake and upgrade.
    async with connect_at(tls_sut, pki, station_id, 3, client=pki.station(station_id)) as station:
        # 11.-14. BootNotification (Accepted, step 12) and the connectors.
        await booted(station)


# ---------------------------------------------------------------- Basic-auth password (A01)


async def update_password(sut: Sut, station: octt.Station, status: str) -> tuple[str, Any]:
    """Steps 1-2 of TC_A_09 / TC_A_10: the CSMS sets a new BasicAuthPassword (the operator's
    rotation, docs/security.md) and the OCTT answers ``status``. Returns the new password and
    the API's answer."""
    new = new_password()
    rotation = asyncio.ensure_future(
        sut.api.post(f"/stations/{station.station_id}/password/rotate", {"password": new})
    )
    call = await station.expect("SetVariables")  # 1.
    (data,) = call.payload["setVariableData"]
    # Tool validation, step 1.
    check(
        data["component"]["name"] == "SecurityCtrlr"
        and data["variable"]["name"] == "BasicAuthPassword",
        f"SetVariablesRequest of {data['component']} {data['variable']}, want "
        "SecurityCtrlr.BasicAuthPassword",
    )
    check(data["attributeValue"] == new, "SetVariablesRequest attributeValue is not <NewPassword>")
    await station.respond(  # 2.
        call,
        {
            "setVariableResult": [
                {
                    "attributeStatus": status,
                    "component": data["component"],
                    "variable": data["variable"],
                }
            ]
        },
    )
    return new, await rotation


@pytest.mark.parametrize("profile", [1, 2])
async def test_TC_A_09_CSMS(tls_sut: Sut, pki: Pki, profile: int) -> None:
    """Update Charging Station Password for HTTP Basic Authentication - Accepted (A01.FR.02,
    A01.FR.03), at security profile 1 and 2."""
    station_id = f"CS-A09-P{profile}"
    old = await configure(tls_sut, station_id, profile)
    async with connect_at(tls_sut, pki, station_id, profile, password=old) as station:
        await booted(station)
        new, answer = await update_password(tls_sut, station, "Accepted")  # 1.-2.
    assert answer["station_status"] == "Accepted"
    assert answer["rotation"]["status"] == "accepted"
    # 3.-4. The upgrade request with the NEW BasicAuthPassword.
    async with connect_at(tls_sut, pki, station_id, profile, password=new) as station:
        await booted(station)  # 5.-8. BootNotification Accepted (step 6).
    # Purpose: the CSMS only accepts the new credentials now (A01.FR.03).
    context = pki.client_context() if profile == 2 else None
    url = listener_url(tls_sut, profile)
    assert (
        await octt.refused(url, station_id, "ocpp2.0.1", password=old, ssl_context=context) == 401
    )


@pytest.mark.parametrize("profile", [1, 2])
async def test_TC_A_10_CSMS(tls_sut: Sut, pki: Pki, profile: int) -> None:
    """Update Charging Station Password for HTTP Basic Authentication - Rejected (A01.FR.02,
    A01.FR.04, A01.FR.05), at security profile 1 and 2."""
    station_id = f"CS-A10-P{profile}"
    old = await configure(tls_sut, station_id, profile)
    async with connect_at(tls_sut, pki, station_id, profile, password=old) as station:
        await booted(station)
        _, answer = await update_password(tls_sut, station, "Rejected")  # 1.-2.
    assert answer["station_status"] == "Rejected"
    assert answer["rotation"]["status"] == "rejected"
    # 3.-4. The upgrade request with the OLD BasicAuthPassword: still accepted (A01.FR.04).
    async with connect_at(tls_sut, pki, station_id, profile, password=old) as station:
        await booted(station)  # 5.-8. BootNotification Accepted (step 6).


# ---------------------------------------------------------------- Station certificate (A02)


async def renew_charging_station_certificate(
    sut: Sut, pki: Pki, station: octt.Station, *, status: str = "Accepted"
) -> tuple[x509.Certificate, PrivateKey]:
    """Memory State RenewChargingStationCertificate (Table 403), the OCTT answering the
    CertificateSigned with ``status``; returns the new certificate and its key."""
    # Manual Action: request the CSMS to send a TriggerMessageRequest
    # SignChargingStationCertificate.
    renewal = asyncio.ensure_future(
        sut.api.post(
            f"/stations/{station.station_id}/certificates/renew",
            {"use": "ChargingStationCertificate"},
        )
    )
    call = await station.expect("TriggerMessage")  # 1.
    check(
        call.payload["requestedMessage"] == "SignChargingStationCertificate",
        f"TriggerMessageRequest requestedMessage {call.payload['requestedMessage']}",
    )
    await station.respond(call, {"status": "Accepted"})  # 2.
    assert (await renewal)["status"] == "Accepted"
    key, csr = make_csr(station.station_id)  # <Configured CSR>
    answer = await station.send(  # 3.
        "SignCertificate", {"csr": csr, "certificateType": "ChargingStationCertificate"}
    )
    # Tool validation, step 4.
    check(answer["status"] == "Accepted", f"SignCertificateResponse status {answer['status']}")
    call = await station.expect("CertificateSigned")  # 5.
    # Tool validations, step 5.
    check(
        call.payload.get("certificateType") == "ChargingStationCertificate",
        f"CertificateSignedRequest certificateType {call.payload.get('certificateType')}",
    )
    chain = x509.load_pem_x509_certificates(call.payload["certificateChain"].encode())
    leaf = chain[0]
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    check(
        leaf.public_key().public_bytes(*spki) == key.public_key().public_bytes(*spki),
        "the certificate is not generated from the CSR of step 3",
    )
    try:
        leaf.verify_directly_issued_by(pki.root.cert)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise octt.ConformanceFailure(
            f"the certificate is not signed by the configured CSMS Root certificate: {exc}"
        ) from None
    await station.respond(call, {"status": status})  # 6.
    return leaf, key


async def delivery_status(sut: Sut, station_id: str, serial: int) -> str | None:
    """The station's CertificateSigned answer as the CSMS recorded it, once it has."""
    wanted = format(serial, "x")
    async with asyncio.timeout(octt.DEFAULT_WAIT):
        while True:
            issued = await sut.api.get("/certificates/issued", params={"station_id": station_id})
            found = [c for c in issued["items"] if c["serial"].lower().lstrip("0") == wanted]
            if found and found[0]["delivery_status"] is not None:
                status: str = found[0]["delivery_status"]
                return status
            await asyncio.sleep(0.05)


async def test_TC_A_11_CSMS(tls_sut: Sut, pki: Pki) -> None:
    """Update Charging Station Certificate by request of CSMS - Success (A02.FR.11/14,
    F06.FR.01)."""
    password = await configure(tls_sut, "CS-A11", 1)
    async with connect_at(tls_sut, pki, "CS-A11", 1, password=password) as station:
        await booted(station)
        # 1. Reusable State RenewChargingStationCertificate.
        leaf, _ = await renew_charging_station_certificate(tls_sut, pki, station)
    assert await delivery_status(tls_sut, "CS-A11", leaf.serial_number) == "Accepted"


async def test_TC_A_14_CSMS(tls_sut: Sut, pki: Pki) -> None:
    """Update Charging Station Certificate by request of CSMS - Invalid certificate: the
    station rejects the new certificate."""
    password = await configure(tls_sut, "CS-A14", 1)
    async with connect_at(tls_sut, pki, "CS-A14", 1, password=password) as station:
        await booted(station)
        # 1.-6., the OCTT answering CertificateSignedResponse Rejected.
        leaf, _ = await renew_charging_station_certificate(tls_sut, pki, station, status="Rejected")
        # The CSMS goes on with the station: nothing else is sent, the connection stays.
        await station.expect_nothing(0.5)
        await station.send("Heartbeat", {})
    assert await delivery_status(tls_sut, "CS-A14", leaf.serial_number) == "Rejected"


# ---------------------------------------------------------------- Security profile upgrade (A05)


def material(directory: Path, stem: str, cert: x509.Certificate, key: PrivateKey) -> Material:
    """A certificate the CSMS signed, written to files for the tool's TLS context."""
    cert_file, key_file = directory / f"{stem}.pem", directory / f"{stem}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Material(cert, key, cert_file, key_file)


@pytest.mark.parametrize("configured", [1, 2])
async def test_TC_A_19_CSMS(tls_sut: Sut, pki: Pki, tmp_path: Path, configured: int) -> None:
    """Upgrade Charging Station Security Profile - Accepted (A05.FR.04, A05.FR.07), from
    security profile 1 to 2 and from 2 to 3."""
    station_id = f"CS-A19-P{configured}"
    target = configured + 1
    password = await configure(tls_sut, station_id, configured)
    client: Material | None = None
    async with connect_at(tls_sut, pki, station_id, configured, password=password) as station:
        await booted(station)
        if configured == 2:
            # Memory State: RenewChargingStationCertificate (the certificate of profile 3).
            leaf, key = await renew_charging_station_certificate(tls_sut, pki, station)
            client = material(tmp_path, "renewed", leaf, key)
        csms_url = listener_url(tls_sut, target)  # <Configured ocppCsmsUrl>
        # Manual Actions: set a NetworkConnectionProfile one level higher, put its slot in
        # NetworkConfigurationPriority and reboot the station: one API request does the three.
        # The operator knows the OCTT's configured slots ("1"), so the CSMS sends exactly the
        # scenario's three messages (no read of the priority first).
        upgrade = asyncio.ensure_future(
            tls_sut.api.post(
                f"/stations/{station_id}/security-profile/upgrade",
                {
                    "profile": target,
                    "ocpp_csms_url": csms_url,
                    "message_timeout": 30,
                    "ocpp_interface": "Wired0",
                    "network_priority": [1],
                },
            )
        )
        call = await station.expect("SetNetworkProfile")  # 1.
        data = call.payload["connectionData"]
        # Tool validations, step 1.
        expected = {
            "messageTimeout": 30,
            "ocppCsmsUrl": csms_url,
            "ocppInterface": "Wired0",
            "ocppTransport": "JSON",
            "ocppVersion": "OCPP20",
            "securityProfile": target,
        }
        got = {k: data.get(k) for k in expected}
        check(got == expected, f"SetNetworkProfileRequest connectionData {got}, want {expected}")
        slot = call.payload["configurationSlot"]
        await station.respond(call, {"status": "Accepted"})  # 2.
        call = await station.expect("SetVariables")  # 3.
        (entry,) = call.payload["setVariableData"]
        # Tool validations, step 3.
        check(
            (entry["component"]["name"], entry["variable"]["name"])
            == ("OCPPCommCtrlr", "NetworkConfigurationPriority"),
            f"SetVariablesRequest of {entry['component']} {entry['variable']}",
        )
        check(
            str(slot) in entry["attributeValue"].split(","),
            f"NetworkConfigurationPriority {entry['attributeValue']} lacks slot {slot}",
        )
        await station.respond(  # 4.
            call,
            {
                "setVariableResult": [
                    {
                        "attributeStatus": "Accepted",
                        "component": entry["component"],
                        "variable": entry["variable"],
                    }
                ]
            },
        )
        call = await station.expect("Reset")  # 5.
        await station.respond(call, {"status": "Accepted"})  # 6.
        outcome = await upgrade
        assert outcome["sent"] is True, outcome["steps"]
    # 7.-8. The OCTT reconnects at the new profile; 9. Reusable State Booted.
    async with connect_at(
        tls_sut, pki, station_id, target, password=password, client=client
    ) as station:
        await booted(station)
    # 10.-11. At the old profile the CSMS does not accept the connection any more (A05.FR.09).
    context = pki.client_context() if configured == 2 else None
    url = listener_url(tls_sut, configured)
    status = await octt.refused(
        url, station_id, "ocpp2.0.1", password=password, ssl_context=context
    )
    assert status == 403, status  # a listener of another profile than the station's
    security = await tls_sut.api.get(f"/stations/{station_id}/security")
    assert (security["security_profile"], security["pending_security_profile"]) == (target, None)
