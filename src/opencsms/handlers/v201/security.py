"""OCPP 2.0.1 SecurityEventNotification (A04, A04.FR.01/02): a station reports a security
event; it is stored before it is answered and a resent one is stored once (ARCHITECTURE
rule 7). docs/security-events.md."""

from __future__ import annotations

from typing import cast

from opencsms.handlers.common import parse_timestamp
from opencsms.handlers.router import CallContext, Payload, reply
from opencsms.ocpp.types import v201

__all__ = ["security_event_notification"]


async def security_event_notification(ctx: CallContext, payload: Payload) -> Payload:
    """Store the event (type, station's timestamp, techInfo) and acknowledge it."""
    request = cast(v201.SecurityEventNotificationRequest, payload)
    await ctx.services.security_events.received(
        ctx.station_id,
        request["type"],
        parse_timestamp(request["timestamp"]),
        request.get("techInfo"),
        ctx.received_at,
        ocpp16=False,
    )
    response: v201.SecurityEventNotificationResponse = {}
    return reply(response)
