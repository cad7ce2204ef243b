"""Certificates on a simulated station: key + CSR for SignCertificate, installed certificates.

The station keeps real X.509 state (``cryptography``): root certificates installed by the CSMS
(InstallCertificate, M05), its own key pairs and the chains the CSMS signed for them
(SignCertificate / CertificateSigned, A02/A03), and a security log (1.6 whitepaper §8, 2.0.1
part 2 appendix 1) whose critical events are pushed with SecurityEventNotification.

Same shapes in 1.6 (security whitepaper edition 2) and 2.x, except: 1.6 has no
``certificateType`` in SignCertificate/CertificateSigned and asks for one type in
GetInstalledCertificateIds; 2.x lists hash-data chains and knows V2G certificates.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from opencsms.clock import utc_iso
from opencsms.errors import CallFailedError
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import pki
from opencsms.simulator.config_keys import ConfigKey, Variable
from opencsms.simulator.connection import AfterAnswer, HandlerFn, Payload, Reply

if TYPE_CHECKING:
    from opencsms.simulator.station import QueuedMessage, SimulatedStation

__all__ = [
    "DEFAULT_ORGANIZATION",
    "ROUTES_2",
    "ROUTES_16",
    "STATION_CERTIFICATE",
    "V2G_CERTIFICATE",
    "CertificateStore",
    "SecurityEvent",
]

log = logging.getLogger("opencsms.simulator")

STATION_CERTIFICATE = "ChargingStationCertificate"
"""The station's own TLS client certificate (1.6: the Charge Point certificate)."""
V2G_CERTIFICATE = "V2GCertificate"
"""The ISO 15118 SECC certificate (2.x only)."""
DEFAULT_ORGANIZATION = "OpenCSMS"
"""Initial CpoName / SecurityCtrlr.OrganizationName, the O of every CSR (A02.FR.13)."""
MAX_CERTIFICATES = 20
"""CertificateStoreMaxLength: installed root certificates at most (M05.FR.03)."""
MAX_CHAIN_SIZE = 10_000
"""CertificateSignedMaxChainSize / MaxCertificateChainSize, characters (the schema's maximum)."""

# Which installed roots anchor the chain of each own certificate (whitepaper §2.6.2 hierarchies).
_ANCHORS = {
    STATION_CERTIFICATE: ("CentralSystemRootCertificate", "CSMSRootCertificate"),
    V2G_CERTIFICATE: ("V2GRootCertificate",),
}

# Critical security events are pushed to the CSMS; the others only go to the security log
# (1.6 whitepaper §8; 2.0.1 part 2 appendix 1 with errata 2023-12 [682] making the two
# firmware signature events critical).
_CRITICAL_16 = frozenset(
    {
        "FirmwareUpdated",
        "SettingSystemTime",
        "StartupOfTheDevice",
        "ResetOrReboot",
        "SecurityLogWasCleared",
        "MemoryExhaustion",
        "TamperDetectionActivated",
    }
)
_CRITICAL_2 = _CRITICAL_16 | {
    "InvalidCsmsCertificate",
    "InvalidChargingStationCertificate",
    "InvalidTLSVersion",
    "InvalidTLSCipherSuite",
    "MaintenanceLoginAccepted",
    "MaintenanceLoginFailed",
    "InvalidFirmwareSignature",
    "InvalidFirmwareSigningCertificate",
}


@dataclass(frozen=True, slots=True)
class SecurityEvent:
    """One entry of the security log (N01.FR.05); ``sent``: pushed to the CSMS."""

    type: str
    at: datetime
    tech_info: str | None
    sent: bool


@dataclass(frozen=True, slots=True)
class _Root:
    use: str
    cert: x509.Certificate
    issuer: x509.Certificate  # itself for a self-signed root; kept for the hash data


@dataclass(slots=True)
class _Own:
    key: ec.EllipticCurvePrivateKey  # never leaves the station (A02.FR.05)
    chain: list[x509.Certificate]
    issuers: list[x509.Certificate | None]  # issuer of chain[i]; None when unknown


