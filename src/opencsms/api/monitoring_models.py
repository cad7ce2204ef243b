"""Request and response bodies of the monitoring endpoints (api/monitoring.py), and the
conversions from the domain records; the component/variable bodies are shared with the display
message endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import orjson
from fastapi import HTTPException, status
from pydantic import BaseModel, ConfigDict, Field

from opencsms.api.command_runner import CommandOut
from opencsms.domain.monitoring_model import (
    ComponentRef,
    LinkedEvent,
    Monitor,
    MonitorSpec,
    VariableRef,
)

__all__ = [
    "MAX_WAIT_SECONDS",
    "BaseIn",
    "BaseOut",
    "ClearMonitorsIn",
    "ClearMonitorsOut",
    "ClearResultOut",
    "ComponentIn",
    "ComponentOut",
    "Criterion",
    "EventOut",
    "EventsOut",
    "LevelIn",
    "LevelOut",
    "MonitorDetailOut",
    "MonitorIn",
    "MonitorOut",
    "MonitorType",
    "MonitorsOut",
    "ReportIn",
    "ReportOut",
    "SetMonitorsIn",
    "SetMonitorsOut",
    "SetResultOut",
    "TargetIn",
    "VariableIn",
    "VariableOut",
    "component_out",
    "event_out",
    "monitor_out",
]

MonitorType = Literal[
    "UpperThreshold",
    "LowerThreshold",
    "Delta",
    "Periodic",
    "PeriodicClockAligned",
    "TargetDelta",
    "TargetDeltaRelative",
]
Criterion = Literal["ThresholdMonitoring", "DeltaMonitoring", "PeriodicMonitoring"]
MAX_WAIT_SECONDS = 30.0

# ---------------------------------------------------------------------- bodies


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ComponentIn(_Body):
    """A component (2.0.1 ComponentType)."""

    name: str = Field(min_length=1, max_length=50, examples=["OCPPCommCtrlr"])
    instance: str | None = Field(default=None, max_length=50)
    evse_id: int | None = Field(default=None, ge=0, description="For a component of an EVSE")
    connector_id: int | None = Field(default=None, ge=0, description="Needs evse_id")

    def ref(self) -> ComponentRef:
        if self.connector_id is not None and self.evse_id is None:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "connector_id needs evse_id")
        return ComponentRef(self.name, self.instance, self.evse_id, self.connector_id)


class VariableIn(_Body):
    name: str = Field(min_length=1, max_length=50, examples=["HeartbeatInterval"])
    instance: str | None = Field(default=None, max_length=50)


class MonitorIn(_Body):
    """One monitor to install (2.0.1 SetMonitoringDataType, N04)."""

    component: ComponentIn
    variable: VariableIn
    type: MonitorType
    value: float = Field(description="Threshold or delta; for Periodic types the interval (s)")
    severity: int = Field(ge=0, le=9, description="0 Danger … 9 Debug")
    transaction: bool = Field(default=False, description="Only while a transaction runs")
    id: int | None = Field(default=None, description="Replace the station's monitor of this id")

    def spec(self) -> MonitorSpec:
        target = VariableRef(self.component.ref(), self.variable.name, self.variable.instance)
        return MonitorSpec(target, self.type, self.value, self.severity, self.transaction, self.id)


class SetMonitorsIn(_Body):
    monitors: list[MonitorIn] = Field(min_length=1)


class ClearMonitorsIn(_Body):
    ids: list[int] = Field(min_length=1, description="Monitor ids to clear")


class BaseIn(_Body):
    base: Literal["All", "FactoryDefault", "HardWiredOnly"] = Field(
        description="N03: All, FactoryDefault or HardWiredOnly"
    )


class LevelIn(_Body):
    severity: int = Field(ge=0, le=9, description="Report events of this severity or lower")


class TargetIn(_Body):
    component: ComponentIn
    variable: VariableIn | None = Field(default=None, description="Absent: all its variables")


class ReportIn(_Body):
    criteria: list[Criterion] = Field(default=[], description="None: every monitor type")
    targets: list[TargetIn] = Field(default=[], description="None: every variable")
    wait: float = Field(
        default=0.0,
        ge=0.0,
        le=MAX_WAIT_SECONDS,
        description="Seconds to wait for the whole report before answering (0: answer at once)",
    )


# ---------------------------------------------------------------------- answers


class ComponentOut(BaseModel):
    name: str
    instance: str | None
    evse_id: int | None
    connector_id: int | None


class VariableOut(BaseModel):
    name: str
    instance: str | None


class MonitorOut(BaseModel):
    id: int = Field(description="Assigned by the station")
    component: ComponentOut
    variable: VariableOut
    type: str
    value: float
    severity: int
    transaction: bool
    origin: str = Field(
        description="csms: set through this API and Accepted; report: listed in a report"
    )
    kind: str | None = Field(
        description="CustomMonitor, PreconfiguredMonitor or HardWiredMonitor when known"
    )
    report_id: int | None = Field(description="The last report that listed it")
    stale: bool = Field(description="A SetMonitoringBase may have changed it; ask for a report")
    created_at: datetime
    updated_at: datetime


class MonitorsOut(BaseModel):
    station_id: str
    monitoring_base: str | None = Field(description="The base the station last accepted")
    monitoring_level: int | None = Field(description="The level the station last accepted")
    monitors: list[MonitorOut]


class SetResultOut(BaseModel):
    status: str = Field(
        description="Accepted, UnknownComponent, UnknownVariable, UnsupportedMonitorType, "
        "Rejected or Duplicate"
    )
    id: int | None = Field(description="The monitor's id (Accepted only)")
    component: ComponentOut
    variable: VariableOut
    type: str
    severity: int
    reason: str | None = Field(description="statusInfo.reasonCode")


class SetMonitorsOut(BaseModel):
    results: list[SetResultOut] = Field(description="The station's answer per monitor")
    monitors: list[MonitorOut] = Field(description="The accepted monitors, as stored")
    command: CommandOut = Field(description="The last SetVariableMonitoring CALL sent")
    commands: list[CommandOut] = Field(
        description="Every SetVariableMonitoring CALL sent, in order: the monitors are split "
        "by the station's MonitoringCtrlr ItemsPerMessage / BytesPerMessage"
    )


class ClearResultOut(BaseModel):
    id: int
    status: str = Field(description="Accepted, Rejected or NotFound")
    reason: str | None


class ClearMonitorsOut(BaseModel):
    results: list[ClearResultOut]
    removed: list[int] = Field(description="Monitors removed from the record")
    command: CommandOut = Field(description="The last ClearVariableMonitoring CALL sent")
    commands: list[CommandOut] = Field(
        description="Every ClearVariableMonitoring CALL sent, in order: the ids are split by "
        "the station's MonitoringCtrlr ItemsPerMessage / BytesPerMessage"
    )


class BaseOut(BaseModel):
    status: str = Field(description="The station's answer: Accepted, Rejected or NotSupported")
    base: str
    removed: list[int] = Field(description="Custom monitors removed from the record")
    stale: list[int] = Field(description="Monitors marked stale until the next full report")
    command: CommandOut


class LevelOut(BaseModel):
    status: str = Field(description="The station's answer: Accepted or Rejected")
    severity: int
    command: CommandOut


class ReportOut(BaseModel):
    request_id: int = Field(description="The GetMonitoringReport requestId (= the command id)")
    status: str | None = Field(
        description="Accepted, Rejected, NotSupported, EmptyResultSet; null: no answer"
    )
    full: bool = Field(description="No filter: the complete report replaces the record")
    parameters: dict[str, Any] | None = Field(description="What was asked; null: unsolicited")
    requested_at: datetime | None
    complete: bool
    completed_at: datetime | None
    parts: int = Field(description="NotifyMonitoringReport parts received")
    monitors: list[MonitorOut] = Field(description="Monitors of the record this report listed")
    command: CommandOut | None = None


class EventOut(BaseModel):
    event_id: int
    timestamp: datetime
    trigger: str = Field(description="Alerting, Delta or Periodic")
    event_type: str = Field(description="eventNotificationType")
    component: dict[str, Any]
    variable: dict[str, Any]
    actual_value: str
    tech_code: str | None
    tech_info: str | None
    cleared: bool | None
    transaction_id: str | None
    variable_monitoring_id: int | None
    received_at: datetime
    monitor: MonitorOut | None = Field(description="The monitor that raised it, when known")


class EventsOut(BaseModel):
    items: list[EventOut]


class MonitorDetailOut(BaseModel):
    monitor: MonitorOut
    events: list[EventOut] = Field(description="Its most recent events, newest first")


def component_out(component: ComponentRef) -> ComponentOut:
    return ComponentOut(
        name=component.name,
        instance=component.instance,
        evse_id=component.evse_id,
        connector_id=component.connector_id,
    )


def monitor_out(m: Monitor) -> MonitorOut:
    return MonitorOut(
        id=m.id,
        component=component_out(m.target.component),
        variable=VariableOut(name=m.target.name, instance=m.target.instance),
        type=m.type,
        value=m.value,
        severity=m.severity,
        transaction=m.transaction,
        origin=m.origin.value,
        kind=m.kind,
        report_id=m.report_id,
        stale=m.stale,
        created_at=m.created_at,
        updated_at=m.updated_at,
    )


def event_out(item: LinkedEvent) -> EventOut:
    e = item.event
    return EventOut(
        event_id=e.event_id,
        timestamp=e.timestamp,
        trigger=e.trigger,
        event_type=e.event_type,
        component=orjson.loads(e.component_json),
        variable=orjson.loads(e.variable_json),
        actual_value=e.actual_value,
        tech_code=e.tech_code,
        tech_info=e.tech_info,
        cleared=e.cleared,
        transaction_id=e.transaction_id,
        variable_monitoring_id=e.variable_monitoring_id,
        received_at=e.received_at,
        monitor=None if item.monitor is None else monitor_out(item.monitor),
    )
