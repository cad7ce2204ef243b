"""A test Plug & Charge PKI and a local OCSP responder, built with ``cryptography``.

V2G root → MO sub-CA → contract certificates (CN = eMAID, AIA pointing at the local responder).
The responder is a tiny HTTP/1.1 server on loopback that answers RFC 6960 requests for the
certificates it was told about (good or revoked), signed by the issuing CA; it counts requests so
tests can see the CSMS's cache at work. A second route answers JSON for the contract certificate
provider (Get15118EVCertificate).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

__all__ = ["LocalResponder", "PncPki", "local_responder", "pem"]


def pem(*certs: x509.Certificate) -> str:
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certs)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test V2G PKI"),
        ]
    )


@dataclass
class _Ca:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate


def _issue(
    issuer: _Ca | None,
    key: ec.EllipticCurvePrivateKey,
    subject: x509.Name,
    *,
    ca: bool,
    ocsp_url: str | None,
    not_before: datetime,
    not_after: datetime,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ocsp_url is not None:
        access = x509.AccessDescription(
            AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url)
        )
        builder = builder.add_extension(x509.AuthorityInformationAccess([access]), critical=False)
    return builder.sign(issuer.key if issuer else key, hashes.SHA256())


@dataclass
class PncPki:
    """V2G root → MO sub-CA → contracts. ``ocsp_url`` goes into every non-root certificate."""

    ocsp_url: str
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        start, end = self.now - timedelta(days=1), self.now + timedelta(days=365)
        root_key = ec.generate_private_key(ec.SECP256R1())
        self.root = _Ca(
            root_key,
            _issue(
                None,
                root_key,
                _name("V2G Root CA"),
                ca=True,
                ocsp_url=None,
                not_before=start,
                not_after=end,
            ),
        )
        sub_key = ec.generate_private_key(ec.SECP256R1())
        self.sub = _Ca(
            sub_key,
            _issue(
                self.root,
                sub_key,
                _name("MO Sub-CA"),
                ca=True,
                ocsp_url=self.ocsp_url,
                not_before=start,
                not_after=end,
            ),
        )

    def contract(self, emaid: str, *, expired: bool = False) -> x509.Certificate:
        """A contract certificate for ``emaid`` issued by the MO sub-CA."""
        start, end = self.now - timedelta(days=1), self.now + timedelta(days=30)
        if expired:
            start, end = self.now - timedelta(days=60), self.now - timedelta(days=1)
        key = ec.generate_private_key(ec.SECP256R1())
        return _issue(
            self.sub,
            key,
            _name(emaid),
            ca=False,
            ocsp_url=self.ocsp_url,
            not_before=start,
            not_after=end,
        )

    def chain_pem(self, contract: x509.Certificate) -> str:
        """What a station sends in Authorize.certificate: leaf and sub-CA, root excluded."""
        return pem(contract, self.sub.cert)


@dataclass
class LocalResponder:
    """OCSP answers by serial number; ``requests`` counts OCSP requests received."""

    url: str = ""
    known: dict[int, tuple[x509.Certificate, _Ca, datetime | None]] = field(default_factory=dict)
    requests: int = 0
    provider: Callable[[dict[str, Any]], tuple[int, dict[str, Any]]] | None = None
    provider_requests: list[dict[str, Any]] = field(default_factory=list)

    def add(self, cert: x509.Certificate, issuer: _Ca, *, revoked: bool = False) -> None:
        when = datetime.now(UTC) - timedelta(hours=1) if revoked else None
        self.known[cert.serial_number] = (cert, issuer, when)

    def answer(self, body: bytes) -> bytes:
        self.requests += 1
        request = ocsp.load_der_ocsp_request(body)
        entry = self.known.get(request.serial_number)
        if entry is None:
            unknown = ocsp.OCSPResponseStatus.UNAUTHORIZED
            return ocsp.OCSPResponseBuilder.build_unsuccessful(unknown).public_bytes(
                serialization.Encoding.DER
            )
        cert, issuer, revoked_at = entry
        now = datetime.now(UTC)
        status = ocsp.OCSPCertStatus.REVOKED if revoked_at else ocsp.OCSPCertStatus.GOOD
        response = (
            ocsp.OCSPResponseBuilder()
            .add_response(
                cert=cert,
                issuer=issuer.cert,
                algorithm=request.hash_algorithm,
                cert_status=status,
                this_update=now - timedelta(minutes=1),
                next_update=now + timedelta(hours=1),
                revocation_time=revoked_at,
                revocation_reason=x509.ReasonFlags.key_compromise if revoked_at else None,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, issuer.cert)
            .sign(issuer.key, hashes.SHA256())
        )
        return response.public_bytes(serialization.Encoding.DER)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            length = 0
            for line in lines[1:]:
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            body = await reader.readexactly(length)
            if path.startswith("/ocsp"):
                code, kind, out = 200, "application/ocsp-response", self.answer(body)
            else:
                request = orjson.loads(body)
                self.provider_requests.append(request)
                assert self.provider is not None
                code, data = self.provider(request)
                kind, out = "application/json", orjson.dumps(data)
            writer.write(
                f"HTTP/1.1 {code} X\r\nContent-Type: {kind}\r\nContent-Length: {len(out)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + out
            )
            await writer.drain()
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def local_responder() -> AsyncIterator[LocalResponder]:
    """A responder on 127.0.0.1 (port 0): OCSP at ``/ocsp``, the provider at ``/provider``."""
    responder = LocalResponder()
    server = await asyncio.start_server(responder._serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    responder.url = f"http://127.0.0.1:{port}"
    async with server:
        yield responder
