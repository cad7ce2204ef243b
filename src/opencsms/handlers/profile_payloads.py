"""Domain charging profiles → OCPP payloads, and the way the CSMS sends its own profiles.

The reverse of :mod:`opencsms.handlers.charging_profiles`: a
:class:`~opencsms.smartcharging.ChargingProfile` becomes a 1.6 ``csChargingProfiles`` (§7.8)
or a 2.0.1 / 2.1 ``ChargingProfileType``, and :func:`profile_sender` sends it as
SetChargingProfile (1.6 §5.16 with ``connectorId``; 2.0.1 K01 with ``evseId``) for the load
manager (domain/load_management_worker.py), which never sees a payload.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from opencsms.clock import utc_iso
from opencsms.domain.charging_profiles import ExternalProfiles
from opencsms.domain.commands import StationCall
from opencsms.domain.ev_charging import EvChargingService
from opencsms.domain.load_management_worker import ProfileAnswer, ProfilePort
from opencsms.handlers.charging_profiles import purpose_name, schedule_from_2
from opencsms.ocpp.version import OcppVersion
from opencsms.smartcharging import ChargingProfile, ChargingSchedule, ProfileKind, ProfilePurpose

__all__ = ["external_profiles", "profile_port", "profile_to_payload"]

EXTERNAL_STACK_LEVEL = 100_000
"""Stack level of an external limit as a profile: above any a station may report (K08)."""


def _limit(value: float | None) -> float | None:
    # 1.6 §7.14: "accepts at most one digit fraction (e.g. 8.1)"; 2.x likewise in practice.
    return None if value is None else round(value, 1)


def _schedule(schedule: ChargingSchedule, version: OcppVersion) -> dict[str, Any]:
    periods: list[dict[str, Any]] = []
    for period in schedule.periods:
        item: dict[str, Any] = {"startPeriod": period.start_period, "limit": _limit(period.limit)}
        if period.number_phases is not None:
            item["numberPhases"] = period.number_phases
        if period.phase_to_use is not None and version is not OcppVersion.V16:
            item["phaseToUse"] = period.phase_to_use
        periods.append(item)
    out: dict[str, Any] = {
        "chargingRateUnit": schedule.rate_unit.value,
        "chargingSchedulePeriod": periods,
    }
    if version is not OcppVersion.V16:
        out["id"] = schedule.schedule_id if schedule.schedule_id is not None else 1
    if schedule.start_schedule is not None:
        out["startSchedule"] = utc_iso(schedule.start_schedule)
    if schedule.duration is not None:
        out["duration"] = schedule.duration
    if schedule.min_charging_rate is not None:
        out["minChargingRate"] = schedule.min_charging_rate
    return out


def profile_to_payload(version: OcppVersion, profile: ChargingProfile) -> dict[str, Any]:
    """The chargingProfile of ``version`` for ``profile`` (1.6 csChargingProfiles, 2.x
    ChargingProfileType); 1.6 transaction ids are integers (§7.8)."""
    out: dict[str, Any] = {
        "stackLevel": profile.stack_level,
        "chargingProfilePurpose": purpose_name(version, profile.purpose),
        "chargingProfileKind": profile.kind.value,
    }
    if profile.recurrency is not None:
        out["recurrencyKind"] = profile.recurrency.value
    if profile.valid_from is not None:
        out["validFrom"] = utc_iso(profile.valid_from)
    if profile.valid_to is not None:
        out["validTo"] = utc_iso(profile.valid_to)
    if version is OcppVersion.V16:
        out = {"chargingProfileId": profile.id, **out}
        if profile.transaction_id is not None:
            out["transactionId"] = int(profile.transaction_id)
        out["chargingSchedule"] = _schedule(profile.schedule, version)
    else:
        out = {"id": profile.id, **out}
        if profile.transaction_id is not None:
            out["transactionId"] = profile.transaction_id
        out["chargingSchedule"] = [_schedule(s, version) for s in profile.schedules]
    return out


def profile_port(version: OcppVersion, call: StationCall) -> ProfilePort:
    """The load manager's way to a station: SetChargingProfile in ``version`` through ``call``
    (the CSMS's own calls, recorded in the command log)."""

    async def send(profile: ChargingProfile) -> ProfileAnswer:
        raw = profile_to_payload(version, profile)
        if version is OcppVersion.V16:
            request = {"connectorId": profile.evse, "csChargingProfiles": raw}
        else:
            request = {"evseId": profile.evse, "chargingProfile": raw}
        answer = await call("SetChargingProfile", request)
        info = answer.get("statusInfo") or {}
        return ProfileAnswer(str(answer.get("status")), version.value, raw, info.get("reasonCode"))

    return ProfilePort(version.value, send)


def external_profiles(ev_charging: EvChargingService) -> ExternalProfiles:
    """The station's external limits in force (K12, stored verbatim) as
    ChargingStationExternalConstraints profiles, for the CSMS's composite preview.

    A limit's schedule without ``startSchedule`` starts when the station reported it (the limit
    is in force from the notification); the first schedule is used. A limit reported without a
    schedule (the report only names its source) limits nothing the CSMS can compute.
    """

    async def of(station_id: str) -> list[ChargingProfile]:
        out = []
        for number, stored in enumerate(await ev_charging.current_limits(station_id), start=1):
            if not stored.schedules:
                continue
            schedule = schedule_from_2(stored.schedules[0])
            if schedule.start_schedule is None:
                schedule = dataclasses.replace(schedule, start_schedule=stored.limit.received_at)
            out.append(
                ChargingProfile(
                    id=-number,  # never a real profile id (those are positive)
                    stack_level=EXTERNAL_STACK_LEVEL,
                    purpose=ProfilePurpose.EXTERNAL_CONSTRAINTS,
                    kind=ProfileKind.ABSOLUTE,
                    schedules=(schedule,),
                    evse=stored.limit.evse_id or 0,
                )
            )
        return out

    return of
