"""Pricing: tariffs (Decimal money, OCPI-shaped elements and restrictions) and the cost of a
session's time line. Pure: no OCPP, no storage, no clock (docs/tariffs.md)."""

from .calculator import (
    CostBreakdown,
    Period,
    Phase,
    breakdown_from_json,
    breakdown_json,
    compute_cost,
)
from .tariff import (
    DAYS,
    ComponentType,
    InvalidTariff,
    PriceComponent,
    Restrictions,
    Tariff,
    TariffElement,
    minor_units,
    parse_tariff,
    tariff_json,
)
from .timeline import SessionTimeline, seconds_between

__all__ = [
    "DAYS",
    "ComponentType",
    "CostBreakdown",
    "InvalidTariff",
    "Period",
    "Phase",
    "PriceComponent",
    "Restrictions",
    "SessionTimeline",
    "Tariff",
    "TariffElement",
    "breakdown_from_json",
    "breakdown_json",
    "compute_cost",
    "minor_units",
    "parse_tariff",
    "seconds_between",
    "tariff_json",
]
