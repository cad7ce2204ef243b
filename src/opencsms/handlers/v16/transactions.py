"""OCPP 1.6 Core profile authorization and transaction messages: Authorize (§4.1),
StartTransaction (§4.8) and StopTransaction (§4.10). MeterValues stays in :mod:`.core`: its samples
name their transaction themselves and are stored as they are.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

import orjson

from opencsms.clock import utc_iso
from opencsms.domain.authorization import (
    AuthDecision,
    AuthorizationStatus,
    AuthPurpose,
    AuthRequest,
)
from opencsms.domain.cdrs import CostNotice
from opencsms.handlers.common import meter_value_records, parse_timestamp
from opencsms.handlers.router import CallContext, Payload, reply
from opencsms.ocpp.types import v16

MAX_ID_TAG_LENGTH = 20
"""1.6 §7.28 IdToken is CiString20Type."""

_STATUS_16: dict[AuthorizationStatus, v16.AuthorizeResponseIdTagInfoStatus] = {
    AuthorizationStatus.ACCEPTED: "Accepted",
    AuthorizationStatus.BLOCKED: "Blocked",
    AuthorizationStatus.EXPIRED: "Expired",
    AuthorizationStatus.INVALID: "Invalid",
    AuthorizationStatus.CONCURRENT_TX: "ConcurrentTx",
    # 2.0.1-only outcomes in 1.6 §7.2 terms: no credit blocks the token; the others make it
    # not valid here and now.
    AuthorizationStatus.NO_CREDIT: "Blocked",
}


def id_tag_info(decision: AuthDecision) -> v16.AuthorizeResponseIdTagInfo:
    """1.6 §7.29 IdTagInfo of a decision."""
    info: v16.AuthorizeResponseIdTagInfo = {"status": _STATUS_16.get(decision.status, "Invalid")}
    # parentIdTag is a CiString20 too: a longer group id cannot be sent to a 1.6 station.
    if decision.group_id is not None and len(decision.group_id) <= MAX_ID_TAG_LENGTH:
        info["parentIdTag"] = decision.group_id
    if decision.expires_at is not None:
        info["expiryDate"] = utc_iso(decision.expires_at)
    return info


async def authorize(ctx: CallContext, payload: Payload) -> Payload:
    """1.6 §4.1: the idTag's status, its parentIdTag (group) and expiry."""
    request = cast(v16.AuthorizeRequest, payload)
    decision = await ctx.services.authorization.authorize(
        AuthRequest(request["idTag"], None, ctx.station_id, None, AuthPurpose.AUTHORIZE)
    )
    response: v16.AuthorizeResponse = {"idTagInfo": id_tag_info(decision)}
    return reply(response)


async def start_transaction(ctx: CallContext, payload: Payload) -> Payload:
    """1.6 §4.8: a transactionId for every StartTransaction, the same one for a resend, and the
    idTag's status ("The Central System MUST verify validity of the identifier")."""
    request = cast(v16.StartTransactionRequest, payload)
    outcome = await ctx.services.transactions.start_16(
        station_id=ctx.station_id,
        connector_id=request["connectorId"],
        id_tag=request["idTag"],
        meter_start=request["meterStart"],
        timestamp=parse_timestamp(request["timestamp"]),
        reservation_id=request.get("reservationId"),
    )
    response: v16.StartTransactionResponse = {
        "idTagInfo": id_tag_info(outcome.decision),
        "transactionId": outcome.transaction.id,
    }
    return reply(response)


async def stop_transaction(ctx: CallContext, payload: Payload) -> Payload:
    """1.6 §4.10: always accepted ("The Central System cannot prevent a transaction from
    stopping"); idTagInfo when the station sent the idTag that stopped it."""
    request = cast(v16.StopTransactionRequest, payload)
    transaction_id = request["transactionId"]
    samples = meter_value_records(
        station_id=ctx.station_id,
        evse_id=0,  # StopTransaction names no connector; the service takes the session's
        connector_id=0,
        transaction_id=str(transaction_id),
        meter_values=request.get("transactionData", []),
        received_at=ctx.received_at,
    )
    id_tag = request.get("idTag")
    decision = await ctx.services.transactions.stop_16(
        station_id=ctx.station_id,
        transaction_id=transaction_id,
        id_tag=id_tag,
        meter_stop=request["meterStop"],
        timestamp=parse_timestamp(request["timestamp"]),
        reason=request.get("reason"),
        meter_values=samples,
    )
    response: v16.StopTransactionResponse = {}
    if decision is not None:
        response["idTagInfo"] = id_tag_info(decision)
    return reply(response)


async def send_cost_data_transfer(
    call: Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]],
    vendor_id: str,
    notice: CostNotice,
) -> None:
    """1.6 has no cost message: the running cost (messageId ``RunningCost``) and the final cost
    (``FinalCost``) go in a DataTransfer (§4.3/§5.6) whose ``data`` is JSON text, as the OCA
    "OCPP & California Pricing Requirements" note does with vendorId
    ``org.openchargealliance.costmsg`` (docs/tariffs.md lists the fields sent)."""
    data: dict[str, Any] = {
        "transactionId": int(notice.transaction_id)
        if notice.transaction_id.isdigit()
        else notice.transaction_id,
        "cost": float(notice.total),
        "currency": notice.currency,
        "timestamp": utc_iso(notice.at),
    }
    if not notice.final:
        data["meterValue"] = int(notice.energy_wh)
        data["state"] = "Charging"
    request: v16.DataTransferRequest = {
        "vendorId": vendor_id,
        "messageId": "FinalCost" if notice.final else "RunningCost",
        "data": orjson.dumps(data).decode(),
    }
    await call("DataTransfer", cast(dict[str, Any], request))
