"""OCPP 2.0.1 block E (transactions): TransactionEvent (E01-E15) and the GetTransactionStatus
request the CSMS sends to reconcile after a reboot (E14)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

import orjson

from opencsms.domain.cdrs import CostNotice
from opencsms.domain.model import TransactionEventRecord
from opencsms.domain.transaction_model import TxEvent
from opencsms.domain.transactions import TransactionStatusReport
from opencsms.handlers.common import meter_value_records, parse_timestamp
from opencsms.handlers.router import CallContext, Payload, reply
from opencsms.handlers.v201.authorization import id_token_info
from opencsms.ocpp.types import v201


async def transaction_event(ctx: CallContext, payload: Payload) -> Payload:
    """E01-E15: the event, its meter values and the session it updates are committed before the
    station gets its answer; ``(transactionId, seqNo)`` identifies a message (E01.FR.16), so a
    resend from the offline queue changes nothing. An event with an idToken gets idTokenInfo
    (C01/C12, TC_C_08_CSMS; C16 for a master pass)."""
    request = cast(v201.TransactionEventRequest, payload)
    info = request["transactionInfo"]
    evse = request.get("evse")
    token = request.get("idToken")
    transaction_id = info["transactionId"]
    timestamp = parse_timestamp(request["timestamp"])
    offline = request.get("offline", False)
    event = TxEvent(
        transaction_id=transaction_id,
        seq_no=request["seqNo"],
        event_type=request["eventType"],
        trigger_reason=request["triggerReason"],
        timestamp=timestamp,
        offline=offline,
        evse_id=evse["id"] if evse else None,
        connector_id=evse.get("connectorId") if evse else None,
        id_token=token["idToken"] if token else None,
        id_token_type=token["type"] if token else None,
        charging_state=info.get("chargingState"),
        stopped_reason=info.get("stoppedReason"),
        remote_start_id=info.get("remoteStartId"),
        reservation_id=request.get("reservationId"),
    )
    record = TransactionEventRecord(
        station_id=ctx.station_id,
        transaction_id=transaction_id,
        seq_no=request["seqNo"],
        event_type=request["eventType"],
        trigger_reason=request["triggerReason"],
        timestamp=timestamp,
        offline=offline,
        payload_json=orjson.dumps(payload).decode(),
        received_at=ctx.received_at,
    )
    samples = meter_value_records(
        station_id=ctx.station_id,
        evse_id=evse["id"] if evse else 0,
        connector_id=evse.get("connectorId", 0) if evse else 0,
        transaction_id=transaction_id,
        meter_values=request.get("meterValue", []),
        received_at=ctx.received_at,
    )
    decision, _fresh = await ctx.services.transactions.transaction_event(
        ctx.station_id, event, record, samples
    )
    response: v201.TransactionEventResponse = {}
    if decision is not None:
        response["idTokenInfo"] = id_token_info(decision)
    if request["eventType"] == "Ended" and ctx.services.costs is not None:
        # I03: the final cost, from the session's CDR (issued now), once the event is stored.
        total = await ctx.services.costs.total_at_end(ctx.station_id, transaction_id)
        if total is not None:
            response["totalCost"] = float(total)
    return reply(response)


async def ask_transaction_status(
    call: Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]], transaction_id: str
) -> TransactionStatusReport:
    """E14: send GetTransactionStatus for one transaction through ``call`` and read the answer."""
    request: v201.GetTransactionStatusRequest = {"transactionId": transaction_id}
    result = cast(
        v201.GetTransactionStatusResponse,
        await call("GetTransactionStatus", cast(dict[str, Any], request)),
    )
    return TransactionStatusReport(
        ongoing=result.get("ongoingIndicator"), messages_in_queue=result["messagesInQueue"]
    )


async def send_cost_updated(
    call: Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]], notice: CostNotice
) -> None:
    """I02: the running total cost (incl. tax, in the station's TariffCostCtrlr.Currency) of an
    ongoing transaction, with CostUpdated."""
    request: v201.CostUpdatedRequest = {
        "totalCost": float(notice.total),
        "transactionId": notice.transaction_id,
    }
    await call("CostUpdated", cast(dict[str, Any], request))