class CertificateStore:
    """Keys and certificates held by one station; see the module docstring."""

    def __init__(self, station: SimulatedStation) -> None:
        self.station = station
        self.security_log: list[SecurityEvent] = []
        """Every security event, in order (uploaded by GetLog SecurityLog, N01.FR.03)."""
        self.csrs_sent = 0
        """SignCertificate requests the CSMS answered."""
        self._roots: list[_Root] = []
        self._own: dict[str, _Own] = {}
        self._pending: dict[str, ec.EllipticCurvePrivateKey] = {}
        if station.keys is not None:  # 1.6 whitepaper §7
            station.keys.add("CpoName", ConfigKey(DEFAULT_ORGANIZATION))
            station.keys.add(
                "CertificateStoreMaxLength", ConfigKey(str(MAX_CERTIFICATES), readonly=True)
            )
            station.keys.add(
                "CertificateSignedMaxChainSize", ConfigKey(str(MAX_CHAIN_SIZE), readonly=True)
            )
            station.keys.add("AdditionalRootCertificateCheck", ConfigKey("false", readonly=True))
        if station.device_model is not None:  # 2.0.1 part 2 appendix 3, SecurityCtrlr
            model = station.device_model
            model.add("SecurityCtrlr", "OrganizationName", Variable(DEFAULT_ORGANIZATION))
            model.add("SecurityCtrlr", "CertificateEntries", Variable("0", "ReadOnly"))
            model.add(
                "SecurityCtrlr",
                "MaxCertificateChainSize",
                Variable(str(MAX_CHAIN_SIZE), "ReadOnly"),
            )
            model.add(
                "SecurityCtrlr", "AdditionalRootCertificateCheck", Variable("false", "ReadOnly")
            )

    # ------------------------------------------------------------------ state

    @property
    def organization(self) -> str:
        """The O of the CSRs: 1.6 CpoName (A02.FR.13), 2.x SecurityCtrlr.OrganizationName."""
        if self.station.keys is not None:
            return self.station.keys.get("CpoName")
        assert self.station.device_model is not None
        return self.station.device_model.get("SecurityCtrlr", "OrganizationName")

    def roots(self, use: str | None = None) -> list[x509.Certificate]:
        """Installed root certificates (of type ``use``, or all)."""
        return [root.cert for root in self._roots if use is None or root.use == use]

    def certificate(self, use: str = STATION_CERTIFICATE) -> list[x509.Certificate] | None:
        """The installed chain (leaf first) of the station's own ``use`` certificate, if any."""
        own = self._own.get(use)
        return list(own.chain) if own is not None else None

    def own_key_and_chain(self, use: str = STATION_CERTIFICATE) -> tuple[bytes, bytes] | None:
        """The PEM key and chain of an own certificate, for the station's TLS client side
        (security profile 3, :mod:`opencsms.simulator.network`); None: none signed yet."""
        own = self._own.get(use)
        if own is None:
            return None
        key = own.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        chain = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in own.chain)
        return key, chain

    def awaiting(self, use: str = STATION_CERTIFICATE) -> bool:
        """Whether a CSR for ``use`` was sent and its certificate has not arrived yet."""
        return use in self._pending

    def _count_changed(self) -> None:
        if self.station.device_model is not None:
            entries = len(self._roots) + len(self._own)
            self.station.device_model.set("SecurityCtrlr", "CertificateEntries", str(entries))

    # ------------------------------------------------------------- A02/A03: own certificates

    async def request_certificate(self, use: str = STATION_CERTIFICATE) -> str | None:
        """Generate a key pair and send its CSR with SignCertificate (A02.FR.02-03, A03).

        Returns the CSMS's status (``Accepted``/``Rejected``), or ``None`` when the call failed
        (offline, CALLERROR, timeout: logged). The key waits for CertificateSigned; a new
        request replaces an older pending key of the same type.
        """
        key = pki.new_key()
        csr = pki.build_csr(key, self.station.config.id, self.organization)
        payload: Payload = {"csr": csr}
        if self.station.version is not OcppVersion.V16:
            payload["certificateType"] = use
        self._pending[use] = key
        try:
            answer = await self.station.call("SignCertificate", payload)
        except CallFailedError as exc:
            log.info("%s: SignCertificate failed: %s", self.station.config.id, exc)
            return None
        status: str = answer["status"]
        self.csrs_sent += 1
        if status != "Accepted" and self._pending.get(use) is key:
            del self._pending[use]  # A02.FR.12: the CSMS will not sign it
        await self.station.notify_changed()
        return status

    def accept_signed(self, chain_pem: str, use: str = STATION_CERTIFICATE) -> str | None:
        """CertificateSigned (A02.FR.06-08): install the chain, or say why it is refused.

        Refused when it does not parse, is longer than MaxCertificateChainSize, its leaf does
        not carry a key this station generated, a certificate in it has expired, it is not
        signed link by link, or — when a root of its hierarchy is installed (CSMS root for
        the station certificate, V2G root for the V2G one) — it does not lead to one of them.
        A leaf whose validity has not started yet is installed and used once it starts
        (A02.FR.08). Returns ``None`` when installed, else the reason.
        """
        if len(chain_pem) > MAX_CHAIN_SIZE:
            return "certificate chain too long"
        try:
            chain = pki.load_chain(chain_pem)
        except ValueError as exc:
            return str(exc)
        leaf = chain[0]
        key = self._pending.get(use)
        if key is None or not pki.same_public_key(leaf, key):
            own = self._own.get(use)
            if own is None or not pki.same_public_key(leaf, own.key):
                return "the certificate is not for a key this station generated"
            key = own.key  # the same key signed again (e.g. a resent CertificateSigned)
        now = self.station.clock.now()
        if any(pki.expired(cert, now) for cert in chain):
            return "a certificate of the chain has expired"
        if not all(pki.issued_by(child, parent) for child, parent in pairwise(chain)):
            return "the chain is not signed link by link"
        last = chain[-1]
        anchors = [r.cert for r in self._roots if r.use in _ANCHORS.get(use, ())]
        anchor = next((a for a in anchors if a == last or pki.issued_by(last, a)), None)
        if anchors and anchor is None:
            return "the chain does not lead to an installed root certificate"
        if anchor is None and pki.issued_by(last, last):
            anchor = last
        self._own[use] = _Own(key, chain, [*chain[1:], anchor])
        self._pending.pop(use, None)
        self._count_changed()
        return None

    # -------------------------------------------------------------------- M03-M05: roots

    def install_root(self, use: str, pem: str) -> str:
        """InstallCertificate (M05): ``Accepted``, or ``Rejected`` for an unreadable,
        expired, non-CA or unverifiable certificate (M05.FR.06) or a full store (M05.FR.03).

        The issuer must be the certificate itself (a self-signed root) or an installed one
        (e.g. a new CSMS root signed by the old, whitepaper §7.1); installing the same
        certificate again is Accepted without a duplicate."""
        try:
            cert = pki.load_chain(pem)[0]
        except ValueError as exc:
            log.info("%s: InstallCertificate refused: %s", self.station.config.id, exc)
            return "Rejected"
        if pki.expired(cert, self.station.clock.now()):
            return "Rejected"
        try:
            constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
            if not constraints.ca:
                return "Rejected"
        except x509.ExtensionNotFound:
            pass  # old roots often lack the extension; accept them as CAs
        if any(root.use == use and root.cert == cert for root in self._roots):
            return "Accepted"
        if len(self._roots) >= MAX_CERTIFICATES:
            return "Rejected"
        issuer = self._issuer_of(cert)
        if issuer is None:
            return "Rejected"
        self._roots.append(_Root(use, cert, issuer))
        self._count_changed()
        return "Accepted"

    def _issuer_of(self, cert: x509.Certificate) -> x509.Certificate | None:
        if pki.issued_by(cert, cert):
            return cert
        return next((r.cert for r in self._roots if pki.issued_by(cert, r.cert)), None)

    def delete(self, hash_data: dict[str, str]) -> str:
        """DeleteCertificate (M04): ``Accepted``, ``NotFound`` (M04.FR.04), or ``Failed`` for
        the station's own certificate (M04.FR.05). The hashes are computed with the request's
        hashAlgorithm (M04.FR.07)."""
        algorithm = hash_data["hashAlgorithm"]
        for use, own in list(self._own.items()):
            issuer = own.issuers[0]
            if issuer is None:
                continue
            if pki.hash_data_matches(
                pki.certificate_hash_data(own.chain[0], issuer, algorithm), hash_data
            ):
                if use == STATION_CERTIFICATE:
                    return "Failed"
                del self._own[use]
                self._count_changed()
                return "Accepted"
        for root in self._roots:
            ours = pki.certificate_hash_data(root.cert, root.issuer, algorithm)
            if pki.hash_data_matches(ours, hash_data):
                self._roots.remove(root)
                self._count_changed()
                return "Accepted"
        return "NotFound"

    def installed_ids(self, types: list[str] | None, algorithm: str = "SHA256") -> list[Payload]:
        """GetInstalledCertificateIds (M03): one CertificateHashDataChainType per installed
        certificate of ``types`` (all when ``None``). ``V2GCertificateChain`` is the V2G leaf
        with its sub-CAs as ``childCertificateHashData``."""
        found: list[Payload] = []
        for root in self._roots:
            if types is None or root.use in types:
                data = pki.certificate_hash_data(root.cert, root.issuer, algorithm)
                found.append({"certificateType": root.use, "certificateHashData": data})
        own = self._own.get(V2G_CERTIFICATE)
        if own is not None and (types is None or "V2GCertificateChain" in types):
            entry = self._chain_entry(own, algorithm)
            if entry is not None:
                found.append(entry)
        return found

    def _chain_entry(self, own: _Own, algorithm: str) -> Payload | None:
        hashed = []
        for cert, issuer in zip(own.chain, own.issuers, strict=True):
            if issuer is None or cert == issuer:  # unknown issuer, or the root itself
                break
            hashed.append(pki.certificate_hash_data(cert, issuer, algorithm))
        if not hashed:
            log.warning("%s: V2G chain without a known issuer", self.station.config.id)
            return None
        entry: Payload = {
            "certificateType": "V2GCertificateChain",
            "certificateHashData": hashed[0],
        }
        if len(hashed) > 1:
            entry["childCertificateHashData"] = hashed[1:5]
        return entry

    # ------------------------------------------------------------------ security events

    async def security_event(
        self, kind: str, tech_info: str | None = None, *, send: bool | None = None
    ) -> QueuedMessage | None:
        """Log a security event (N01.FR.05); push it with SecurityEventNotification when it is
        critical for this version, or when ``send`` says so (1.6 L01.FR.02/03 require sending
        the firmware ones). Pushed events are queued: kept across reconnects until the CSMS
        acknowledged them, like other messages it must not miss."""
        critical = _CRITICAL_16 if self.station.version is OcppVersion.V16 else _CRITICAL_2
        push = kind in critical if send is None else send
        now = self.station.clock.now()
        self.security_log.append(SecurityEvent(kind, now, tech_info, push))
        await self.station.notify_changed()
        if not push:
            return None
        payload: Payload = {"type": kind, "timestamp": utc_iso(now)}
        if tech_info:
            payload["techInfo"] = tech_info[:255]
        return await self.station.enqueue("SecurityEventNotification", payload)

    # ------------------------------------------------------- 2.x Plug & Charge helpers

    async def get_certificate_status(
        self, cert: x509.Certificate, issuer: x509.Certificate, responder_url: str
    ) -> dict[str, Any]:
        """2.0.1 M06: ask the CSMS for the OCSP status of ``cert`` (GetCertificateStatus)."""
        data: Payload = {
            **pki.certificate_hash_data(cert, issuer),
            "responderURL": responder_url,
        }
        return await self.station.call("GetCertificateStatus", {"ocspRequestData": data})

    async def get_15118_ev_certificate(
        self, schema_version: str, action: str, exi_request: str
    ) -> dict[str, Any]:
        """2.0.1 M01/M02: forward an EV's certificate installation/update request (Base64 EXI)."""
        payload = {
            "iso15118SchemaVersion": schema_version,
            "action": action,
            "exiRequest": exi_request,
        }
        return await self.station.call("Get15118EVCertificate", payload)

    # ------------------------------------------------------------------ trigger

    def trigger(self, requested: str) -> AfterAnswer | None:
        """The follow-up for TriggerMessage ``requested`` if it is ours, else ``None``:
        1.6 ExtendedTriggerMessage SignChargePointCertificate (A02), 2.x TriggerMessage
        SignChargingStationCertificate / SignV2GCertificate (F06, A02)."""
        use = {
            "SignChargePointCertificate": STATION_CERTIFICATE,
            "SignChargingStationCertificate": STATION_CERTIFICATE,
            "SignV2GCertificate": V2G_CERTIFICATE,
        }.get(requested)
        if use is None:
            return None

        async def follow_up() -> None:
            await self.request_certificate(use)

        return follow_up


