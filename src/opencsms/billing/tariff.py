"""Tariffs as data: components, elements with restrictions, and the rules that check them.

The shape follows the OCPI 2.2.1 Tariff module, so a tariff exports to OCPI almost verbatim:

* a :class:`PriceComponent` prices one dimension: ``ENERGY`` (per kWh), ``TIME`` (per minute of
  charging), ``PARKING_TIME`` (per minute of idle time after charging ended, after the grace
  period) or ``FLAT`` (once per session). OCPI prices TIME and PARKING_TIME per *hour*; this CSMS
  takes them per minute, as operators quote them, and the OCPI export multiplies by 60 (exact in
  Decimal). ``step_size`` is in OCPI units: Wh for ENERGY, seconds for TIME/PARKING_TIME.
* a :class:`TariffElement` is components plus :class:`Restrictions` (time of day, dates, days of
  week, kWh and duration windows). For each dimension the *first* element whose restrictions hold
  and that has a component of that dimension prices it (OCPI's rule), so order matters: put the
  restricted elements first and a catch-all last.
* a :class:`Tariff` adds the currency (ISO 4217), the time zone the restrictions are read in, the
  tax (VAT) rate, minimum/maximum price (net), the idle grace period and validity dates.

Money is :class:`~decimal.Decimal` everywhere, never float: :func:`parse_tariff` reads numbers from
their text (``"0.30"``, or a JSON number through ``str``), so 0.1 is 0.1.

Nothing here knows OCPP, storage or the clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "DAYS",
    "ComponentType",
    "InvalidTariff",
    "PriceComponent",
    "Restrictions",
    "Tariff",
    "TariffElement",
    "minor_units",
    "parse_tariff",
    "tariff_json",
]


class InvalidTariff(ValueError):
    """A tariff breaks a rule; the message names the field and the rule."""


class ComponentType(StrEnum):
    ENERGY = "ENERGY"
    TIME = "TIME"
    PARKING_TIME = "PARKING_TIME"
    FLAT = "FLAT"


DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
"""OCPI DayOfWeek names, index = ``date.weekday()``."""

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_ZERO_DECIMALS = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "UYI",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
_THREE_DECIMALS = frozenset(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"])


def minor_units(currency: str) -> int:
    """Decimals of the currency's minor unit (ISO 4217): 2 unless listed otherwise."""
    if currency in _ZERO_DECIMALS:
        return 0
    if currency in _THREE_DECIMALS:
        return 3
    return 2


@dataclass(frozen=True, slots=True)
class PriceComponent:
    type: ComponentType
    price: Decimal
    """Net (excl. VAT): per kWh (ENERGY), per minute (TIME, PARKING_TIME), per session (FLAT)."""
    step_size: int = 0
    """OCPI step_size: Wh (ENERGY) or seconds (TIME/PARKING_TIME) the session total is rounded
    up to; 0: none."""


@dataclass(frozen=True, slots=True)
class Restrictions:
    """When an element applies (OCPI TariffRestrictions; all must hold, absent ones always do).

    Times and dates are local to the tariff's time zone; ``start_*`` inclusive, ``end_*``
    exclusive; an ``end_time`` before ``start_time`` wraps past midnight (22:00-06:00). kWh and
    durations count from the start of the session.
    """

    start_time: time | None = None
    end_time: time | None = None
    start_date: date | None = None
    end_date: date | None = None
    min_kwh: Decimal | None = None
    max_kwh: Decimal | None = None
    min_duration: int | None = None
    """Seconds since the session started."""
    max_duration: int | None = None
    day_of_week: frozenset[int] | None = None
    """``date.weekday()`` numbers (Monday 0)."""

    @property
    def empty(self) -> bool:
        return self == _NO_RESTRICTIONS


_NO_RESTRICTIONS = Restrictions()


@dataclass(frozen=True, slots=True)
class TariffElement:
    components: tuple[PriceComponent, ...]
    restrictions: Restrictions = _NO_RESTRICTIONS

    def component(self, kind: ComponentType) -> PriceComponent | None:
        for component in self.components:
            if component.type is kind:
                return component
        return None


@dataclass(frozen=True, slots=True)
class Tariff:
    """One version of a tariff: what the calculator needs, and nothing it does not."""

    currency: str
    elements: tuple[TariffElement, ...]
    time_zone: str = "UTC"
    tax_rate: Decimal = Decimal(0)
    """VAT as a fraction (0.21 for 21 %); prices are net, tax is added on the net total."""
    min_price: Decimal | None = None
    """Net; a session costing less is billed this."""
    max_price: Decimal | None = None
    """Net; a session costing more is billed this."""
    idle_grace_minutes: int = 0
    """Minutes of idle time after charging ended that PARKING_TIME does not bill."""
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    name: str = ""
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", ZoneInfo(self.time_zone))

    def valid_at(self, at: datetime) -> bool:
        """Whether the tariff may be used for a session starting at ``at``."""
        if self.valid_from is not None and at < self.valid_from:
            return False
        return self.valid_to is None or at < self.valid_to


