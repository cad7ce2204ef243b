"""TLS for the station listeners of security profiles 2 and 3 (1.6 security whitepaper §2.4-2.6,
2.0.1 part 2 A00, docs/security.md).

One :class:`ssl.SSLContext` per listener:

* TLS 1.2 and 1.3 only (A00.FR.312/416: "SHALL only use TLS v1.2 or above"; a station offering
  TLS 1.0/1.1 fails the handshake, A00.FR.313/314);
* for TLS 1.2 the four cipher suites the CSMS SHALL support (A00.FR.317/421) plus their
  forward-secret ECDHE-RSA siblings, nothing else (A00.FR.319: no suites BSI marks unsuitable);
  TLS 1.3 keeps OpenSSL's suites (all AES-GCM / ChaCha20-Poly1305);
* no TLS compression (A00.FR.320/424, CRIME);
* an RSA and an ECDSA server chain may both be loaded: OpenSSL keeps one certificate per key type
  and picks the one matching the suite the station offers, so stations that only do
  ``TLS_ECDHE_ECDSA_*`` and stations that only do ``TLS_RSA_*`` are both served (A00.FR.318);
* profile 3 requires a client certificate that chains to the configured CA (A00.FR.403/407); the
  gateway then checks its CN against the station id in the path (A00.FR.405, see
  :func:`peer_subject`).
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "TLS12_CIPHERS",
    "CertChain",
    "TlsConfigError",
    "peer_subject",
    "server_context",
]

TLS12_CIPHERS = ":".join(
    (
        # A00.FR.317 / A00.FR.421: the four suites a Central System SHALL support ...
        "ECDHE-ECDSA-AES128-GCM-SHA256",  # TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        "ECDHE-ECDSA-AES256-GCM-SHA384",  # TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
        # ... with forward secrecy preferred for RSA keys too (the whitepaper's note on TLS_RSA) ...
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "AES128-GCM-SHA256",  # TLS_RSA_WITH_AES_128_GCM_SHA256
        "AES256-GCM-SHA384",  # TLS_RSA_WITH_AES_256_GCM_SHA384
    )
)
"""OpenSSL names of the TLS 1.2 suites offered, most preferred first."""


class TlsConfigError(ValueError):
    """A certificate, key or CA file cannot be used; the message names the file and why."""


@dataclass(frozen=True, slots=True)
class CertChain:
    """A PEM certificate chain (leaf first) and its private key."""

    cert_file: str
    key_file: str


def server_context(
    chains: Sequence[CertChain],
    *,
    client_ca_file: str | None = None,
) -> ssl.SSLContext:
    """The server context of a profile 2 listener, or of a profile 3 one when ``client_ca_file``
    is given (then a client certificate chaining to it is required)."""
    if not chains:
        raise TlsConfigError("a TLS listener needs a server certificate and key (tls_cert_file)")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = ssl.TLSVersion.MAXIMUM_SUPPORTED
    context.set_ciphers(TLS12_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    context.options |= ssl.OP_NO_RENEGOTIATION
    for chain in chains:
        try:
            context.load_cert_chain(chain.cert_file, chain.key_file)
        except (OSError, ssl.SSLError) as exc:
            raise TlsConfigError(
                f"cannot load server certificate {chain.cert_file} / key {chain.key_file}: {exc}"
            ) from exc
    if client_ca_file is not None:
        try:
            context.load_verify_locations(cafile=client_ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise TlsConfigError(f"cannot load client CA file {client_ca_file}: {exc}") from exc
        # A00.FR.407: no valid certificate, or an invalid certification path: the handshake
        # fails, so the station never reaches the HTTP upgrade.
        context.verify_mode = ssl.CERT_REQUIRED
    else:
        context.verify_mode = ssl.CERT_NONE
    return context


def peer_subject(ssl_object: Any) -> dict[str, str]:
    """The subject RDNs (``commonName``, ``organizationName``, ...) of the verified client
    certificate of a TLS connection; empty when there is none.

    Only the subject counts: A00.FR.511 says a station certificate's identity is its CN, and a
    subjectAltName SHOULD NOT be used for it.
    """
    if ssl_object is None:
        return {}
    cert = ssl_object.getpeercert()
    if not cert:
        return {}
    subject: dict[str, str] = {}
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            # A repeated attribute (two CNs) makes the identity ambiguous: keep none of them.
            subject[key] = "" if key in subject else value
    return subject