# ---------------------------------------------------------------------------- handlers


def certificate_signed(station: SimulatedStation, payload: Payload) -> Reply:
    """CertificateSigned (A02.FR.06-07): Accepted and installed, or Rejected with a security
    event (1.6 InvalidChargePointCertificate, 2.x InvalidChargingStationCertificate)."""
    use = payload.get("certificateType", STATION_CERTIFICATE)
    reason = station.certificates.accept_signed(payload["certificateChain"], use)
    if reason is None:
        return Reply({"status": "Accepted"})
    log.info("%s: CertificateSigned rejected: %s", station.config.id, reason)
    event = (
        "InvalidChargePointCertificate"
        if station.version is OcppVersion.V16
        else "InvalidChargingStationCertificate"
    )

    async def report() -> None:
        await station.certificates.security_event(event, reason)

    return Reply({"status": "Rejected"}, after=report)


def install_certificate(station: SimulatedStation, payload: Payload) -> Reply:
    """InstallCertificate (M05)."""
    status = station.certificates.install_root(payload["certificateType"], payload["certificate"])
    return Reply({"status": status})


def delete_certificate(station: SimulatedStation, payload: Payload) -> Reply:
    """DeleteCertificate (M04)."""
    return Reply({"status": station.certificates.delete(payload["certificateHashData"])})


