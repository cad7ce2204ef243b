"""OCPP 1.6 certificate management (security whitepaper edition 2, §5 messages as plain OCPP-J
actions, not DataTransfer): SignCertificate from the Charge Point (A02/A03), and the CSMS's
CertificateSigned, ExtendedTriggerMessage, InstallCertificate, GetInstalledCertificateIds and
DeleteCertificate (:class:`Certificates16`). docs/certificates.md.

1.6 differences from 2.0.1: no ``certificateType`` in SignCertificate / CertificateSigned (it is
always the Charge Point certificate), the CSMS root is ``CentralSystemRootCertificate``, only the
CSMS and manufacturer roots exist, and GetInstalledCertificateIds asks for one type at a time.
"""

from __future__ import annotations

from typing import cast

from opencsms.domain.certificates import ReportedCertificate, UnsupportedCertificate
from opencsms.errors import NotSupportedError
from opencsms.handlers.common import StationCall
from opencsms.handlers.router import CallContext, Payload, reply
from opencsms.ocpp.types import v16
from opencsms.security.model import CertificateType, HashData, SigningUse

__all__ = ["Certificates16", "hash_data_16", "sign_certificate"]

_TYPES_16 = {
    CertificateType.CSMS_ROOT: "CentralSystemRootCertificate",
    CertificateType.MANUFACTURER_ROOT: "ManufacturerRootCertificate",
}


async def sign_certificate(ctx: CallContext, payload: Payload) -> Payload:
    """A02.FR.11/12: Accepted when the CSR is signed (CertificateSigned follows the answer),
    Rejected otherwise."""
    service = ctx.services.certificates
    if service is None:
        raise NotSupportedError("certificate signing is not configured")
    request = cast(v16.SignCertificateRequest, payload)
    outcome = await service.sign_request(
        ctx.station_id, request["csr"], SigningUse.CHARGING_STATION
    )
    response: v16.SignCertificateResponse = {
        "status": "Accepted" if outcome.accepted else "Rejected"
    }
    return reply(response)


def hash_data_16(data: HashData) -> v16.CertificateHashDataType:
    """The 1.6 CertificateHashDataType of ``data``."""
    return {
        "hashAlgorithm": cast(v16.HashAlgorithmEnumType, data.hash_algorithm),
        "issuerNameHash": data.issuer_name_hash,
        "issuerKeyHash": data.issuer_key_hash,
        "serialNumber": data.serial_number,
    }


def _hash_data(value: v16.CertificateHashDataType) -> HashData:
    return HashData(
        value["hashAlgorithm"],
        value["issuerNameHash"],
        value["issuerKeyHash"],
        value["serialNumber"],
    ).normalized()


def _type_16(kind: CertificateType) -> str:
    try:
        return _TYPES_16[kind]
    except KeyError:
        raise UnsupportedCertificate(f"OCPP 1.6 has no {kind.value}") from None


class Certificates16:
    """The certificate CALLs to a 1.6 Charge Point (domain CertificatePort)."""

    def __init__(self, call: StationCall) -> None:
        self._call = call

    async def certificate_signed(self, chain_pem: str, use: SigningUse) -> str:
        if use is not SigningUse.CHARGING_STATION:
            raise UnsupportedCertificate("OCPP 1.6 has no V2G certificate")
        request: v16.CertificateSignedRequest = {"certificateChain": chain_pem}
        answer = await self._call("CertificateSigned", dict(request))
        return str(answer["status"])

    async def request_csr(self, use: SigningUse) -> str:
        """ExtendedTriggerMessage SignChargePointCertificate (whitepaper A02.FR.02)."""
        if use is not SigningUse.CHARGING_STATION:
            raise UnsupportedCertificate("OCPP 1.6 has no V2G certificate")
        request: v16.ExtendedTriggerMessageRequest = {
            "requestedMessage": "SignChargePointCertificate"
        }
        answer = await self._call("ExtendedTriggerMessage", dict(request))
        return str(answer["status"])

    async def install(self, type: CertificateType, pem: str) -> str:
        request = {"certificateType": _type_16(type), "certificate": pem}
        answer = await self._call("InstallCertificate", request)
        return str(answer["status"])

    async def installed(
        self, types: frozenset[CertificateType] | None = None
    ) -> tuple[frozenset[CertificateType], list[ReportedCertificate]]:
        """One GetInstalledCertificateIds per 1.6 type (of ``types`` when given)."""
        asked = frozenset(_TYPES_16) if types is None else types
        for kind in asked:
            _type_16(kind)  # UnsupportedCertificate for a type 1.6 does not have
        found: list[ReportedCertificate] = []
        for kind, name in _TYPES_16.items():
            if kind not in asked:
                continue
            answer = await self._call("GetInstalledCertificateIds", {"certificateType": name})
            response = cast(v16.GetInstalledCertificateIdsResponse, answer)
            if response["status"] == "Accepted":
                for data in response.get("certificateHashData", []):
                    found.append(ReportedCertificate(kind, _hash_data(data)))
        return asked, found

    async def delete(self, hash_data: HashData) -> str:
        request: v16.DeleteCertificateRequest = {"certificateHashData": hash_data_16(hash_data)}
        answer = await self._call("DeleteCertificate", dict(request))
        return str(answer["status"])
