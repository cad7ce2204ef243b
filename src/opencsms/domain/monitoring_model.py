"""Variable monitors: the CSMS's record of each 2.0.1 station's monitors and the pure rules that
keep it (functional block N: N02 report, N03 base, N04 set, N05 level, N06 clear, N07 events).

A station evaluates its monitors itself and reports what they see with NotifyEvent (N07); the
CSMS keeps a copy so the operator can see what is installed and which monitor raised an event.
The copy changes only on what a station says: a SetVariableMonitoring result ``Accepted`` (N04:
the station assigns the id), a ClearVariableMonitoring result ``Accepted`` or ``NotFound`` (N06),
a NotifyMonitoringReport (N02), and an accepted SetMonitoringBase (N03, see :func:`base_change`).

Addresses follow 2.0.1 ComponentType / VariableType (part 2 §2): a component by name, optional
instance and optional EVSE/connector; a variable by name and optional instance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from opencsms.domain.model import StationEvent

__all__ = [
    "CUSTOM_MONITOR",
    "MONITORING_BASES",
    "BaseChange",
    "ClearMonitorResult",
    "ComponentRef",
    "LinkedEvent",
    "Monitor",
    "MonitorOrigin",
    "MonitorSetting",
    "MonitorSpec",
    "MonitoringQuery",
    "MonitoringSettings",
    "SetMonitorResult",
    "VariableRef",
    "base_change",
    "pair_results",
]

MONITORING_BASES = ("All", "FactoryDefault", "HardWiredOnly")
"""2.0.1 MonitoringBaseEnumType (N03)."""
CUSTOM_MONITOR = "CustomMonitor"
"""eventNotificationType of a monitor installed with SetVariableMonitoring (2.1 reports it; for
2.0.1 the CSMS knows it only of the monitors it created)."""


class MonitorOrigin(StrEnum):
    """How the CSMS learned of a monitor (the first time)."""

    CSMS = "csms"
    """Set through SetVariableMonitoring and Accepted by the station."""
    REPORT = "report"
    """Listed in a NotifyMonitoringReport (pre-configured and hard-wired ones come this way)."""


@dataclass(frozen=True, slots=True)
class ComponentRef:
    """A component (2.0.1 ComponentType): ``evse_id``/``connector_id`` for one on an EVSE."""

    name: str
    instance: str | None = None
    evse_id: int | None = None
    connector_id: int | None = None


@dataclass(frozen=True, slots=True)
class VariableRef:
    """A variable of a component (2.0.1 ComponentType + VariableType)."""

    component: ComponentRef
    name: str
    instance: str | None = None

    def same_names(self, other: VariableRef) -> bool:
        """Component and variable names match (case-insensitively, as 2.0.1 names are)."""
        return (
            self.component.name.lower() == other.component.name.lower()
            and self.name.lower() == other.name.lower()
        )


@dataclass(frozen=True, slots=True)
class MonitorSpec:
    """One monitor the operator asks for (2.0.1 SetMonitoringDataType, N04).

    ``id`` replaces the station's monitor of that id; without it the station creates one and
    assigns the id.
    """

    target: VariableRef
    type: str
    value: float
    severity: int
    transaction: bool = False
    id: int | None = None


@dataclass(frozen=True, slots=True)
class SetMonitorResult:
    """The station's answer for one requested monitor (2.0.1 SetMonitoringResultType).

    ``status``: Accepted, UnknownComponent, UnknownVariable, UnsupportedMonitorType, Rejected or
    Duplicate; ``id`` only with Accepted (N04); ``reason`` the statusInfo reasonCode.
    """

    status: str
    target: VariableRef
    type: str
    severity: int
    id: int | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ClearMonitorResult:
    """The station's answer for one monitor to clear (N06): Accepted, Rejected or NotFound."""

    id: int
    status: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class MonitorSetting:
    """A monitor as a station reports it (2.0.1 VariableMonitoringType with its variable);
    ``kind`` is 2.1's eventNotificationType (CustomMonitor, PreconfiguredMonitor,
    HardWiredMonitor), ``None`` from 2.0.1."""

    id: int
    target: VariableRef
    type: str
    value: float
    severity: int
    transaction: bool = False
    kind: str | None = None


