"""Test PKI for simulator tests: a CA that signs the station's CSRs, firmware signing.

Independent of ``opencsms.simulator.pki`` on purpose: the expected OCPP hash data are computed
here by hand from their definition, so a mistake in the station's code cannot hide itself.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["TestCa", "expected_hash_data", "pem", "sign_file"]


def _name(common_name: str, organization: str = "Test PKI") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        ]
    )


class TestCa:
    """An EC P-256 certificate authority: self-signed, or a sub-CA of ``parent``."""

    __test__ = False  # not a pytest test class

    def __init__(self, name: str, *, parent: TestCa | None = None) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = _name(name)
        self.cert = (parent or self).issue(self.key.public_key(), self.name, ca=True)

    def issue(
        self,
        public_key: ec.EllipticCurvePublicKey,
        subject: x509.Name,
        *,
        ca: bool = False,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> x509.Certificate:
        """A certificate for ``public_key`` signed by this CA (valid from 5 min ago for 30
        days unless told otherwise)."""
        now = datetime.now(UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now - timedelta(minutes=5))
            .not_valid_after(not_after or now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    def sign_csr(self, csr_pem: str) -> x509.Certificate:
        """Sign a station's CSR (subject and key taken from it), valid for 30 days."""
        csr = x509.load_pem_x509_csr(csr_pem.encode())
        key = csr.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey)
        return self.issue(key, csr.subject)

    @property
    def pem(self) -> str:
        """This CA's certificate, PEM."""
        return pem(self.cert)


def pem(*certs: x509.Certificate) -> str:
    """PEM text of ``certs`` in order."""
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certs)


def expected_hash_data(
    cert: x509.Certificate, issuer: x509.Certificate, algorithm: str = "SHA256"
) -> dict[str, str]:
    """CertificateHashDataType by its definition: hash of the DER issuer name, hash of the
    issuer's public key bits (for EC: the uncompressed point), serial number in hex."""
    digest = {"SHA256": hashlib.sha256, "SHA384": hashlib.sha384, "SHA512": hashlib.sha512}[
        algorithm
    ]
    issuer_key = issuer.public_key()
    assert isinstance(issuer_key, ec.EllipticCurvePublicKey)
    key_bits = issuer_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return {
        "hashAlgorithm": algorithm,
        "issuerNameHash": digest(cert.issuer.public_bytes()).hexdigest(),
        "issuerKeyHash": digest(key_bits).hexdigest(),
        "serialNumber": format(cert.serial_number, "x"),
    }


def sign_file(key: ec.EllipticCurvePrivateKey, data: bytes) -> str:
    """Base64 ECDSA-SHA256 signature over ``data`` (a firmware signature)."""
    return base64.b64encode(key.sign(data, ec.ECDSA(hashes.SHA256()))).decode()
