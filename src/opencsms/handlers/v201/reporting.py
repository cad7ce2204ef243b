"""OCPP 2.0.1 messages that report measurements and events: NotifyEvent (N07) and MeterValues (J01).
TransactionEvent is in :mod:`.transactions`."""

from __future__ import annotations

from typing import cast

import orjson

from opencsms.domain.model import StationEvent
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
