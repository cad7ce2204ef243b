"""Counters of the station hot path and the Prometheus text exposition (format 0.0.4).

Written by hand rather than with ``prometheus-client``: the hot path needs nothing but plain dict
increments (no locks, no label-child lookups; everything runs on the event loop's one thread),
and the text format is a few lines. Gauges (connections, sessions, alerts) are not counted at
all: the scrape computes them from the node's live state (api/metrics.py).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping

__all__ = ["DURATION_BUCKETS", "Metrics", "render"]

DURATION_BUCKETS: tuple[float, ...] = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)
"""Seconds: a CALL handled from memory takes well under a millisecond, one that waits for a
group commit a few milliseconds, a slow database much more."""


class Metrics:
    """The node's counters. ``messages`` is keyed (action, direction, result); ``durations``
    holds per action the bucket counts (one more for +Inf), the sum and the count."""

    __slots__ = ("durations", "messages")

    def __init__(self) -> None:
        self.messages: dict[tuple[str, str, str], int] = {}
        self.durations: dict[str, list[float]] = {}

    def message(self, action: str, direction: str, result: str) -> None:
        key = (action, direction, result)
        self.messages[key] = self.messages.get(key, 0) + 1

    def handled(self, action: str, seconds: float) -> None:
        """A station CALL a handler took ``seconds`` to decide (answered or refused). The message
        itself is counted by :meth:`message`, which the RPC session calls for every answer."""
        series = self.durations.get(action)
        if series is None:
            series = self.durations[action] = [0.0] * (len(DURATION_BUCKETS) + 3)
        series[bisect_left(DURATION_BUCKETS, seconds)] += 1
        series[-2] += seconds
        series[-1] += 1


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
    return "{" + inner + "}"


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(
        self,
        name: str,
        kind: str,
        help_text: str,
        samples: Iterable[tuple[Mapping[str, str], float]],
    ) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        suffix = "_total" if kind == "counter" and not name.endswith("_total") else ""
        for labels, value in samples:
            self.lines.append(f"{name}{suffix}{_labels(labels)} {_number(value)}")

    def histogram(self, name: str, help_text: str, series: Mapping[str, list[float]]) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} histogram")
        for action, values in sorted(series.items()):
            cumulative = 0.0
            for bound, count in zip((*DURATION_BUCKETS, float("inf")), values, strict=False):
                cumulative += count
                le = "+Inf" if bound == float("inf") else repr(bound)
                labels = _labels({"action": action, "le": le})
                self.lines.append(f"{name}_bucket{labels} {_number(cumulative)}")
            action_label = _labels({"action": action})
            self.lines.append(f"{name}_sum{action_label} {values[-2]!r}")
            self.lines.append(f"{name}_count{action_label} {_number(values[-1])}")


def render(
    metrics: Metrics,
    *,
    connections: Mapping[str, int],
    active_sessions: int,
    power_w: float,
    energy_wh_total: float,
    energy_today_wh: float,
    alerts_open: Mapping[tuple[str, str], int],
    webhook_attempts: Mapping[tuple[str, str], int],
    stream_clients: int,
) -> str:
    """The whole exposition, in Prometheus text format 0.0.4."""
    w = _Writer()
    w.family(
        "opencsms_connections",
        "gauge",
        "Stations connected to this node, by OCPP version.",
        (({"version": v}, n) for v, n in sorted(connections.items())),
    )
    w.family(
        "opencsms_messages_total",
        "counter",
        "OCPP CALLs by action, direction (in: from stations, out: to stations) and result "
        "(ok, a CALLERROR code, invalid, timeout, closed, late).",
        (
            ({"action": a, "direction": d, "result": r}, n)
            for (a, d, r), n in sorted(metrics.messages.items())
        ),
    )
    w.histogram(
        "opencsms_message_duration_seconds",
        "Time the CSMS took to handle a station's CALL, stored and answered.",
        metrics.durations,
    )
    w.family(
        "opencsms_active_sessions", "gauge", "Active charging sessions.", [({}, active_sessions)]
    )
    w.family(
        "opencsms_power_w", "gauge", "Current power of the active sessions (W).", [({}, power_w)]
    )
    w.family(
        "opencsms_energy_wh_total",
        "counter",
        "Energy of the sessions ended since this node started (Wh).",
        [({}, energy_wh_total)],
    )
    w.family(
        "opencsms_energy_today_wh",
        "gauge",
        "Energy today (UTC): sessions ended today plus active sessions so far (Wh).",
        [({}, energy_today_wh)],
    )
    w.family(
        "opencsms_alerts_open",
        "gauge",
        "Open alerts by type and severity.",
        (({"type": t, "severity": s}, n) for (t, s), n in sorted(alerts_open.items())),
    )
    w.family(
        "opencsms_webhook_attempts_total",
        "counter",
        "Webhook delivery attempts by event type and outcome (delivered, retry, failed).",
        (({"event": e, "outcome": o}, n) for (e, o), n in sorted(webhook_attempts.items())),
    )
    w.family(
        "opencsms_event_feed_listeners",
        "gauge",
        "Listeners of the event feed: live stream clients, plus one for the webhooks.",
        [({}, stream_clients)],
    )
    return "\n".join(w.lines) + "\n"
