"""Sharing a station-wide power budget between EVSEs.

A station-wide limit (1.6 ChargePointMaxProfile, 2.x ChargingStationMaxProfile) is "the limit for
all connectors combined" (1.6 §3.13.3): the composite schedule of one EVSE says what that EVSE may
draw alone, but EVSEs charging at the same time must share. :func:`share_power` splits the budget
by water-filling: EVSEs that want less than an equal share get what they want, the rest share what
remains equally.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["share_power"]


def share_power(
    budget_w: float | None, caps_w: Sequence[float | None], demands_w: Sequence[float]
) -> list[float | None]:
    """Per-EVSE limits that keep the EVSEs together within ``budget_w``.

    ``caps_w`` are the EVSEs' own limits (``None``: none), ``demands_w`` what each would draw
    now (0 for an idle EVSE). Each EVSE's limit is what the others leave of the budget after
    their share, within its own cap: when the budget suffices every EVSE keeps headroom above
    its demand; when it does not, the limits add up to exactly the budget. ``budget_w`` ``None``
    returns the caps unchanged.
    """
    if len(caps_w) != len(demands_w):
        raise ValueError("one cap and one demand per EVSE")
    if budget_w is None:
        return list(caps_w)
    budget = max(0.0, budget_w)
    wants = [
        max(0.0, demand if cap is None else min(demand, cap))
        for cap, demand in zip(caps_w, demands_w, strict=True)
    ]
    shares = [0.0] * len(wants)
    remaining, left = budget, len(wants)
    for index in sorted(range(len(wants)), key=wants.__getitem__):
        shares[index] = min(wants[index], remaining / left)
        remaining -= shares[index]
        left -= 1
    taken = sum(shares)
    limits: list[float | None] = []
    for cap, share in zip(caps_w, shares, strict=True):
        headroom = max(0.0, budget - (taken - share))
        limits.append(headroom if cap is None else min(cap, headroom))
    return limits
