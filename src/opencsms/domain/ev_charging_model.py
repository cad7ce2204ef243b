"""What an EV and an external system tell the CSMS about charging limits (2.0.1 K12-K17).

Version-neutral records built by the 2.0.1 / 2.1 handlers from NotifyEVChargingNeeds (K15,
ISO 15118 ChargeParameterDiscovery), NotifyEVChargingSchedule (K17) and NotifyChargingLimit /
ClearedChargingLimit (K12, K13). The EV's needs feed the load-management allocator
(:mod:`opencsms.domain.load_management`), which answers them with a TxProfile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["EvChargingNeeds", "EvChargingSchedule", "ExternalLimit"]


@dataclass(frozen=True, slots=True)
class EvChargingNeeds:
    """One NotifyEVChargingNeeds (K15): what the EV asks for on an EVSE.

    AC parameters are per phase (amperes) and ``energy_amount_wh`` what the EV wants in total;
    DC ones are ``dc_*``. ``departure_time`` is when the driver leaves (``None``: not given).
    """

    station_id: str
    evse_id: int
    requested_energy_transfer: str
    """AC_single_phase, AC_two_phase, AC_three_phase or DC (2.0.1 EnergyTransferModeEnumType)."""
    received_at: datetime
    departure_time: datetime | None = None
    energy_amount_wh: float | None = None
    ac_min_current_a: float | None = None
    ac_max_current_a: float | None = None
    ac_max_voltage_v: float | None = None
    dc_max_current_a: float | None = None
    dc_max_voltage_v: float | None = None
    dc_max_power_w: float | None = None
    state_of_charge: int | None = None
    max_schedule_tuples: int | None = None
    transaction_id: str | None = None
    """The transaction running on the EVSE when the needs arrived (the TxProfile that answers
    them must carry it, K01.FR.03); ``None`` when none ran (the needs were Rejected)."""

    @property
    def phases(self) -> int:
        """Phases the EV charges on (DC counts as three for the grid side)."""
        return {"AC_single_phase": 1, "AC_two_phase": 2}.get(self.requested_energy_transfer, 3)


@dataclass(frozen=True, slots=True)
class ExternalLimit:
    """A limit set on the station by a system other than the CSMS (K12 NotifyChargingLimit;
    ``cleared`` for K13 ClearedChargingLimit). ``evse_id`` ``None`` or 0: the whole station.
    ``limit_a`` / ``limit_w`` is the lowest limit of its schedule at the time it was reported,
    when the report carried a schedule in that unit."""

    station_id: str
    source: str
    """EMS, Other, SO (system operator) or CSO (2.0.1 ChargingLimitSourceEnumType)."""
    received_at: datetime
    evse_id: int | None = None
    grid_critical: bool | None = None
    cleared: bool = False
    limit_a: float | None = None
    limit_w: float | None = None


@dataclass(frozen=True, slots=True)
class EvChargingSchedule:
    """One NotifyEVChargingSchedule (K15.FR.10, K17): the schedule the EV chose, relative to
    ``time_base``, as the station forwarded it (``schedule`` is the verbatim OCPP
    ChargingScheduleType). ``within_limits`` is the CSMS's own check against the TxProfile it
    holds for the running transaction (K15.FR.11/12): ``False`` was answered Rejected and calls
    for a new negotiation (K15.FR.13, use case K16); ``reason`` / ``detail`` say why."""

    station_id: str
    evse_id: int
    time_base: datetime
    schedule: dict[str, object]
    received_at: datetime
    within_limits: bool = True
    transaction_id: str | None = None
    reason: str | None = None
    detail: str | None = None
