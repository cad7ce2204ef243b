"""What a station's certificate signing request must be before the CSMS signs it.

The station sends its CSR with SignCertificate (1.6 security whitepaper A02.FR.03 / A03; 2.0.1
A02.FR.03 / A03.FR.03). The CSMS answers Accepted only when it is able to process the request
(A02.FR.11) and Rejected otherwise (A02.FR.12); these rules are what "able to process" means here:

1. It parses as a PKCS#10 CSR (RFC 2986), PEM encoded (A02.FR.03). Field quirk: some firmware
   sends the Base64 DER without the PEM armour; it is accepted the same way.
2. Its self-signature is valid: the station holds the private key (proof of possession).
3. Its key is RSA of at least 2048 bits (A00.FR.502) or EC of at least 256 bits (A00.FR.503 says
   224; A00.FR.504 defers to BSI TR-02102-1, which asks for 250 bits or more).
4. It is signed with SHA-256 or stronger (A00.FR.504/506; SHA-1 and MD5 are refused).
5. The subject's CN is the station's identity (A00.FR.511: the Charge Point's serial number, which
   is the identity it connects with; TC_A_08_CSMS refuses a client certificate whose CN differs).
   Not checked for a V2G certificate, whose CN ISO 15118 defines.
6. The subject has an O (A00.FR.509), equal to the configured organization when one is set
   (the station puts its CpoName / SecurityCtrlr.OrganizationName there, A02.FR.13).
"""

from __future__ import annotations

import base64
import binascii

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from opencsms.security.model import SigningUse

__all__ = ["MIN_EC_BITS", "MIN_RSA_BITS", "CsrRefused", "check_csr", "parse_csr"]

MIN_RSA_BITS = 2048
MIN_EC_BITS = 256
_STRONG_HASHES = (hashes.SHA256, hashes.SHA384, hashes.SHA512)


class CsrRefused(ValueError):
    """The CSR breaks a rule; the message says which (shown to operators, logged)."""


def parse_csr(text: str) -> x509.CertificateSigningRequest:
    """Rule 1: the CSR, from PEM (or bare Base64 DER)."""
    stripped = text.strip()
    try:
        if stripped.startswith("-----BEGIN"):
            return x509.load_pem_x509_csr(stripped.encode("ascii", "replace"))
        der = base64.b64decode("".join(stripped.split()), validate=True)
        return x509.load_der_x509_csr(der)
    except (ValueError, binascii.Error) as exc:
        raise CsrRefused(f"not a PKCS#10 certificate signing request: {exc}") from None


def _one(name: x509.Name, oid: x509.ObjectIdentifier, label: str) -> str:
    values = name.get_attributes_for_oid(oid)
    if len(values) != 1:
        found = "no" if not values else str(len(values))
        raise CsrRefused(f"the subject must have one {label}, it has {found}")
    value = values[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def check_csr(
    text: str, *, station_id: str, use: SigningUse, organization: str | None
) -> x509.CertificateSigningRequest:
    """Apply the rules of the module docstring; the parsed CSR, or :class:`CsrRefused`."""
    csr = parse_csr(text)
    if not csr.is_signature_valid:
        raise CsrRefused("the CSR's signature does not verify with its public key")
    key = csr.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise CsrRefused(f"RSA key of {key.key_size} bits; at least {MIN_RSA_BITS} required")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.key_size < MIN_EC_BITS:
            raise CsrRefused(
                f"EC key on {key.curve.name} ({key.curve.key_size} bits); "
                f"at least {MIN_EC_BITS} required"
            )
    else:
        raise CsrRefused(f"{type(key).__name__} keys are not accepted: use RSA or EC")
    algorithm = csr.signature_hash_algorithm
    if not isinstance(algorithm, _STRONG_HASHES):
        named = algorithm.name if algorithm is not None else "none"
        raise CsrRefused(f"signed with {named}; SHA-256 or stronger required")
    common_name = _one(csr.subject, NameOID.COMMON_NAME, "CN (commonName)")
    if use is SigningUse.CHARGING_STATION and common_name != station_id:
        raise CsrRefused(f"CN is {common_name!r}, not the station id {station_id!r}")
    found = _one(csr.subject, NameOID.ORGANIZATION_NAME, "O (organizationName)")
    if not found.strip():
        raise CsrRefused("the O (organizationName) is empty")
    if organization is not None and found != organization:
        raise CsrRefused(f"O is {found!r}, not the configured organization {organization!r}")
    return csr
