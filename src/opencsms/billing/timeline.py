"""A session's time line as the calculator sees it: register readings and charging states.

Energy between two instants comes from the energy register, linearly interpolated between
readings (a register is cumulative: interpolation never loses or double counts energy; it only
places it in time). Before the first reading the register is taken as the first reading, after the
last one as the last one. The service puts the session's begin/end registers (1.6 meterStart /
meterStop, 2.0.1 Transaction.Begin / Transaction.End) at the session's start and stop.

When did charging end? The idle (parking) fee starts there, so the rule is conservative — doubt
goes to the driver — and uses both signals a station gives:

* energy flow: the last reading that shows the register rising. Field reason: many 1.6 chargers
  keep reporting ``Charging`` while a full EV draws nothing, so a status alone would never end
  charging.
* states: the end of the last interval the station reported as charging (2.0.1 chargingState
  ``Charging``; 1.6 status ``Charging``). Field reason: readings are sparse (every 5-15 min, or
  only begin/end), so a session whose last periodic reading came early would otherwise start idle
  fees while the EV still charges; and some EVs pause (SuspendedEV) mid-session while balancing.

Charging ended at the *later* of the two moments that are known. Unknown both: it did not end
(no idle time). Pauses in the middle of a session are charging time; only the tail after the
moment charging ended is idle time.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

__all__ = ["SessionTimeline", "seconds_between"]

_MICRO = Decimal("0.000001")


def seconds_between(a: datetime, b: datetime) -> Decimal:
    """Exact seconds from ``a`` to ``b`` (microsecond resolution) as a Decimal."""
    delta = b - a
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return Decimal(micros) * _MICRO


@dataclass(frozen=True, slots=True)
class SessionTimeline:
    """What is known of one session: ``start``/``end`` (UTC, aware; ``end`` is "now" for a running
    session), register ``readings`` (instant, Wh) and ``states`` (instant, charging?) changes,
    each in time order."""

    start: datetime
    end: datetime
    readings: Sequence[tuple[datetime, Decimal]] = ()
    states: Sequence[tuple[datetime, bool]] = ()

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a session cannot end before it starts")
        object.__setattr__(self, "readings", tuple(sorted(self.readings, key=lambda r: r[0])))
        object.__setattr__(self, "states", tuple(sorted(self.states, key=lambda s: s[0])))

    # ------------------------------------------------------------------ energy

    def register_at(self, at: datetime) -> Decimal:
        """The register (Wh) at ``at``, interpolated; 0 without readings."""
        readings = self.readings
        if not readings:
            return Decimal(0)
        if at <= readings[0][0]:
            return readings[0][1]
        for (t0, v0), (t1, v1) in itertools.pairwise(readings):
            if at <= t1:
                span = seconds_between(t0, t1)
                if span == 0:
                    return v1
                return v0 + (v1 - v0) * seconds_between(t0, at) / span
        return readings[-1][1]

    def energy_at(self, at: datetime) -> Decimal:
        """Wh delivered from the session's start to ``at`` (never negative: a register that
        went backwards, e.g. a meter swap, counts as no energy)."""
        return max(self.register_at(at) - self.register_at(self.start), Decimal(0))

    def when_energy_reaches(self, wh: Decimal) -> datetime | None:
        """The first instant within the session at which :meth:`energy_at` reaches ``wh``."""
        if wh <= 0:
            return self.start
        base = self.register_at(self.start)
        target = base + wh
        points = [(self.start, base)]
        points += [(t, v) for t, v in self.readings if self.start < t < self.end]
        points.append((self.end, self.register_at(self.end)))
        for (t0, v0), (t1, v1) in itertools.pairwise(points):
            if v0 < target <= v1:
                fraction = (target - v0) / (v1 - v0)
                micros = int(seconds_between(t0, t1) * fraction * 1_000_000)
                return t0 + timedelta(microseconds=micros)
        return None

    # ------------------------------------------------------------- charging end

    def last_energy_rise(self) -> datetime | None:
        """The last reading (within the session) that shows the register rising; ``None`` when
        fewer than two readings make energy flow unknowable."""
        inside = [(t, v) for t, v in self.readings if self.start <= t <= self.end]
        if len(inside) < 2:
            return None
        last = self.start
        for (_t0, v0), (t1, v1) in itertools.pairwise(inside):
            if v1 > v0:
                last = t1
        return last

    def last_charging_state_end(self) -> datetime | None:
        """When the last interval reported as charging ended (``end`` if it has not);
        ``None`` without any state."""
        if not self.states:
            return None
        charging = False
        ended = self.start
        for at, is_charging in self.states:
            at = min(max(at, self.start), self.end)
            if is_charging and not charging:
                charging = True
            elif not is_charging and charging:
                charging = False
                ended = at
        return self.end if charging else ended

    def charging_ended(self) -> datetime:
        """The moment idle time starts (see the module docstring): the later of the known
        signals, or ``end`` when neither is known."""
        known = [m for m in (self.last_energy_rise(), self.last_charging_state_end()) if m]
        if not known:
            return self.end
        return min(max(max(known), self.start), self.end)
