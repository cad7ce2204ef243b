"""Variable monitors and monitoring settings (tables ``variable_monitors``,
``monitoring_settings``), and NotifyEvent records joined to the monitor that raised them
(domain/monitoring_model.py, docs/monitoring.md)."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, select, true, update

from opencsms.domain.monitoring_model import (
    ComponentRef,
    LinkedEvent,
    Monitor,
    MonitoringSettings,
    MonitorOrigin,
    VariableRef,
)
from opencsms.domain.report_requests import ReportPart

from ..statements import Statement, WriteOp
from ..tables import monitoring_settings, station_events, variable_monitors
from .base import Repository, dialect_insert, storage_errors
from .events import event_from_mapping
from .report_requests import ReportRepository

__all__ = ["MonitorRepository"]

_COLUMNS = tuple(c.name for c in variable_monitors.columns)
_KEY = ("station_id", "id")


def _build_save(dialect: str) -> Any:
    """A monitor the CSMS set (N04): every column but ``created_at`` and ``origin`` (a monitor
    the CSMS first learned from a report stays "report")."""
    insert = dialect_insert(dialect, variable_monitors).values(
        {name: bindparam(name) for name in _COLUMNS}
    )
    keep = {*_KEY, "created_at", "origin"}
    return insert.on_conflict_do_update(
        index_elements=list(_KEY),
        set_={name: insert.excluded[name] for name in _COLUMNS if name not in keep},
    )


def _build_reported(dialect: str) -> Any:
    """A monitor listed in a report (N02): like :func:`_build_save`, and a 2.0.1 report (no
    eventNotificationType) keeps the kind the CSMS knew."""
    insert = dialect_insert(dialect, variable_monitors).values(
        {name: bindparam(name) for name in _COLUMNS}
    )
    keep = {*_KEY, "created_at", "origin", "kind"}
    values: dict[str, Any] = {name: insert.excluded[name] for name in _COLUMNS if name not in keep}
    values["kind"] = func.coalesce(insert.excluded.kind, variable_monitors.c.kind)
    return insert.on_conflict_do_update(index_elements=list(_KEY), set_=values)


_SAVE = Statement("variable_monitors.save", _COLUMNS, _build_save)
_REPORTED = Statement("variable_monitors.reported", _COLUMNS, _build_reported)

_DELETE = Statement(
    "variable_monitors.delete",
    ("k_station", "k_id"),
    lambda _d: delete(variable_monitors).where(
        variable_monitors.c.station_id == bindparam("k_station"),
        variable_monitors.c.id == bindparam("k_id"),
    ),
)

_MARK_STALE = Statement(
    "variable_monitors.mark_stale",
    ("updated_at", "k_station", "k_id"),
    lambda _d: (
        update(variable_monitors)
        .where(
            variable_monitors.c.station_id == bindparam("k_station"),
            variable_monitors.c.id == bindparam("k_id"),
        )
        .values(stale=true(), updated_at=bindparam("updated_at"))
    ),
)

_SETTINGS_COLUMNS = tuple(c.name for c in monitoring_settings.columns)


def _build_setting(column: str) -> Statement:
    """Upsert one setting (``base`` or ``level``) and its time, leaving the other alone."""

    def build(dialect: str) -> Any:
        insert = dialect_insert(dialect, monitoring_settings).values(
            {name: bindparam(name) for name in _SETTINGS_COLUMNS}
        )
        return insert.on_conflict_do_update(
            index_elements=["station_id"],
            set_={column: insert.excluded[column], f"{column}_at": insert.excluded[f"{column}_at"]},
        )

    return Statement(f"monitoring_settings.set_{column}", _SETTINGS_COLUMNS, build)


def _settings_params(values: dict[str, Any]) -> tuple[Any, ...]:
    """A settings row's parameters; the setting not being written is NULL (and not updated)."""
    return tuple(values.get(name) for name in _SETTINGS_COLUMNS)


_SET_BASE = _build_setting("base")
_SET_LEVEL = _build_setting("level")


def monitor_from_mapping(m: Any, prefix: str = "") -> Monitor:
    """A :class:`Monitor` from a row mapping whose monitor columns carry ``prefix``."""
    component = ComponentRef(
        name=m[f"{prefix}component"],
        instance=m[f"{prefix}component_instance"],
        evse_id=m[f"{prefix}evse_id"],
        connector_id=m[f"{prefix}connector_id"],
    )
    return Monitor(
        station_id=m[f"{prefix}station_id"],
        id=m[f"{prefix}id"],
        target=VariableRef(component, m[f"{prefix}variable"], m[f"{prefix}variable_instance"]),
        type=m[f"{prefix}type"],
        value=m[f"{prefix}value"],
        severity=m[f"{prefix}severity"],
        transaction=m[f"{prefix}transaction"],
        origin=MonitorOrigin(m[f"{prefix}origin"]),
        kind=m[f"{prefix}kind"],
        report_id=m[f"{prefix}report_id"],
        stale=m[f"{prefix}stale"],
        created_at=m[f"{prefix}created_at"],
        updated_at=m[f"{prefix}updated_at"],
    )


