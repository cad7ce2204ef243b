"""Certificates of the stations: signing, inventory, expiry, Plug & Charge (docs/certificates.md).

* Signing (1.6 security whitepaper A02/A03, 2.0.1 A02/A03): a SignCertificate's CSR is checked
  (:mod:`opencsms.security.csr_rules`) and signed by the CSMS's CA at once; the request, the
  decision and the certificate are stored before the answer (Accepted, A02.FR.11; Rejected when
  the CSMS cannot process it, A02.FR.12), and the chain goes to the station with CertificateSigned
  *after* the answer, as a CALL of the CSMS's own. The station's answer is recorded.
* Renewal: :meth:`CertificateService.renew` asks the station for a new CSR (2.0.1 TriggerMessage
  SignChargingStationCertificate / SignV2GCertificate, F06 / A02.FR.14; 1.6 ExtendedTriggerMessage
  SignChargePointCertificate).
* Inventory (2.0.1 M03-M05, 1.6 whitepaper M03-M05 equivalents): what each station holds, from its
  GetInstalledCertificateIds reports, the CSMS's InstallCertificate / DeleteCertificate results and
  the certificates it signed.
* Expiry: :meth:`CertificateService.check_expiry` (run periodically) publishes
  :class:`~opencsms.domain.fleet_events.CertificateExpiring` once per certificate in use that ends
  within the warning period, and asks for a new CSR when ``auto_renew`` is on.
* Plug & Charge (2.0.1 C07, M01/M02, M06): contract checks, OCSP forwarding, EV certificates.

Station-facing actions go through a :class:`CertificatePort` that the handlers implement per
OCPP version; this module speaks domain types only.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from cryptography import x509

from opencsms.domain.authorization import (
    AuthDecision,
    AuthorizationService,
    AuthPurpose,
    AuthRequest,
)
from opencsms.domain.fleet_events import CertificateExpiring, CertificateRenewed, FleetEvents
from opencsms.errors import OpenCsmsError
from opencsms.security.ca import CertificateAuthority
from opencsms.security.contract_provider import (
    ContractCertificateProvider,
    EvCertificateAnswer,
    EvCertificateRequest,
)
from opencsms.security.contracts import (
    ContractCheck,
    ContractStatus,
    ContractVerifier,
    OcspQuery,
    contract_decision,
    normalize_emaid,
)
from opencsms.security.csr_rules import CsrRefused, check_csr
from opencsms.security.model import (
    CertificateRequest,
    CertificateType,
    HashData,
    InstalledCertificate,
    IssuedCertificate,
    SigningUse,
)
from opencsms.security.ocsp import OcspClient, OcspError, hash_data_of

if TYPE_CHECKING:
    from opencsms.clock import Clock
    from opencsms.storage.store import Storage

__all__ = [
    "CertificatePort",
    "CertificateService",
    "CertificateSettings",
    "ReportedCertificate",
    "SigningOutcome",
    "UnsupportedCertificate",
]

log = logging.getLogger("opencsms.certificates")


class UnsupportedCertificate(OpenCsmsError):
    """The station's OCPP version cannot express this certificate operation (e.g. a V2G root
    for a 1.6 station)."""


@dataclass(frozen=True, slots=True)
class ReportedCertificate:
    """One entry of a GetInstalledCertificateIds answer."""

    type: CertificateType
    hash_data: HashData
    children: tuple[HashData, ...] = ()


class CertificatePort(Protocol):
    """The certificate CALLs to one station, in its OCPP version (handlers implement it)."""

    async def certificate_signed(self, chain_pem: str, use: SigningUse) -> str: ...

    async def request_csr(self, use: SigningUse) -> str: ...

    async def install(self, type: CertificateType, pem: str) -> str: ...

    async def installed(
        self, types: frozenset[CertificateType] | None = None
    ) -> tuple[frozenset[CertificateType], list[ReportedCertificate]]:
        """The types asked about (``types``, or every type the version lists when None), and
        what the station reported for them."""
        ...

    async def delete(self, hash_data: HashData) -> str: ...


@dataclass(frozen=True, slots=True)
class CertificateSettings:
    organization: str | None = None
    validity_days: int = 365
    sign_v2g: bool = False
    warning_days: int = 30
    auto_renew: bool = False


@dataclass(frozen=True, slots=True)
class SigningOutcome:
    accepted: bool
    reason: str | None
    request_id: str
    serial: str | None = None


Spawn = Callable[[Coroutine[Any, Any, None]], object]
PortFor = Callable[[str], "CertificatePort | None"]


class CertificateService:
    """See the module docstring."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        events: FleetEvents,
        *,
        ca: CertificateAuthority | None,
        settings: CertificateSettings,
        authorization: AuthorizationService,
        ocsp: OcspClient,
        verifier: ContractVerifier,
        provider: ContractCertificateProvider,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._events = events
        self.ca = ca
        self.settings = settings
        self._authorization = authorization
        self.ocsp = ocsp
        self._verifier = verifier
        self._provider = provider
        self._new_id = new_id
        self._spawn: Spawn | None = None
        self._port_for: PortFor = lambda _station: None

    def attach(self, spawn: Spawn, port_for: PortFor) -> None:
        """Give the service its way to the stations: ``spawn`` runs a coroutine in the node's
        task group (after the current answer), ``port_for`` the certificate CALLs of a connected
        station (``None`` when it is not connected)."""
        self._spawn = spawn
        self._port_for = port_for

    def _port(self, station_id: str, port: CertificatePort | None = None) -> CertificatePort:
        """``port`` (the caller's, e.g. the API's recorded as an operator's) or the CSMS's own."""
        port = port or self._port_for(station_id)
        if port is None:
            raise OpenCsmsError(f"station {station_id} is not connected")
        return port

    # ---------------------------------------------------------------- signing

    async def sign_request(self, station_id: str, csr: str, use: SigningUse) -> SigningOutcome:
        """Decide a SignCertificate, store it, and (accepted) schedule CertificateSigned.

        Nothing is awaited after the delivery is scheduled, so the handler's answer leaves
        before the CertificateSigned CALL (the task runs only once the answer is queued)."""
        now = self._clock.now()
        request_id = self._new_id()
        issued: IssuedCertificate | None = None
        reason: str | None = None
        try:
            if self.ca is None:
                raise CsrRefused("no certificate authority is configured (ca_dir)")
            if use is SigningUse.V2G and not self.settings.sign_v2g:
                raise CsrRefused("V2G certificates are signed by the V2G PKI, not by this CSMS")
            parsed = check_csr(
                csr, station_id=station_id, use=use, organization=self.settings.organization
            )
            cert = self.ca.sign_csr(parsed, use=use, now=now, days=self.settings.validity_days)
            issued = IssuedCertificate(
                serial=format(cert.serial_number, "x"),
                station_id=station_id,
                use=use,
                subject=cert.subject.rfc4514_string(),
                pem=self.ca.chain_pem(cert),
                not_before=cert.not_valid_before_utc,
                not_after=cert.not_valid_after_utc,
                issued_at=now,
                request_id=request_id,
            )
        except CsrRefused as exc:
            reason = str(exc)
            log.warning("station %s: SignCertificate (%s) rejected: %s", station_id, use, reason)
        record = CertificateRequest(
            id=request_id,
            station_id=station_id,
            use=use,
            csr=csr,
            received_at=now,
            accepted=issued is not None,
            reason=reason,
            serial=issued.serial if issued else None,
        )
        await self._storage.certificates.add_request(record, issued)
        if issued is not None and self._spawn is not None:
            self._spawn(self._deliver(issued))
        return SigningOutcome(issued is not None, reason, request_id, record.serial)

    async def _deliver(self, issued: IssuedCertificate) -> None:
        """Send CertificateSigned with the chain and record the station's answer (a task of the
        node's task group: a failure is logged, never raised into the group)."""
        try:
            await self._send_signed(issued)
        except Exception:
            log.exception(
                "station %s: delivering certificate %s failed", issued.station_id, issued.serial
            )

    async def _send_signed(self, issued: IssuedCertificate) -> None:
        port = self._port_for(issued.station_id)
        status = "Failed"
        if port is not None:
            try:
                status = await port.certificate_signed(issued.pem, issued.use)
            except OpenCsmsError as exc:
                log.info("station %s: CertificateSigned failed: %s", issued.station_id, exc)
        now = self._clock.now()
        await self._storage.certificates.set_delivery(issued.serial, status, now)
        if status != "Accepted":
            log.warning(
                "station %s refused certificate %s: %s", issued.station_id, issued.serial, status
            )
            return
        if issued.use is SigningUse.CHARGING_STATION:
            leaf = x509.load_pem_x509_certificates(issued.pem.encode())[0]
            assert self.ca is not None
            entry = InstalledCertificate(
                station_id=issued.station_id,
                type=CertificateType.CHARGING_STATION,
                hash_data=hash_data_of(leaf, self.ca.cert),
                source="signed",
                updated_at=now,
                pem=issued.pem,
                subject=issued.subject,
                not_after=issued.not_after,
            )
            await self._storage.certificates.save_installed(entry)
        # stored above; the certificate_expiring alerts of the ones it replaces resolve
        self._events.publish(
            CertificateRenewed(
                issued.station_id, issued.use.value, issued.serial, issued.not_after, now
            )
        )

    async def renew(
        self, station_id: str, use: SigningUse, port: CertificatePort | None = None
    ) -> str:
        """Ask the station for a new CSR; its TriggerMessage answer."""
        return await self._port(station_id, port).request_csr(use)

    # -------------------------------------------------------------- inventory

    async def inventory(self, station_id: str) -> list[InstalledCertificate]:
        return await self._storage.certificates.list_installed(station_id)

    async def refresh(
        self,
        station_id: str,
        port: CertificatePort | None = None,
        types: frozenset[CertificateType] | None = None,
    ) -> list[InstalledCertificate]:
        """GetInstalledCertificateIds (M03): the station's report replaces what the CSMS knew of
        the types it covers; certificate text known from earlier installs is kept. ``types``
        asks about those types only (M03.FR.01 certificateType; TC_M_13_CSMS, TC_M_19_CSMS:
        a NotFound answer empties them); None asks about all."""
        types, reported = await self._port(station_id, port).installed(types)
        now = self._clock.now()
        known = {e.id: e for e in await self.inventory(station_id)}
        entries = []
        for item in reported:
            entry = InstalledCertificate(
                station_id, item.type, item.hash_data, "reported", now, children=item.children
            )
            previous = known.get(entry.id)
            if previous is not None and previous.pem is not None:
                entry = InstalledCertificate(
                    station_id,
                    item.type,
                    item.hash_data,
                    previous.source,
                    now,
                    previous.pem,
                    previous.subject,
                    previous.not_after,
                    item.children,
                )
            entries.append(entry)
        await self._storage.certificates.replace_installed(station_id, types, entries)
        return await self.inventory(station_id)

    async def install(
        self,
        station_id: str,
        type: CertificateType,
        pem: str,
        port: CertificatePort | None = None,
    ) -> str:
        """InstallCertificate (M05); an Accepted root enters the inventory with its text. The
        PEM is one certificate, optionally followed by its issuer (for the hash data)."""
        try:
            certs = x509.load_pem_x509_certificates(pem.encode("ascii", "replace"))
        except ValueError as exc:
            raise ValueError(f"not a PEM certificate: {exc}") from None
        cert = certs[0]
        status = await self._port(station_id, port).install(type, pem)
        if status != "Accepted":
            return status
        issuer = certs[1] if len(certs) > 1 else cert if cert.issuer == cert.subject else None
        if issuer is not None:
            entry = InstalledCertificate(
                station_id,
                type,
                hash_data_of(cert, issuer),
                "installed",
                self._clock.now(),
                pem=pem,
                subject=cert.subject.rfc4514_string(),
                not_after=cert.not_valid_after_utc,
            )
            await self._storage.certificates.save_installed(entry)
        return status

    async def delete(
        self, station_id: str, entry_id: str, port: CertificatePort | None = None
    ) -> str | None:
        """DeleteCertificate (M04) of an inventory entry with the hash data the station reported
        (M04.FR.07); ``None`` when there is no such entry. Accepted or NotFound remove it."""
        entry = next((e for e in await self.inventory(station_id) if e.id == entry_id), None)
        if entry is None:
            return None
        status = await self._port(station_id, port).delete(entry.hash_data)
        if status in ("Accepted", "NotFound"):
            await self._storage.certificates.delete_installed(station_id, entry_id)
        return status

    async def issued(
        self, station_id: str | None = None, limit: int = 100
    ) -> list[IssuedCertificate]:
        return await self._storage.certificates.list_issued(station_id=station_id, limit=limit)

    async def requests(self, station_id: str, limit: int = 100) -> list[CertificateRequest]:
        return await self._storage.certificates.list_requests(station_id, limit=limit)

    # ----------------------------------------------------------------- expiry

    async def check_expiry(self) -> list[CertificateExpiring]:
        """Publish :class:`CertificateExpiring` for certificates in use that end within the
        warning period (each once; a certificate a newer one replaced is skipped)."""
        now = self._clock.now()
        before = now + timedelta(days=self.settings.warning_days)
        repo = self._storage.certificates
        published: list[CertificateExpiring] = []
        seen: list[str] = []
        for cert in await repo.in_use_expiring(before):
            seen.append(cert.serial)
            newest = await repo.newest_accepted(cert.station_id, cert.use)
            if newest is not None and newest.serial != cert.serial:
                continue
            published.append(
                CertificateExpiring(
                    cert.station_id, cert.use.value, cert.serial, cert.not_after, now
                )
            )
        await repo.mark_expiry_notified(seen, now)
        for event in published:
            log.warning(
                "station %s: %s %s ends %s",
                event.station_id,
                event.use,
                event.serial,
                event.not_after.isoformat(),
            )
            self._events.publish(event)
            if self.settings.auto_renew and self._port_for(event.station_id) is not None:
                try:
                    await self.renew(event.station_id, SigningUse(event.use))
                except OpenCsmsError as exc:
                    log.info("station %s: automatic renewal failed: %s", event.station_id, exc)
        return published

    # ---------------------------------------------------------- Plug & Charge

    async def authorize_contract(
        self,
        station_id: str,
        id_token: str,
        token_type: str,
        certificate: str | None,
        hash_data: Sequence[OcspQuery],
    ) -> tuple[ContractStatus, AuthDecision]:
        """C07 (errata C07.FR.13-17): the chain's verdict combined with the eMAID's status."""
        if certificate is not None:
            check = await self._verifier.check_chain(certificate, self._clock.now())
            if (
                check.status is ContractStatus.ACCEPTED
                and check.emaid is not None
                and normalize_emaid(check.emaid) != normalize_emaid(id_token)
            ):
                check = ContractCheck(
                    ContractStatus.CHAIN_ERROR,
                    f"the contract certificate is for {check.emaid}, not {id_token}",
                )
        else:
            check = await self._verifier.check_hash_data(hash_data)
        token = await self._authorization.authorize(
            AuthRequest(id_token, token_type, station_id, None, AuthPurpose.AUTHORIZE)
        )
        status, decision = contract_decision(check, token)
        if status is not ContractStatus.ACCEPTED:
            log.info("station %s: contract %s: %s (%s)", station_id, id_token, status, check.detail)
        return status, decision

    async def certificate_status(self, hash_data: HashData, responder_url: str) -> bytes | None:
        """M06: the DER OCSP response for the station, or ``None`` when there is none."""
        try:
            return await self.ocsp.fetch(hash_data, responder_url)
        except OcspError as exc:
            log.info("GetCertificateStatus: %s", exc)
            return None

    async def ev_certificate(self, request: EvCertificateRequest) -> EvCertificateAnswer:
        """M01/M02: the contract certificate provider's answer."""
        return await self._provider.get_ev_certificate(request)
