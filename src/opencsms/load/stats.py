"""What a load run observed: per-kind counters, latency histograms, connection events.

Everything here is plain counting on the hot path (one dict lookup and an integer add per CALL);
percentiles are computed once, at report time, from log-bucketed histograms.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from opencsms.load.histogram import Histogram

__all__ = [
    "BOOT",
    "ERROR_CLOSED",
    "ERROR_INVALID",
    "ERROR_TIMEOUT",
    "Histogram",
    "KindStats",
    "LoadStats",
]

BOOT = "boot"
"""The kind under which BootNotification CALLs are counted (they are not part of the mix)."""
ERROR_TIMEOUT = "timeout"
"""No answer within the call timeout (OCPP-J §4.1.1)."""
ERROR_INVALID = "invalid_response"
"""A CALLRESULT that broke its response schema."""
ERROR_CLOSED = "connection_closed"
"""The connection dropped while the CALL was outstanding."""


@dataclass(slots=True)
class KindStats:
    """CALLs of one message kind: sent, answered with a CALLRESULT, failed by code, latency."""

    sent: int = 0
    answered: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latency: Histogram = field(default_factory=Histogram)

    def to_dict(self, seconds: float | None) -> dict[str, Any]:
        """JSON-ready; ``msg_per_s`` is answers per second of ``seconds`` (when given)."""
        rate = round(self.answered / seconds, 1) if seconds else None
        return {
            "sent": self.sent,
            "answered": self.answered,
            "errors": dict(self.errors),
            "unanswered": self.sent - self.answered - sum(self.errors.values()),
            "msg_per_s": rate,
            "latency_ms": self.latency.summary_ms(),
        }


@dataclass(slots=True)
class LoadStats:
    """Counters of one run. Mix kinds are counted for CALLs sent in the hold phase only; boots,
    connects and heartbeats of the ramp are counted whenever they happen."""

    kinds: dict[str, KindStats] = field(default_factory=dict)
    ramp_calls: int = 0
    """CALLs other than BootNotification sent before the hold phase (heartbeats, triggered)."""
    boot_status: Counter[str] = field(default_factory=Counter)
    handshake: Histogram = field(default_factory=Histogram)
    """WebSocket opening handshakes (TCP connect + HTTP upgrade)."""
    time_to_accepted: Histogram = field(default_factory=Histogram)
    """Per station: from its start until its first Accepted BootNotification answer."""
    connect_failures: Counter[str] = field(default_factory=Counter)
    connections: int = 0
    reconnects: int = 0
    disconnects: int = 0
    connected: int = 0
    accepted: int = 0
    station_crashes: int = 0
    server_calls: Counter[str] = field(default_factory=Counter)
    notices: Counter[str] = field(default_factory=Counter)

    def kind(self, name: str) -> KindStats:
        """The counters of kind ``name`` (created on first use)."""
        stats = self.kinds.get(name)
        if stats is None:
            stats = self.kinds[name] = KindStats()
        return stats

    def mix_totals(self) -> KindStats:
        """All mix kinds together (everything except BootNotification)."""
        total = KindStats()
        for name, stats in self.kinds.items():
            if name == BOOT:
                continue
            total.sent += stats.sent
            total.answered += stats.answered
            total.errors.update(stats.errors)
            total.latency.merge(stats.latency)
        return total

    def errors_by_code(self) -> Counter[str]:
        """CALLERROR codes and local failures (timeout, ...) over every kind, boots included."""
        errors: Counter[str] = Counter()
        for stats in self.kinds.values():
            errors.update(stats.errors)
        return errors
