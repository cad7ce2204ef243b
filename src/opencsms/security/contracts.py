"""Contract certificate checks for ISO 15118 Plug & Charge authorization (2.0.1 C07).

A station asks the CSMS to authorize an EV's contract (eMAID) in one of two ways (errata 2023-12
[675]): with the whole contract certificate chain (``certificate``: central contract validation,
the station lacks the root), or with the OCSP hash data of the chain's certificates
(``iso15118CertificateHashData``, the station validated the chain itself). The CSMS checks the
chain and its revocation with OCSP (C07.FR.06) and answers a certificate status (errata
C07.FR.13-17):

=================================================  ====================  ==================
the chain                                          certificateStatus     idTokenInfo.status
=================================================  ====================  ==================
has expired (a certificate of it)                  CertificateExpired    Expired
has been revoked (OCSP says so)                    CertificateRevoked    Invalid
cannot be verified, or is invalid                  CertChainError        Invalid
is valid, the eMAID is Blocked/Expired/Invalid/     ContractCancelled     the token's status
Unknown
is valid, otherwise                                Accepted              the token's status
=================================================  ====================  ==================

"Cannot be verified" includes an OCSP responder that gives no usable answer, unless the operator
chose ``pnc_ocsp_soft_fail`` (charging goes on when the responder is down; the answer is logged).
With hash data only, expiry cannot be seen (the data carry no dates): the station checked the
dates when it validated the chain.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from itertools import pairwise

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from opencsms.domain.authorization import AuthDecision, AuthorizationStatus
from opencsms.security.model import HashData
from opencsms.security.ocsp import OcspClient, OcspError, hash_data_of

__all__ = [
    "ContractCheck",
    "ContractStatus",
    "ContractVerifier",
    "OcspQuery",
    "contract_decision",
    "load_trust",
    "normalize_emaid",
]

log = logging.getLogger("opencsms.pnc")

MAX_CHAIN = 5
"""Contract chains are leaf + at most 2 sub-CAs (ISO 15118-2); 5 leaves room for other PKIs."""


class ContractStatus(StrEnum):
    """The chain's verdict (AuthorizeCertificateStatusEnumType values used by C07.FR.13-17)."""

    ACCEPTED = "Accepted"
    EXPIRED = "CertificateExpired"
    REVOKED = "CertificateRevoked"
    CHAIN_ERROR = "CertChainError"
    CANCELLED = "ContractCancelled"


@dataclass(frozen=True, slots=True)
class ContractCheck:
    status: ContractStatus
    detail: str
    emaid: str | None = None
    """The contract certificate's CN (ISO 15118-2: the eMAID), when a chain was given."""


@dataclass(frozen=True, slots=True)
class OcspQuery:
    """One iso15118CertificateHashData entry (OCSPRequestDataType)."""

    hash_data: HashData
    responder_url: str


def normalize_emaid(value: str) -> str:
    """eMAIDs are compared without dashes and case (ISO 15118-2 allows the optional '-')."""
    return value.replace("-", "").upper()


def load_trust(pem: str) -> list[x509.Certificate]:
    """The trusted certificates (V2G and MO roots, known sub-CAs) of a PEM bundle."""
    return x509.load_pem_x509_certificates(pem.encode("ascii")) if pem.strip() else []


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _ocsp_url(cert: x509.Certificate) -> str | None:
    try:
        access = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return None
    for description in access:
        location = description.access_location
        if description.access_method == AuthorityInformationAccessOID.OCSP and isinstance(
            location, x509.UniformResourceIdentifier
        ):
            return location.value
    return None


