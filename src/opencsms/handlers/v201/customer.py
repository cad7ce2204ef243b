"""OCPP 2.0.1 customer information (N09 get, N10 clear) in domain terms: the
CustomerInformation request built from a domain query, and the NotifyCustomerInformation
handler. 2.1 keeps these shapes."""

from __future__ import annotations

from typing import cast

from opencsms.domain.customer_information import CustomerQuery
from opencsms.domain.tokens import DEFAULT_TOKEN_TYPE
from opencsms.handlers.common import parse_timestamp
from opencsms.handlers.router import CallContext, Payload, reply
from opencsms.ocpp.types import v201

__all__ = ["customer_information_request", "notify_customer_information"]


def customer_information_request(request_id: int, query: CustomerQuery) -> Payload:
    """CustomerInformationRequest with exactly the one customer reference the query names
    (N09.FR.04)."""
    request: v201.CustomerInformationRequest = {
        "requestId": request_id,
        "report": query.report,
        "clear": query.clear,
    }
    if query.id_token is not None:
        request["idToken"] = {
            "idToken": query.id_token,
            "type": cast(v201.IdTokenEnumType, query.id_token_type or DEFAULT_TOKEN_TYPE),
        }
    if query.customer_identifier is not None:
        request["customerIdentifier"] = query.customer_identifier
    certificate = query.customer_certificate
    if certificate is not None:
        request["customerCertificate"] = {
            "hashAlgorithm": cast(v201.HashAlgorithmEnumType, certificate.hash_algorithm),
            "issuerNameHash": certificate.issuer_name_hash,
            "issuerKeyHash": certificate.issuer_key_hash,
            "serialNumber": certificate.serial_number,
        }
    return reply(request)


async def notify_customer_information(ctx: CallContext, payload: Payload) -> Payload:
    """N09/N10 NotifyCustomerInformation: store the part durably before answering (a resent
    part is ignored)."""
    request = cast(v201.NotifyCustomerInformationRequest, payload)
    await ctx.services.customer_information.part(
        ctx.station_id,
        request["requestId"],
        request["seqNo"],
        request.get("tbc", False),
        request["data"],
        parse_timestamp(request["generatedAt"]),
        ctx.received_at,
    )
    response: v201.NotifyCustomerInformationResponse = {}
    return reply(response)
