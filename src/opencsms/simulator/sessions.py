"""Charging sessions on a simulated station: authorization, transactions, sampled metering.

(Being filled in: 1.6 Authorize/StartTransaction/StopTransaction, 2.x TransactionEvent.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opencsms.simulator.connection import AfterAnswer, HandlerFn

if TYPE_CHECKING:
    from opencsms.simulator.station import SimulatedStation

__all__ = ["ROUTES_2", "ROUTES_16", "Sessions"]


class Sessions:
    """Transactions of one station."""

    def __init__(self, station: SimulatedStation) -> None:
        self.station = station

    def transaction_id(self, evse: int) -> str | None:
        """The id of the transaction open on ``evse`` (1.6: the CSMS's id as text), or None."""
        return None

    def trigger(self, requested: str) -> AfterAnswer | None:
        """The follow-up for TriggerMessage ``requested`` if it is ours, else ``None``."""
        return None


ROUTES_16: dict[str, HandlerFn] = {}
ROUTES_2: dict[str, HandlerFn] = {}
