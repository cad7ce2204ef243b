"""Smart charging on a simulated station: installed charging profiles and the limit they set.

Answers SetChargingProfile / ClearChargingProfile / GetCompositeSchedule (1.6 §3.13, 2.0.1 K)
and applies the composite limit to each EVSE's meter. (Filled in by the smart-charging work.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opencsms.simulator.connection import HandlerFn

if TYPE_CHECKING:
    from opencsms.simulator.station import SimulatedStation

__all__ = ["ROUTES_2", "ROUTES_16", "ChargingProfiles"]


class ChargingProfiles:
    """The charging profiles installed on one station."""

    def __init__(self, station: SimulatedStation) -> None:
        self.station = station

    def apply(self) -> None:
        """Set every EVSE's power limit from the profiles in force now (station clock)."""

    def on_transaction_started(self, evse: int, transaction_id: str) -> None:
        """A transaction started on ``evse``: a TxProfile may now bind to it."""

    def on_transaction_ended(self, evse: int, transaction_id: str) -> None:
        """The transaction ended: its TxProfiles are removed (1.6 §3.13.2, K01.FR.05)."""


ROUTES_16: dict[str, HandlerFn] = {}
ROUTES_2: dict[str, HandlerFn] = {}
