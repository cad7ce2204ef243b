"""OCPP 2.0.1 certificates and ISO 15118 Plug & Charge (docs/certificates.md).

From the station: SignCertificate (A02/A03), GetCertificateStatus (M06), Get15118EVCertificate
(M01/M02), and the Plug & Charge part of Authorize (C07, :func:`authorize_contract`, called by
handlers/v201/authorization.py). To the station: :class:`Certificates201` (CertificateSigned,
TriggerMessage, InstallCertificate M05, GetInstalledCertificateIds M03, DeleteCertificate M04),
and :func:`certificate_port` picks the 1.6 or 2.x one for a connection.
"""

from __future__ import annotations

import base64
from typing import Any, cast

from opencsms.domain.authorization import AuthDecision
from opencsms.domain.certificates import (
    CertificatePort,
    CertificateService,
    ReportedCertificate,
    UnsupportedCertificate,
)
from opencsms.errors import NotSupportedError
from opencsms.handlers.common import StationCall
from opencsms.handlers.router import CallContext, Payload, reply
from opencsms.handlers.v16.certificates import Certificates16
from opencsms.ocpp.types import v201
from opencsms.ocpp.version import OcppVersion
from opencsms.security.contract_provider import EvCertificateRequest
from opencsms.security.contracts import OcspQuery
from opencsms.security.model import CertificateType, HashData, SigningUse

__all__ = [
    "Certificates201",
    "authorize_contract",
    "certificate_port",
    "get_15118_ev_certificate",
    "get_certificate_status",
    "sign_certificate",
]

MAX_OCSP_RESULT = 5500
"""GetCertificateStatusResponse.ocspResult maxLength (Base64 of the DER response)."""
_TRIGGERS: dict[SigningUse, v201.MessageTriggerEnumType] = {
    SigningUse.CHARGING_STATION: "SignChargingStationCertificate",
    SigningUse.V2G: "SignV2GCertificate",
}


def _service(ctx: CallContext) -> CertificateService:
    service = ctx.services.certificates
    if service is None:
        raise NotSupportedError("certificates are not configured on this CSMS")
    return service


def _status_info(reason: str) -> v201.StatusInfoType:
    return {"reasonCode": "Rejected", "additionalInfo": reason[:512]}


async def sign_certificate(ctx: CallContext, payload: Payload) -> Payload:
    """A02.FR.11/12 (TC_A_11_CSMS, TC_A_14_CSMS): Accepted, then CertificateSigned after the
    answer; Rejected with the reason in statusInfo. Without certificateType the certificate is
    the station certificate (the schema: "used for both" connections)."""
    request = cast(v201.SignCertificateRequest, payload)
    use = SigningUse(request.get("certificateType", SigningUse.CHARGING_STATION.value))
    outcome = await _service(ctx).sign_request(ctx.station_id, request["csr"], use)
    response: v201.SignCertificateResponse = {
        "status": "Accepted" if outcome.accepted else "Rejected"
    }
    if outcome.reason is not None:
        response["statusInfo"] = _status_info(outcome.reason)
    return reply(response)


def _hash_data(value: v201.CertificateHashDataType | v201.OCSPRequestDataType) -> HashData:
    return HashData(
        value["hashAlgorithm"],
        value["issuerNameHash"],
        value["issuerKeyHash"],
        value["serialNumber"],
    ).normalized()


def _hash_data_201(data: HashData) -> v201.CertificateHashDataType:
    return {
        "hashAlgorithm": cast(v201.HashAlgorithmEnumType, data.hash_algorithm),
        "issuerNameHash": data.issuer_name_hash,
        "issuerKeyHash": data.issuer_key_hash,
        "serialNumber": data.serial_number,
    }


async def get_certificate_status(ctx: CallContext, payload: Payload) -> Payload:
    """M06: ask the responder of ``ocspRequestData`` and return its DER response, Base64; Failed
    when there is no usable answer (or it is longer than the field allows)."""
    request = cast(v201.GetCertificateStatusRequest, payload)
    data = request["ocspRequestData"]
    der = await _service(ctx).certificate_status(_hash_data(data), data["responderURL"])
    encoded = base64.b64encode(der).decode("ascii") if der is not None else None
    response: v201.GetCertificateStatusResponse
    if encoded is None or len(encoded) > MAX_OCSP_RESULT:
        response = {"status": "Failed", "statusInfo": _status_info("no OCSP response")}
    else:
        response = {"status": "Accepted", "ocspResult": encoded}
    return reply(response)


