"""Charging profile payloads (1.6 §7.8, 2.0.1 / 2.1 ChargingProfileType) ↔ the version-neutral
:mod:`opencsms.smartcharging` model, shared by the CSMS (api/charging_profiles.py) and the
simulator (simulator/charging.py), so both read a profile exactly the same way.

A 1.6 connector *c* is EVSE *c*; connector / EVSE 0 is the station (smartcharging/model.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from opencsms.ocpp.version import OcppVersion
from opencsms.smartcharging import (
    ChargingProfile,
    ChargingSchedule,
    ProfileKind,
    ProfilePurpose,
    RateUnit,
    RecurrencyKind,
    SchedulePeriod,
)

__all__ = [
    "PURPOSES_2",
    "PURPOSES_16",
    "profile_from_2",
    "profile_from_16",
    "profile_from_payload",
    "purpose_name",
    "schedule_from_2",
]

P = ProfilePurpose
PURPOSES_16 = {
    "ChargePointMaxProfile": P.STATION_MAX,
    "TxDefaultProfile": P.TX_DEFAULT,
    "TxProfile": P.TX,
}
"""1.6 ChargingProfilePurposeType (§7.10) → domain purpose."""
PURPOSES_2 = {
    "ChargingStationMaxProfile": P.STATION_MAX,
    "ChargingStationExternalConstraints": P.EXTERNAL_CONSTRAINTS,
    "TxDefaultProfile": P.TX_DEFAULT,
    "TxProfile": P.TX,
    "PriorityCharging": P.PRIORITY_CHARGING,
    "LocalGeneration": P.LOCAL_GENERATION,
}
"""2.0.1 / 2.1 ChargingProfilePurposeEnumType → domain purpose."""


def _time(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _schedule(raw: Mapping[str, Any]) -> ChargingSchedule:
    periods = tuple(
        SchedulePeriod(p["startPeriod"], p.get("limit"), p.get("numberPhases"), p.get("phaseToUse"))
        for p in raw["chargingSchedulePeriod"]
    )
    return ChargingSchedule(
        rate_unit=RateUnit(raw["chargingRateUnit"]),
        periods=periods,
        start_schedule=_time(raw.get("startSchedule")),
        duration=raw.get("duration"),
        min_charging_rate=raw.get("minChargingRate"),
        schedule_id=raw.get("id"),
    )


def _profile(
    raw: Mapping[str, Any], evse: int, purpose: ProfilePurpose, schedules: list[Any], tx: Any
) -> ChargingProfile:
    recurrency = raw.get("recurrencyKind")
    return ChargingProfile(
        id=raw["id"] if "id" in raw else raw["chargingProfileId"],
        stack_level=raw["stackLevel"],
        purpose=purpose,
        kind=ProfileKind(raw["chargingProfileKind"]),
        schedules=tuple(_schedule(s) for s in schedules),
        evse=evse,
        recurrency=RecurrencyKind(recurrency) if recurrency else None,
        valid_from=_time(raw.get("validFrom")),
        valid_to=_time(raw.get("validTo")),
        transaction_id=None if tx is None else str(tx),
    )


def profile_from_16(connector_id: int, raw: Mapping[str, Any]) -> ChargingProfile:
    """A 1.6 csChargingProfiles (§7.8) set on ``connector_id`` as a domain profile."""
    purpose = PURPOSES_16[raw["chargingProfilePurpose"]]
    schedules = [raw["chargingSchedule"]]
    return _profile(raw, connector_id, purpose, schedules, raw.get("transactionId"))


def profile_from_2(evse_id: int, raw: Mapping[str, Any]) -> ChargingProfile:
    """A 2.0.1 / 2.1 ChargingProfileType set on ``evse_id`` as a domain profile."""
    purpose = PURPOSES_2[raw["chargingProfilePurpose"]]
    return _profile(raw, evse_id, purpose, raw["chargingSchedule"], raw.get("transactionId"))


def schedule_from_2(raw: Mapping[str, Any]) -> ChargingSchedule:
    """A 2.0.1 / 2.1 ChargingScheduleType (in a NotifyChargingLimit or NotifyEVChargingSchedule)
    as a domain schedule; a 2.1 period without ``limit`` limits nothing."""
    return _schedule(raw)


def profile_from_payload(
    version: OcppVersion, evse_id: int, raw: Mapping[str, Any]
) -> ChargingProfile:
    """The profile of ``version``'s payload; ``KeyError`` / ``ValueError`` when it is malformed
    (the caller's schema validation then names the problem)."""
    if version is OcppVersion.V16:
        return profile_from_16(evse_id, raw)
    return profile_from_2(evse_id, raw)


def purpose_name(version: OcppVersion, purpose: ProfilePurpose) -> str:
    """The OCPP spelling of ``purpose`` in ``version`` (``KeyError`` when it has none)."""
    table = PURPOSES_16 if version is OcppVersion.V16 else PURPOSES_2
    return {value: name for name, value in table.items()}[purpose]
