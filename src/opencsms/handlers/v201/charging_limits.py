"""OCPP 2.0.1 / 2.1 smart charging, station → CSMS: external limits and ISO 15118 (functional
block K; docs/charging-profiles.md). Each message is stored by
:class:`~opencsms.domain.ev_charging.EvChargingService` before it is answered.

* NotifyChargingLimit (K12.FR.01..): an external system limits the station.
* ClearedChargingLimit (K13.FR.01..): it released the limit.
* NotifyEVChargingNeeds (K15.FR.02-05, K17.FR.02-05): Accepted when a transaction runs on the
  EVSE, else Rejected with reasonCode ``TxNotFound``.
* NotifyEVChargingSchedule (K15.FR.10-12, K17.FR.10-12): Accepted when the EV's schedule stays
  within the TxProfile the CSMS holds for the transaction, Rejected (``ValueTooHigh``) otherwise.

2.1 shares these handlers (handlers/v21): its extra fields (isLocalGeneration,
v2xChargingParameters, derChargingParameters, evEnergyOffer, controlMode, timestamp,
selectedChargingScheduleId, powerToleranceAcceptance, 2.1 energy transfer modes) are kept in
the stored verbatim payloads but not interpreted; its decimal AC / DC parameters are read as the
2.0.1 integers are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from opencsms.domain.ev_charging import ACCEPTED
from opencsms.domain.ev_charging import limits_in_force as _limits_in_force
from opencsms.domain.ev_charging_model import EvChargingNeeds, ExternalLimit
from opencsms.handlers.charging_profiles import schedule_from_2
from opencsms.handlers.common import parse_timestamp
from opencsms.handlers.router import CallContext, Payload, reply
from opencsms.ocpp.types import v201

__all__ = [
    "cleared_charging_limit",
    "notify_charging_limit",
    "notify_ev_charging_needs",
    "notify_ev_charging_schedule",
]


async def notify_charging_limit(ctx: CallContext, payload: Payload) -> Payload:
    """K12: store the limit (source, grid criticality, EVSE, schedules verbatim) with the lowest
    limit per unit of the periods in force now, then acknowledge."""
    request = cast(v201.NotifyChargingLimitRequest, payload)
    limit = request["chargingLimit"]
    raw_schedules = cast(list[dict[str, Any]] | None, request.get("chargingSchedule"))
    schedules = [schedule_from_2(s) for s in raw_schedules or ()]
    limit_a, limit_w = _limits_in_force(schedules, ctx.received_at)
    await ctx.services.ev_charging.charging_limit(
        ExternalLimit(
            station_id=ctx.station_id,
            source=limit["chargingLimitSource"],
            received_at=ctx.received_at,
            evse_id=request.get("evseId"),
            grid_critical=limit.get("isGridCritical"),
            limit_a=limit_a,
            limit_w=limit_w,
        ),
        raw_schedules,
    )
    response: v201.NotifyChargingLimitResponse = {}
    return reply(response)


async def cleared_charging_limit(ctx: CallContext, payload: Payload) -> Payload:
    """K13: mark the source's limit on the EVSE (absent: the station-wide one) cleared."""
    request = cast(v201.ClearedChargingLimitRequest, payload)
    await ctx.services.ev_charging.limit_cleared(
        ctx.station_id, request["chargingLimitSource"], request.get("evseId"), ctx.received_at
    )
    response: v201.ClearedChargingLimitResponse = {}
    return reply(response)


def _number(params: Mapping[str, Any] | None, name: str) -> float | None:
    value = None if params is None else params.get(name)
    return None if value is None else float(value)


async def notify_ev_charging_needs(ctx: CallContext, payload: Payload) -> Payload:
    """K15.FR.02: store the needs and answer Accepted (K15.FR.03) or Rejected."""
    request = cast(v201.NotifyEVChargingNeedsRequest, payload)
    needs = request["chargingNeeds"]
    ac = cast(Mapping[str, Any] | None, needs.get("acChargingParameters"))
    dc = cast(Mapping[str, Any] | None, needs.get("dcChargingParameters"))
    departure = needs.get("departureTime")
    soc = None if dc is None else dc.get("stateOfCharge")
    energy = _number(ac, "energyAmount")
    answer = await ctx.services.ev_charging.needs(
        EvChargingNeeds(
            station_id=ctx.station_id,
            evse_id=request["evseId"],
            requested_energy_transfer=needs["requestedEnergyTransfer"],
            received_at=ctx.received_at,
            departure_time=None if departure is None else parse_timestamp(departure),
            energy_amount_wh=energy if energy is not None else _number(dc, "energyAmount"),
            ac_min_current_a=_number(ac, "evMinCurrent"),
            ac_max_current_a=_number(ac, "evMaxCurrent"),
            ac_max_voltage_v=_number(ac, "evMaxVoltage"),
            dc_max_current_a=_number(dc, "evMaxCurrent"),
            dc_max_voltage_v=_number(dc, "evMaxVoltage"),
            dc_max_power_w=_number(dc, "evMaxPower"),
            state_of_charge=None if soc is None else int(soc),
            max_schedule_tuples=request.get("maxScheduleTuples"),
        ),
        dict(payload),
    )
    response: v201.NotifyEVChargingNeedsResponse = {"status": "Accepted"}
    if answer.status != ACCEPTED:
        response = {"status": "Rejected"}
        if answer.reason is not None:
            response["statusInfo"] = {"reasonCode": answer.reason}
            if answer.detail is not None:
                response["statusInfo"]["additionalInfo"] = answer.detail[:512]
    return reply(response)


async def notify_ev_charging_schedule(ctx: CallContext, payload: Payload) -> Payload:
    """K15.FR.10: store the EV's schedule; Accepted within the TxProfile (K15.FR.11), Rejected
    with ``ValueTooHigh`` when it exceeds it (K15.FR.12)."""
    request = cast(v201.NotifyEVChargingScheduleRequest, payload)
    raw = cast(dict[str, Any], request["chargingSchedule"])
    record = await ctx.services.ev_charging.ev_schedule(
        ctx.station_id,
        request["evseId"],
        parse_timestamp(request["timeBase"]),
        schedule_from_2(raw),
        raw,
        ctx.received_at,
    )
    response: v201.NotifyEVChargingScheduleResponse = {"status": "Accepted"}
    if not record.within_limits:
        response = {"status": "Rejected", "statusInfo": {"reasonCode": "ValueTooHigh"}}
        if record.detail is not None:
            response["statusInfo"]["additionalInfo"] = record.detail[:512]
    return reply(response)
