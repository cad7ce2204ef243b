"""External charging limits and ISO 15118 EV charging needs and schedules (2.0.1 K12, K13,
K15-K17; docs/charging-profiles.md).

What the stations tell the CSMS is stored first and only then published as a fleet event, so the
load-management service (which answers an EV's needs with a TxProfile) never acts on something
that could still be lost:

* NotifyChargingLimit (K12): a system other than the CSMS (EMS, system operator, ...) limits the
  station. The CSMS keeps it as the current limit of that source on that EVSE (a newer report
  replaces it) with the lowest limit of the period in force when it arrived.
* ClearedChargingLimit (K13): that source released its limit.
* NotifyEVChargingNeeds (K15, K17): the EV's needs, Accepted when a transaction runs on the EVSE
  (the CSMS can then answer with a TxProfile for it, K15.FR.03, K01.FR.03), otherwise Rejected
  (``TxNotFound``): a TxProfile cannot be sent without a transaction.
* NotifyEVChargingSchedule (K15.FR.10, K17): the schedule the EV chose, checked against the
  TxProfile the CSMS holds for the transaction: within it, Accepted (K15.FR.11); exceeding it,
  Rejected (K15.FR.12), and the event asks for a new negotiation (K15.FR.13).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opencsms.clock import Clock
from opencsms.domain.ev_charging_model import EvChargingNeeds, EvChargingSchedule, ExternalLimit
from opencsms.domain.fleet_events import (
    ChargingLimitReported,
    EvChargingNeedsReported,
    EvChargingScheduleReported,
    FleetEvents,
)
from opencsms.smartcharging import (
    ChargingProfile,
    ChargingSchedule,
    EvseState,
    ProfilePurpose,
    RateUnit,
    StationState,
    composite_schedule,
)

if TYPE_CHECKING:
    from opencsms.storage.store import Storage

__all__ = [
    "ACCEPTED",
    "REJECTED",
    "EvChargingService",
    "LimitState",
    "NeedsAnswer",
    "StoredLimit",
    "StoredNeeds",
    "exceeds_profiles",
    "limits_in_force",
]

ACCEPTED = "Accepted"
REJECTED = "Rejected"

_TOLERANCE = 0.1
"""Composite limits are rounded down to 0.1 (smartcharging/composite.py): an EV period equal
to the TxProfile's limit must not read as exceeding it."""
_OPEN_ENDED = 86_400
"""How far an EV schedule without a duration is compared (its last period lasts forever)."""


class LimitState:
    """``charging_limits.state``: in force, replaced by a newer report of the same source on the
    same EVSE, or released by ClearedChargingLimit (K13)."""

    CURRENT = "current"
    REPLACED = "replaced"
    CLEARED = "cleared"


@dataclass(frozen=True, slots=True)
class StoredLimit:
    """An external limit as stored: the shared record, the verbatim schedules (OCPP
    ChargingScheduleType list, ``None`` when the report had none), its state and when it
    stopped being current."""

    limit: ExternalLimit
    schedules: list[dict[str, Any]] | None
    state: str = LimitState.CURRENT
    ended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StoredNeeds:
    """The latest NotifyEVChargingNeeds of an EVSE, what the CSMS answered (``status``,
    ``reason``: a 2.0.1 reasonCode) and the verbatim request."""

    needs: EvChargingNeeds
    status: str
    payload: dict[str, Any]
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class NeedsAnswer:
    """What to answer a NotifyEVChargingNeeds: ``Accepted`` or ``Rejected`` with a reason."""

    status: str
    reason: str | None = None
    detail: str | None = None


def limits_in_force(
    schedules: Sequence[ChargingSchedule], at: datetime
) -> tuple[float | None, float | None]:
    """The lowest limit, in amperes and in watts, of the periods the ``schedules`` have in force
    at ``at`` (a schedule without startSchedule starts at ``at``; one that has not started or
    whose duration is over has none). ``None`` where no schedule of that unit is in force."""
    found: dict[RateUnit, float] = {}
    for schedule in schedules:
        elapsed = 0.0
        if schedule.start_schedule is not None:
            elapsed = (at - schedule.start_schedule).total_seconds()
        if elapsed < 0 or (schedule.duration is not None and elapsed >= schedule.duration):
            continue
        current = [p for p in schedule.periods if p.start_period <= elapsed]
        if not current or current[-1].limit is None:
            continue
        value = current[-1].limit
        unit = schedule.rate_unit
        found[unit] = min(value, found.get(unit, value))
    return found.get(RateUnit.A), found.get(RateUnit.W)


