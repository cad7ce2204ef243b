"""The electrical model of one EVSE and the EV plugged into it.

Time comes from the caller (seconds on a monotonic clock), so tests can advance it by hand. The
model is deliberately simple but physically consistent: power follows the lower of the EVSE's
limit and what the EV accepts (which tapers above 80 % SoC like a real CC/CV battery charge),
the energy register integrates power over time and never decreases (1.6 §7.31
Energy.Active.Import.Register is a register), and the SoC rises with the energy delivered.
"""

from __future__ import annotations

from dataclasses import dataclass

from opencsms.simulator.config import EvseConfig

__all__ = ["EvModel", "EvseMeter", "MeterSample"]

#: Above this SoC the EV's accepted power falls linearly to zero at 100 % (CV phase).
TAPER_START_SOC = 80.0


@dataclass(slots=True)
class EvModel:
    """An electric vehicle: battery size, state of charge and the most power it accepts."""

    battery_wh: float = 60_000.0
    soc: float = 20.0
    max_power_w: float = 11_000.0

    def accepted_power(self) -> float:
        """What the EV draws at its current SoC, before the EVSE's limit."""
        if self.soc >= 100.0:
            return 0.0
        if self.soc <= TAPER_START_SOC:
            return self.max_power_w
        return self.max_power_w * (100.0 - self.soc) / (100.0 - TAPER_START_SOC)


@dataclass(frozen=True, slots=True)
class MeterSample:
    """One reading of an EVSE's meter: what a MeterValues message reports."""

    energy_wh: float
    power_w: float
    currents_a: tuple[float, ...]
    """Per phase, L1 first; one entry for a single-phase EVSE."""
    voltage_v: float
    soc: float | None
    """``None`` when no EV is plugged in (nothing to report)."""


class EvseMeter:
    """The meter and power flow of one EVSE; call :meth:`advance` before reading it."""

    def __init__(self, config: EvseConfig, now: float) -> None:
        self.config = config
        self.limit_w = config.max_power_w
        self.energy_wh = 0.0
        self.ev: EvModel | None = None
        self.enabled = True
        """Power may flow (the connector is operative)."""
        self._last = now

    @property
    def power_w(self) -> float:
        """The power flowing now."""
        if self.ev is None or not self.enabled:
            return 0.0
        return max(0.0, min(self.limit_w, self.config.max_power_w, self.ev.accepted_power()))

    def set_limit(self, limit_w: float, now: float) -> None:
        """Change the power limit (e.g. a charging profile); energy so far is booked first."""
        self.advance(now)
        self.limit_w = max(0.0, limit_w)

    def plug(self, ev: EvModel, now: float) -> None:
        """Connect ``ev``; it starts drawing power at once if the EVSE is enabled."""
        self.advance(now)
        self.ev = ev

    def unplug(self, now: float) -> EvModel | None:
        """Disconnect the EV and return it."""
        self.advance(now)
        ev, self.ev = self.ev, None
        return ev

    def set_enabled(self, enabled: bool, now: float) -> None:
        """Open or close the contactor (ChangeAvailability)."""
        self.advance(now)
        self.enabled = enabled

    def advance(self, now: float) -> None:
        """Integrate energy and SoC up to ``now``.

        The power is held constant over the step except that the SoC is capped at 100 %, so a
        long step cannot overfill the battery. Steps backwards in time are ignored.
        """
        dt = now - self._last
        if dt <= 0:
            return
        self._last = now
        power = self.power_w
        if power <= 0 or self.ev is None:
            return
        ev = self.ev
        energy = power * dt / 3600.0
        room_wh = (100.0 - ev.soc) / 100.0 * ev.battery_wh
        energy = min(energy, room_wh)
        self.energy_wh += energy
        ev.soc = min(100.0, ev.soc + energy / ev.battery_wh * 100.0)

    def sample(self, now: float) -> MeterSample:
        """Read the meter at ``now``."""
        self.advance(now)
        power = self.power_w
        phases = self.config.phases
        voltage = self.config.voltage_v
        current = power / (voltage * phases)
        return MeterSample(
            energy_wh=self.energy_wh,
            power_w=power,
            currents_a=tuple(current for _ in range(phases)),
            voltage_v=voltage,
            soc=self.ev.soc if self.ev is not None else None,
        )
