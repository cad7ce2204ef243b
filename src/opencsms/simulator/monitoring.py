"""2.0.1/2.1 monitoring of a simulated station (functional block N, N02-N07).

The CSMS installs monitors on device-model variables (SetVariableMonitoring, N04); the station
assigns their ids, evaluates them against the live values and reports what they see with
NotifyEvent (N07): a threshold crossing (``Alerting``, and ``cleared`` when the value returns to
normal), a change of more than ``value`` since the last report (``Delta``; any change for a
non-numeric variable, N07.FR.19), and every ``value`` seconds (``Periodic``; clock-aligned:
at every multiple of ``value`` since midnight UTC). Events of a severity above
MonitoringCtrlr.ActiveMonitoringLevel are not reported (N05); while offline only those up to
OfflineQueuingSeverity are kept, and sent after reconnecting.

The station comes with two monitors of its own: a hard-wired one on ChargingStation.Power
(overload) that cannot be cleared or replaced, and a pre-configured one on
LocalAuthListCtrlr.Entries (list nearly full) that SetMonitoringBase HardWiredOnly disables
(N03). ChargingStation.Power is a read-only variable registered here: the summed power of the
EVSE meters, refreshed whenever the monitors are evaluated.

The state is created with the first monitoring action (or :func:`monitoring`), kept per station
in a weak dictionary; from then on an evaluator task compares the values every
:data:`EVALUATION_INTERVAL` seconds (and wakes earlier for a due periodic monitor).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import weakref
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from opencsms.clock import utc_iso
from opencsms.errors import (
    CallFailedError,
    ConnectionClosedError,
    OccurrenceConstraintViolationError,
)
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator.authorization import LOCAL_LIST_MAX
from opencsms.simulator.config_keys import Variable, is_boolean
from opencsms.simulator.connection import HandlerFn, Payload, Reply

if TYPE_CHECKING:
    from opencsms.simulator.station import SimulatedStation

__all__ = ["EVALUATION_INTERVAL", "ROUTES_2", "ROUTES_16", "Monitor", "Monitoring", "monitoring"]

log = logging.getLogger("opencsms.simulator")

EVALUATION_INTERVAL = 0.5
"""Seconds between two comparisons of the monitored values with the last reported ones."""
MAX_MONITORS = 100
"""Monitors a station holds; SetVariableMonitoring beyond that is Rejected."""
SET_ITEMS_PER_MESSAGE = 50
"""setMonitoringData entries one SetVariableMonitoringRequest may carry (N04.FR.09)."""
OFFLINE_QUEUE_MAX = 100
"""Events kept while offline; the oldest are dropped first."""

THRESHOLDS = frozenset({"UpperThreshold", "LowerThreshold"})
PERIODIC = frozenset({"Periodic", "PeriodicClockAligned"})
SUPPORTED_TYPES = THRESHOLDS | PERIODIC | {"Delta"}
"""2.1's TargetDelta and TargetDeltaRelative are answered UnsupportedMonitorType."""
_CRITERIA = {
    "ThresholdMonitoring": THRESHOLDS,
    "DeltaMonitoring": frozenset({"Delta"}),
    "PeriodicMonitoring": PERIODIC,
}
_HARDWIRED = "HardWiredMonitor"
_PRECONFIGURED = "PreconfiguredMonitor"
_CUSTOM = "CustomMonitor"


@dataclass(slots=True)
class Monitor:
    """One VariableMonitor (2.0.1 part 2 VariableMonitoringType) and its evaluation state."""

    id: int
    component: str
    variable: str
    type: str
    value: float
    severity: int
    transaction: bool = False
    kind: str = _CUSTOM
    """eventNotificationType: CustomMonitor, PreconfiguredMonitor or HardWiredMonitor."""
    reference: str | None = None
    """Delta: the value at setting or at the last event (N07.FR.18)."""
    alerting: bool = False
    """Thresholds: the value is beyond the threshold (reported, not yet cleared)."""
    due: float = 0.0
    """Periodic: station monotonic time of the next event."""
    due_at: datetime | None = None
    """PeriodicClockAligned: wall-clock time of the next event."""

    def entry(self, version: OcppVersion) -> dict[str, Any]:
        """VariableMonitoringType for NotifyMonitoringReport (2.1 adds eventNotificationType)."""
        entry: dict[str, Any] = {
            "id": self.id,
            "transaction": self.transaction,
            "value": self.value,
            "type": self.type,
            "severity": self.severity,
        }
        if version is OcppVersion.V21:
            entry["eventNotificationType"] = self.kind
        return entry


