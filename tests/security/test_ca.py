"""The CA (files, signing, extensions) and the CSR rules (A00.FR.502-511, A02.FR.13)."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from opencsms.security.ca import CaError, CertificateAuthority
from opencsms.security.csr_rules import CsrRefused, check_csr
from opencsms.security.model import SigningUse
from opencsms.simulator import pki


def _csr(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, cn: str, o: str | None) -> str:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if o is not None:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o))
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name(attributes))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


@pytest.mark.parametrize("ecdsa", [True, False])
def test_init_load_and_sign(tmp_path: Path, ecdsa: bool) -> None:
    now = datetime.now(UTC)
    ca = CertificateAuthority.init(tmp_path / "ca", organization="ACME", now=now, ecdsa=ecdsa)
    assert stat.S_IMODE((tmp_path / "ca" / "ca.key").stat().st_mode) == 0o600
    with pytest.raises(CaError, match="already holds a CA"):
        CertificateAuthority.init(tmp_path / "ca", organization="ACME", now=now)
    loaded = CertificateAuthority.load(tmp_path / "ca")
    assert loaded.cert == ca.cert
    constraints = ca.cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca
    key = pki.new_key()
    csr = check_csr(
        pki.build_csr(key, "CS-1", "ACME"),
        station_id="CS-1",
        use=SigningUse.CHARGING_STATION,
        organization="ACME",
    )
    leaf = loaded.sign_csr(csr, use=SigningUse.CHARGING_STATION, now=now, days=30)
    assert pki.issued_by(leaf, ca.cert)  # RSA-PSS or ECDSA: the station's checks accept it
    assert pki.same_public_key(leaf, key)
    assert leaf.subject == csr.subject
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature
    assert usage.key_agreement
    assert not usage.key_cert_sign
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert (leaf.not_valid_after_utc - leaf.not_valid_before_utc).days == 30
    assert loaded.chain_pem(leaf).count("BEGIN CERTIFICATE") == 1  # the root is not resent


def test_server_certificate_and_missing_ca(tmp_path: Path) -> None:
    with pytest.raises(CaError, match="opencsms ca init"):
        CertificateAuthority.load(tmp_path / "none")
    ca = CertificateAuthority.init(tmp_path, organization="ACME", now=datetime.now(UTC), ecdsa=True)
    cert_path, key_path = ca.write_server_certificate(
        tmp_path, ["csms.example.com", "10.0.0.1"], organization="ACME", now=datetime.now(UTC)
    )
    chain = x509.load_pem_x509_certificates(cert_path.read_bytes())
    assert chain[0].subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "csms.example.com"  # A00.FR.510
    )
    names = chain[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["csms.example.com"]
    eku = chain[0].extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_csr_rules() -> None:
    ec_key = pki.new_key()
    ok = _csr(ec_key, "CS-1", "ACME")

    def check(text: str) -> x509.CertificateSigningRequest:
        return check_csr(
            text, station_id="CS-1", use=SigningUse.CHARGING_STATION, organization="ACME"
        )

    assert check(ok).subject.rfc4514_string() == "O=ACME,CN=CS-1"
    # Bare Base64 DER (no PEM armour) is read too (a firmware quirk).
    bare = "".join(ok.splitlines()[1:-1])
    check(bare)
    refused = {
        "not a PKCS#10": "garbage",
        "not the station id": _csr(ec_key, "CS-2", "ACME"),
        "not the configured organization": _csr(ec_key, "CS-1", "Other"),
        "one O": _csr(ec_key, "CS-1", None),
        "at least 256": _csr(ec.generate_private_key(ec.SECP224R1()), "CS-1", "ACME"),
        "at least 2048": _csr(
            rsa.generate_private_key(public_exponent=65537, key_size=1024), "CS-1", "ACME"
        ),
    }
    for needle, text in refused.items():
        with pytest.raises(CsrRefused, match=needle):
            check(text)
    # V2G CSRs carry the CN ISO 15118 defines: only the O is checked.
    v2g = _csr(ec_key, "EVSE-DE*ABC*E1", "ACME")
    check_csr(v2g, station_id="CS-1", use=SigningUse.V2G, organization="ACME")
