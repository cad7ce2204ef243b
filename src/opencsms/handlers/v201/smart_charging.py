"""OCPP 2.0.1 smart charging (functional block K), station → CSMS: ReportChargingProfiles (K09),
the answer to GetChargingProfiles, stored in the CSMS's record of what the station holds
(domain/charging_profiles.py) before it is acknowledged. Multi-part: every part is stored as it
arrives; the last (``tbc`` false) of an unfiltered request replaces the record.
"""

from __future__ import annotations

from opencsms.domain.charging_profiles import StoredProfile
from opencsms.handlers.charging_profiles import profile_from_2
from opencsms.handlers.router import CallContext, Payload, reply
from opencsms.ocpp.types import v201

__all__ = ["report_charging_profiles"]


async def report_charging_profiles(ctx: CallContext, payload: Payload) -> Payload:
    """K09.FR.01..: store the reported profiles of one EVSE and limit source, then answer."""
    request_id: int = payload["requestId"]
    evse: int = payload["evseId"]
    now = ctx.services.clock.now()
    items = [
        StoredProfile(
            station_id=ctx.station_id,
            profile=profile_from_2(evse, raw),
            payload=raw,
            ocpp_version=ctx.version.value,
            updated_at=now,
            source=payload["chargingLimitSource"],
            report_id=request_id,
        )
        for raw in payload["chargingProfile"]
    ]
    last = not payload.get("tbc", False)
    await ctx.services.charging_profiles.reported(ctx.station_id, request_id, items, last)
    response: v201.ReportChargingProfilesResponse = {}
    return reply(response)