class Monitoring:
    """The monitors of one station and the events they raise; see the module docstring."""

    def __init__(self, station: SimulatedStation) -> None:
        assert station.device_model is not None
        # Weak: this state is the value of a WeakKeyDictionary keyed by the station, and a
        # strong reference back would keep every station ever made alive.
        self._station = weakref.ref(station)
        self.model = station.device_model
        self.interval = EVALUATION_INTERVAL
        """Seconds between evaluations; a test or a busy fleet may change it."""
        self.events_sent = 0
        """eventData entries delivered to the CSMS (for tests and the live view)."""
        self._monitors: dict[int, Monitor] = {}
        self._next_id = 1
        self._event_id = 0
        self._queued: deque[tuple[int, dict[str, Any]]] = deque(maxlen=OFFLINE_QUEUE_MAX)
        self._wake = asyncio.Event()
        for component, name, value, mutability, validate in (
            ("MonitoringCtrlr", "Enabled", "true", "ReadWrite", is_boolean),
            ("MonitoringCtrlr", "Available", "true", "ReadOnly", None),
            ("MonitoringCtrlr", "ActiveMonitoringBase", "All", "ReadOnly", None),
            ("MonitoringCtrlr", "ActiveMonitoringLevel", "9", "ReadOnly", None),
            ("MonitoringCtrlr", "OfflineQueuingSeverity", "4", "ReadWrite", _is_severity),
            ("ChargingStation", "Power", "0", "ReadOnly", None),
        ):
            try:
                self.model.get(component, name)
            except KeyError:  # registered by another feature already: keep it as it is
                self.model.add(component, name, Variable(value, mutability, validate))
        self._refresh()
        self._install_factory_monitors()
        self._next_id = max(self._monitors) + 1  # factory ids are never handed out again

    @property
    def station(self) -> SimulatedStation:
        """The station this state belongs to."""
        station = self._station()
        if station is None:
            raise RuntimeError("the station is gone")
        return station

    # ------------------------------------------------------------------ settings

    @property
    def level(self) -> int:
        """MonitoringCtrlr.ActiveMonitoringLevel: the highest severity reported (N05)."""
        return int(self.model.get("MonitoringCtrlr", "ActiveMonitoringLevel"))

    @property
    def base(self) -> str:
        """MonitoringCtrlr.ActiveMonitoringBase (N03)."""
        return self.model.get("MonitoringCtrlr", "ActiveMonitoringBase")

    @property
    def enabled(self) -> bool:
        """MonitoringCtrlr.Enabled: false stops every event."""
        return self.model.get("MonitoringCtrlr", "Enabled").lower() == "true"

    @property
    def queued(self) -> int:
        """Events kept while offline, waiting for the connection."""
        return len(self._queued)

    def monitors(self) -> list[Monitor]:
        """The installed monitors, by id."""
        return [self._monitors[i] for i in sorted(self._monitors)]

    # ------------------------------------------------------------------ N04 / N06

    def set_monitor(self, item: Payload) -> Payload:
        """N04: install or replace one monitor; the SetMonitoringResult for ``item``."""
        result: Payload = {
            "type": item["type"],
            "severity": item["severity"],
            "component": item["component"],
            "variable": item["variable"],
        }
        status = self._check(item)
        if status == "Accepted":
            monitor = self._install(item)
            result["id"] = monitor.id  # N04: the id is returned with Accepted only
        result["status"] = status
        return result

    def _check(self, item: Payload) -> str:
        component, variable = item["component"], item["variable"]
        given = item.get("id")
        if given is not None:
            existing = self._monitors.get(given)
            if existing is None:  # N04.FR.13: an id the station never assigned
                return "Rejected"
            if (existing.component, existing.variable) != (
                component.get("name"),
                variable.get("name"),
            ) or "evse" in component:  # N04.FR.16: an id of another variable's monitor
                return "Rejected"
            if existing.kind == _HARDWIRED:  # built in: it can be neither replaced nor cleared
                return "Rejected"
        status, value = self.model.get_variable(component, variable, "Actual")
        if status != "Accepted":  # UnknownComponent / UnknownVariable; Rejected: write-only
            return status
        assert value is not None
        kind = item["type"]
        if kind not in SUPPORTED_TYPES or (kind in THRESHOLDS and _number(value) is None):
            return "UnsupportedMonitorType"  # no threshold on a boolean or a text
        number, severity = item["value"], item["severity"]
        if not 0 <= severity <= 9 or not math.isfinite(number):
            return "Rejected"
        if (kind == "Delta" and number < 0) or (kind in PERIODIC and number <= 0):
            return "Rejected"  # N04.FR.14: a negative delta; an interval must be positive
        if item.get("periodicEventStream") is not None:
            return "Rejected"  # 2.1 N15 event streams are not implemented
        if given is None:
            if any(
                (m.component, m.variable, m.type, m.severity)
                == (component["name"], variable["name"], kind, severity)
                for m in self._monitors.values()
            ):
                return "Duplicate"  # a monitor of this type and severity exists already
            if len(self._monitors) >= MAX_MONITORS:
                return "Rejected"
        return "Accepted"

    def _install(self, item: Payload) -> Monitor:
        given = item.get("id")
        kind = self._monitors[given].kind if given is not None else _CUSTOM
        monitor = Monitor(
            id=given if given is not None else self._new_id(),
            component=item["component"]["name"],
            variable=item["variable"]["name"],
            type=item["type"],
            value=float(item["value"]),
            severity=item["severity"],
            transaction=bool(item.get("transaction", False)),
            kind=kind,
        )
        self._reset(monitor)  # a replaced monitor is evaluated afresh (N07.FR.11)
        self._monitors[monitor.id] = monitor
        self._wake.set()
        return monitor

    def clear_monitor(self, monitor_id: int) -> str:
        """N06: Accepted (removed), NotFound, or Rejected for a hard-wired monitor."""
        monitor = self._monitors.get(monitor_id)
        if monitor is None:
            return "NotFound"
        if monitor.kind == _HARDWIRED:
            return "Rejected"
        del self._monitors[monitor_id]
        return "Accepted"

    # ------------------------------------------------------------------ N03 / N05

    def set_base(self, base: str) -> None:
        """N03: All keeps custom monitors and activates the pre-configured ones; FactoryDefault
        and HardWiredOnly remove the custom monitors; HardWiredOnly disables the pre-configured
        ones (they are neither evaluated nor reported until another base is set)."""
        if base != "All":
            for monitor_id in [i for i, m in self._monitors.items() if m.kind == _CUSTOM]:
                del self._monitors[monitor_id]
        if base != "HardWiredOnly":
            self._install_factory_monitors()  # a cleared pre-configured monitor comes back
        self.model.set("MonitoringCtrlr", "ActiveMonitoringBase", base)
        self._wake.set()

    def set_level(self, severity: int) -> bool:
        """N05: report only events of ``severity`` or lower (0 Danger … 9 Debug)."""
        if not 0 <= severity <= 9:
            return False
        self.model.set("MonitoringCtrlr", "ActiveMonitoringLevel", str(severity))
        return True

    # ------------------------------------------------------------------ N02

    def report(
        self, criteria: Iterable[str] | None, wanted: list[Payload] | None
    ) -> list[dict[str, Any]]:
        """N02: MonitoringDataType entries of the active monitors matching ``criteria`` (any of
        them; none given: all, N02.FR.11) and ``wanted`` component/variables (a component
        without variable: all its variables, N02.FR.16). Both given: both must match."""
        types = (
            frozenset().union(*(_CRITERIA[c] for c in criteria)) if criteria else SUPPORTED_TYPES
        )
        grouped: dict[tuple[str, str], list[Monitor]] = {}
        for monitor in self._active():
            if monitor.type not in types:
                continue
            if wanted is not None and not any(_matches(w, monitor) for w in wanted):
                continue
            grouped.setdefault((monitor.component, monitor.variable), []).append(monitor)
        version = self.station.version
        return [
            {
                "component": {"name": component},
                "variable": {"name": variable},
                "variableMonitoring": [m.entry(version) for m in monitors],
            }
            for (component, variable), monitors in sorted(grouped.items())
        ]

    # ------------------------------------------------------------------ N07 evaluation

    def evaluate(self) -> list[tuple[int, dict[str, Any]]]:
        """Compare every active monitor with its variable now: the (severity, eventData) of
        each event raised, before severity filtering."""
        self._refresh()
        station = self.station
        now, wall = station.clock.monotonic(), station.clock.now()
        in_transaction = self._transaction_id() is not None
        events: list[tuple[int, dict[str, Any]]] = []
        for monitor in self._active():
            if not self.enabled or (monitor.transaction and not in_transaction):
                self._reset(monitor)  # N04: a transaction monitor sleeps between transactions
                continue
            current = self.model.get(monitor.component, monitor.variable)
            event = self._check_one(monitor, current, now, wall)
            if event is not None:
                events.append((monitor.severity, event))
        return events

    def _check_one(
        self, monitor: Monitor, current: str, now: float, wall: datetime
    ) -> dict[str, Any] | None:
        kind = monitor.type
        if kind in THRESHOLDS:
            number = _number(current)
            if number is None:
                return None
            beyond = number > monitor.value if kind == "UpperThreshold" else number < monitor.value
            if beyond == monitor.alerting:
                return None
            monitor.alerting = beyond
            return self._event(monitor, "Alerting", current, cleared=not beyond)
        if kind == "Delta":
            before, after = _number(monitor.reference or ""), _number(current)
            if before is not None and after is not None:
                changed = abs(after - before) > monitor.value  # N07.FR.18
            else:
                changed = current != monitor.reference  # N07.FR.19: any change of a text
            if not changed:
                return None
            monitor.reference = current
            return self._event(monitor, "Delta", current)
        if kind == "Periodic":
            if now < monitor.due:
                return None
            monitor.due += monitor.value
            if monitor.due <= now:  # fell behind (e.g. a stalled loop): no burst of catch-ups
                monitor.due = now + monitor.value
            return self._event(monitor, "Periodic", current)
        assert monitor.due_at is not None  # PeriodicClockAligned
        if wall < monitor.due_at:
            return None
        monitor.due_at = _next_aligned(wall, monitor.value)
        return self._event(monitor, "Periodic", current)

    def _event(
        self, monitor: Monitor, trigger: str, actual: str, *, cleared: bool = False
    ) -> dict[str, Any]:
        """EventDataType (N07); 2.1 also carries the monitor's severity."""
        self._event_id += 1
        event: dict[str, Any] = {
            "eventId": self._event_id,
            "timestamp": utc_iso(self.station.clock.now()),
            "trigger": trigger,
            "actualValue": actual[:2500],
            "component": {"name": monitor.component},
            "variable": {"name": monitor.variable},
            "variableMonitoringId": monitor.id,
            "eventNotificationType": monitor.kind,
        }
        if cleared:
            event["cleared"] = True  # the return to normal of a threshold monitor
        transaction_id = self._transaction_id()
        if monitor.transaction and transaction_id is not None:
            event["transactionId"] = transaction_id
        if self.station.version is OcppVersion.V21:
            event["severity"] = monitor.severity
        return event

    async def deliver(self, events: list[tuple[int, dict[str, Any]]]) -> None:
        """Send the events up to the monitoring level (N05) with NotifyEvent; offline, queue
        those up to OfflineQueuingSeverity and send them once connected again."""
        level = self.level
        fresh = [(severity, event) for severity, event in events if severity <= level]
        station = self.station
        if not station.online_and_accepted:
            self._queue(fresh)
            await station.notify_changed()
            return
        pending = [*self._queued, *fresh]
        self._queued.clear()
        per_message = max(1, int(self.model.get("DeviceDataCtrlr", "ItemsPerMessage")))
        parts = [pending[i : i + per_message] for i in range(0, len(pending), per_message)]
        for seq_no, part in enumerate(parts):
            payload = {
                "generatedAt": utc_iso(station.clock.now()),
                "seqNo": seq_no,
                "tbc": seq_no < len(parts) - 1,
                "eventData": [event for _, event in part],
            }
            try:
                await station.call("NotifyEvent", payload)
            except ConnectionClosedError:  # the connection dropped meanwhile: keep the rest
                self._queue([item for rest in parts[seq_no:] for item in rest])
                break
            except CallFailedError as exc:  # refused or unanswered: these events are lost
                log.info("%s: NotifyEvent failed: %s", station.config.id, exc)
                continue
            self.events_sent += len(part)
        await station.notify_changed()  # wakes SimulatedStation.wait_for callers

    def _queue(self, events: list[tuple[int, dict[str, Any]]]) -> None:
        limit = int(self.model.get("MonitoringCtrlr", "OfflineQueuingSeverity"))
        self._queued.extend(item for item in events if item[0] <= limit)

    async def run(self) -> None:
        """The evaluator: evaluate, report, then sleep until the next tick or periodic event."""
        while True:
            self._wake.clear()
            events = self.evaluate()
            if events or (self._queued and self.station.online_and_accepted):
                await self.deliver(events)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._next_wait()):
                    await self._wake.wait()

    def _next_wait(self) -> float:
        wait = self.interval
        now = self.station.clock.monotonic()
        for monitor in self._active():
            if monitor.type == "Periodic":
                wait = min(wait, max(0.0, monitor.due - now))
        return wait

    # ------------------------------------------------------------------ helpers

    def _active(self) -> list[Monitor]:
        """Monitors in force: HardWiredOnly disables the pre-configured ones (N03)."""
        hardwired_only = self.base == "HardWiredOnly"
        return [m for m in self.monitors() if not (hardwired_only and m.kind == _PRECONFIGURED)]

    def _reset(self, monitor: Monitor) -> None:
        """Start evaluating ``monitor`` from now: current value as reference, no alert."""
        monitor.reference = self.model.get(monitor.component, monitor.variable)
        monitor.alerting = False
        monitor.due = self.station.clock.monotonic() + monitor.value
        if monitor.type == "PeriodicClockAligned":
            monitor.due_at = _next_aligned(self.station.clock.now(), monitor.value)

    def _refresh(self) -> None:
        """ChargingStation.Power: the summed power of the EVSE meters, now (whole watts)."""
        station = self.station
        total = sum(station.meter(e).power_w for e in range(1, station.evse_count + 1))
        self.model.set("ChargingStation", "Power", str(round(total)))

    def _transaction_id(self) -> str | None:
        station = self.station
        for evse in range(1, station.evse_count + 1):
            tx = station.transaction(evse)
            if tx is not None and tx.id is not None:
                return tx.id
        return None

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def _install_factory_monitors(self) -> None:
        """The station's own monitors: ids 1 and 2, restored by SetMonitoringBase All and
        FactoryDefault (a replaced pre-configured monitor gets its factory settings back)."""
        max_power = sum(evse.max_power_w for evse in self.station.config.evses)
        for monitor in (
            Monitor(1, "ChargingStation", "Power", "UpperThreshold", max_power, 3, kind=_HARDWIRED),
            Monitor(
                2,
                "LocalAuthListCtrlr",
                "Entries",
                "UpperThreshold",
                float(LOCAL_LIST_MAX * 9 // 10),
                6,
                kind=_PRECONFIGURED,
            ),
        ):
            current = self._monitors.get(monitor.id)
            if current is None or current.kind != _CUSTOM:
                self._reset(monitor)
                self._monitors[monitor.id] = monitor


_STATE: weakref.WeakKeyDictionary[SimulatedStation, Monitoring] = weakref.WeakKeyDictionary()


def monitoring(station: SimulatedStation) -> Monitoring:
    """The monitoring state of a 2.x ``station``, created (with its evaluator task) on first use.

    Must be called from the station's event loop.
    """
    state = _STATE.get(station)
    if state is None:
        state = _STATE[station] = Monitoring(station)
        station.spawn_background(state.run)
    return state


# ------------------------------------------------------------------------- handlers


def set_variable_monitoring(station: SimulatedStation, payload: Payload) -> Reply:
    """N04 SetVariableMonitoring: one result per setMonitoringData, in request order; more
    entries than the station takes in one message is OccurrenceConstraintViolation
    (N04.FR.09)."""
    items = payload["setMonitoringData"]
    if len(items) > SET_ITEMS_PER_MESSAGE:
        return Reply(
            error=OccurrenceConstraintViolationError(
                f"at most {SET_ITEMS_PER_MESSAGE} setMonitoringData entries per request"
            )
        )
    state = monitoring(station)
    return Reply({"setMonitoringResult": [state.set_monitor(item) for item in items]})


def clear_variable_monitoring(station: SimulatedStation, payload: Payload) -> Reply:
    """N06 ClearVariableMonitoring: Accepted / NotFound / Rejected (hard-wired) per id."""
    state = monitoring(station)
    results = [{"id": i, "status": state.clear_monitor(i)} for i in payload["id"]]
    return Reply({"clearMonitoringResult": results})


def set_monitoring_base(station: SimulatedStation, payload: Payload) -> Reply:
    """N03 SetMonitoringBase: All / FactoryDefault / HardWiredOnly, all Accepted."""
    monitoring(station).set_base(payload["monitoringBase"])
    return Reply({"status": "Accepted"})


def set_monitoring_level(station: SimulatedStation, payload: Payload) -> Reply:
    """N05 SetMonitoringLevel: 0-9 Accepted, anything else Rejected."""
    accepted = monitoring(station).set_level(payload["severity"])
    return Reply({"status": "Accepted" if accepted else "Rejected"})


def get_monitoring_report(station: SimulatedStation, payload: Payload) -> Reply:
    """N02 GetMonitoringReport: Accepted then NotifyMonitoringReport in parts of at most
    DeviceDataCtrlr.ItemsPerMessage entries (``seqNo`` from 0, ``tbc`` on all but the last);
    EmptyResultSet when no monitor matches. More componentVariable entries than
    ItemsPerMessage is OccurrenceConstraintViolation (N02.FR.07). All three criteria are
    supported, so NotSupported is never answered."""
    state = monitoring(station)
    wanted = payload.get("componentVariable")
    per_message = max(1, int(state.model.get("DeviceDataCtrlr", "ItemsPerMessage")))
    if wanted is not None and len(wanted) > per_message:
        return Reply(
            error=OccurrenceConstraintViolationError(
                f"at most {per_message} componentVariable entries per request"
            )
        )
    entries = state.report(payload.get("monitoringCriteria"), wanted)
    if not entries:
        return Reply({"status": "EmptyResultSet"})
    request_id = payload["requestId"]

    async def send_parts() -> None:
        parts = [entries[i : i + per_message] for i in range(0, len(entries), per_message)]
        for seq_no, part in enumerate(parts):
            await station.call(
                "NotifyMonitoringReport",
                {
                    "requestId": request_id,
                    "generatedAt": utc_iso(station.clock.now()),
                    "seqNo": seq_no,
                    "tbc": seq_no < len(parts) - 1,
                    "monitor": part,
                },
            )

    return Reply({"status": "Accepted"}, after=send_parts)


# ------------------------------------------------------------------------- helpers


def _matches(wanted: Payload, monitor: Monitor) -> bool:
    """A componentVariable entry names ``monitor``'s variable (this model has no EVSE or
    instance components, so an entry with either matches nothing, N02.FR.18-21)."""
    component, variable = wanted["component"], wanted.get("variable")
    if "evse" in component or "instance" in component or component["name"] != monitor.component:
        return False
    if variable is None:
        return True
    return "instance" not in variable and variable["name"] == monitor.variable


def _number(text: str) -> float | None:
    """The value as a number, or None for booleans, texts and lists."""
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _next_aligned(now: datetime, interval: float) -> datetime:
    """The first multiple of ``interval`` seconds since midnight UTC after ``now``."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = (now - midnight).total_seconds()
    return midnight + timedelta(seconds=(math.floor(elapsed / interval) + 1) * interval)


def _is_severity(value: str) -> bool:
    return value.isdigit() and int(value) <= 9


ROUTES_16: dict[str, HandlerFn] = {}
ROUTES_2: dict[str, HandlerFn] = {
    "ClearVariableMonitoring": clear_variable_monitoring,
    "GetMonitoringReport": get_monitoring_report,
    "SetMonitoringBase": set_monitoring_base,
    "SetMonitoringLevel": set_monitoring_level,
    "SetVariableMonitoring": set_variable_monitoring,
}
