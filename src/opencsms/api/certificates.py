"""Certificates through the operator API (docs/certificates.md):

* ``GET /stations/{id}/certificates`` — what the CSMS knows the station holds;
* ``POST /stations/{id}/certificates/refresh`` — ask the station (GetInstalledCertificateIds, M03);
* ``POST /stations/{id}/certificates/install`` — InstallCertificate (M05);
* ``DELETE /stations/{id}/certificates/{entry_id}`` — DeleteCertificate (M04);
* ``POST /stations/{id}/certificates/renew`` — ask for a new CSR (TriggerMessage /
  ExtendedTriggerMessage, A02);
* ``GET /stations/{id}/certificates/requests`` — the station's SignCertificate requests;
* ``GET /certificates/issued`` — certificates the CSMS's CA signed;
* ``GET /ca`` — the CA certificate stations install as their CSMS root.

The CALLs are recorded in the command log as the operator's (``requested_by`` ``api``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field

from opencsms.api.command_runner import CommandRunner
from opencsms.api.responses import INVALID_BODY, UNKNOWN_STATION, errors
from opencsms.domain.certificates import CertificatePort, UnsupportedCertificate
from opencsms.domain.commands import CommandRequest
from opencsms.domain.model import RegistrationStatus
from opencsms.errors import (
    CallErrorResponse,
    CallFailedError,
    CallTimeoutError,
    ConnectionClosedError,
)
from opencsms.handlers.v201.certificates import certificate_port
from opencsms.security.model import (
    INSTALLABLE,
    CertificateRequest,
    CertificateType,
    HashData,
    InstalledCertificate,
    IssuedCertificate,
    SigningUse,
)

if TYPE_CHECKING:
    from opencsms.app import Csms

__all__ = ["certificates_router"]

STATION_CERTIFICATE_CALL = errors(
    {
        400: "The station's OCPP version has no such certificate type",
        409: "The station is not connected or not Accepted",
        502: "The station answered a CALLERROR or an invalid CALLRESULT",
        504: "No answer within call_timeout",
    }
)


class HashDataOut(BaseModel):
    hash_algorithm: str
    issuer_name_hash: str
    issuer_key_hash: str
    serial_number: str


class InstalledOut(BaseModel):
    id: str = Field(description="Inventory id (from the hash data); DELETE takes it")
    certificate_type: str = Field(description="CSMSRootCertificate, V2GRootCertificate, ...")
    hash_data: HashDataOut
    children: list[HashDataOut] = Field(description="A V2G chain's sub-CA certificates")
    source: str = Field(description="reported (M03), installed (M05) or signed (by this CSMS)")
    subject: str | None
    not_after: datetime | None
    pem: str | None = Field(description="The certificate, when the CSMS has seen it")
    updated_at: datetime


class InventoryOut(BaseModel):
    items: list[InstalledOut]


class InstallIn(BaseModel):
    certificate_type: CertificateType = Field(
        description="CSMSRootCertificate, ManufacturerRootCertificate (1.6 and 2.0.1), "
        "V2GRootCertificate, MORootCertificate (2.0.1)"
    )
    pem: str = Field(description="The certificate, PEM; optionally followed by its issuer")


class RefreshIn(BaseModel):
    certificate_type: CertificateType | None = Field(
        None,
        description="Ask for this type only (M03 certificateType): CSMSRootCertificate, "
        "ManufacturerRootCertificate, V2GRootCertificate, MORootCertificate, "
        "V2GCertificateChain; leave out for all",
    )


class RenewIn(BaseModel):
    use: SigningUse = SigningUse.CHARGING_STATION


class StatusOut(BaseModel):
    status: str = Field(description="The station's answer (Accepted, Rejected, Failed, ...)")


class IssuedOut(BaseModel):
    serial: str
    station_id: str
    use: str
    subject: str
    not_before: datetime
    not_after: datetime
    issued_at: datetime
    delivery_status: str | None = Field(
        description="The station's CertificateSigned answer; Failed: not delivered; null: pending"
    )
    delivered_at: datetime | None
    pem: str


class IssuedPage(BaseModel):
    items: list[IssuedOut]


class RequestOut(BaseModel):
    id: str
    use: str
    received_at: datetime
    accepted: bool
    reason: str | None = Field(description="Why the CSMS rejected the CSR")
    serial: str | None
    csr: str


class RequestPage(BaseModel):
    items: list[RequestOut]


class CaOut(BaseModel):
    pem: str = Field(description="Install it on stations as CSMSRootCertificate")
    subject: str
    not_after: datetime


def _hash(data: HashData) -> HashDataOut:
    return HashDataOut(
        hash_algorithm=data.hash_algorithm,
        issuer_name_hash=data.issuer_name_hash,
        issuer_key_hash=data.issuer_key_hash,
        serial_number=data.serial_number,
    )


def _installed(entry: InstalledCertificate) -> InstalledOut:
    return InstalledOut(
        id=entry.id,
        certificate_type=entry.type.value,
        hash_data=_hash(entry.hash_data),
        children=[_hash(c) for c in entry.children],
        source=entry.source,
        subject=entry.subject,
        not_after=entry.not_after,
        pem=entry.pem,
        updated_at=entry.updated_at,
    )


def _issued(cert: IssuedCertificate) -> IssuedOut:
    return IssuedOut(
        serial=cert.serial,
        station_id=cert.station_id,
        use=cert.use.value,
        subject=cert.subject,
        not_before=cert.not_before,
        not_after=cert.not_after,
        issued_at=cert.issued_at,
        delivery_status=cert.delivery_status,
        delivered_at=cert.delivered_at,
        pem=cert.pem,
    )


def _request(item: CertificateRequest) -> RequestOut:
    return RequestOut(
        id=item.id,
        use=item.use.value,
        received_at=item.received_at,
        accepted=item.accepted,
        reason=item.reason,
        serial=item.serial,
        csr=item.csr,
    )


def _http_error(exc: Exception) -> HTTPException:
    if isinstance(exc, UnsupportedCertificate):
        return HTTPException(status.HTTP_400_BAD_REQUEST, str(exc))
    if isinstance(exc, ConnectionClosedError):
        return HTTPException(status.HTTP_409_CONFLICT, str(exc))
    if isinstance(exc, CallTimeoutError):
        return HTTPException(status.HTTP_504_GATEWAY_TIMEOUT, str(exc))
    if isinstance(exc, CallErrorResponse):
        return HTTPException(
            status.HTTP_502_BAD_GATEWAY, f"CALLERROR {exc.error_code}: {exc.description}"
        )
    return HTTPException(status.HTTP_502_BAD_GATEWAY, str(exc))


Limit = Annotated[int, Query(ge=1, le=1000)]


def certificates_router(csms: Csms) -> APIRouter:
    """Build the router bound to one CSMS node."""
    router = APIRouter(tags=["certificates"])
    runner = CommandRunner(csms)

    async def operator_port(station_id: str) -> CertificatePort:
        await runner.load(station_id)
        connection = csms.link(station_id)
        if connection is None:
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"station {station_id!r} is not connected"
            )
        if connection.state.registration != RegistrationStatus.ACCEPTED:
            raise HTTPException(status.HTTP_409_CONFLICT, f"station {station_id!r} is not Accepted")
        send = csms.bound_call(connection)

        async def call(action: str, payload: dict[str, Any]) -> dict[str, Any]:
            request = CommandRequest(station_id, connection.version.value, action, payload)
            return (await csms.commands.send(request, send)).result()

        return certificate_port(connection.version, call)

    @router.get(
        "/stations/{station_id}/certificates",
        response_model=InventoryOut,
        responses=UNKNOWN_STATION,
    )
    async def inventory(station_id: str) -> InventoryOut:
        """What the CSMS knows the station holds (refresh to ask the station)."""
        await runner.load(station_id)
        entries = await csms.certificates.inventory(station_id)
        return InventoryOut(items=[_installed(e) for e in entries])

    @router.post(
        "/stations/{station_id}/certificates/refresh",
        response_model=InventoryOut,
        responses=UNKNOWN_STATION | STATION_CERTIFICATE_CALL | INVALID_BODY,
    )
    async def refresh(station_id: str, body: RefreshIn | None = None) -> InventoryOut:
        """GetInstalledCertificateIds (M03; 1.6: once per type), of every type or of
        ``certificate_type``; the answer replaces the inventory of the types asked about."""
        types = None
        if body is not None and body.certificate_type is not None:
            if body.certificate_type is CertificateType.CHARGING_STATION:
                raise HTTPException(
                    status.HTTP_422_UNPROCESSABLE_CONTENT,
                    "GetInstalledCertificateIds does not list ChargingStationCertificate",
                )
            types = frozenset({body.certificate_type})
        port = await operator_port(station_id)
        try:
            entries = await csms.certificates.refresh(station_id, port, types)
        except (CallFailedError, UnsupportedCertificate) as exc:
            raise _http_error(exc) from None
        return InventoryOut(items=[_installed(e) for e in entries])

    @router.post(
        "/stations/{station_id}/certificates/install",
        response_model=StatusOut,
        responses=UNKNOWN_STATION | STATION_CERTIFICATE_CALL | INVALID_BODY,
    )
    async def install(station_id: str, body: InstallIn) -> StatusOut:
        """InstallCertificate (M05): the station's answer; Accepted ones enter the inventory."""
        if body.certificate_type not in INSTALLABLE:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                f"{body.certificate_type.value} cannot be installed; use one of "
                + ", ".join(sorted(t.value for t in INSTALLABLE)),
            )
        port = await operator_port(station_id)
        try:
            answer = await csms.certificates.install(
                station_id, body.certificate_type, body.pem, port
            )
        except ValueError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
        except (CallFailedError, UnsupportedCertificate) as exc:
            raise _http_error(exc) from None
        return StatusOut(status=answer)

    @router.delete(
        "/stations/{station_id}/certificates/{entry_id}",
        response_model=StatusOut,
        responses=UNKNOWN_STATION | STATION_CERTIFICATE_CALL,
    )
    async def delete(station_id: str, entry_id: str) -> StatusOut:
        """DeleteCertificate (M04) with the hash data the station reported (M04.FR.07)."""
        port = await operator_port(station_id)
        try:
            answer = await csms.certificates.delete(station_id, entry_id, port)
        except CallFailedError as exc:
            raise _http_error(exc) from None
        if answer is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                f"station {station_id!r} has no certificate {entry_id!r} in the inventory",
            )
        return StatusOut(status=answer)

    @router.post(
        "/stations/{station_id}/certificates/renew",
        response_model=StatusOut,
        responses=UNKNOWN_STATION | STATION_CERTIFICATE_CALL,
    )
    async def renew(station_id: str, body: RenewIn | None = None) -> StatusOut:
        """Ask for a new CSR; the CSMS signs it when it arrives (SignCertificate)."""
        use = body.use if body is not None else SigningUse.CHARGING_STATION
        port = await operator_port(station_id)
        try:
            answer = await csms.certificates.renew(station_id, use, port)
        except (CallFailedError, UnsupportedCertificate) as exc:
            raise _http_error(exc) from None
        return StatusOut(status=answer)

    @router.get(
        "/stations/{station_id}/certificates/requests",
        response_model=RequestPage,
        responses=UNKNOWN_STATION,
    )
    async def requests(station_id: str, limit: Limit = 100) -> RequestPage:
        """The station's SignCertificate requests, newest first, with the CSMS's decisions."""
        await runner.load(station_id)
        items = await csms.certificates.requests(station_id, limit)
        return RequestPage(items=[_request(i) for i in items])

    @router.get("/certificates/issued", response_model=IssuedPage)
    async def issued(station_id: str | None = None, limit: Limit = 100) -> IssuedPage:
        """Certificates the CSMS's CA signed, newest first."""
        items = await csms.certificates.issued(station_id, limit)
        return IssuedPage(items=[_issued(c) for c in items])

    @router.get("/ca", response_model=CaOut, responses=errors({404: "No CA is configured"}))
    async def ca() -> CaOut:
        """The CA certificate (with its parents for a sub-CA)."""
        authority = csms.certificates.ca
        if authority is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no CA is configured (ca_dir)")
        return CaOut(
            pem=authority.pem,
            subject=authority.cert.subject.rfc4514_string(),
            not_after=authority.cert.not_valid_after_utc,
        )

    return router