async def get_15118_ev_certificate(ctx: CallContext, payload: Payload) -> Payload:
    """M01/M02: the contract certificate provider's answer, as it is."""
    request = cast(v201.Get15118EVCertificateRequest, payload)
    answer = await _service(ctx).ev_certificate(
        EvCertificateRequest(
            ctx.station_id,
            request["iso15118SchemaVersion"],
            request["action"],
            request["exiRequest"],
        )
    )
    response: v201.Get15118EVCertificateResponse = {
        "status": "Accepted" if answer.accepted else "Failed",
        "exiResponse": answer.exi_response,
    }
    if answer.detail is not None:
        response["statusInfo"] = _status_info(answer.detail)
    return reply(response)


async def authorize_contract(
    ctx: CallContext, request: v201.AuthorizeRequest
) -> tuple[v201.AuthorizeCertificateStatusEnumType, AuthDecision]:
    """C07 (errata C07.FR.13-17): the certificate status and the idToken decision of an
    Authorize carrying ``certificate`` or ``iso15118CertificateHashData``."""
    token = request["idToken"]
    queries = [
        OcspQuery(_hash_data(item), item["responderURL"])
        for item in request.get("iso15118CertificateHashData", [])
    ]
    status, decision = await _service(ctx).authorize_contract(
        ctx.station_id, token["idToken"], token["type"], request.get("certificate"), queries
    )
    return status.value, decision


class Certificates201:
    """The certificate CALLs to a 2.0.1 / 2.1 station (domain CertificatePort)."""

    def __init__(self, call: StationCall) -> None:
        self._call = call

    async def certificate_signed(self, chain_pem: str, use: SigningUse) -> str:
        request: v201.CertificateSignedRequest = {
            "certificateChain": chain_pem,
            "certificateType": use.value,
        }
        answer = await self._call("CertificateSigned", dict(request))
        return str(answer["status"])

    async def request_csr(self, use: SigningUse) -> str:
        """TriggerMessage SignChargingStationCertificate / SignV2GCertificate (F06, A02)."""
        request: v201.TriggerMessageRequest = {"requestedMessage": _TRIGGERS[use]}
        answer = await self._call("TriggerMessage", dict(request))
        return str(answer["status"])

    async def install(self, type: CertificateType, pem: str) -> str:
        request = {"certificateType": type.value, "certificate": pem}
        answer = await self._call("InstallCertificate", request)
        return str(answer["status"])

    async def installed(
        self, types: frozenset[CertificateType] | None = None
    ) -> tuple[frozenset[CertificateType], list[ReportedCertificate]]:
        """M03 without certificateType: every root and the V2G chain (TC_M_18_CSMS); with
        ``types``, certificateType lists them (TC_M_13_CSMS, TC_M_19_CSMS)."""
        request: dict[str, Any] = {}
        if types is not None:
            if CertificateType.CHARGING_STATION in types or not types:
                raise UnsupportedCertificate(
                    "GetInstalledCertificateIds lists root certificates and the V2G chain only"
                )
            request["certificateType"] = sorted(t.value for t in types)
        answer = cast(
            v201.GetInstalledCertificateIdsResponse,
            await self._call("GetInstalledCertificateIds", request),
        )
        found = [
            ReportedCertificate(
                CertificateType(chain["certificateType"]),
                _hash_data(chain["certificateHashData"]),
                tuple(_hash_data(c) for c in chain.get("childCertificateHashData", [])),
            )
            for chain in answer.get("certificateHashDataChain", [])
        ]
        if types is None:
            types = frozenset(CertificateType) - {CertificateType.CHARGING_STATION}
        return types, found

    async def delete(self, hash_data: HashData) -> str:
        request: v201.DeleteCertificateRequest = {"certificateHashData": _hash_data_201(hash_data)}
        answer = await self._call("DeleteCertificate", dict(request))
        return str(answer["status"])


def certificate_port(version: OcppVersion, call: StationCall) -> CertificatePort:
    """The certificate port of a station speaking ``version``."""
    if version is OcppVersion.V16:
        return Certificates16(call)
    return Certificates201(call)