def exceeds_profiles(
    schedule: ChargingSchedule,
    time_base: datetime,
    profiles: Sequence[ChargingProfile],
    evse: int,
    transaction: EvseState,
) -> str | None:
    """Why the EV's ``schedule`` (relative to ``time_base``) exceeds the TxProfiles the CSMS set
    for the transaction running on ``evse`` (K15.FR.12), or ``None`` when it stays within them
    (K15.FR.11). Limits are compared in the EV schedule's unit, by the station's own rules
    (smartcharging/composite.py: A↔W at 230 V and the period's phases)."""
    tx = [
        p
        for p in profiles
        if p.purpose is ProfilePurpose.TX
        and p.evse == evse
        and p.transaction_id is not None
        and p.transaction_id == transaction.transaction_id
    ]
    if not tx:
        return None
    periods = schedule.periods
    last = periods[-1].start_period if periods else 0
    span = schedule.duration if schedule.duration is not None else max(last + 1, _OPEN_ENDED)
    state = StationState({evse: transaction})
    allowed = composite_schedule(tx, state, evse, time_base, span, schedule.rate_unit).periods
    for index, period in enumerate(periods):
        if period.limit is None or period.start_period >= span:
            continue
        end = periods[index + 1].start_period if index + 1 < len(periods) else span
        for at, bound in enumerate(allowed):
            bound_end = allowed[at + 1].start_period if at + 1 < len(allowed) else span
            overlaps = bound.start_period < end and period.start_period < bound_end
            if overlaps and bound.limit is not None and period.limit > bound.limit + _TOLERANCE:
                moment = max(period.start_period, bound.start_period)
                return (
                    f"at {moment} s the EV plans {period.limit:g} "
                    f"{schedule.rate_unit.value}, the TxProfile allows {bound.limit:g}"
                )
    return None


