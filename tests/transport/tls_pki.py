"""A throw-away PKI for the TLS tests (built with ``cryptography``, independent of the CSMS's own
CA code), and a station helper that connects over wss."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import itertools
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from tests.wire import RawStation

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: PrivateKey
    cert_file: Path
    key_file: Path


def _key(kind: str) -> PrivateKey:
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn: str, org: str | None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org is not None:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(parts)


def _write(directory: Path, stem: str, cert: x509.Certificate, key: PrivateKey) -> Issued:
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
    return Issued(cert, key, cert_file, key_file)


def make_ca(directory: Path, stem: str, *, kind: str = "ec") -> Issued:
    """A self-signed root CA."""
    key = _key(kind)
    name = _name(f"{stem} Root CA", "Test CPO")
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
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
    ca: Issued,
    stem: str,
    *,
    cn: str,
    org: str | None = "Test CPO",
    kind: str = "ec",
    server: bool = False,
) -> Issued:
    """A leaf signed by ``ca``: a server certificate for 127.0.0.1/localhost, or a station's."""
    key = _key(kind)
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn, org))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    cert = builder.sign(ca.key, hashes.SHA256())
    return _write(directory, stem, cert, key)


@dataclass(frozen=True)
class TestPki:
    """The CPO root, RSA and ECDSA server chains, and station certificates."""

    __test__ = False  # not a pytest test class

    directory: Path
    root: Issued
    server_rsa: Issued
    server_ec: Issued
    other_root: Issued

    def station(self, station_id: str, *, cn: str | None = None, other_ca: bool = False) -> Issued:
        """A station certificate (CN = ``cn`` or the id) from the CPO root or another CA."""
        ca = self.other_root if other_ca else self.root
        stem = f"station-{station_id}-{cn or station_id}-{'other' if other_ca else 'cpo'}"
        return issue(self.directory, ca, stem, cn=cn or station_id)

    def client_context(
        self,
        client: Issued | None = None,
        *,
        max_version: ssl.TLSVersion | None = None,
        ciphers: str | None = None,
    ) -> ssl.SSLContext:
        """A station's TLS context that trusts the CPO root (A00.FR.307), with a client
        certificate for profile 3."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.root.cert_file)
        if max_version is not None:
            context.maximum_version = max_version
            if max_version < ssl.TLSVersion.TLSv1_2:
                # OpenSSL 3 will not even offer TLS 1.0/1.1 at its default security level: lower
                # it so that the *server* is the one that refuses.
                context.minimum_version = ssl.TLSVersion.TLSv1
                context.set_ciphers("DEFAULT:@SECLEVEL=0")
        if ciphers is not None:
            context.set_ciphers(ciphers)
        if client is not None:
            context.load_cert_chain(client.cert_file, client.key_file)
        return context


def make_pki(directory: Path) -> TestPki:
    root = make_ca(directory, "cpo-root", kind="ec")
    return TestPki(
        directory=directory,
        root=root,
        server_rsa=issue(directory, root, "server-rsa", cn="localhost", kind="rsa", server=True),
        server_ec=issue(directory, root, "server-ec", cn="localhost", kind="ec", server=True),
        other_root=make_ca(directory, "other-root", kind="ec"),
    )


@contextlib.asynccontextmanager
async def tls_station(
    port: int,
    station_id: str,
    context: ssl.SSLContext | None,
    subprotocol: str = "ocpp1.6",
    *,
    headers: dict[str, str] | None = None,
) -> AsyncIterator[RawStation]:
    """A raw station on ``wss://127.0.0.1:port`` (``ws://`` when ``context`` is None)."""
    scheme = "wss" if context is not None else "ws"
    async with connect(
        f"{scheme}://127.0.0.1:{port}/ocpp/{station_id}",
        ssl=context,
        subprotocols=[Subprotocol(subprotocol)],
        additional_headers=headers,
        compression=None,
        open_timeout=5,
    ) as ws:
        yield RawStation(ws, itertools.count(1))
