"""A log-bucketed latency histogram: any percentile within 1 %, a few hundred buckets whatever the
sample count, and histograms of several processes merge by adding counts (``to_dict`` /
``from_dict`` carry them between processes). Used by ``opencsms load`` and the bench scripts.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["Histogram"]

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