class ContractVerifier:
    """Checks contract chains and hash data against the trust bundle and OCSP."""

    def __init__(
        self,
        ocsp_client: OcspClient,
        trust: Sequence[x509.Certificate] = (),
        *,
        soft_fail: bool = False,
    ) -> None:
        self._ocsp = ocsp_client
        self._trust = list(trust)
        self._soft_fail = soft_fail

    async def check_chain(self, pem: str, now: datetime) -> ContractCheck:
        """Central contract validation of a PEM chain, leaf first, root excluded."""
        try:
            chain = x509.load_pem_x509_certificates(pem.encode("ascii", "replace"))
        except ValueError as exc:
            return ContractCheck(ContractStatus.CHAIN_ERROR, f"not a PEM certificate chain: {exc}")
        if not chain or len(chain) > MAX_CHAIN:
            return ContractCheck(ContractStatus.CHAIN_ERROR, "a chain of 1 to 5 certificates")
        names = chain[0].subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        emaid = str(names[0].value) if names else None
        if not all(_issued_by(child, parent) for child, parent in pairwise(chain)):
            return ContractCheck(ContractStatus.CHAIN_ERROR, "not signed link by link", emaid)
        anchor = next((t for t in self._trust if t == chain[-1] or _issued_by(chain[-1], t)), None)
        if anchor is None:
            return ContractCheck(
                ContractStatus.CHAIN_ERROR, "the chain does not lead to a trusted root", emaid
            )
        for cert in [*chain, anchor]:
            if now > cert.not_valid_after_utc:
                subject = cert.subject.rfc4514_string()
                return ContractCheck(ContractStatus.EXPIRED, f"{subject} has expired", emaid)
            if now < cert.not_valid_before_utc:
                subject = cert.subject.rfc4514_string()
                return ContractCheck(ContractStatus.CHAIN_ERROR, f"{subject} not valid yet", emaid)
        issuers = [*chain[1:], anchor]
        queries = []
        for cert, issuer in zip(chain, issuers, strict=True):
            if cert == issuer:
                continue  # the anchor itself was sent: roots are not checked by OCSP
            url = _ocsp_url(cert)
            if url is not None:
                queries.append((OcspQuery(hash_data_of(cert, issuer), url), issuer))
        verdict = await self._revocation(queries)
        return ContractCheck(verdict.status, verdict.detail, emaid)

    async def check_hash_data(self, entries: Sequence[OcspQuery]) -> ContractCheck:
        """Revocation of the certificates the station identified by hash data."""
        return await self._revocation([(e, self._issuer_of(e.hash_data)) for e in entries])

    def _issuer_of(self, data: HashData) -> x509.Certificate | None:
        wanted = data.normalized()
        algorithm = wanted.hash_algorithm
        for cert in self._trust:
            mine = hash_data_of(cert, cert, algorithm)  # the name and key hashes of `cert`
            if (mine.issuer_name_hash, mine.issuer_key_hash) == (
                wanted.issuer_name_hash,
                wanted.issuer_key_hash,
            ):
                return cert
        return None

    async def _revocation(
        self, queries: Sequence[tuple[OcspQuery, x509.Certificate | None]]
    ) -> ContractCheck:
        for query, issuer in queries:
            serial = query.hash_data.serial_number
            try:
                result = await self._ocsp.check(query.hash_data, query.responder_url, issuer=issuer)
            except OcspError as exc:
                if self._soft_fail:
                    log.warning("OCSP for serial %s failed, accepted (soft fail): %s", serial, exc)
                    continue
                return ContractCheck(ContractStatus.CHAIN_ERROR, f"no OCSP status: {exc}")
            if result.status == "revoked":
                return ContractCheck(ContractStatus.REVOKED, f"serial {serial} is revoked")
            if result.status != "good":
                return ContractCheck(ContractStatus.CHAIN_ERROR, f"serial {serial} is unknown")
        return ContractCheck(ContractStatus.ACCEPTED, "valid")


_CANCELLING = frozenset(
    {
        AuthorizationStatus.BLOCKED,
        AuthorizationStatus.EXPIRED,
        AuthorizationStatus.INVALID,
        AuthorizationStatus.UNKNOWN,
    }
)


def contract_decision(
    check: ContractCheck, token: AuthDecision
) -> tuple[ContractStatus, AuthDecision]:
    """The certificate status and token decision to answer (table of the module docstring)."""
    if check.status is ContractStatus.EXPIRED:
        return check.status, AuthDecision(AuthorizationStatus.EXPIRED)
    if check.status is not ContractStatus.ACCEPTED:
        return check.status, AuthDecision(AuthorizationStatus.INVALID)
    if token.status in _CANCELLING:
        return ContractStatus.CANCELLED, token
    return ContractStatus.ACCEPTED, token