@dataclass(frozen=True, slots=True)
class Monitor:
    """One monitor of one station as the CSMS knows it.

    ``report_id`` is the last report that listed it; ``stale`` marks a monitor a SetMonitoringBase
    may have changed or disabled (see :func:`base_change`) until a full report confirms it.
    """

    station_id: str
    id: int
    target: VariableRef
    type: str
    value: float
    severity: int
    transaction: bool
    origin: MonitorOrigin
    kind: str | None
    report_id: int | None = None
    stale: bool = False
    created_at: datetime = field(kw_only=True)
    updated_at: datetime = field(kw_only=True)

    @property
    def custom(self) -> bool:
        """Installed with SetVariableMonitoring (as far as the CSMS knows)."""
        return self.kind == CUSTOM_MONITOR


@dataclass(frozen=True, slots=True)
class MonitoringSettings:
    """The station's accepted monitoring base (N03) and level (N05), as last set by the CSMS."""

    station_id: str
    base: str | None = None
    base_at: datetime | None = None
    level: int | None = None
    level_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class MonitoringQuery:
    """What a GetMonitoringReport asks for (N02): monitors of any of ``criteria`` (none: all
    types) on any of ``targets`` (none: every variable). A target without variable name stands
    for every variable of its component (N02.FR.16 / errata N02.FR.19)."""

    criteria: tuple[str, ...] = ()
    targets: tuple[ComponentRef | VariableRef, ...] = ()

    @property
    def full(self) -> bool:
        """Without filters the report lists every monitor: it replaces the CSMS's record."""
        return not self.criteria and not self.targets


@dataclass(frozen=True, slots=True)
class BaseChange:
    """What an accepted SetMonitoringBase does to the record: ``removed`` monitors are gone,
    ``stale`` ones may have changed."""

    removed: tuple[int, ...]
    stale: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class LinkedEvent:
    """A NotifyEvent record with the monitor that raised it, when the CSMS knows that monitor."""

    event: StationEvent
    monitor: Monitor | None


def base_change(base: str, monitors: Sequence[Monitor]) -> BaseChange:
    """N03 SetMonitoringBase, accepted: the effect on the CSMS's record.

    ``All`` activates the pre-configured monitors and keeps the custom ones: nothing the CSMS
    knows changes (monitors it did not know may appear; a report shows them).
    ``FactoryDefault`` restores the manufacturer's settings and ``HardWiredOnly`` also disables
    the pre-configured monitors; both remove every custom monitor. So the custom monitors are
    removed from the record, and every other monitor is marked stale: a 2.0.1 report does not
    say which monitors are pre-configured, and those may have been reset or disabled. The next
    full report (GetMonitoringReport without filters) replaces the record and clears the marks.
    """
    if base == "All":
        return BaseChange((), ())
    removed = tuple(m.id for m in monitors if m.custom)
    stale = tuple(m.id for m in monitors if not m.custom)
    return BaseChange(removed, stale)


def pair_results(
    specs: Sequence[MonitorSpec], results: Sequence[SetMonitorResult]
) -> list[tuple[MonitorSpec, SetMonitorResult]]:
    """Match each result to the request entry it answers.

    N04 has one result per setMonitoringData; stations answer in request order, which is tried
    first. A result that does not describe the entry at its position (a station that reorders)
    is matched to the first unmatched entry with the same variable, type and severity; a
    result that matches nothing is dropped (it cannot be stored without the requested value).
    """
    pairs: list[tuple[MonitorSpec, SetMonitorResult]] = []
    used: set[int] = set()
    for index, result in enumerate(results):
        if index < len(specs) and index not in used and _describes(result, specs[index]):
            used.add(index)
            pairs.append((specs[index], result))
            continue
        for other, spec in enumerate(specs):
            if other not in used and _describes(result, spec):
                used.add(other)
                pairs.append((spec, result))
                break
    return pairs


def _describes(result: SetMonitorResult, spec: MonitorSpec) -> bool:
    return (
        result.type == spec.type
        and result.severity == spec.severity
        and result.target.same_names(spec.target)
    )
