"""A small log-bucketed latency histogram that merges across load-generator processes.

Buckets grow geometrically by 1 % so any percentile is reported within 1 % of the true value, the
memory stays at a few hundred buckets whatever the message count, and two histograms merge by adding
counts (which is how ``loadgen --processes N`` combines its workers).
"""

from __future__ import annotations

import math
from typing import Any

_GROWTH = 1.01
_LOG_GROWTH = math.log(_GROWTH)


class Histogram:
    """Latency histogram in nanoseconds with ~1 % relative precision."""

    __slots__ = ("buckets", "count", "max_ns", "min_ns", "total_ns")

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.count = 0
        self.total_ns = 0
        self.min_ns = 0
        self.max_ns = 0

    def record(self, ns: int) -> None:
        """Add one latency sample (nanoseconds, > 0)."""
        ns = max(ns, 1)
        key = int(math.log(ns) / _LOG_GROWTH)
        buckets = self.buckets
        buckets[key] = buckets.get(key, 0) + 1
        if self.count == 0 or ns < self.min_ns:
            self.min_ns = ns
        self.max_ns = max(self.max_ns, ns)
        self.count += 1
        self.total_ns += ns

    def merge(self, other: Histogram) -> None:
        """Add another histogram's samples to this one."""
        for key, n in other.buckets.items():
            self.buckets[key] = self.buckets.get(key, 0) + n
        if other.count and (self.count == 0 or other.min_ns < self.min_ns):
            self.min_ns = other.min_ns
        self.max_ns = max(self.max_ns, other.max_ns)
        self.count += other.count
        self.total_ns += other.total_ns

    def percentile_ns(self, q: float) -> float:
        """Return the ``q``-th percentile (0-100) in ns, the geometric middle of its bucket."""
        if self.count == 0:
            return math.nan
        rank = max(1, math.ceil(self.count * q / 100.0))
        seen = 0
        for key in sorted(self.buckets):
            seen += self.buckets[key]
            if seen >= rank:
                mid = _GROWTH ** (key + 0.5)
                # Clamp to the observed range so p0/p100 never leave [min, max].
                return min(max(mid, float(self.min_ns)), float(self.max_ns))
        return float(self.max_ns)

    def summary_ms(self) -> dict[str, float]:
        """p50/p95/p99/max/mean/min in milliseconds (NaN when empty)."""
        mean = self.total_ns / self.count if self.count else math.nan
        return {
            "p50": self.percentile_ns(50) / 1e6,
            "p95": self.percentile_ns(95) / 1e6,
            "p99": self.percentile_ns(99) / 1e6,
            "max": self.max_ns / 1e6 if self.count else math.nan,
            "mean": mean / 1e6,
            "min": self.min_ns / 1e6 if self.count else math.nan,
        }

    def to_dict(self) -> dict[str, Any]:
        """Serialisable form (for sending between processes or writing to JSON)."""
        return {
            "buckets": {str(k): v for k, v in self.buckets.items()},
            "count": self.count,
            "total_ns": self.total_ns,
            "min_ns": self.min_ns,
            "max_ns": self.max_ns,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Histogram:
        """Inverse of :meth:`to_dict`."""
        h = cls()
        h.buckets = {int(k): int(v) for k, v in data["buckets"].items()}
        h.count = int(data["count"])
        h.total_ns = int(data["total_ns"])
        h.min_ns = int(data["min_ns"])
        h.max_ns = int(data["max_ns"])
        return h
