"""OCPP 2.0.1 messages that report measurements and events: NotifyEvent (N07), MeterValues (J01) and
TransactionEvent (E01-E15, stored here; authorization and transaction state belong to block E/C)."""

from __future__ import annotations

from typing import cast

import orjson

from opencsms.domain.model import StationEvent, TransactionEventRecord
from opencsms.handlers.common import meter_value_records, parse_timestamp
from opencsms.handlers.router import CallContext, Payload
from opencsms.ocpp.types import v201


async def notify_event(ctx: CallContext, payload: Payload) -> Payload:
    """N07: store every EventData so the operator sees what the station's monitors reported."""
    request = cast(v201.NotifyEventRequest, payload)
    events = [_station_event(ctx, data) for data in request["eventData"]]
    await ctx.services.reports.events(events)
    return {}


def _station_event(ctx: CallContext, data: v201.EventDataType) -> StationEvent:
    return StationEvent(
        station_id=ctx.station_id,
        event_id=data["eventId"],
        timestamp=parse_timestamp(data["timestamp"]),
        trigger=data["trigger"],
        event_type=data["eventNotificationType"],
        component_json=orjson.dumps(data["component"]).decode(),
        variable_json=orjson.dumps(data["variable"]).decode(),
        actual_value=data["actualValue"],
        tech_code=data.get("techCode"),
        tech_info=data.get("techInfo"),
        cleared=data.get("cleared"),
        transaction_id=data.get("transactionId"),
        variable_monitoring_id=data.get("variableMonitoringId"),
        received_at=ctx.received_at,
    )


async def meter_values(ctx: CallContext, payload: Payload) -> Payload:
    """J01: samples outside a transaction (evseId 0 is the grid connection of the whole station)."""
    request = cast(v201.MeterValuesRequest, payload)
    await ctx.services.reports.meter_values(
        meter_value_records(
            station_id=ctx.station_id,
            evse_id=request["evseId"],
            connector_id=0,
            transaction_id=None,
            meter_values=request["meterValue"],
            received_at=ctx.received_at,
        )
    )
    return {}


async def transaction_event(ctx: CallContext, payload: Payload) -> Payload:
    """E01-E15: the event and its meter values are committed before the station gets its answer.

    ``(transactionId, seqNo)`` identifies a message (E01.FR.16), so a resend from the offline
    queue is stored once.
    """
    request = cast(v201.TransactionEventRequest, payload)
    info = request["transactionInfo"]
    evse = request.get("evse")
    transaction_id = info["transactionId"]
    record = TransactionEventRecord(
        station_id=ctx.station_id,
        transaction_id=transaction_id,
        seq_no=request["seqNo"],
        event_type=request["eventType"],
        trigger_reason=request["triggerReason"],
        timestamp=parse_timestamp(request["timestamp"]),
        offline=request.get("offline", False),
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
    await ctx.services.reports.transaction_event(record, samples)
    return {}
