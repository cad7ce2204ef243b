"""OCSP (RFC 6960) for Plug & Charge: the revocation status of contract certificates.

Used by Authorize with a contract certificate or its hash data (2.0.1 C07.FR.06: the CSMS checks
the certificates with OCSP) and by GetCertificateStatus, where the CSMS asks the responder on the
station's behalf and hands back the DER response (M06). The CertID of a request *is* the
OCPP hash data (issuerNameHash, issuerKeyHash, serialNumber), so no certificate is needed to ask.

* Answers are cached by certificate id until the response's nextUpdate, and never longer than
  ``max_age`` (a response without nextUpdate is "newer information is always available", RFC 6960
  §4.2.2.1: it is still reused for ``max_age`` so a busy site does not ask once per plug-in). The
  cache is in memory, backed by the store so another node or a restart reuses it.
* The HTTP transport is an injected callable (:class:`HttpPost`): production uses httpx with a
  timeout; tests use a local responder.
* A response's signature is verified when the issuer certificate is known (the chain came with
  the request, or the issuer is in the configured trust bundle): signed by the issuer itself or by
  a responder certificate the issuer delegated with id-kp-OCSPSigning (RFC 6960 §4.2.2.2). When the
  issuer is unknown, the answer is used unverified and said so (:attr:`OcspResult.verified`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, SignatureAlgorithmOID

from opencsms.clock import Clock
from opencsms.errors import OpenCsmsError
from opencsms.security.model import HashData, OcspRecord

__all__ = [
    "HASHES",
    "HttpPost",
    "OcspClient",
    "OcspError",
    "OcspResult",
    "OcspStore",
    "hash_data_of",
    "httpx_post",
]

HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "SHA256": hashes.SHA256,
    "SHA384": hashes.SHA384,
    "SHA512": hashes.SHA512,
}
"""HashAlgorithmEnumType → hash (1.6 whitepaper §6, 2.0.1 part 2)."""

HttpPost = Callable[[str, bytes, float], Awaitable[bytes]]
"""``post(url, der_request, timeout)`` → the responder's DER answer; raises :class:`OcspError`."""


class OcspError(OpenCsmsError):
    """No usable OCSP answer: unreachable responder, HTTP error, malformed or unsuccessful
    response, or a signature that does not verify."""


class OcspStore(Protocol):
    """Where answers are kept between nodes and restarts (storage CertificateRepository)."""

    async def get_ocsp(self, cert_id: str) -> OcspRecord | None: ...

    async def save_ocsp(self, record: OcspRecord) -> None: ...


async def httpx_post(url: str, body: bytes, seconds: float) -> bytes:
    """POST an OCSP request (RFC 6960 appendix A.1) with httpx."""
    headers = {"Content-Type": "application/ocsp-request", "Accept": "application/ocsp-response"}
    try:
        async with httpx.AsyncClient(timeout=seconds) as client:
            answer = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise OcspError(f"OCSP responder {url} unreachable: {exc!r}") from None
    if answer.status_code != 200:
        raise OcspError(f"OCSP responder {url} answered HTTP {answer.status_code}")
    return answer.content


def hash_data_of(
    cert: x509.Certificate, issuer: x509.Certificate, algorithm: str = "SHA256"
) -> HashData:
    """The OCPP hash data (= OCSP CertID) of ``cert`` issued by ``issuer``."""
    request = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, HASHES[algorithm]()).build()
    return HashData(
        algorithm,
        request.issuer_name_hash.hex(),
        request.issuer_key_hash.hex(),
        format(cert.serial_number, "x"),
    )


@dataclass(frozen=True, slots=True)
class OcspResult:
    """The status of one certificate."""

    status: str
    """``good``, ``revoked`` or ``unknown`` (RFC 6960 §2.2)."""
    response_der: bytes
    revoked_at: datetime | None
    verified: bool
    """Whether the response signature was checked against the issuer."""
    cached: bool


def _verify(key: object, signature: bytes, data: bytes, response: ocsp.OCSPResponse) -> bool:
    algorithm = response.signature_hash_algorithm
    if algorithm is None:
        return False
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(algorithm))
        elif isinstance(key, rsa.RSAPublicKey):
            pss = response.signature_algorithm_oid == SignatureAlgorithmOID.RSASSA_PSS
            pad: padding.AsymmetricPadding = (
                padding.PSS(mgf=padding.MGF1(algorithm), salt_length=padding.PSS.AUTO)
                if pss
                else padding.PKCS1v15()
            )
            key.verify(signature, data, pad, algorithm)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def _signed_by_issuer(response: ocsp.OCSPResponse, issuer: x509.Certificate) -> bool:
    """RFC 6960 §4.2.2.2: the issuer signed it, or a certificate it issued for OCSP signing."""
    signature, data = response.signature, response.tbs_response_bytes
    if _verify(issuer.public_key(), signature, data, response):
        return True
    for delegate in response.certificates:
        try:
            delegate.verify_directly_issued_by(issuer)
            usage = delegate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
            continue
        if ExtendedKeyUsageOID.OCSP_SIGNING in usage and _verify(
            delegate.public_key(), signature, data, response
        ):
            return True
    return False


