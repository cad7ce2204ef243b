"""OCPP 2.0.1 block B (provisioning) and G (availability) messages a station sends."""

from __future__ import annotations

from typing import cast

from opencsms.clock import utc_iso
from opencsms.domain.model import BootInfo, ConnectorStatus, RegistrationStatus
from opencsms.handlers.common import parse_timestamp
from opencsms.handlers.router import CallContext, Payload, reply
from opencsms.ocpp.types import v201


async def boot_notification(ctx: CallContext, payload: Payload) -> Payload:
    """B01-B03: record the station's identity, answer with its registration status and interval."""
    request = cast(v201.BootNotificationRequest, payload)
    station = request["chargingStation"]
    modem = station.get("modem", {})
    info = BootInfo(
        vendor=station["vendorName"],
        model=station["model"],
        serial_number=station.get("serialNumber"),
        firmware_version=station.get("firmwareVersion"),
        iccid=modem.get("iccid"),
        imsi=modem.get("imsi"),
        reason=request["reason"],
    )
    decision = await ctx.services.provisioning.boot(ctx.station_id, info, ctx.version.value)
    ctx.state.registration = decision.status.value
    if decision.status is RegistrationStatus.ACCEPTED:
        # Open sessions may have been lost: the node asks GetTransactionStatus (E14) next.
        await ctx.services.transactions.station_booted(ctx.station_id)
    response: v201.BootNotificationResponse = {
        "currentTime": utc_iso(decision.current_time),
        "interval": decision.interval,
        "status": decision.status.value,
    }
    return reply(response)


async def heartbeat(ctx: CallContext, payload: Payload) -> Payload:
    """G02: the CSMS's current time, UTC."""
    response: v201.HeartbeatResponse = {"currentTime": utc_iso(ctx.services.clock.now())}
    return reply(response)


async def status_notification(ctx: CallContext, payload: Payload) -> Payload:
    """G01: the status of one connector of one EVSE."""
    request = cast(v201.StatusNotificationRequest, payload)
    await ctx.services.reports.connector_status(
        ConnectorStatus(
            station_id=ctx.station_id,
            evse_id=request["evseId"],
            connector_id=request["connectorId"],
            status=request["connectorStatus"],
            reported_at=parse_timestamp(request["timestamp"]),
            received_at=ctx.received_at,
        )
    )
    return {}


async def data_transfer(ctx: CallContext, payload: Payload) -> Payload:
    """P02: no vendor extensions are registered, so every vendorId is unknown."""
    response: v201.DataTransferResponse = {"status": "UnknownVendorId"}
    return reply(response)
