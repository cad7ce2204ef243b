"""External charging limits, EV charging needs and EV charging schedules (tables
``charging_limits``, ``ev_charging_needs``, ``ev_charging_schedules``; domain/ev_charging.py).
OCPP schedules and requests are kept verbatim as JSON text, for display."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Row

from opencsms.domain.ev_charging import LimitState, StoredLimit, StoredNeeds
from opencsms.domain.ev_charging_model import EvChargingNeeds, EvChargingSchedule, ExternalLimit

from ..statements import Statement, WriteOp
from ..tables import charging_limits, ev_charging_needs, ev_charging_schedules
from .base import Repository, dialect_insert, storage_errors

__all__ = ["EvChargingRepository"]

_LIMIT_COLUMNS = tuple(c.name for c in charging_limits.columns)
_NEEDS_COLUMNS = tuple(c.name for c in ev_charging_needs.columns)
_SCHEDULE_COLUMNS = tuple(c.name for c in ev_charging_schedules.columns)

_INSERT_LIMIT = Statement(
    "charging_limits.insert",
    _LIMIT_COLUMNS,
    lambda d: (
        dialect_insert(d, charging_limits)
        .values({name: bindparam(name) for name in _LIMIT_COLUMNS})
        .on_conflict_do_nothing(index_elements=["station_id", "evse_id", "source", "received_at"])
    ),
)
_END_LIMITS = Statement(
    "charging_limits.end",
    ("new_state", "at", "k_station", "k_evse", "k_source", "k_state"),
    lambda _d: (
        update(charging_limits)
        .where(
            charging_limits.c.station_id == bindparam("k_station"),
            charging_limits.c.evse_id == bindparam("k_evse"),
            charging_limits.c.source == bindparam("k_source"),
            charging_limits.c.state == bindparam("k_state"),
        )
        .values(state=bindparam("new_state"), ended_at=bindparam("at"))
    ),
)


def _upsert(table: Any, columns: tuple[str, ...], key: list[str]) -> Any:
    def build(dialect: str) -> Any:
        insert = dialect_insert(dialect, table).values({name: bindparam(name) for name in columns})
        return insert.on_conflict_do_update(
            index_elements=key,
            set_={name: insert.excluded[name] for name in columns if name not in key},
        )

    return build


_SAVE_NEEDS = Statement(
    "ev_charging_needs.save",
    _NEEDS_COLUMNS,
    _upsert(ev_charging_needs, _NEEDS_COLUMNS, ["station_id", "evse_id"]),
)
_SAVE_SCHEDULE = Statement(
    "ev_charging_schedules.save",
    _SCHEDULE_COLUMNS,
    _upsert(ev_charging_schedules, _SCHEDULE_COLUMNS, ["station_id", "evse_id", "time_base"]),
)


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _limit_of(row: Row[Any]) -> StoredLimit:
    m = row._mapping
    limit = ExternalLimit(
        station_id=m["station_id"],
        source=m["source"],
        received_at=m["received_at"],
        evse_id=m["evse_id"],
        grid_critical=m["grid_critical"],
        cleared=m["state"] == LimitState.CLEARED,
        limit_a=m["limit_a"],
        limit_w=m["limit_w"],
    )
    schedules = None if m["schedules"] is None else orjson.loads(m["schedules"])
    return StoredLimit(limit, schedules, m["state"], m["ended_at"])


def _needs_of(row: Row[Any]) -> StoredNeeds:
    m = row._mapping
    needs = EvChargingNeeds(
        station_id=m["station_id"],
        evse_id=m["evse_id"],
        requested_energy_transfer=m["requested_energy_transfer"],
        received_at=m["received_at"],
        departure_time=m["departure_time"],
        energy_amount_wh=m["energy_amount_wh"],
        ac_min_current_a=m["ac_min_current_a"],
        ac_max_current_a=m["ac_max_current_a"],
        ac_max_voltage_v=m["ac_max_voltage_v"],
        dc_max_current_a=m["dc_max_current_a"],
        dc_max_voltage_v=m["dc_max_voltage_v"],
        dc_max_power_w=m["dc_max_power_w"],
        state_of_charge=m["state_of_charge"],
        max_schedule_tuples=m["max_schedule_tuples"],
        transaction_id=m["transaction_id"],
    )
    return StoredNeeds(needs, m["status"], orjson.loads(m["payload"]), m["reason"])


def _schedule_of(row: Row[Any]) -> EvChargingSchedule:
    m = row._mapping
    return EvChargingSchedule(
        station_id=m["station_id"],
        evse_id=m["evse_id"],
        time_base=m["time_base"],
        schedule=orjson.loads(m["schedule"]),
        received_at=m["received_at"],
        within_limits=m["within_limits"],
        transaction_id=m["transaction_id"],
        reason=m["reason"],
        detail=m["detail"],
    )


class EvChargingRepository(Repository):
    """Tables ``charging_limits``, ``ev_charging_needs`` and ``ev_charging_schedules``."""

    # ------------------------------------------------------------------ charging_limits

    async def add_limit(self, stored: StoredLimit, *, ended_at: datetime) -> None:
        """Make ``stored`` the current limit of its source on its EVSE: the previous current
        one is marked replaced at ``ended_at``, in the same commit."""
        limit = stored.limit
        evse = limit.evse_id or 0
        values: dict[str, Any] = {
            "station_id": limit.station_id,
            "evse_id": evse,
            "source": limit.source,
            "received_at": self._ts(limit.received_at),
            "grid_critical": limit.grid_critical,
            "limit_a": limit.limit_a,
            "limit_w": limit.limit_w,
            "schedules": _json(stored.schedules),
            "state": stored.state,
            "ended_at": self._ts_or_none(stored.ended_at),
        }
        end = (
            LimitState.REPLACED,
            self._ts(ended_at),
            limit.station_id,
            evse,
            limit.source,
            LimitState.CURRENT,
        )
        await self._writer.execute(
            WriteOp(_END_LIMITS, end),
            WriteOp(_INSERT_LIMIT, tuple(values[name] for name in _LIMIT_COLUMNS)),
        )

    async def clear_limits(self, station_id: str, evse_id: int, source: str, at: datetime) -> None:
        """Mark the current limit of ``source`` on ``evse_id`` cleared at ``at`` (K13)."""
        params = (LimitState.CLEARED, self._ts(at), station_id, evse_id, source, LimitState.CURRENT)
        await self._writer.execute(WriteOp(_END_LIMITS, params))

    async def current_limits(self, station_id: str) -> list[StoredLimit]:
        """The limits in force on the station, by EVSE then source."""
        c = charging_limits.c
        query = (
            select(charging_limits)
            .where(c.station_id == station_id, c.state == LimitState.CURRENT)
            .order_by(c.evse_id, c.source, c.received_at)
        )
        return [_limit_of(row) for row in await self._rows(query)]

    async def limits(self, station_id: str, *, limit: int = 100) -> list[StoredLimit]:
        """Every limit the station reported, newest first."""
        c = charging_limits.c
        query = (
            select(charging_limits)
            .where(c.station_id == station_id)
            .order_by(c.received_at.desc(), c.evse_id, c.source)
            .limit(limit)
        )
        return [_limit_of(row) for row in await self._rows(query)]

    # ---------------------------------------------------------------- ev_charging_needs

    async def save_needs(self, stored: StoredNeeds) -> None:
        """Store ``stored`` as the EVSE's latest needs (replacing the previous ones)."""
        n = stored.needs
        values: dict[str, Any] = {
            "station_id": n.station_id,
            "evse_id": n.evse_id,
            "transaction_id": n.transaction_id,
            "requested_energy_transfer": n.requested_energy_transfer,
            "departure_time": self._ts_or_none(n.departure_time),
            "energy_amount_wh": n.energy_amount_wh,
            "ac_min_current_a": n.ac_min_current_a,
            "ac_max_current_a": n.ac_max_current_a,
            "ac_max_voltage_v": n.ac_max_voltage_v,
            "dc_max_current_a": n.dc_max_current_a,
            "dc_max_voltage_v": n.dc_max_voltage_v,
            "dc_max_power_w": n.dc_max_power_w,
            "state_of_charge": n.state_of_charge,
            "max_schedule_tuples": n.max_schedule_tuples,
            "status": stored.status,
            "reason": stored.reason,
            "payload": _json(stored.payload),
            "received_at": self._ts(n.received_at),
        }
        await self._writer.execute(
            WriteOp(_SAVE_NEEDS, tuple(values[name] for name in _NEEDS_COLUMNS))
        )

    async def needs(self, station_id: str, evse_id: int) -> StoredNeeds | None:
        """The EVSE's latest needs, if any."""
        c = ev_charging_needs.c
        query = select(ev_charging_needs).where(c.station_id == station_id, c.evse_id == evse_id)
        rows = await self._rows(query)
        return _needs_of(rows[0]) if rows else None

    async def needs_of_station(self, station_id: str) -> list[StoredNeeds]:
        """The latest needs of each of the station's EVSEs, by EVSE."""
        c = ev_charging_needs.c
        query = select(ev_charging_needs).where(c.station_id == station_id).order_by(c.evse_id)
        return [_needs_of(row) for row in await self._rows(query)]

    # ------------------------------------------------------------ ev_charging_schedules

    async def save_schedule(self, record: EvChargingSchedule) -> None:
        """Store an EV schedule; a resend (same EVSE and time base) replaces it."""
        values: dict[str, Any] = {
            "station_id": record.station_id,
            "evse_id": record.evse_id,
            "time_base": self._ts(record.time_base),
            "transaction_id": record.transaction_id,
            "schedule": _json(record.schedule),
            "within_limits": record.within_limits,
            "reason": record.reason,
            "detail": record.detail,
            "received_at": self._ts(record.received_at),
        }
        await self._writer.execute(
            WriteOp(_SAVE_SCHEDULE, tuple(values[name] for name in _SCHEDULE_COLUMNS))
        )

    async def schedules(self, station_id: str, *, limit: int = 100) -> list[EvChargingSchedule]:
        """The station's EV schedules, newest time base first."""
        c = ev_charging_schedules.c
        query = (
            select(ev_charging_schedules)
            .where(c.station_id == station_id)
            .order_by(c.time_base.desc(), c.evse_id)
            .limit(limit)
        )
        return [_schedule_of(row) for row in await self._rows(query)]

    async def _rows(self, query: Any) -> list[Row[Any]]:
        with storage_errors():
            async with self._engine.connect() as conn:
                return list((await conn.execute(query)).all())
