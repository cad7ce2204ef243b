"""The simulated 2.0.1 / 2.1 station as an ISO 15118 EV's charger (2.0.1 K15, K17) and as the
messenger of external limits (K12, K13).

With ``StationConfig.iso15118`` set, once a transaction's start is acknowledged the station
forwards the EV's ChargeParameterDiscovery as NotifyEVChargingNeeds (K15.FR.01): AC or DC
parameters from the EV model (:mod:`opencsms.simulator.ev`), the energy to a full battery and a
departure time. When the CSMS then sets a TxProfile for that transaction, the station answers
it like an EV choosing its schedule (K15.FR.07/10): NotifyEVChargingSchedule with the station's
composite limits from now (so within the profile), capped at what the EV accepts, at most the
``maxScheduleTuples`` it announced.

:meth:`Iso15118.notify_charging_limit` / :meth:`Iso15118.cleared_charging_limit` play an
external system (EMS, system operator) limiting or releasing the station (tests and scenarios).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from opencsms.clock import utc_iso
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator.connection import AfterAnswer
from opencsms.smartcharging import ChargingProfile, ProfilePurpose, RateUnit

if TYPE_CHECKING:
    from opencsms.simulator.station import SimulatedStation

__all__ = ["Iso15118", "Iso15118Exchange"]

_AC_MIN_CURRENT_A = 6
"""IEC 61851-1: the lowest current a PWM pilot signal may offer."""


@dataclass(slots=True)
class Iso15118Exchange:
    """What happened on one EVSE: the answers the CSMS gave to the needs and the schedules."""

    needs_answers: list[dict[str, Any]] = field(default_factory=list)
    schedules_sent: list[dict[str, Any]] = field(default_factory=list)
    schedule_answers: list[dict[str, Any]] = field(default_factory=list)


class Iso15118:
    """The station's ISO 15118 side (one per station); inert unless configured."""

    def __init__(self, station: SimulatedStation) -> None:
        self.station = station
        self.exchanges: dict[int, Iso15118Exchange] = {}
        """Per EVSE, what was exchanged with the CSMS (for tests and scenarios)."""

    @property
    def enabled(self) -> bool:
        station = self.station
        return station.config.iso15118 is not None and station.version is not OcppVersion.V16

    def exchange(self, evse: int) -> Iso15118Exchange:
        return self.exchanges.setdefault(evse, Iso15118Exchange())

    # ------------------------------------------------------------------- EV needs (K15)

    def needs_payload(self, evse: int) -> dict[str, Any]:
        """NotifyEVChargingNeedsRequest from the EV plugged into ``evse`` (K15.FR.01)."""
        station = self.station
        config = station.config.iso15118
        assert config is not None
        meter = station.meter(evse)
        ev = meter.ev
        battery = ev.battery_wh if ev is not None else 60_000.0
        soc = ev.soc if ev is not None else 0.0
        ev_power = ev.max_power_w if ev is not None else meter.config.max_power_w
        energy = round(max(0.0, (100.0 - soc) / 100.0 * battery))
        departure = station.clock.now() + timedelta(seconds=config.departure_s)
        needs: dict[str, Any] = {"departureTime": utc_iso(departure.replace(microsecond=0))}
        if config.dc:
            voltage = config.dc_voltage_v
            needs["requestedEnergyTransfer"] = "DC"
            needs["dcChargingParameters"] = {
                "evMaxCurrent": int(ev_power / voltage),
                "evMaxVoltage": int(voltage),
                "evMaxPower": int(ev_power),
                "energyAmount": energy,
                "stateOfCharge": int(soc),
                "evEnergyCapacity": int(battery),
            }
        else:
            phases = meter.config.phases
            voltage = meter.config.voltage_v
            needs["requestedEnergyTransfer"] = {1: "AC_single_phase", 2: "AC_two_phase"}.get(
                phases, "AC_three_phase"
            )
            needs["acChargingParameters"] = {
                "energyAmount": energy,
                "evMinCurrent": _AC_MIN_CURRENT_A,
                "evMaxCurrent": int(ev_power / (voltage * phases)),
                "evMaxVoltage": int(voltage),
            }
        return {
            "evseId": evse,
            "maxScheduleTuples": config.max_schedule_tuples,
            "chargingNeeds": needs,
        }

    def transaction_started(self, evse: int) -> None:
        """The CSMS acknowledged a transaction's start on ``evse``: send the EV's needs."""
        if self.enabled:
            self.station.spawn(lambda: self._send_needs(evse))

    async def _send_needs(self, evse: int) -> None:
        answer = await self.station.call("NotifyEVChargingNeeds", self.needs_payload(evse))
        self.exchange(evse).needs_answers.append(answer)
        await self.station.notify_changed()

    # --------------------------------------------------------------- EV schedule (K15.FR.10)

    def profile_accepted(self, profile: ChargingProfile) -> AfterAnswer | None:
        """A SetChargingProfile was accepted: a TxProfile of the EVSE's running transaction
        makes the EV choose its schedule within it; the work to run once the answer is on the
        wire (the CSMS records the profile on that answer), or ``None``."""
        if not self.enabled or profile.purpose is not ProfilePurpose.TX:
            return None
        evse = profile.evse
        if profile.transaction_id != self.station.sessions.transaction_id(evse):
            return None
        return lambda: self._send_schedule(evse, profile)

    def schedule_payload(self, evse: int, profile: ChargingProfile) -> dict[str, Any]:
        """NotifyEVChargingScheduleRequest: the composite limits of ``evse`` from now over the
        profile's schedule, capped at the EV's power, in the profile's unit."""
        station = self.station
        config = station.config.iso15118
        assert config is not None
        unit = profile.schedule.rate_unit
        span = profile.schedule.duration or config.schedule_span_s
        composite = station.charging.composite(evse, span, unit)
        meter = station.meter(evse)
        ev_power = meter.ev.max_power_w if meter.ev is not None else meter.config.max_power_w
        ev_max = (
            ev_power
            if unit is RateUnit.W
            else ev_power / (meter.config.voltage_v * meter.config.phases)
        )
        periods: list[dict[str, Any]] = []
        for period in composite.periods[: config.max_schedule_tuples]:
            limit = ev_max if period.limit is None else min(period.limit, ev_max)
            value = round(int(limit * 10) / 10, 1)  # down to one decimal: never above the limit
            if periods and periods[-1]["limit"] == value:
                continue
            periods.append({"startPeriod": period.start_period, "limit": value})
        schedule: dict[str, Any] = {
            "id": profile.schedule.schedule_id or 1,
            "chargingRateUnit": unit.value,
            "duration": span,
            "chargingSchedulePeriod": periods,
        }
        return {"timeBase": utc_iso(composite.start), "evseId": evse, "chargingSchedule": schedule}

    async def _send_schedule(self, evse: int, profile: ChargingProfile) -> None:
        payload = self.schedule_payload(evse, profile)
        exchange = self.exchange(evse)
        exchange.schedules_sent.append(payload)
        answer = await self.station.call("NotifyEVChargingSchedule", payload)
        exchange.schedule_answers.append(answer)
        await self.station.notify_changed()

    # --------------------------------------------------------- external limits (K12, K13)

    async def notify_charging_limit(
        self,
        source: str,
        *,
        evse: int | None = None,
        grid_critical: bool | None = None,
        schedules: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Tell the CSMS an external system (``source``: EMS, SO, Other, ...) limits the station
        or ``evse`` (K12.FR.01); returns the CSMS's answer."""
        limit: dict[str, Any] = {"chargingLimitSource": source}
        if grid_critical is not None:
            limit["isGridCritical"] = grid_critical
        payload: dict[str, Any] = {"chargingLimit": limit}
        if evse is not None:
            payload["evseId"] = evse
        if schedules:
            payload["chargingSchedule"] = schedules
        return await self.station.call("NotifyChargingLimit", payload)

    async def cleared_charging_limit(
        self, source: str, *, evse: int | None = None
    ) -> dict[str, Any]:
        """Tell the CSMS ``source`` released its limit (K13.FR.01); returns the answer."""
        payload: dict[str, Any] = {"chargingLimitSource": source}
        if evse is not None:
            payload["evseId"] = evse
        return await self.station.call("ClearedChargingLimit", payload)