# ------------------------------------------------------------------------- parsing


def _decimal(value: Any, where: str, *, minimum: Decimal | None = Decimal(0)) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise InvalidTariff(f"{where} must be a number (or a decimal string)")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise InvalidTariff(f"{where} is not a number: {value!r}") from None
    if not number.is_finite():
        raise InvalidTariff(f"{where} must be finite")
    if minimum is not None and number < minimum:
        raise InvalidTariff(f"{where} must not be negative")
    return number


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidTariff(f"{where} must be a whole number, 0 or more")
    return int(value)


def _time(value: Any, where: str) -> time:
    match = _HHMM.match(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidTariff(f"{where} must be a time of day HH:MM (00:00-23:59)")
    return time(int(match[1]), int(match[2]))


def _date(value: Any, where: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidTariff(f"{where} must be a date YYYY-MM-DD") from None


def _datetime(value: Any, where: str) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise InvalidTariff(f"{where} must be an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise InvalidTariff(f"{where} needs a UTC offset (e.g. 2026-01-01T00:00:00Z)")
    return parsed


def _known(data: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise InvalidTariff(f"{where} has unknown fields: {', '.join(sorted(unknown))}")


def _component(data: Any, where: str) -> PriceComponent:
    if not isinstance(data, dict):
        raise InvalidTariff(f"{where} must be an object")
    _known(data, {"type", "price", "step_size"}, where)
    try:
        kind = ComponentType(str(data.get("type")))
    except ValueError:
        raise InvalidTariff(
            f"{where}.type must be one of {', '.join(t.value for t in ComponentType)}"
        ) from None
    if "price" not in data:
        raise InvalidTariff(f"{where}.price is required")
    step = _int(data.get("step_size", 0), f"{where}.step_size")
    if kind is ComponentType.FLAT and step:
        raise InvalidTariff(f"{where}.step_size has no meaning for a FLAT component")
    return PriceComponent(kind, _decimal(data["price"], f"{where}.price"), step)


_RESTRICTION_FIELDS = {
    "start_time",
    "end_time",
    "start_date",
    "end_date",
    "min_kwh",
    "max_kwh",
    "min_duration",
    "max_duration",
    "day_of_week",
}


def _restrictions(data: Any, where: str) -> Restrictions:
    if data is None:
        return _NO_RESTRICTIONS
    if not isinstance(data, dict):
        raise InvalidTariff(f"{where} must be an object")
    _known(data, _RESTRICTION_FIELDS, where)

    def opt(name: str, parse: Any) -> Any:
        value = data.get(name)
        return None if value is None else parse(value, f"{where}.{name}")

    days = data.get("day_of_week")
    day_set: frozenset[int] | None = None
    if days is not None:
        if not isinstance(days, list) or not days or any(d not in DAYS for d in days):
            raise InvalidTariff(f"{where}.day_of_week must be a non-empty list of {'/'.join(DAYS)}")
        day_set = frozenset(DAYS.index(d) for d in days)
    restrictions = Restrictions(
        start_time=opt("start_time", _time),
        end_time=opt("end_time", _time),
        start_date=opt("start_date", _date),
        end_date=opt("end_date", _date),
        min_kwh=opt("min_kwh", _decimal),
        max_kwh=opt("max_kwh", _decimal),
        min_duration=opt("min_duration", _int),
        max_duration=opt("max_duration", _int),
        day_of_week=day_set,
    )
    r = restrictions
    if r.start_time is not None and r.start_time == r.end_time:
        raise InvalidTariff(f"{where}: start_time and end_time are equal (an empty window)")
    for low, high, name in (
        (r.start_date, r.end_date, "date"),
        (r.min_kwh, r.max_kwh, "kwh"),
        (r.min_duration, r.max_duration, "duration"),
    ):
        if low is not None and high is not None and low >= high:  # type: ignore[operator]
            raise InvalidTariff(f"{where}: the {name} window is empty (min/start >= max/end)")
    return restrictions


def parse_tariff(data: Any) -> Tariff:
    """Check and read a tariff from its JSON form (see docs/tariffs.md); raises
    :class:`InvalidTariff` with a message naming the field."""
    if not isinstance(data, dict):
        raise InvalidTariff("a tariff must be an object")
    allowed = {"name", "currency", "time_zone", "tax_rate", "min_price", "max_price"}
    allowed |= {"idle_grace_minutes", "valid_from", "valid_to", "elements"}
    _known(data, allowed, "tariff")
    currency = data.get("currency")
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        raise InvalidTariff("currency must be an ISO 4217 code of three capital letters (EUR)")
    zone_name = data.get("time_zone", "UTC")
    try:
        ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidTariff(f"time_zone {zone_name!r} is not an IANA time zone") from None
    elements_data = data.get("elements")
    if not isinstance(elements_data, list) or not elements_data:
        raise InvalidTariff("elements must be a non-empty list")
    elements: list[TariffElement] = []
    for i, element in enumerate(elements_data):
        where = f"elements[{i}]"
        if not isinstance(element, dict):
            raise InvalidTariff(f"{where} must be an object")
        _known(element, {"components", "restrictions"}, where)
        components = element.get("components")
        if not isinstance(components, list) or not components:
            raise InvalidTariff(f"{where}.components must be a non-empty list")
        parsed = tuple(_component(c, f"{where}.components[{j}]") for j, c in enumerate(components))
        kinds = [c.type for c in parsed]
        if len(set(kinds)) != len(kinds):
            raise InvalidTariff(f"{where} prices a dimension twice")
        elements.append(TariffElement(parsed, _restrictions(element.get("restrictions"), where)))
    tax = _decimal(data.get("tax_rate", 0), "tax_rate")
    if tax >= 1:
        raise InvalidTariff("tax_rate is a fraction: 0.21 for 21 %")
    min_price = None if data.get("min_price") is None else _decimal(data["min_price"], "min_price")
    max_price = None if data.get("max_price") is None else _decimal(data["max_price"], "max_price")
    if min_price is not None and max_price is not None and min_price > max_price:
        raise InvalidTariff("min_price is above max_price")
    valid_from = (
        None if data.get("valid_from") is None else _datetime(data["valid_from"], "valid_from")
    )
    valid_to = None if data.get("valid_to") is None else _datetime(data["valid_to"], "valid_to")
    if valid_from is not None and valid_to is not None and valid_from >= valid_to:
        raise InvalidTariff("valid_from must be before valid_to")
    name = data.get("name", "")
    if not isinstance(name, str) or len(name) > 200:
        raise InvalidTariff("name must be a string of at most 200 characters")
    return Tariff(
        currency=currency,
        elements=tuple(elements),
        time_zone=zone_name,
        tax_rate=tax,
        min_price=min_price,
        max_price=max_price,
        idle_grace_minutes=_int(data.get("idle_grace_minutes", 0), "idle_grace_minutes"),
        valid_from=valid_from,
        valid_to=valid_to,
        name=name,
    )


def _restrictions_json(r: Restrictions) -> dict[str, Any] | None:
    if r.empty:
        return None
    out: dict[str, Any] = {}
    if r.start_time is not None:
        out["start_time"] = r.start_time.strftime("%H:%M")
    if r.end_time is not None:
        out["end_time"] = r.end_time.strftime("%H:%M")
    if r.start_date is not None:
        out["start_date"] = r.start_date.isoformat()
    if r.end_date is not None:
        out["end_date"] = r.end_date.isoformat()
    for name in ("min_kwh", "max_kwh"):
        value = getattr(r, name)
        if value is not None:
            out[name] = str(value)
    for name in ("min_duration", "max_duration"):
        value = getattr(r, name)
        if value is not None:
            out[name] = value
    if r.day_of_week is not None:
        out["day_of_week"] = [DAYS[d] for d in sorted(r.day_of_week)]
    return out


def tariff_json(tariff: Tariff) -> dict[str, Any]:
    """The JSON form :func:`parse_tariff` reads (amounts as decimal strings)."""
    elements = []
    for element in tariff.elements:
        item: dict[str, Any] = {
            "components": [
                {"type": c.type.value, "price": str(c.price)}
                | ({"step_size": c.step_size} if c.step_size else {})
                for c in element.components
            ]
        }
        restrictions = _restrictions_json(element.restrictions)
        if restrictions is not None:
            item["restrictions"] = restrictions
        elements.append(item)
    return {
        "name": tariff.name,
        "currency": tariff.currency,
        "time_zone": tariff.time_zone,
        "tax_rate": str(tariff.tax_rate),
        "min_price": None if tariff.min_price is None else str(tariff.min_price),
        "max_price": None if tariff.max_price is None else str(tariff.max_price),
        "idle_grace_minutes": tariff.idle_grace_minutes,
        "valid_from": None if tariff.valid_from is None else tariff.valid_from.isoformat(),
        "valid_to": None if tariff.valid_to is None else tariff.valid_to.isoformat(),
        "elements": elements,
    }