class EvChargingService:
    """Stores limits, needs and EV schedules, answers them, publishes them (one per node)."""

    def __init__(self, storage: Storage, clock: Clock, events: FleetEvents) -> None:
        self._storage = storage
        self._clock = clock
        self._events = events

    # ------------------------------------------------------------ external limits (K12, K13)

    async def charging_limit(
        self, limit: ExternalLimit, schedules: list[dict[str, Any]] | None = None
    ) -> StoredLimit:
        """K12 NotifyChargingLimit: store ``limit`` as the current one of its source on its EVSE
        (the previous one is replaced), then publish it. A resend (same source, EVSE, grid
        flag and schedules as the current one) stores nothing new."""
        limit = replace(limit, evse_id=limit.evse_id or 0, cleared=False)
        stored = StoredLimit(limit, schedules)
        current = await self._storage.ev_charging.current_limits(limit.station_id)
        for held in current:
            key = (held.limit.evse_id, held.limit.source, held.limit.grid_critical)
            if key == (limit.evse_id, limit.source, limit.grid_critical) and (
                held.schedules == schedules
            ):
                return held  # a resend: already stored and published
        await self._storage.ev_charging.add_limit(stored, ended_at=limit.received_at)
        self._events.publish(ChargingLimitReported(limit))
        return stored

    async def limit_cleared(
        self, station_id: str, source: str, evse_id: int | None, received_at: datetime
    ) -> ExternalLimit:
        """K13 ClearedChargingLimit: the current limit of ``source`` on ``evse_id`` (absent: the
        station-wide one) is released; stored, then published as a cleared limit."""
        cleared = ExternalLimit(
            station_id=station_id,
            source=source,
            received_at=received_at,
            evse_id=evse_id or 0,
            cleared=True,
        )
        await self._storage.ev_charging.clear_limits(station_id, evse_id or 0, source, received_at)
        self._events.publish(ChargingLimitReported(cleared))
        return cleared

    async def external_limits(self, station_id: str) -> list[ExternalLimit]:
        """The external limits in force on the station (not cleared nor replaced)."""
        return [s.limit for s in await self._storage.ev_charging.current_limits(station_id)]

    async def limit_history(self, station_id: str, *, limit: int = 100) -> list[StoredLimit]:
        """Every external limit the station reported, newest first."""
        return await self._storage.ev_charging.limits(station_id, limit=limit)

    async def current_limits(self, station_id: str) -> list[StoredLimit]:
        """The limits in force with their schedules."""
        return await self._storage.ev_charging.current_limits(station_id)

    # ------------------------------------------------------------- EV needs (K15, K17)

    async def needs(self, needs: EvChargingNeeds, payload: dict[str, Any]) -> NeedsAnswer:
        """K15/K17 NotifyEVChargingNeeds: store the needs (the EVSE's latest) with the answer,
        then publish them when Accepted.

        Accepted (K15.FR.03) when a transaction runs on the EVSE: the CSMS's TxProfile for it
        follows (K15.FR.08, load management). Rejected with ``TxNotFound`` otherwise: a TxProfile
        needs the transaction it applies to (K01.FR.03), so the CSMS can provide no schedule
        and the station falls back on its own (K15.FR.04).
        """
        running = await self._running(needs.station_id, needs.evse_id)
        if running is None:
            answer = NeedsAnswer(
                REJECTED, "TxNotFound", f"no transaction is running on EVSE {needs.evse_id}"
            )
        else:
            answer = NeedsAnswer(ACCEPTED)
        needs = replace(needs, transaction_id=running)
        stored = StoredNeeds(needs, answer.status, payload, answer.reason)
        await self._storage.ev_charging.save_needs(stored)
        if answer.status == ACCEPTED:
            self._events.publish(EvChargingNeedsReported(needs))
        return answer

    async def latest_needs(self, station_id: str, evse_id: int) -> EvChargingNeeds | None:
        """The EV's latest Accepted needs on the EVSE (``None``: none, or the latest were
        Rejected); ``transaction_id`` names the transaction they belong to."""
        stored = await self._storage.ev_charging.needs(station_id, evse_id)
        if stored is None or stored.status != ACCEPTED:
            return None
        return stored.needs

    async def stored_needs(self, station_id: str) -> list[StoredNeeds]:
        """The latest needs of each EVSE of the station, Accepted or not, by EVSE."""
        return await self._storage.ev_charging.needs_of_station(station_id)

    # ------------------------------------------------------------ EV schedules (K15.FR.10)

    async def ev_schedule(
        self,
        station_id: str,
        evse_id: int,
        time_base: datetime,
        schedule: ChargingSchedule,
        raw: dict[str, Any],
        received_at: datetime,
    ) -> EvChargingSchedule:
        """K15.FR.10 / K17 NotifyEVChargingSchedule: check ``schedule`` against the TxProfile
        recorded for the transaction running on the EVSE (K15.FR.11/12), store it with the
        verdict, publish it; the caller answers Accepted or Rejected by ``within_limits``."""
        tx = await self._running_state(station_id, evse_id)
        problem = None
        if tx.transaction_id is not None:
            held = [s.profile for s in await self._storage.charging_profiles.list(station_id)]
            problem = exceeds_profiles(schedule, time_base, held, evse_id, tx)
        record = EvChargingSchedule(
            station_id=station_id,
            evse_id=evse_id,
            time_base=time_base,
            schedule=raw,
            received_at=received_at,
            within_limits=problem is None,
            transaction_id=tx.transaction_id,
            reason=None if problem is None else "ValueTooHigh",
            detail=problem,
        )
        await self._storage.ev_charging.save_schedule(record)
        self._events.publish(EvChargingScheduleReported(record))
        return record

    async def ev_schedules(self, station_id: str, *, limit: int = 100) -> list[EvChargingSchedule]:
        """The EV schedules the station forwarded, newest time base first."""
        return await self._storage.ev_charging.schedules(station_id, limit=limit)

    # ------------------------------------------------------------------------- helpers

    async def _running(self, station_id: str, evse_id: int) -> str | None:
        return (await self._running_state(station_id, evse_id)).transaction_id

    async def _running_state(self, station_id: str, evse_id: int) -> EvseState:
        """The transaction running on the EVSE, as the composite needs it (none: empty)."""
        for tx in await self._storage.transactions.open_for_station(station_id):
            if (tx.evse_id or tx.connector_id) == evse_id:
                return EvseState(transaction_id=tx.transaction_id, transaction_start=tx.started_at)
        return EvseState()
