"""OCPP 1.6 security whitepaper certificates over raw frames: SignCertificate (A02.FR.11/12) and
the CertificateSigned that follows the answer; refused CSRs (A00.FR.502/503, A02.FR.13)."""

from __future__ import annotations

from pathlib import Path

import orjson
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from opencsms.domain.stations import StationSpec
from opencsms.simulator import pki as station_pki
from tests.handlers.builders import booted
from tests.security.helpers import ORGANIZATION, make_ca, until
from tests.wire import raw_station, running_csms, settings_for


def _weak_csr(station_id: str) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, station_id),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
        ]
    )
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


async def test_sign_certificate_16(tmp_path: Path) -> None:
    ca = make_ca(tmp_path / "ca", ecdsa=False)  # an RSA CA: RSA-PSS signatures
    settings = settings_for(
        tmp_path, ca_dir=str(tmp_path / "ca"), certificate_organization=ORGANIZATION
    )
    async with running_csms(settings) as csms:
        await csms.stations.create(StationSpec(id="CP16"))
        async with raw_station(csms, "CP16", "ocpp1.6") as cp:
            await booted(cp, "ocpp1.6")
            key = station_pki.new_key()
            csr = station_pki.build_csr(key, "CP16", ORGANIZATION)
            await cp.send_raw(orjson.dumps([2, "c1", "SignCertificate", {"csr": csr}]).decode())
            assert await cp.recv() == [3, "c1", {"status": "Accepted"}]
            call = await cp.recv()
            assert call[2] == "CertificateSigned"
            assert set(call[3]) == {"certificateChain"}  # 1.6: no certificateType
            (leaf,) = x509.load_pem_x509_certificates(call[3]["certificateChain"].encode())
            assert station_pki.issued_by(leaf, ca.cert)
            assert station_pki.same_public_key(leaf, key)
            await cp.send_raw(orjson.dumps([3, call[1], {"status": "Accepted"}]).decode())

            async def installed() -> bool:
                entries = await csms.certificates.inventory("CP16")
                return [e.type.value for e in entries] == ["ChargingStationCertificate"]

            await until(installed)
            (issued,) = await csms.certificates.issued("CP16")
            assert issued.delivery_status == "Accepted"
            # A02.FR.12: a key below 2048 bits (A00.FR.502), or another CpoName (A02.FR.13).
            weak = await cp.result("SignCertificate", {"csr": _weak_csr("CP16")})
            assert weak == {"status": "Rejected"}
            other_o = station_pki.build_csr(key, "CP16", "Other CPO")
            assert await cp.result("SignCertificate", {"csr": other_o}) == {"status": "Rejected"}
            reasons = [r.reason for r in await csms.certificates.requests("CP16")]
            assert reasons[0] is not None
            assert "Other CPO" in reasons[0]
            assert reasons[1] is not None
            assert "2048" in reasons[1]
            assert reasons[2] is None
