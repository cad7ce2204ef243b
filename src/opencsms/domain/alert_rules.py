"""When alerts are raised and resolved: fleet events in, :class:`Raise` / :class:`Clear` out.

Pure code (no clock, no storage, no I/O): :class:`~opencsms.domain.alerts.AlertService` feeds it
the events it receives and the time of its periodic checks, and stores what comes out. The rules
(docs/alerts.md has the operator's view):

* ``station_offline`` — the connection closed, or it is open but neither a frame nor a pong came
  within ``offline_after_seconds`` (see :class:`Liveness`); resolved when the station connects
  again or is heard from again.
* ``connector_faulted`` — StatusNotification Faulted (1.6 §4.9 / 2.0.1 G01/G05) with its error
  code; resolved by any other status of that connector.
* ``boot_rejected`` — BootNotification answered Rejected (1.6 §4.2, 2.0.1 B01/B03); resolved by
  the next Accepted one.
* ``repeated_reconnects`` — ``reconnect_alert_count`` connections within
  ``reconnect_alert_window`` seconds; resolved after a window without a reconnect.
* ``job_failed`` — a firmware or log job ended Failed, Rejected or TimedOut (1.6 §4.4/§4.5, 2.0.1
  L01/N01); resolved when a later job of the same kind succeeds, or by an operator.
* ``security_event`` — a critical SecurityEventNotification (2.0.1 A04.FR.02, part 2 appendix 1;
  1.6 security whitepaper §4): resolved only by an operator.
* ``monitor_event`` — NotifyEvent with trigger ``Alerting`` (2.0.1 N07; a threshold/delta monitor
  fired); resolved by the station's own ``cleared: true`` for the same component and variable.
* ``transaction_stuck`` — an Active session with no message for ``stuck_transaction_after``
  seconds; resolved when it ends or meter values arrive.
* ``local_list_out_of_sync`` — a managed station's local list sync ended without the station
  holding the CSMS's list (D01/D02, 1.6 §5.15); resolved when a sync succeeds.
* ``certificate_expiring`` — a certificate the CSMS signed and the station uses ends within
  ``certificate_expiry_warning_days`` (A02/A03 renewal is due; 2.0.1 A02.FR.14 / 1.6 whitepaper
  A02), one alert per (station, serial), severity by the days left (:func:`certificate_severity`,
  raised as time passes by the service's watchdog); resolved when the station accepts a newer
  certificate of the same use (:class:`CertificateRenewed`), or by an operator.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson

from opencsms.domain.alert_model import AlertSeverity, AlertType, Occurrence
from opencsms.domain.fleet_events import (
    BootReported,
    CertificateExpiring,
    FleetEvent,
    JobChanged,
    LocalListSyncChanged,
    MonitorEventsStored,
    SecurityEventStored,
    StationConnected,
    StationDisconnected,
    StatusChanged,
    TransactionChanged,
)
from opencsms.domain.job_model import JobState

__all__ = [
    "Clear",
    "Raise",
    "ReconnectCounter",
    "Rule",
    "certificate_key",
    "certificate_occurrence",
    "certificate_severity",
    "connector_key",
    "monitor_key",
    "rules_for",
]

FAILED_JOB_STATES = frozenset({JobState.FAILED, JobState.REJECTED, JobState.TIMED_OUT})
_LOCAL_LIST_OK = frozenset({"Accepted", "UpToDate"})


@dataclass(frozen=True, slots=True)
class Raise:
    occurrence: Occurrence


@dataclass(frozen=True, slots=True)
class Clear:
    type: AlertType
    station_id: str
    key: str
    resolution: str


Rule = Raise | Clear


def connector_key(evse_id: int, connector_id: int) -> str:
    return f"evse:{evse_id}/connector:{connector_id}"


def certificate_key(use: str, serial: str) -> str:
    return f"certificate:{use}:{serial}"


def certificate_severity(days_left: float) -> AlertSeverity:
    """Expired: critical; a week or less: major; two weeks or less: minor; else a warning."""
    if days_left <= 0:
        return AlertSeverity.CRITICAL
    if days_left <= 7:
        return AlertSeverity.MAJOR
    if days_left <= 14:
        return AlertSeverity.MINOR
    return AlertSeverity.WARNING


def certificate_occurrence(
    station_id: str, use: str, serial: str, not_after: datetime, now: datetime
) -> Occurrence:
    """The ``certificate_expiring`` occurrence of one certificate as seen at ``now``."""
    days_left = (not_after - now).total_seconds() / 86400
    when = "expired" if days_left <= 0 else f"expires in {max(1, int(days_left))} days"
    return Occurrence(
        AlertType.CERTIFICATE_EXPIRING,
        station_id,
        certificate_key(use, serial),
        certificate_severity(days_left),
        f"station {station_id}: {use} {serial} {when} ({not_after.date().isoformat()})",
        {"use": use, "serial": serial, "not_after": not_after.isoformat()},
    )


def monitor_key(component_json: str, variable_json: str) -> str:
    """The monitored component and variable, in a stable spelling (key order of the station's
    JSON does not matter)."""
    parts = []
    for text in (component_json, variable_json):
        try:
            parts.append(orjson.dumps(orjson.loads(text), option=orjson.OPT_SORT_KEYS).decode())
        except orjson.JSONDecodeError:
            parts.append(text)
    return f"monitor:{parts[0]}/{parts[1]}"


def rules_for(event: FleetEvent) -> list[Rule]:
    """What ``event`` raises or clears (the stateless rules; see the module docstring)."""
    if isinstance(event, StationConnected):
        return [
            Clear(AlertType.STATION_OFFLINE, event.station_id, "", "station connected"),
        ]
    if isinstance(event, StationDisconnected):
        return [
            Raise(
                Occurrence(
                    AlertType.STATION_OFFLINE,
                    event.station_id,
                    "",
                    AlertSeverity.MAJOR,
                    f"station {event.station_id} disconnected",
                    {"reason": "disconnected", "since": event.at.isoformat()},
                )
            )
        ]
    if isinstance(event, StatusChanged):
        return _status_rules(event)
    if isinstance(event, BootReported):
        if event.status == "Rejected":
            return [
                Raise(
                    Occurrence(
                        AlertType.BOOT_REJECTED,
                        event.station_id,
                        "",
                        AlertSeverity.MINOR,
                        f"station {event.station_id}: BootNotification rejected",
                        {"status": event.status},
                    )
                )
            ]
        if event.status == "Accepted":
            return [Clear(AlertType.BOOT_REJECTED, event.station_id, "", "boot accepted")]
        return []
    if isinstance(event, JobChanged):
        return _job_rules(event)
    if isinstance(event, SecurityEventStored):
        sec = event.event
        if not sec.critical:
            return []
        return [
            Raise(
                Occurrence(
                    AlertType.SECURITY_EVENT,
                    sec.station_id,
                    f"security:{sec.type}",
                    AlertSeverity.CRITICAL,
                    f"station {sec.station_id}: security event {sec.type}",
                    {
                        "event_type": sec.type,
                        "timestamp": sec.timestamp.isoformat(),
                        "tech_info": sec.tech_info,
                    },
                )
            )
        ]
    if isinstance(event, MonitorEventsStored):
        return _monitor_rules(event)
    if isinstance(event, LocalListSyncChanged):
        return _local_list_rules(event)
    if isinstance(event, CertificateExpiring):
        occurrence = certificate_occurrence(
            event.station_id, event.use, event.serial, event.not_after, event.at
        )
        return [Raise(occurrence)]
    if isinstance(event, TransactionChanged) and not event.transaction.open:
        tx = event.transaction
        return [
            Clear(
                AlertType.TRANSACTION_STUCK,
                tx.station_id,
                f"transaction:{tx.transaction_id}",
                "session ended",
            )
        ]
    return []


def _status_rules(event: StatusChanged) -> list[Rule]:
    status = event.status
    key = connector_key(status.evse_id, status.connector_id)
    if status.status != "Faulted":
        return [
            Clear(
                AlertType.CONNECTOR_FAULTED,
                status.station_id,
                key,
                f"connector reported {status.status}",
            )
        ]
    code = status.error_code or "unknown"
    where = f"EVSE {status.evse_id} connector {status.connector_id}"
    return [
        Raise(
            Occurrence(
                AlertType.CONNECTOR_FAULTED,
                status.station_id,
                key,
                AlertSeverity.MAJOR,
                f"station {status.station_id} {where} Faulted: {code}",
                {
                    "evse_id": status.evse_id,
                    "connector_id": status.connector_id,
                    "error_code": status.error_code,
                    "info": status.info,
                    "vendor_id": status.vendor_id,
                    "vendor_error_code": status.vendor_error_code,
                },
            )
        )
    ]


def _job_rules(event: JobChanged) -> list[Rule]:
    job = event.job
    key = f"job:{job.kind.value}"
    if job.state is JobState.SUCCEEDED:
        return [Clear(AlertType.JOB_FAILED, job.station_id, key, f"job {job.id} succeeded")]
    if job.state not in FAILED_JOB_STATES:
        return []
    return [
        Raise(
            Occurrence(
                AlertType.JOB_FAILED,
                job.station_id,
                key,
                AlertSeverity.MINOR,
                f"station {job.station_id}: {job.kind.value} job {job.id} {job.state.value}",
                {
                    "job_id": job.id,
                    "kind": job.kind.value,
                    "state": job.state.value,
                    "station_status": job.station_status,
                    "error": job.error,
                },
            )
        )
    ]


def _monitor_rules(event: MonitorEventsStored) -> list[Rule]:
    out: list[Rule] = []
    for record in event.events:
        if record.trigger != "Alerting":
            continue  # Delta and Periodic report values, not problems (2.0.1 N07)
        key = monitor_key(record.component_json, record.variable_json)
        if record.cleared:
            out.append(
                Clear(AlertType.MONITOR_EVENT, event.station_id, key, "station cleared the event")
            )
            continue
        out.append(
            Raise(
                Occurrence(
                    AlertType.MONITOR_EVENT,
                    event.station_id,
                    key,
                    AlertSeverity.MAJOR,
                    f"station {event.station_id}: monitor alert, value {record.actual_value}",
                    {
                        "event_id": record.event_id,
                        "component": orjson.loads(record.component_json),
                        "variable": orjson.loads(record.variable_json),
                        "actual_value": record.actual_value,
                        "tech_code": record.tech_code,
                        "tech_info": record.tech_info,
                        "variable_monitoring_id": record.variable_monitoring_id,
                        "timestamp": record.timestamp.isoformat(),
                    },
                )
            )
        )
    return out


def _local_list_rules(event: LocalListSyncChanged) -> list[Rule]:
    if event.in_sync:
        return [Clear(AlertType.LOCAL_LIST_OUT_OF_SYNC, event.station_id, "", "local list in sync")]
    # A sync still under way (no outcome, or the previous one good) is not a problem yet.
    if not event.managed or event.last_result is None or event.last_result in _LOCAL_LIST_OK:
        return []
    return [
        Raise(
            Occurrence(
                AlertType.LOCAL_LIST_OUT_OF_SYNC,
                event.station_id,
                "",
                AlertSeverity.WARNING,
                f"station {event.station_id}: local list out of sync ({event.last_result})",
                {"last_result": event.last_result, "last_error": event.last_error},
            )
        )
    ]


class ReconnectCounter:
    """Counts each station's connections in a sliding window (``repeated_reconnects``)."""

    def __init__(self, count: int, window: float) -> None:
        self._count = count
        self._window = timedelta(seconds=window)
        self._seen: dict[str, deque[datetime]] = {}

    def connected(self, station_id: str, at: datetime) -> Raise | None:
        """Note a connection; a :class:`Raise` when it makes ``count`` within the window."""
        times = self._seen.setdefault(station_id, deque())
        times.append(at)
        while times and at - times[0] > self._window:
            times.popleft()
        if self._count < 2 or len(times) < self._count:
            return None
        return Raise(
            Occurrence(
                AlertType.REPEATED_RECONNECTS,
                station_id,
                "",
                AlertSeverity.WARNING,
                f"station {station_id} connected {len(times)} times within "
                f"{int(self._window.total_seconds())} s",
                {"connections": len(times), "window_seconds": self._window.total_seconds()},
            )
        )

    def quiet(self, now: datetime) -> list[Clear]:
        """Stations whose last connection is a whole window ago (and forget them)."""
        out = []
        for station_id, times in list(self._seen.items()):
            if not times or now - times[-1] > self._window:
                del self._seen[station_id]
                out.append(
                    Clear(
                        AlertType.REPEATED_RECONNECTS,
                        station_id,
                        "",
                        "no reconnect for a whole window",
                    )
                )
        return out