def get_installed_certificate_ids_16(station: SimulatedStation, payload: Payload) -> Reply:
    """1.6 whitepaper GetInstalledCertificateIds (M03): hash data of one type, or NotFound."""
    found = station.certificates.installed_ids([payload["certificateType"]])
    if not found:
        return Reply({"status": "NotFound"})
    return Reply(
        {"status": "Accepted", "certificateHashData": [e["certificateHashData"] for e in found]}
    )


def get_installed_certificate_ids_2(station: SimulatedStation, payload: Payload) -> Reply:
    """2.0.1 M03: hash-data chains of the requested types (all when none given), or NotFound."""
    found = station.certificates.installed_ids(payload.get("certificateType"))
    if not found:
        return Reply({"status": "NotFound"})
    return Reply({"status": "Accepted", "certificateHashDataChain": found})


_SHARED: dict[str, HandlerFn] = {
    "CertificateSigned": certificate_signed,
    "DeleteCertificate": delete_certificate,
    "InstallCertificate": install_certificate,
}

ROUTES_16: dict[str, HandlerFn] = _SHARED | {
    "GetInstalledCertificateIds": get_installed_certificate_ids_16,
}
ROUTES_2: dict[str, HandlerFn] = _SHARED | {
    "GetInstalledCertificateIds": get_installed_certificate_ids_2,
}
