"""Alerts as records: what an alert is, its identity for deduplication, and how one changes.

An alert is *open* from the first occurrence of a problem until it is resolved, automatically
(the condition that raised it went away, see domain/alert_rules.py) or by an operator. While it is
open, another occurrence of the same problem does not make a second alert: it bumps ``count`` and
``last_seen`` of the open one. Sameness is the *dedup key*: type + station + a discriminator
(the connector, the job kind, the security event type, the monitored variable...). Once resolved,
the next occurrence opens a new alert, so the history of a recurring problem stays readable.

Pure code: no clock, no storage (docs/alerts.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "Alert",
    "AlertChange",
    "AlertSeverity",
    "AlertStatus",
    "AlertType",
    "Occurrence",
    "dedup_key",
    "repeated",
    "resolved",
]


class AlertType(StrEnum):
    """What went wrong (docs/alerts.md lists when each is raised and resolved)."""

    STATION_OFFLINE = "station_offline"
    CONNECTOR_FAULTED = "connector_faulted"
    BOOT_REJECTED = "boot_rejected"
    REPEATED_RECONNECTS = "repeated_reconnects"
    JOB_FAILED = "job_failed"
    SECURITY_EVENT = "security_event"
    MONITOR_EVENT = "monitor_event"
    TRANSACTION_STUCK = "transaction_stuck"
    LOCAL_LIST_OUT_OF_SYNC = "local_list_out_of_sync"
    CERTIFICATE_EXPIRING = "certificate_expiring"


class AlertSeverity(StrEnum):
    """How bad it is, most severe first."""

    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    WARNING = "warning"
    INFO = "info"


class AlertStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class AlertChange(StrEnum):
    """What happened to an alert (the ``alert.*`` event types of the stream and webhooks)."""

    RAISED = "raised"
    REPEATED = "repeated"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One observation of a problem, as a rule reports it."""

    type: AlertType
    station_id: str
    key: str
    """The discriminator within the station (``""`` when the station has one of the kind)."""
    severity: AlertSeverity
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert as stored. ``count`` occurrences between ``first_seen`` and ``last_seen``."""

    id: int
    type: AlertType
    station_id: str
    key: str
    severity: AlertSeverity
    summary: str
    details: dict[str, Any]
    status: AlertStatus
    count: int
    first_seen: datetime
    last_seen: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None
    """Why it was resolved: the condition that cleared it, or ``manual: <who>``."""

    @property
    def dedup_key(self) -> str:
        return dedup_key(self.type, self.station_id, self.key)

    @property
    def open(self) -> bool:
        return self.status is AlertStatus.OPEN

    @classmethod
    def raised(cls, alert_id: int, occurrence: Occurrence, at: datetime) -> Alert:
        """A new open alert for the first occurrence."""
        return cls(
            id=alert_id,
            type=occurrence.type,
            station_id=occurrence.station_id,
            key=occurrence.key,
            severity=occurrence.severity,
            summary=occurrence.summary,
            details=dict(occurrence.details),
            status=AlertStatus.OPEN,
            count=1,
            first_seen=at,
            last_seen=at,
        )


def dedup_key(alert_type: str, station_id: str, key: str) -> str:
    """The identity of an open alert: at most one open alert per key."""
    return f"{alert_type}|{station_id}|{key}"


def repeated(alert: Alert, occurrence: Occurrence, at: datetime) -> Alert:
    """The open ``alert`` seen again: one more occurrence, the latest summary and details (a
    Faulted connector's new error code), and the higher of the two severities."""
    order = list(AlertSeverity)
    severity = min(alert.severity, occurrence.severity, key=order.index)
    return replace(
        alert,
        count=alert.count + 1,
        last_seen=max(at, alert.last_seen),
        summary=occurrence.summary,
        details={**alert.details, **occurrence.details},
        severity=severity,
    )


def resolved(alert: Alert, at: datetime, resolution: str) -> Alert:
    """The alert closed at ``at`` because of ``resolution``."""
    return replace(alert, status=AlertStatus.RESOLVED, resolved_at=at, resolution=resolution)
