"""The test tool's certificates for OCPP 2.0.1 Part 6 §3.2 (A Security: TC_A_04..TC_A_19) and
§3.14 (M Certificate management): the "<Configured server certificate>" the CSMS is deployed
with, the "<Configured (invalid) client certificate>" of the station, CSRs, root certificates
to install, and the OCPP certificate hash data the tool reports.

Made with ``cryptography`` and Python's ``ssl`` only, independent of the CSMS's own CA code
(nothing here imports ``opencsms``). One root, the "configured CSMS Root certificate", signs the
server certificates and the station certificates, and is the CA the CSMS signs CSRs with
(``ca_dir``), so a certificate the CSMS signs (TC_A_11) opens its profile 3 listener (TC_A_19).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from websockets.exceptions import InvalidMessage, InvalidStatus

from tests.conformance import octt
from tests.conformance.sut import Sut

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

SERVER_HOST = "localhost"
"""The FQDN of the CSMS endpoint the tool connects to: the server certificate's CN
(A00.FR.510) and the host of every wss URL."""
ORGANIZATION = "OCTT CPO"
"""The O of every station certificate and CSR (A00.FR.404, A02.FR.13)."""
HASHES: dict[str, hashes.HashAlgorithm] = {
    "SHA256": hashes.SHA256(),
    "SHA384": hashes.SHA384(),
    "SHA512": hashes.SHA512(),
}


@dataclass(frozen=True)
class Material:
    """A certificate, its key, and both written as PEM files."""

    cert: x509.Certificate
    key: PrivateKey
    cert_file: Path
    key_file: Path

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def new_key(kind: str = "ec") -> PrivateKey:
    """RSA 2048 or ECDSA P-256: the smallest keys A00.FR.502/503 allow."""
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn: str, org: str | None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org is not None:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(parts)


def _write(directory: Path, stem: str, cert: x509.Certificate, key: PrivateKey) -> Material:
    directory.mkdir(parents=True, exist_ok=True)
    cert_file = directory / f"{stem}.pem"
    key_file = directory / f"{stem}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Material(cert, key, cert_file, key_file)


def make_root(directory: Path, stem: str, common_name: str) -> Material:
    """A self-signed root CA certificate (ECDSA P-256, SHA-256)."""
    key = new_key("ec")
    name = _name(common_name, ORGANIZATION)
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _write(directory, stem, cert, key)


def issue(
    directory: Path,
    ca: Material,
    stem: str,
    *,
    cn: str,
    kind: str = "ec",
    server: bool = False,
    expired: bool = False,
) -> Material:
    """A leaf signed by ``ca``: a server certificate for SERVER_HOST, or a station's."""
    key = new_key(kind)
    now = datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=30)
    if expired:
        start, end = now - datetime.timedelta(days=30), now - datetime.timedelta(days=1)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn, ORGANIZATION))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(SERVER_HOST), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return _write(directory, stem, builder.sign(ca.key, hashes.SHA256()), key)


def make_csr(station_id: str, kind: str = "ec") -> tuple[PrivateKey, str]:
    """The station's "<Configured CSR>": a fresh key and a PKCS#10 request, PEM, with CN the
    station id (A00.FR.511) and O the CPO (A02.FR.13)."""
    key = new_key(kind)
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(_name(station_id, ORGANIZATION))
        .sign(key, hashes.SHA256())
    )
    return key, request.public_bytes(serialization.Encoding.PEM).decode("ascii")


def hash_data(
    cert: x509.Certificate, issuer: x509.Certificate, algorithm: str = "SHA256"
) -> dict[str, str]:
    """The CertificateHashDataType of ``cert`` (the OCSP CertID: hashes of the issuer's name
    and public key, and the serial number), hex in lower case."""
    request = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, HASHES[algorithm]).build()
    return {
        "hashAlgorithm": algorithm,
        "issuerNameHash": request.issuer_name_hash.hex(),
        "issuerKeyHash": request.issuer_key_hash.hex(),
        "serialNumber": format(cert.serial_number, "x"),
    }