class MonitorRepository(Repository):
    """Tables ``variable_monitors`` and ``monitoring_settings``; reads ``station_events``."""

    def _params(self, monitor: Monitor) -> tuple[Any, ...]:
        target, component = monitor.target, monitor.target.component
        values = {
            "station_id": monitor.station_id,
            "id": monitor.id,
            "component": component.name,
            "component_instance": component.instance,
            "evse_id": component.evse_id,
            "connector_id": component.connector_id,
            "variable": target.name,
            "variable_instance": target.instance,
            "type": monitor.type,
            "value": monitor.value,
            "severity": monitor.severity,
            "transaction": monitor.transaction,
            "origin": monitor.origin.value,
            "kind": monitor.kind,
            "report_id": monitor.report_id,
            "stale": monitor.stale,
            "created_at": self._ts(monitor.created_at),
            "updated_at": self._ts(monitor.updated_at),
        }
        return tuple(values[name] for name in _COLUMNS)

    async def save(self, monitors: Iterable[Monitor]) -> None:
        """Create or replace monitors the CSMS set, in one commit."""
        ops = [WriteOp(_SAVE, self._params(m)) for m in monitors]
        if ops:
            await self._writer.execute(*ops)

    async def store_report_part(
        self, reports: ReportRepository, part: ReportPart, monitors: Sequence[Monitor]
    ) -> None:
        """Store a NotifyMonitoringReport part and the monitors it lists, in one commit (a
        resend stores the same again: the part is ignored, the monitors rewritten as they
        were)."""
        ops = [*reports.part_ops(part), *(WriteOp(_REPORTED, self._params(m)) for m in monitors)]
        await self._writer.execute(*ops)

    async def remove(self, station_id: str, ids: Iterable[int]) -> None:
        """Delete the station's monitors ``ids`` (absent ones are ignored)."""
        ops = [WriteOp(_DELETE, (station_id, i)) for i in ids]
        if ops:
            await self._writer.execute(*ops)

    async def mark_stale(self, station_id: str, ids: Iterable[int], at: datetime) -> None:
        ops = [WriteOp(_MARK_STALE, (self._ts(at), station_id, i)) for i in ids]
        if ops:
            await self._writer.execute(*ops)

    async def for_station(self, station_id: str) -> builtins.list[Monitor]:
        """The station's monitors, by id."""
        c = variable_monitors.c
        query = select(variable_monitors).where(c.station_id == station_id).order_by(c.id)
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [monitor_from_mapping(row._mapping) for row in rows]

    async def get(self, station_id: str, monitor_id: int) -> Monitor | None:
        c = variable_monitors.c
        query = select(variable_monitors).where(c.station_id == station_id, c.id == monitor_id)
        with storage_errors():
            async with self._engine.connect() as conn:
                row = (await conn.execute(query)).first()
        return None if row is None else monitor_from_mapping(row._mapping)

    # ------------------------------------------------------------------ settings

    async def set_base(self, station_id: str, base: str, at: datetime) -> None:
        values = {"station_id": station_id, "base": base, "base_at": self._ts(at)}
        await self._writer.execute(WriteOp(_SET_BASE, _settings_params(values)))

    async def set_level(self, station_id: str, level: int, at: datetime) -> None:
        values = {"station_id": station_id, "level": level, "level_at": self._ts(at)}
        await self._writer.execute(WriteOp(_SET_LEVEL, _settings_params(values)))

    async def settings(self, station_id: str) -> MonitoringSettings | None:
        query = select(monitoring_settings).where(monitoring_settings.c.station_id == station_id)
        with storage_errors():
            async with self._engine.connect() as conn:
                row = (await conn.execute(query)).first()
        if row is None:
            return None
        m = row._mapping
        return MonitoringSettings(
            station_id=m["station_id"],
            base=m["base"],
            base_at=m["base_at"],
            level=m["level"],
            level_at=m["level_at"],
        )

    # ------------------------------------------------------------------ events

    async def events(
        self, station_id: str, monitor_id: int | None = None, limit: int = 100
    ) -> builtins.list[LinkedEvent]:
        """The station's NotifyEvent records, newest station timestamp first (only those of
        ``monitor_id`` when given), each with the monitor of its ``variableMonitoringId`` when
        the CSMS knows a monitor of that id (index ``ix_station_events_monitor``)."""
        e, m = station_events.c, variable_monitors.c
        joined = station_events.outerjoin(
            variable_monitors,
            and_(m.station_id == e.station_id, m.id == e.variable_monitoring_id),
        )
        query = (
            select(station_events, *(column.label(f"m_{column.name}") for column in m))
            .select_from(joined)
            .where(e.station_id == station_id)
        )
        if monitor_id is not None:
            query = query.where(e.variable_monitoring_id == monitor_id)
        query = query.order_by(e.timestamp.desc(), e.event_id.desc()).limit(limit)
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        out = []
        for row in rows:
            mapping = row._mapping
            monitor = None if mapping["m_id"] is None else monitor_from_mapping(mapping, "m_")
            out.append(LinkedEvent(event_from_mapping(mapping), monitor))
        return out
