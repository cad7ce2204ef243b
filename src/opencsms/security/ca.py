"""The CSMS's certificate authority (1.6 security whitepaper §2.6, A02/A03; 2.0.1 A02/A03).

A CA is a directory with ``ca.key`` (PEM, PKCS#8, unencrypted, mode 0600) and ``ca.pem`` (its
certificate, followed by the certificates above it when it is an external sub-CA). ``opencsms ca
init`` creates a self-signed root (RSA 3072, or ECDSA P-256 with ``--ecdsa``); an operator who
has a CA of their own puts its key and certificate there instead. ``opencsms ca issue-server``
writes the CSMS's TLS server certificate (``server.pem`` with the chain, ``server.key``).

What the certificates carry, and why:

* a random 159-bit serial number (A00.FR.508; RFC 5280 §4.1.2.2 allows 20 octets);
* the CSR's subject unchanged: CN = the station id, O = the CPO (A00.FR.509/511);
* Key Usage (A00.FR.512): digitalSignature, plus keyEncipherment for RSA keys and keyAgreement
  for EC keys (what TLS 1.2 key exchange needs); Extended Key Usage clientAuth for a station
  certificate, serverAuth for the CSMS certificate (CN and subjectAltName = its FQDN, A00.FR.510);
* Subject and Authority Key Identifiers, so chains are found by key, not only by name;
* signatures: ECDSA with SHA-256 for an EC CA, RSA-PSS with SHA-256 for an RSA CA (A00.FR.505/506).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from opencsms.errors import OpenCsmsError
from opencsms.security.model import SigningUse

__all__ = [
    "CA_CERT_FILE",
    "CA_KEY_FILE",
    "SERVER_CERT_FILE",
    "SERVER_KEY_FILE",
    "CaError",
    "CertificateAuthority",
    "SigningKey",
    "pem_of",
]

CA_CERT_FILE = "ca.pem"
CA_KEY_FILE = "ca.key"
SERVER_CERT_FILE = "server.pem"
SERVER_KEY_FILE = "server.key"
RSA_BITS = 3072
"""RSA key size of a new CA (BSI TR-02102-1 asks for 3000 bits from 2023)."""
CA_VALIDITY_DAYS = 3650
BACKDATE = timedelta(minutes=5)
"""Certificates start a little in the past: station clocks run slow or fast."""

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class CaError(OpenCsmsError):
    """The CA cannot be created, loaded or used (the message says why)."""


def pem_of(*certs: x509.Certificate) -> str:
    """PEM text of ``certs``, in order (A00.FR.507)."""
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in certs)


def _new_key(ecdsa: bool) -> SigningKey:
    if ecdsa:
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)


def _write_private(path: Path, key: SigningKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Created 0600 from the start: the key is never readable by others, not even for a moment.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        ]
    )


def _key_usage(public_key: object, *, ca: bool) -> x509.KeyUsage:
    rsa_key = isinstance(public_key, rsa.RSAPublicKey)
    ec_key = isinstance(public_key, ec.EllipticCurvePublicKey)
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=rsa_key and not ca,
        data_encipherment=False,
        key_agreement=ec_key and not ca,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass(frozen=True, slots=True)
class CertificateAuthority:
    """A CA key with its certificate (and, for an external sub-CA, the certificates above it)."""

    key: SigningKey
    cert: x509.Certificate
    parents: tuple[x509.Certificate, ...] = ()

    # ------------------------------------------------------------------ files

    @classmethod
    def load(cls, directory: Path | str) -> CertificateAuthority:
        """Read ``ca.key`` and ``ca.pem`` from ``directory`` (:class:`CaError` when missing or
        when the key does not belong to the certificate)."""
        folder = Path(directory)
        try:
            key_bytes = (folder / CA_KEY_FILE).read_bytes()
            cert_bytes = (folder / CA_CERT_FILE).read_bytes()
        except OSError as exc:
            raise CaError(
                f"no CA in {folder}: {exc.strerror} ({exc.filename}); "
                f"create one with `opencsms ca init --dir {folder}`"
            ) from None
        try:
            key = serialization.load_pem_private_key(key_bytes, password=None)
            certs = x509.load_pem_x509_certificates(cert_bytes)
        except (ValueError, TypeError) as exc:
            raise CaError(f"cannot read the CA in {folder}: {exc}") from None
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise CaError(f"{folder / CA_KEY_FILE}: only RSA and EC CA keys are supported")
        ca = cls(key, certs[0], tuple(certs[1:]))
        spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        if key.public_key().public_bytes(*spki) != ca.cert.public_key().public_bytes(*spki):
            raise CaError(f"{folder}: {CA_KEY_FILE} is not the key of {CA_CERT_FILE}")
        return ca

    @classmethod
    def init(
        cls,
        directory: Path | str,
        *,
        organization: str,
        now: datetime,
        common_name: str = "OpenCSMS Root CA",
        ecdsa: bool = False,
        days: int = CA_VALIDITY_DAYS,
    ) -> CertificateAuthority:
        """Create a self-signed root CA in ``directory`` (refuses to overwrite one)."""
        folder = Path(directory)
        if (folder / CA_KEY_FILE).exists() or (folder / CA_CERT_FILE).exists():
            raise CaError(f"{folder} already holds a CA; refusing to overwrite it")
        folder.mkdir(parents=True, exist_ok=True)
        key = _new_key(ecdsa)
        name = _name(common_name, organization)
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_key_usage(key.public_key(), ca=True), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
        )
        ca = cls(key, cls._sign(builder, key))
        _write_private(folder / CA_KEY_FILE, key)
        (folder / CA_CERT_FILE).write_text(pem_of(ca.cert), encoding="ascii")
        return ca

    def write_server_certificate(
        self,
        directory: Path | str,
        hosts: list[str],
        *,
        organization: str,
        now: datetime,
        days: int = 365,
        ecdsa: bool = True,
    ) -> tuple[Path, Path]:
        """Issue the CSMS's TLS server certificate for ``hosts`` (the first is the CN,
        A00.FR.510; all go into subjectAltName) and write ``server.pem`` (leaf + chain) and
        ``server.key``. Returns their paths."""
        if not hosts:
            raise CaError("a server certificate needs at least one host name")
        key = _new_key(ecdsa)
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        builder = self._leaf(key.public_key(), _name(hosts[0], organization), now, days)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        ).add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = self._sign(builder, self.key)
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = folder / SERVER_CERT_FILE, folder / SERVER_KEY_FILE
        _write_private(key_path, key)
        cert_path.write_text(self.chain_pem(cert), encoding="ascii")
        return cert_path, key_path

    # ---------------------------------------------------------------- signing

    def sign_csr(
        self,
        csr: x509.CertificateSigningRequest,
        *,
        use: SigningUse,
        now: datetime,
        days: int,
    ) -> x509.Certificate:
        """Sign a CSR already checked by :mod:`opencsms.security.csr_rules`: the subject and key
        are taken from it, extensions are ours (never copied from the request)."""
        builder = self._leaf(csr.public_key(), csr.subject, now, days)
        if use is SigningUse.CHARGING_STATION:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
            )
        # An ISO 15118-2 SECC certificate (V2GCertificate) carries no Extended Key Usage.
        return self._sign(builder, self.key)

    def chain_pem(self, leaf: x509.Certificate) -> str:
        """``leaf`` followed by the CAs above it except a self-signed root, which the station
        has installed already (CertificateSigned: "the order of the bundle should follow the
        certificate chain, starting from the leaf")."""
        chain = [leaf, self.cert, *self.parents]
        return pem_of(*(c for c in chain if c is leaf or c.subject != c.issuer))

    @property
    def pem(self) -> str:
        """The CA certificate (and its parents), PEM: what stations install as their CSMS
        root (InstallCertificate CSMSRootCertificate / CentralSystemRootCertificate)."""
        return pem_of(self.cert, *self.parents)

    def _leaf(
        self, public_key: object, subject: x509.Name, now: datetime, days: int
    ) -> x509.CertificateBuilder:
        if not isinstance(public_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
            raise CaError("only RSA and EC keys can be certified")
        not_after = min(now + timedelta(days=days), self.cert.not_valid_after_utc)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(public_key, ca=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )

    @staticmethod
    def _sign(builder: x509.CertificateBuilder, key: SigningKey) -> x509.Certificate:
        if isinstance(key, rsa.RSAPrivateKey):
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            return builder.sign(key, hashes.SHA256(), rsa_padding=pss)
        return builder.sign(key, hashes.SHA256())
