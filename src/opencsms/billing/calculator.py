"""The cost of a session: a tariff version applied to a session's time line.

How (docs/tariffs.md, "How cost is computed"):

1. The session is cut into periods at every instant where a price can change: its start and
   end, the moment charging ended and the end of the idle grace period
   (:mod:`~opencsms.billing.timeline`), every local midnight and every element's start/end time
   of day and dates (in the tariff's time zone, with :mod:`zoneinfo`, so DST is handled: periods
   are real elapsed time, a 23-hour DST day bills 23 hours), the instants the session reaches an
   element's ``min_duration``/``max_duration``, and the instants the energy reaches an element's
   ``min_kwh``/``max_kwh`` (interpolated).
2. Each period is one phase: *charging* (start → charging ended), *grace* (the first
   ``idle_grace_minutes`` after that) or *parking* (the rest). Restrictions are evaluated at the
   middle of the period (constant inside it, since every boundary is a cut). For each dimension
   the first element that matches and prices it applies (OCPI): ENERGY for the period's kWh in
   every phase, TIME per minute while charging, PARKING_TIME per minute while parking (not during
   grace). FLAT is charged once, by the first element matching at the session's start.
3. ``step_size`` (OCPI): the session's total energy is rounded up to the step of the last ENERGY
   component used; the total billed parking time (if any, else the total charging time) to the
   step of the last PARKING_TIME (else TIME) component used; the extra is billed at that
   component's price.
4. Rounding: amounts stay exact (Decimal) until each component's total (energy, time, parking,
   flat) is rounded once to the currency's minor unit, half-even (banker's rounding). The net is
   the sum of those; min/max price bound the net; tax = net × rate, rounded half-even; gross =
   net + tax. So net + tax == gross always, and the components add up to the net unless a
   min/max price applied.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Any

from .tariff import ComponentType, PriceComponent, Restrictions, Tariff, minor_units
from .timeline import SessionTimeline, seconds_between

__all__ = [
    "CostBreakdown",
    "Period",
    "Phase",
    "breakdown_from_json",
    "breakdown_json",
    "compute_cost",
]

_SIXTY = Decimal(60)
_THOUSAND = Decimal(1000)


class Phase(StrEnum):
    CHARGING = "charging"
    GRACE = "grace"
    PARKING = "parking"


@dataclass(frozen=True, slots=True)
class Period:
    """A stretch of the session with one price per dimension (exact, unrounded amounts)."""

    start: datetime
    end: datetime
    phase: Phase
    energy_wh: Decimal
    seconds: Decimal
    energy_price: Decimal | None
    """Per kWh, ``None`` when no element prices energy here."""
    time_price: Decimal | None
    """Per minute: TIME while charging, PARKING_TIME while parking; ``None`` otherwise."""
    energy_cost: Decimal
    time_cost: Decimal


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    """What a session costs and why. Amounts are net (excl. tax) unless named gross/tax; the
    four component amounts are rounded to the currency's minor unit."""

    currency: str
    tax_rate: Decimal
    energy_wh: Decimal
    charging_seconds: Decimal
    parking_seconds: Decimal
    """Idle time after charging ended, grace included."""
    billed_parking_seconds: Decimal
    charging_ended_at: datetime
    energy: Decimal
    time: Decimal
    parking: Decimal
    flat: Decimal
    subtotal: Decimal
    """energy + time + parking + flat, before min/max price."""
    net: Decimal
    tax: Decimal
    gross: Decimal
    min_price_applied: bool
    max_price_applied: bool
    periods: tuple[Period, ...]


def _round(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_EVEN)


def _matches(r: Restrictions, local: datetime, elapsed: Decimal, energy_wh: Decimal) -> bool:
    if r.empty:
        return True
    now = local.time().replace(tzinfo=None)
    if r.start_time is not None or r.end_time is not None:
        begin = r.start_time or time(0)
        end = r.end_time or time(0)
        if begin < end or r.end_time is None:
            inside = begin <= now and (r.end_time is None or now < end)
        else:  # wraps past midnight: 22:00-06:00
            inside = now >= begin or now < end
        if not inside:
            return False
    today = local.date()
    if r.start_date is not None and today < r.start_date:
        return False
    if r.end_date is not None and today >= r.end_date:
        return False
    if r.day_of_week is not None and today.weekday() not in r.day_of_week:
        return False
    kwh = energy_wh / _THOUSAND
    if r.min_kwh is not None and kwh < r.min_kwh:
        return False
    if r.max_kwh is not None and kwh >= r.max_kwh:
        return False
    if r.min_duration is not None and elapsed < r.min_duration:
        return False
    return r.max_duration is None or elapsed < r.max_duration


