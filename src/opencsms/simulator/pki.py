"""X.509 helpers for a simulated station: keys, CSRs, chains, signatures and OCPP hash data.

Pure functions over the ``cryptography`` package; no station state. The rules come from the
1.6 security whitepaper §2.6.1 (A00.FR.501-512: key sizes, SHA256, PEM, serial numbers, the O
and CN RDNs) and 2.0.1 part 2 CertificateHashDataType.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

__all__ = [
    "HASH_ALGORITHMS",
    "build_csr",
    "certificate_hash_data",
    "expired",
    "hash_data_matches",
    "issued_by",
    "load_chain",
    "new_key",
    "same_public_key",
    "valid_at",
    "verify_file_signature",
]

HASH_ALGORITHMS: dict[str, type[hashes.HashAlgorithm]] = {
    "SHA256": hashes.SHA256,
    "SHA384": hashes.SHA384,
    "SHA512": hashes.SHA512,
}
"""HashAlgorithmEnumType (1.6 whitepaper §6, 2.0.1 part 2) → hash class."""


def new_key() -> ec.EllipticCurvePrivateKey:
    """A fresh EC P-256 key (A00.FR.503: ≥ 224 bits for elliptic curves; A02.FR.02)."""
    return ec.generate_private_key(ec.SECP256R1())


def build_csr(key: ec.EllipticCurvePrivateKey, common_name: str, organization: str) -> str:
    """A PEM-encoded PKCS#10 CSR (RFC 2986, A02.FR.03) signed with SHA256 (A00.FR.506).

    The subject has CN = ``common_name`` (A00.FR.511) and O = ``organization`` (A00.FR.509,
    1.6 A02.FR.13 CpoName / 2.0.1 SecurityCtrlr.OrganizationName).
    """
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        ]
    )
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


def load_chain(pem: str) -> list[x509.Certificate]:
    """Every certificate of a PEM text, leaf first; ``ValueError`` if there is none or one is
    malformed."""
    try:
        chain = x509.load_pem_x509_certificates(pem.encode("utf-8"))
    except Exception as exc:  # ValueError mostly; the DER parser has raised others on garbage
        raise ValueError(f"not a PEM certificate chain: {exc}") from exc
    if not chain:
        raise ValueError("no certificate in the PEM text")
    return chain


def same_public_key(a: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> bool:
    """Whether certificate ``a`` carries the public half of ``key``."""
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return a.public_key().public_bytes(*spki) == key.public_key().public_bytes(*spki)


def valid_at(cert: x509.Certificate, moment: datetime) -> bool:
    """Whether ``moment`` lies in the certificate's validity period (A02.FR.06)."""
    return cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc


def expired(cert: x509.Certificate, moment: datetime) -> bool:
    """Whether the certificate's validity ended before ``moment``."""
    return moment > cert.not_valid_after_utc


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer`` signed ``cert`` (name and signature checked)."""
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def verify_file_signature(cert: x509.Certificate, data: bytes, signature_b64: str) -> bool:
    """Check a firmware signature: Base64 of a signature over the whole file with SHA256
    (1.6 whitepaper L01.FR.04; 2.0.1 L01). EC keys: ECDSA (the whitepaper's "ECSchnorr" is not
    in common libraries; ECDSA is what signing tools produce); RSA keys: RSA-PSS."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        return False
    key = cert.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
            key.verify(signature, data, pss, hashes.SHA256())
        else:
            return False
    except InvalidSignature:
        return False
    return True


def certificate_hash_data(
    cert: x509.Certificate, issuer: x509.Certificate, algorithm: str = "SHA256"
) -> dict[str, str]:
    """CertificateHashDataType of ``cert`` (1.6 whitepaper §6.1; 2.0.1 part 2 §2.8).

    ``issuerNameHash`` hashes the DER of the issuer's distinguished name and ``issuerKeyHash``
    the issuer's public key bits (the BIT STRING of its SubjectPublicKeyInfo): exactly the
    CertID of an OCSP request (RFC 6960 §4.1.1), which is what the fields mirror, so the OCSP
    builder computes them. Hashes are lower-case hex, ``serialNumber`` lower-case hex without
    leading zeros.
    """
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(cert, issuer, HASH_ALGORITHMS[algorithm]())
        .build()
    )
    return {
        "hashAlgorithm": algorithm,
        "issuerNameHash": request.issuer_name_hash.hex(),
        "issuerKeyHash": request.issuer_key_hash.hex(),
        "serialNumber": format(cert.serial_number, "x"),
    }


def hash_data_matches(a: dict[str, str], b: dict[str, str]) -> bool:
    """Compare two CertificateHashData: hex case and leading zeros of the serial don't matter
    (CSMSs differ in how they spell them)."""

    def norm(data: dict[str, str]) -> tuple[str, str, str, str]:
        serial = data["serialNumber"].lower().lstrip("0") or "0"
        return (
            data["hashAlgorithm"],
            data["issuerNameHash"].lower(),
            data["issuerKeyHash"].lower(),
            serial,
        )

    return norm(a) == norm(b)