@dataclass(frozen=True)
class Pki:
    """Everything the tool is configured with for one test run."""

    directory: Path
    root: Material
    """The configured CSMS Root certificate; also the CSMS's CA (``ca_dir``)."""
    server_rsa: Material
    server_ec: Material
    other_root: Material
    """A CA the CSMS does not know: its station certificates are "unknown" (TC_A_08)."""
    manufacturer_root: Material
    """The configured ManufacturerRootCertificate (TC_M_02, TC_M_13)."""
    v2g_root: Material
    mo_root: Material

    @property
    def ca_dir(self) -> Path:
        return self.directory / "ca"

    def station(
        self,
        station_id: str,
        *,
        cn: str | None = None,
        other_ca: bool = False,
        expired: bool = False,
    ) -> Material:
        """A station certificate (CN = ``cn`` or the id) from the CSMS root or another CA."""
        ca = self.other_root if other_ca else self.root
        stem = f"station-{station_id}-{cn or station_id}-{int(other_ca)}{int(expired)}"
        return issue(self.directory, ca, stem, cn=cn or station_id, expired=expired)

    def client_context(
        self,
        client: Material | None = None,
        *,
        max_version: ssl.TLSVersion | None = None,
        ciphers: str | None = None,
    ) -> ssl.SSLContext:
        """The station's TLS context: trusts the CSMS root (A00.FR.307) and checks the server
        name; presents ``client`` (profile 3)."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.root.cert_file)
        if max_version is not None:
            context.maximum_version = max_version
            if max_version < ssl.TLSVersion.TLSv1_2:
                # OpenSSL 3 does not even offer TLS 1.0/1.1 at its default security level:
                # lower it, so that the CSMS is the one that refuses (TC_A_06).
                context.minimum_version = ssl.TLSVersion.TLSv1
                context.set_ciphers("DEFAULT:@SECLEVEL=0")
        if ciphers is not None:
            context.set_ciphers(ciphers)
        if client is not None:
            context.load_cert_chain(client.cert_file, client.key_file)
        return context

    def csms_settings(self) -> dict[str, Any]:
        """The deployment settings (``start_sut`` overrides) of a CSMS with its profile 2 and
        profile 3 listeners, RSA and ECDSA server chains (A00.FR.318), and this root as the CA
        station certificates chain to and CSRs are signed with."""
        return {
            "ocpp_tls_port": 0,
            "ocpp_mtls_port": 0,
            "tls_cert_file": str(self.server_rsa.cert_file),
            "tls_key_file": str(self.server_rsa.key_file),
            "tls_ecdsa_cert_file": str(self.server_ec.cert_file),
            "tls_ecdsa_key_file": str(self.server_ec.key_file),
            "tls_client_ca_file": str(self.root.cert_file),
            "ca_dir": str(self.ca_dir),
            "certificate_organization": ORGANIZATION,
        }


def make_pki(directory: Path) -> Pki:
    root = make_root(directory, "csms-root", "OCTT CSMS Root CA")
    # The CSMS's CA directory: the same root, as ca.pem and ca.key.
    _write(directory / "ca", "ca", root.cert, root.key)
    return Pki(
        directory=directory,
        root=root,
        server_rsa=issue(directory, root, "server-rsa", cn=SERVER_HOST, kind="rsa", server=True),
        server_ec=issue(directory, root, "server-ec", cn=SERVER_HOST, kind="ec", server=True),
        other_root=make_root(directory, "other-root", "Unknown Root CA"),
        manufacturer_root=make_root(directory, "manufacturer-root", "OCTT Manufacturer Root"),
        v2g_root=make_root(directory, "v2g-root", "OCTT V2G Root"),
        mo_root=make_root(directory, "mo-root", "OCTT MO Root"),
    )


def listener_url(sut: Sut, profile: int) -> str:
    """The CSMS's OCPP URL for ``profile`` (one listener per profile, A00.FR.006)."""
    if profile == 1:
        return sut.ws_url
    port = sut.csms.ports.tls if profile == 2 else sut.csms.ports.mtls
    assert port is not None, f"the CSMS has no listener for security profile {profile}"
    return f"wss://{SERVER_HOST}:{port}/ocpp"


def connect_at(
    sut: Sut,
    pki: Pki,
    station_id: str,
    profile: int,
    *,
    password: str | None = None,
    client: Material | None = None,
    protocol: str = "ocpp2.0.1",
) -> contextlib.AbstractAsyncContextManager[octt.Station]:
    """The station connected at ``profile``: ws + Basic (1), wss + Basic (2), wss + the
    client certificate and no password (3)."""
    context = None if profile == 1 else pki.client_context(client if profile == 3 else None)
    return octt.connect_station(
        listener_url(sut, profile),
        station_id,
        protocol,
        password=password if profile < 3 else None,
        ssl_context=context,
    )


@dataclass(frozen=True)
class Handshake:
    """What the tool saw of a completed TLS handshake."""

    version: str
    cipher: str
    certificate: x509.Certificate
    certificate_der: bytes


async def handshake(port: int, context: ssl.SSLContext) -> Handshake:
    """A TLS handshake with the listener on ``port`` (no HTTP); fails as ``ssl`` fails."""
    _reader, writer = await asyncio.wait_for(
        asyncio.open_connection(SERVER_HOST, port, ssl=context, server_hostname=SERVER_HOST), 5
    )
    try:
        tls = writer.get_extra_info("ssl_object")
        der = tls.getpeercert(binary_form=True)
        return Handshake(tls.version(), tls.cipher()[0], x509.load_der_x509_certificate(der), der)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def handshake_refused(port: int, context: ssl.SSLContext) -> str:
    """A TLS handshake the CSMS must terminate; returns how it did. Fails if it completes."""
    try:
        await handshake(port, context)
    except (ssl.SSLError, ConnectionError) as refusal:
        return f"{type(refusal).__name__}: {refusal}"
    raise octt.ConformanceFailure("the CSMS completed a TLS handshake it should have refused")


async def connection_refused(
    url: str, station_id: str, context: ssl.SSLContext, protocol: str = "ocpp2.0.1"
) -> str:
    """A station connection the CSMS must terminate, in the TLS handshake or (for a valid
    certificate of another identity, known only from the URL) by refusing the HTTP upgrade.
    With TLS 1.3 the server checks the client certificate after the client has finished its
    side, so the refusal shows as a closed connection where the HTTP answer should be."""
    try:
        async with octt.connect_station(url, station_id, protocol, ssl_context=context):
            pass
    except InvalidStatus as refusal:
        return f"HTTP {refusal.response.status_code}"
    except (ssl.SSLError, ConnectionError, InvalidMessage, EOFError) as refusal:
        return f"{type(refusal).__name__}: {refusal}"
    raise octt.ConformanceFailure("the CSMS upgraded a connection it should have refused")