def _clock_cuts(tariff: Tariff, start: datetime, end: datetime) -> set[datetime]:
    """Local midnights, element times of day and element dates, as UTC instants in the session."""
    zone = tariff.zone
    times = {time(0)}
    for element in tariff.elements:
        r = element.restrictions
        times.update(t for t in (r.start_time, r.end_time) if t is not None)
    cuts: set[datetime] = set()
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    while day <= last:
        for t in times:
            instant = datetime.combine(day, t, tzinfo=zone).astimezone(UTC)
            if start < instant < end:
                cuts.add(instant)
        day += timedelta(days=1)
    return cuts


def _element_cuts(tariff: Tariff, timeline: SessionTimeline) -> set[datetime]:
    cuts: set[datetime] = set()
    for element in tariff.elements:
        r = element.restrictions
        for seconds in (r.min_duration, r.max_duration):
            if seconds is not None:
                cuts.add(timeline.start + timedelta(seconds=seconds))
        for kwh in (r.min_kwh, r.max_kwh):
            if kwh is not None:
                reached = timeline.when_energy_reaches(kwh * _THOUSAND)
                if reached is not None:
                    cuts.add(reached)
    return cuts


def _first(
    tariff: Tariff, kind: ComponentType, local: datetime, elapsed: Decimal, energy_wh: Decimal
) -> PriceComponent | None:
    for element in tariff.elements:
        component = element.component(kind)
        if component is not None and _matches(element.restrictions, local, elapsed, energy_wh):
            return component
    return None


def _step_extra(total: Decimal, step: int) -> Decimal:
    """How much rounding ``total`` up to a multiple of ``step`` adds."""
    if step <= 0 or total <= 0:
        return Decimal(0)
    steps = (total / step).to_integral_value(rounding=ROUND_CEILING)
    return steps * step - total


def compute_cost(tariff: Tariff, timeline: SessionTimeline) -> CostBreakdown:
    """The cost of ``timeline`` under ``tariff`` (see the module docstring for every rule)."""
    start, end = timeline.start, timeline.end
    charging_end = timeline.charging_ended()
    grace_end = min(charging_end + timedelta(minutes=tariff.idle_grace_minutes), end)
    cuts = {start, end, charging_end, grace_end}
    cuts |= _clock_cuts(tariff, start, end)
    cuts |= _element_cuts(tariff, timeline)
    instants = sorted(c for c in cuts if start <= c <= end)
    zone = tariff.zone
    periods: list[Period] = []
    last_energy: PriceComponent | None = None
    last_time: PriceComponent | None = None
    last_parking: PriceComponent | None = None
    charging_priced = Decimal(0)
    parking_priced = Decimal(0)
    for a, b in itertools.pairwise(instants):
        seconds = seconds_between(a, b)
        middle = a + (b - a) / 2
        phase = (
            Phase.CHARGING if a < charging_end else Phase.GRACE if a < grace_end else Phase.PARKING
        )
        energy = timeline.energy_at(b) - timeline.energy_at(a)
        local = middle.astimezone(zone)
        elapsed = seconds_between(start, middle)
        so_far = timeline.energy_at(middle)
        energy_component = _first(tariff, ComponentType.ENERGY, local, elapsed, so_far)
        time_component: PriceComponent | None = None
        if phase is Phase.CHARGING:
            time_component = _first(tariff, ComponentType.TIME, local, elapsed, so_far)
            if time_component is not None:
                last_time = time_component
                charging_priced += seconds
        elif phase is Phase.PARKING:
            time_component = _first(tariff, ComponentType.PARKING_TIME, local, elapsed, so_far)
            if time_component is not None:
                last_parking = time_component
                parking_priced += seconds
        if energy_component is not None and (energy > 0 or last_energy is None):
            last_energy = energy_component
        periods.append(
            Period(
                start=a,
                end=b,
                phase=phase,
                energy_wh=energy,
                seconds=seconds,
                energy_price=None if energy_component is None else energy_component.price,
                time_price=None if time_component is None else time_component.price,
                energy_cost=Decimal(0)
                if energy_component is None
                else energy / _THOUSAND * energy_component.price,
                time_cost=Decimal(0)
                if time_component is None
                else seconds / _SIXTY * time_component.price,
            )
        )
    energy_total = timeline.energy_at(end)
    energy_cost = sum((p.energy_cost for p in periods), Decimal(0))
    time_cost = sum((p.time_cost for p in periods if p.phase is Phase.CHARGING), Decimal(0))
    parking_cost = sum((p.time_cost for p in periods if p.phase is Phase.PARKING), Decimal(0))
    if last_energy is not None:
        extra_wh = _step_extra(energy_total, last_energy.step_size)
        energy_cost += extra_wh / _THOUSAND * last_energy.price
    if last_parking is not None and parking_priced > 0:
        parking_cost += (
            _step_extra(parking_priced, last_parking.step_size) / _SIXTY * (last_parking.price)
        )
    elif last_time is not None:
        time_cost += _step_extra(charging_priced, last_time.step_size) / _SIXTY * last_time.price
    flat_component = _first(
        tariff, ComponentType.FLAT, start.astimezone(zone), Decimal(0), Decimal(0)
    )
    flat_cost = Decimal(0) if flat_component is None else flat_component.price

    currency = tariff.currency
    energy_r, time_r = _round(energy_cost, currency), _round(time_cost, currency)
    parking_r, flat_r = _round(parking_cost, currency), _round(flat_cost, currency)
    subtotal = energy_r + time_r + parking_r + flat_r
    net = subtotal
    min_applied = tariff.min_price is not None and net < tariff.min_price
    if min_applied and tariff.min_price is not None:
        net = _round(tariff.min_price, currency)
    max_applied = tariff.max_price is not None and net > tariff.max_price
    if max_applied and tariff.max_price is not None:
        net = _round(tariff.max_price, currency)
    tax = _round(net * tariff.tax_rate, currency)
    charging_seconds = sum((p.seconds for p in periods if p.phase is Phase.CHARGING), Decimal(0))
    return CostBreakdown(
        currency=currency,
        tax_rate=tariff.tax_rate,
        energy_wh=energy_total,
        charging_seconds=charging_seconds,
        parking_seconds=seconds_between(charging_end, end),
        billed_parking_seconds=parking_priced,
        charging_ended_at=charging_end,
        energy=energy_r,
        time=time_r,
        parking=parking_r,
        flat=flat_r,
        subtotal=subtotal,
        net=net,
        tax=tax,
        gross=net + tax,
        min_price_applied=min_applied,
        max_price_applied=max_applied,
        periods=tuple(periods),
    )