class OcspClient:
    """Asks OCSP responders, with a cache; see the module docstring."""

    def __init__(
        self,
        clock: Clock,
        *,
        post: HttpPost = httpx_post,
        store: OcspStore | None = None,
        timeout: float = 5.0,
        max_age: float = 3600.0,
        memory_size: int = 10_000,
    ) -> None:
        self._clock = clock
        self._post = post
        self._store = store
        self._timeout = timeout
        self._max_age = timedelta(seconds=max_age)
        self._memory: OrderedDict[str, OcspRecord] = OrderedDict()
        self._memory_size = memory_size
        self.requests_sent = 0
        """Requests that went to a responder (the others were answered from the cache)."""

    async def check(
        self, data: HashData, responder_url: str, *, issuer: x509.Certificate | None = None
    ) -> OcspResult:
        """The status of the certificate ``data`` identifies (:class:`OcspError` when there is
        no usable answer)."""
        key = data.key
        now = self._clock.now()
        record = await self._cached(key, now)
        if record is not None:
            return OcspResult(record.status, record.response_der, record.revoked_at, False, True)
        der = await self._ask(data, responder_url)
        response = self._parse(der, data, responder_url)
        verified = False
        if issuer is not None:
            if not _signed_by_issuer(response, issuer):
                raise OcspError(f"the OCSP response of {responder_url} is not signed by the issuer")
            verified = True
        status = {
            ocsp.OCSPCertStatus.GOOD: "good",
            ocsp.OCSPCertStatus.REVOKED: "revoked",
        }.get(response.certificate_status, "unknown")
        revoked_at = response.revocation_time_utc if status == "revoked" else None
        expires = now + self._max_age
        if response.next_update_utc is not None:
            expires = min(expires, response.next_update_utc)
        record = OcspRecord(key, status, der, now, expires, revoked_at)
        self._remember(record)
        if self._store is not None and expires > now:
            await self._store.save_ocsp(record)
        return OcspResult(status, der, revoked_at, verified, False)

    async def _cached(self, key: str, now: datetime) -> OcspRecord | None:
        record = self._memory.get(key)
        if record is None and self._store is not None:
            record = await self._store.get_ocsp(key)
            if record is not None:
                self._remember(record)
        if record is None or record.expires_at <= now:
            return None
        self._memory.move_to_end(key)
        return record

    def _remember(self, record: OcspRecord) -> None:
        self._memory[record.cert_id] = record
        self._memory.move_to_end(record.cert_id)
        while len(self._memory) > self._memory_size:
            self._memory.popitem(last=False)

    async def _ask(self, data: HashData, responder_url: str) -> bytes:
        if not responder_url.startswith(("http://", "https://")):
            raise OcspError(f"responder URL {responder_url!r} is not an HTTP(S) URL")
        try:
            algorithm = HASHES[data.hash_algorithm.upper()]()
            request = (
                ocsp.OCSPRequestBuilder()
                .add_certificate_by_hash(
                    bytes.fromhex(data.issuer_name_hash),
                    bytes.fromhex(data.issuer_key_hash),
                    int(data.serial_number, 16),
                    algorithm,
                )
                .build()
            )
        except (KeyError, ValueError) as exc:
            raise OcspError(f"hash data cannot make an OCSP request: {exc}") from None
        self.requests_sent += 1
        return await self._post(responder_url, request.public_bytes(Encoding.DER), self._timeout)

    @staticmethod
    def _parse(der: bytes, data: HashData, url: str) -> ocsp.OCSPResponse:
        try:
            response = ocsp.load_der_ocsp_response(der)
        except ValueError as exc:
            raise OcspError(f"{url} did not answer an OCSP response: {exc}") from None
        if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
            raise OcspError(f"{url} answered {response.response_status.name}")
        wanted = data.normalized()
        if (
            format(response.serial_number, "x") != wanted.serial_number
            or response.issuer_key_hash.hex() != wanted.issuer_key_hash
            or response.issuer_name_hash.hex() != wanted.issuer_name_hash
        ):
            raise OcspError(f"{url} answered about another certificate")
        return response

    async def fetch(self, data: HashData, responder_url: str) -> bytes:
        """The DER response for ``data`` (cached or fresh), for GetCertificateStatus (M06): the
        station checks it itself."""
        return (await self.check(data, responder_url)).response_der
