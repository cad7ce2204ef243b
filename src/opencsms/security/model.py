"""Records of the certificate domain: what the CSMS signed, what stations asked for, what each
station holds, and cached OCSP answers. Plain data, shared by the domain service
(domain/certificates.py), the store (storage/repositories/certificates.py) and the API."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = [
    "CertificateRequest",
    "CertificateType",
    "HashData",
    "InstalledCertificate",
    "IssuedCertificate",
    "OcspRecord",
    "SigningUse",
]


class SigningUse(StrEnum):
    """What a station asks a certificate for (2.0.1 CertificateSigningUseEnumType; a 1.6
    SignCertificate is always the Charge Point certificate)."""

    CHARGING_STATION = "ChargingStationCertificate"
    V2G = "V2GCertificate"


class CertificateType(StrEnum):
    """Certificates a station holds, by their 2.0.1 names (GetCertificateIdUseEnumType plus the
    station's own certificate). 1.6 calls the CSMS root ``CentralSystemRootCertificate``; the
    handlers translate."""

    CSMS_ROOT = "CSMSRootCertificate"
    MANUFACTURER_ROOT = "ManufacturerRootCertificate"
    V2G_ROOT = "V2GRootCertificate"
    MO_ROOT = "MORootCertificate"
    V2G_CHAIN = "V2GCertificateChain"
    CHARGING_STATION = "ChargingStationCertificate"
    """The station's TLS client certificate, signed by this CSMS (not listed by M03)."""


INSTALLABLE = frozenset(
    {
        CertificateType.CSMS_ROOT,
        CertificateType.MANUFACTURER_ROOT,
        CertificateType.V2G_ROOT,
        CertificateType.MO_ROOT,
    }
)
"""Types InstallCertificate (M05) takes (InstallCertificateUseEnumType)."""


@dataclass(frozen=True, slots=True)
class HashData:
    """CertificateHashDataType (1.6 whitepaper §6.1, 2.0.1 part 2 §2.8): the OCSP CertID of a
    certificate. Hashes are lower-case hex; the serial lower-case hex without leading zeros."""

    hash_algorithm: str
    issuer_name_hash: str
    issuer_key_hash: str
    serial_number: str

    def normalized(self) -> HashData:
        """The same hash data spelled canonically (stations differ in case and leading zeros)."""
        return HashData(
            self.hash_algorithm.upper(),
            self.issuer_name_hash.lower(),
            self.issuer_key_hash.lower(),
            self.serial_number.lower().lstrip("0") or "0",
        )

    @property
    def key(self) -> str:
        """A stable short id of this certificate id (32 hex characters)."""
        n = self.normalized()
        text = "|".join((n.hash_algorithm, n.issuer_name_hash, n.issuer_key_hash, n.serial_number))
        return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    """A certificate this CSMS's CA signed for a station (A02/A03)."""

    serial: str
    """Lower-case hex."""
    station_id: str
    use: SigningUse
    subject: str
    pem: str
    not_before: datetime
    not_after: datetime
    issued_at: datetime
    request_id: str
    delivery_status: str | None = None
    """The station's CertificateSigned answer (Accepted / Rejected), ``Failed`` when it could not
    be sent, ``None`` while it is on its way."""
    delivered_at: datetime | None = None
    revoked_at: datetime | None = None
    expiry_notified_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CertificateRequest:
    """One SignCertificate request and the CSMS's decision (A02.FR.11/12)."""

    id: str
    station_id: str
    use: SigningUse
    csr: str
    received_at: datetime
    accepted: bool
    reason: str | None
    """Why it was refused (or ``None``)."""
    serial: str | None
    """The issued certificate's serial when accepted."""


@dataclass(frozen=True, slots=True)
class InstalledCertificate:
    """One certificate the CSMS knows a station holds: reported by GetInstalledCertificateIds
    (M03), installed by InstallCertificate (M05) or signed by this CSMS (A02)."""

    station_id: str
    type: CertificateType
    hash_data: HashData
    source: str
    """``reported``, ``installed`` or ``signed``."""
    updated_at: datetime
    pem: str | None = None
    subject: str | None = None
    not_after: datetime | None = None
    children: tuple[HashData, ...] = ()
    """A V2GCertificateChain's sub-CA certificates (childCertificateHashData)."""

    @property
    def id(self) -> str:
        """The inventory id (derived from the hash data) the API addresses it by."""
        return self.hash_data.key


@dataclass(frozen=True, slots=True)
class OcspRecord:
    """A cached OCSP answer for one certificate id."""

    cert_id: str
    status: str
    """``good``, ``revoked`` or ``unknown``."""
    response_der: bytes
    fetched_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
