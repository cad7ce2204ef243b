"""Fault injection: what a badly behaved charging station does, switchable for CSMS testing.

Each switch mirrors something seen in the field:

* ``duplicate_transaction_messages`` — every queued transaction message is sent a second time
  after its answer (a station that lost the answer and retried; OCPP requires the CSMS to be
  idempotent about it).
* ``reverse_queued_events`` — after a reconnect, queued 2.x TransactionEvents go out newest first
  (a station whose offline store is a stack; the CSMS must apply them in seqNo order).
* ``clock_skew`` — the station's clock runs ahead (positive) or behind (negative) by this many
  seconds; every timestamp it sends is off by that much.

Malformed frames and schema-invalid payloads are sent on demand with
:meth:`SimulatedStation.send_raw` and :meth:`SimulatedStation.call_unchecked`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from opencsms.clock import Clock

__all__ = ["FaultSettings", "SkewedClock"]


@dataclass(slots=True)
class FaultSettings:
    """The switchable faults of one station (all off by default)."""

    duplicate_transaction_messages: bool = False
    reverse_queued_events: bool = False


class SkewedClock:
    """The station's own clock: the real (or test) clock plus a settable skew."""

    def __init__(self, base: Clock, skew_s: float = 0.0) -> None:
        self.base = base
        self.skew = timedelta(seconds=skew_s)

    def now(self) -> datetime:
        return self.base.now() + self.skew

    def monotonic(self) -> float:
        return self.base.monotonic()  # deadlines and the meter run on true elapsed time
