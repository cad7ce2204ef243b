"""What a load run observed: per-kind counters, latency histograms, connection events.

Everything here is plain counting on the hot path (one dict lookup and an integer add per CALL);
percentiles are computed once, at report time, from log-bucketed histograms.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

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

_GROWTH = 1.01
_LOG_GROWTH = math.log(_GROWTH)


class Histogram:
    """Latencies in nanoseconds, buckets growing by 1 %: any percentile is within 1 %."""

    __slots__ = ("buckets", "count", "max_ns", "min_ns", "total_ns")

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.count = 0
        self.total_ns = 0
        self.min_ns = 0
        self.max_ns = 0

    def record(self, ns: int) -> None:
        """Add one sample (nanoseconds)."""
        ns = max(ns, 1)
        key = int(math.log(ns) / _LOG_GROWTH)
        buckets = self.buckets
        buckets[key] = buckets.get(key, 0) + 1
        if self.count == 0 or ns < self.min_ns:
            self.min_ns = ns
        if ns > self.max_ns:
            self.max_ns = ns
        self.count += 1
        self.total_ns += ns

    def merge(self, other: Histogram) -> None:
        """Add ``other``'s samples to this histogram."""
        for key, n in other.buckets.items():
            self.buckets[key] = self.buckets.get(key, 0) + n
        if other.count and (self.count == 0 or other.min_ns < self.min_ns):
            self.min_ns = other.min_ns
        self.max_ns = max(self.max_ns, other.max_ns)
        self.count += other.count
        self.total_ns += other.total_ns

    def percentile_ns(self, q: float) -> float | None:
        """The ``q``-th percentile (0-100): the geometric middle of its bucket, clamped to the
        observed range; ``None`` when empty."""
        if self.count == 0:
            return None
        rank = max(1, math.ceil(self.count * q / 100.0))
        seen = 0
        for key in sorted(self.buckets):
            seen += self.buckets[key]
            if seen >= rank:
                middle: float = _GROWTH ** (key + 0.5)
                return min(max(middle, float(self.min_ns)), float(self.max_ns))
        return float(self.max_ns)  # pragma: no cover - the ranks always add up

    def summary_ms(self) -> dict[str, float | None]:
        """p50/p95/p99/max/mean in milliseconds, rounded to µs; ``None`` values when empty."""

        def ms(ns: float | None) -> float | None:
            return None if ns is None else round(ns / 1e6, 3)

        return {
            "p50": ms(self.percentile_ns(50)),
            "p95": ms(self.percentile_ns(95)),
            "p99": ms(self.percentile_ns(99)),
            "max": ms(self.max_ns if self.count else None),
            "mean": ms(self.total_ns / self.count if self.count else None),
        }


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
