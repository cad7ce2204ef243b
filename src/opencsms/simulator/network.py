"""Where a simulated 2.x station connects, and how (B09/B10, A05; docs/simulator.md).

* ``OCPPCommCtrlr.NetworkConfigurationPriority`` is writable: a comma-separated list of the
  configuration slots (:data:`~opencsms.simulator.customer.CONFIGURATION_SLOTS`) to try, first
  first (B10). It takes effect at the next (re)connection, e.g. after a Reset (A05).
* Slot 0 is the station's configured ``csms_url`` (with its password: profile 1, or 0 without
  one); the other slots are the NetworkConnectionProfiles the CSMS stored with
  SetNetworkProfile (B09).
* The first slot of the priority that has a profile is used: its ``ocppCsmsUrl`` and
  ``securityProfile``. Profiles 2 and 3 connect over TLS, trusting only the installed CSMS root
  certificates (A00.FR.307, CSMSRootCertificate / CentralSystemRootCertificate); profile 3 adds the
  station's own certificate, the one the CSMS signed (A00.FR.401/402); profiles 1 and 2 send
  HTTP Basic.
* When a connection at that slot's profile succeeds, ``SecurityCtrlr.SecurityProfile`` becomes
  its profile (A05 postcondition; TC_A_19 reads it back). A station that cannot connect at the
  first slot tries the next one of the priority (A05.FR.08 fallback).

1.6 stations keep their configured URL (the 1.6 ``SecurityProfile`` key is not simulated).
"""

from __future__ import annotations

import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization

from opencsms.simulator.config_keys import Variable

if TYPE_CHECKING:
    from opencsms.simulator.station import SimulatedStation

__all__ = ["Endpoint", "connected", "endpoints", "install"]

_ROOT_TYPES = ("CSMSRootCertificate", "CentralSystemRootCertificate")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One way to reach the CSMS: URL (with the station id), TLS context, headers, profile."""

    url: str
    profile: int
    ssl: ssl.SSLContext | None
    headers: dict[str, str]


def _valid_priority(value: str) -> bool:
    from opencsms.simulator.customer import CONFIGURATION_SLOTS

    parts = [part.strip() for part in value.split(",")]
    return bool(parts) and all(p.isdigit() and int(p) in CONFIGURATION_SLOTS for p in parts)


def install(station: SimulatedStation) -> None:
    """Make NetworkConfigurationPriority writable on a 2.x station (no-op for 1.6)."""
    if station.device_model is not None:
        station.device_model.add(
            "OCPPCommCtrlr",
            "NetworkConfigurationPriority",
            Variable("0", "ReadWrite", _valid_priority),
        )


def endpoints(station: SimulatedStation) -> list[Endpoint]:
    """The endpoints to try, in the priority order; at least the configured one."""
    config = station.config
    default = Endpoint(config.url, 1 if config.password else 0, None, config.auth_headers())
    model = station.device_model
    if model is None:
        return [default]
    from opencsms.simulator.customer import records

    stored = records(station).profiles
    found: list[Endpoint] = []
    for part in model.get("OCPPCommCtrlr", "NetworkConfigurationPriority").split(","):
        slot = int(part)
        data = stored.get(slot)
        if data is None:
            if slot == 0:
                found.append(default)
            continue
        profile = int(data["securityProfile"])
        url = f"{str(data['ocppCsmsUrl']).rstrip('/')}/{config.id}"
        context = _tls_context(station, profile) if profile >= 2 else None
        headers = config.auth_headers() if profile <= 2 else {}
        found.append(Endpoint(url, profile, context, headers))
    return found or [default]


def connected(station: SimulatedStation, endpoint: Endpoint) -> None:
    """A connection at ``endpoint`` succeeded: the station now runs at its profile."""
    if station.device_model is not None and endpoint.ssl is not None:
        station.device_model.set("SecurityCtrlr", "SecurityProfile", str(endpoint.profile))


def _tls_context(station: SimulatedStation, profile: int) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # A00.FR.312
    roots = [
        cert.public_bytes(serialization.Encoding.PEM).decode()
        for use in _ROOT_TYPES
        for cert in station.certificates.roots(use)
    ]
    if roots:
        context.load_verify_locations(cadata="".join(roots))
    # No root installed: the handshake fails on verification, as it must (A00.FR.309).
    if profile == 3:
        own = station.certificates.own_key_and_chain()
        if own is not None:
            key, chain = own
            _load_client_certificate(context, key, chain)
    return context


def _load_client_certificate(context: ssl.SSLContext, key: bytes, chain: bytes) -> None:
    # ssl only loads a key from a file: write both to a private temporary directory that is
    # removed at once (the key never leaves the station's process).
    with tempfile.TemporaryDirectory() as directory:
        cert_file, key_file = Path(directory, "cert.pem"), Path(directory, "key.pem")
        cert_file.write_bytes(chain)
        key_file.write_bytes(key)
        key_file.chmod(0o600)
        context.load_cert_chain(cert_file, key_file)
