"""OCPP 1.6 Core profile messages a charge point sends (1.6 §4): boot, heartbeat, status, meter
values, data transfer. Authorize and Start/StopTransaction are in :mod:`.transactions`."""

from __future__ import annotations

from typing import cast

from opencsms.clock import utc_iso
from opencsms.domain.model import BootInfo, ConnectorStatus, RegistrationStatus
from opencsms.handlers.common import meter_value_records, parse_timestamp
from opencsms.handlers.router import CallContext, Payload, reply
from opencsms.ocpp.types import v16


def evse_of(connector_id: int) -> tuple[int, int]:
    """(EVSE, connector) of a 1.6 connectorId: each 1.6 connector is an EVSE with one connector,
    and connector 0 is the charge point as a whole (1.6 §3.5; the store's convention)."""
    return (connector_id, 1) if connector_id > 0 else (0, 0)


async def boot_notification(ctx: CallContext, payload: Payload) -> Payload:
    """1.6 §4.2: record the charge point's identity and answer with its registration status."""
    request = cast(v16.BootNotificationRequest, payload)
    info = BootInfo(
        vendor=request["chargePointVendor"],
        model=request["chargePointModel"],
        serial_number=request.get("chargePointSerialNumber"),
        charge_box_serial_number=request.get("chargeBoxSerialNumber"),
        firmware_version=request.get("firmwareVersion"),
        iccid=request.get("iccid"),
        imsi=request.get("imsi"),
        meter_type=request.get("meterType"),
        meter_serial_number=request.get("meterSerialNumber"),
    )
    decision = await ctx.services.provisioning.boot(ctx.station_id, info, ctx.version.value)
    ctx.state.registration = decision.status.value
    if decision.status is RegistrationStatus.ACCEPTED:
        # 1.6 sessions do not survive a reboot: the open ones are closed from what comes next.
        await ctx.services.transactions.station_booted(ctx.station_id)
    response: v16.BootNotificationResponse = {
        "status": decision.status.value,
        "currentTime": utc_iso(decision.current_time),
        "interval": decision.interval,
    }
    return reply(response)


async def heartbeat(ctx: CallContext, payload: Payload) -> Payload:
    """1.6 §4.6: the CSMS's current time, UTC."""
    response: v16.HeartbeatResponse = {"currentTime": utc_iso(ctx.services.clock.now())}
    return reply(response)


async def status_notification(ctx: CallContext, payload: Payload) -> Payload:
    """1.6 §4.9: the status of one connector, or of the charge point (connector 0)."""
    request = cast(v16.StatusNotificationRequest, payload)
    evse_id, connector_id = evse_of(request["connectorId"])
    timestamp = request.get("timestamp")
    await ctx.services.reports.connector_status(
        ConnectorStatus(
            station_id=ctx.station_id,
            evse_id=evse_id,
            connector_id=connector_id,
            status=request["status"],
            error_code=request["errorCode"],
            info=request.get("info"),
            vendor_id=request.get("vendorId"),
            vendor_error_code=request.get("vendorErrorCode"),
            reported_at=parse_timestamp(timestamp) if timestamp else None,
            received_at=ctx.received_at,
        )
    )
    await ctx.services.transactions.connector_status_16(
        ctx.station_id, request["connectorId"], request["status"]
    )
    # §5.13: a Faulted or Unavailable connector (or charge point) ends its reservations.
    await ctx.services.reservations.connector_status_16(
        ctx.station_id, request["connectorId"], request["status"]
    )
    return {}


async def meter_values(ctx: CallContext, payload: Payload) -> Payload:
    """1.6 §4.7: store every sample before acknowledging (billing data must never be lost)."""
    request = cast(v16.MeterValuesRequest, payload)
    evse_id, connector_id = evse_of(request["connectorId"])
    transaction_id = request.get("transactionId")
    await ctx.services.reports.meter_values(
        meter_value_records(
            station_id=ctx.station_id,
            evse_id=evse_id,
            connector_id=connector_id,
            transaction_id=str(transaction_id) if transaction_id is not None else None,
            meter_values=request["meterValue"],
            received_at=ctx.received_at,
        )
    )
    return {}


async def data_transfer(ctx: CallContext, payload: Payload) -> Payload:
    """1.6 §4.3: no vendor extensions are registered, so every vendorId is unknown (§7.22)."""
    response: v16.DataTransferResponse = {"status": "UnknownVendorId"}
    return reply(response)
