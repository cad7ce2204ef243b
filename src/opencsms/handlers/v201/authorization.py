"""OCPP 2.0.1 block C (authorization): Authorize (C01, C04-C06, C16 master pass), and the
IdTokenInfo every authorization answer carries."""

from __future__ import annotations

from typing import cast

from opencsms.clock import utc_iso
from opencsms.domain.authorization import AuthDecision, AuthPurpose, AuthRequest
from opencsms.handlers.router import CallContext, Payload, reply
from opencsms.handlers.v201.certificates import authorize_contract
from opencsms.ocpp.types import v201


def id_token_info(decision: AuthDecision) -> v201.IdTokenInfoType:
    """2.0.1 IdTokenInfoType of a decision: status, groupIdToken (C16: the master-pass group),
    and the token's expiry as cacheExpiryDateTime."""
    info: v201.IdTokenInfoType = {"status": decision.status.value}
    if decision.group_id is not None:
        # The group is a CSMS-side identifier, not a card: type Central (IdTokenEnumType).
        info["groupIdToken"] = {"idToken": decision.group_id, "type": "Central"}
    if decision.expires_at is not None:
        info["cacheExpiryDateTime"] = utc_iso(decision.expires_at)
    return info


async def authorize(ctx: CallContext, payload: Payload) -> Payload:
    """C01/C04: the idToken's status. The station does not say whether it starts or stops.
    With a contract certificate or its hash data, C07 (the certificate status too)."""
    request = cast(v201.AuthorizeRequest, payload)
    token = request["idToken"]
    if "certificate" in request or "iso15118CertificateHashData" in request:
        # C07 Plug & Charge: the contract certificate decides too (handlers/v201/certificates.py)
        status, decision = await authorize_contract(ctx, request)
        pnc: v201.AuthorizeResponse = {
            "idTokenInfo": id_token_info(decision),
            "certificateStatus": status,
        }
        return reply(pnc)
    decision = await ctx.services.authorization.authorize(
        AuthRequest(token["idToken"], token["type"], ctx.station_id, None, AuthPurpose.AUTHORIZE)
    )
    response: v201.AuthorizeResponse = {"idTokenInfo": id_token_info(decision)}
    return reply(response)