# ------------------------------------------------------------------ serialisation

_AMOUNTS = (
    "tax_rate",
    "energy_wh",
    "charging_seconds",
    "parking_seconds",
    "billed_parking_seconds",
    "energy",
    "time",
    "parking",
    "flat",
    "subtotal",
    "net",
    "tax",
    "gross",
)


def _opt(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def breakdown_json(breakdown: CostBreakdown) -> dict[str, Any]:
    """The breakdown as JSON (amounts as decimal strings, so nothing is lost on a round trip)."""
    out: dict[str, Any] = {name: str(getattr(breakdown, name)) for name in _AMOUNTS}
    out |= {
        "currency": breakdown.currency,
        "charging_ended_at": breakdown.charging_ended_at.isoformat(),
        "min_price_applied": breakdown.min_price_applied,
        "max_price_applied": breakdown.max_price_applied,
        "periods": [
            {
                "start": p.start.isoformat(),
                "end": p.end.isoformat(),
                "phase": p.phase.value,
                "energy_wh": str(p.energy_wh),
                "seconds": str(p.seconds),
                "energy_price": _opt(p.energy_price),
                "time_price": _opt(p.time_price),
                "energy_cost": str(p.energy_cost),
                "time_cost": str(p.time_cost),
            }
            for p in breakdown.periods
        ],
    }
    return out


def _periods(items: Iterable[dict[str, Any]]) -> tuple[Period, ...]:
    def dec(value: str | None) -> Decimal | None:
        return None if value is None else Decimal(value)

    return tuple(
        Period(
            start=datetime.fromisoformat(p["start"]),
            end=datetime.fromisoformat(p["end"]),
            phase=Phase(p["phase"]),
            energy_wh=Decimal(p["energy_wh"]),
            seconds=Decimal(p["seconds"]),
            energy_price=dec(p["energy_price"]),
            time_price=dec(p["time_price"]),
            energy_cost=Decimal(p["energy_cost"]),
            time_cost=Decimal(p["time_cost"]),
        )
        for p in items
    )


def breakdown_from_json(data: dict[str, Any]) -> CostBreakdown:
    """Read back what :func:`breakdown_json` wrote."""
    values: dict[str, Any] = {name: Decimal(data[name]) for name in _AMOUNTS}
    return CostBreakdown(
        currency=data["currency"],
        charging_ended_at=datetime.fromisoformat(data["charging_ended_at"]),
        min_price_applied=data["min_price_applied"],
        max_price_applied=data["max_price_applied"],
        periods=_periods(data["periods"]),
        **values,
    )
