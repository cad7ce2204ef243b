"""Charging profiles each station holds (table ``charging_profiles``;
domain/charging_profiles.py). Schedules are stored as domain JSON; the OCPP payload is kept
opaque, only for resending and display."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, select
from sqlalchemy.engine import Row

from opencsms.domain.charging_profiles import StoredProfile
from opencsms.smartcharging import (
    ChargingProfile,
    ChargingSchedule,
    ProfileKind,
    ProfilePurpose,
    RateUnit,
    RecurrencyKind,
    SchedulePeriod,
)

from ..statements import Statement, WriteOp
from ..tables import charging_profiles
from .base import Repository, dialect_insert, storage_errors

__all__ = ["ChargingProfileRepository"]

_COLUMNS = tuple(c.name for c in charging_profiles.columns)
_KEY = ("station_id", "profile_id")
_DATETIMES = frozenset(("valid_from", "valid_to", "updated_at"))


def _build_save(dialect: str) -> Any:
    insert = dialect_insert(dialect, charging_profiles).values(
        {name: bindparam(name) for name in _COLUMNS}
    )
    return insert.on_conflict_do_update(
        index_elements=list(_KEY),
        set_={name: insert.excluded[name] for name in _COLUMNS if name not in _KEY},
    )


_SAVE = Statement("charging_profiles.save", _COLUMNS, _build_save)
_DELETE = Statement(
    "charging_profiles.delete",
    ("k_station", "k_id"),
    lambda _d: delete(charging_profiles).where(
        charging_profiles.c.station_id == bindparam("k_station"),
        charging_profiles.c.profile_id == bindparam("k_id"),
    ),
)
_DELETE_UNREPORTED = Statement(
    "charging_profiles.delete_unreported",
    ("k_station", "k_report"),
    # A NULL report_id (set, never reported) is unreported too: `IS DISTINCT FROM` spelled
    # portably.
    lambda _d: delete(charging_profiles).where(
        charging_profiles.c.station_id == bindparam("k_station"),
        (charging_profiles.c.report_id.is_(None))
        | (charging_profiles.c.report_id != bindparam("k_report")),
    ),
)


def _schedule_json(schedule: ChargingSchedule) -> dict[str, Any]:
    return {
        "rate_unit": schedule.rate_unit.value,
        "periods": [
            [p.start_period, p.limit, p.number_phases, p.phase_to_use] for p in schedule.periods
        ],
        "start_schedule": None
        if schedule.start_schedule is None
        else schedule.start_schedule.isoformat(),
        "duration": schedule.duration,
        "min_charging_rate": schedule.min_charging_rate,
        "schedule_id": schedule.schedule_id,
    }


def _schedule_of(value: dict[str, Any]) -> ChargingSchedule:
    start = value["start_schedule"]
    return ChargingSchedule(
        rate_unit=RateUnit(value["rate_unit"]),
        periods=tuple(SchedulePeriod(*p) for p in value["periods"]),
        start_schedule=None if start is None else datetime.fromisoformat(start),
        duration=value["duration"],
        min_charging_rate=value["min_charging_rate"],
        schedule_id=value["schedule_id"],
    )


def _from_row(row: Row[Any]) -> StoredProfile:
    m = row._mapping
    profile = ChargingProfile(
        id=m["profile_id"],
        stack_level=m["stack_level"],
        purpose=ProfilePurpose(m["purpose"]),
        kind=ProfileKind(m["kind"]),
        schedules=tuple(_schedule_of(s) for s in orjson.loads(m["schedules"])),
        evse=m["evse_id"],
        recurrency=None if m["recurrency"] is None else RecurrencyKind(m["recurrency"]),
        valid_from=m["valid_from"],
        valid_to=m["valid_to"],
        transaction_id=m["transaction_id"],
    )
    return StoredProfile(
        station_id=m["station_id"],
        profile=profile,
        payload=orjson.loads(m["payload"]),
        ocpp_version=m["ocpp_version"],
        updated_at=m["updated_at"],
        source=m["source"],
        report_id=m["report_id"],
    )


class ChargingProfileRepository(Repository):
    """Table ``charging_profiles``."""

    def _params(self, stored: StoredProfile) -> tuple[Any, ...]:
        p = stored.profile
        values: dict[str, Any] = {
            "station_id": stored.station_id,
            "profile_id": p.id,
            "evse_id": p.evse,
            "purpose": p.purpose.value,
            "stack_level": p.stack_level,
            "kind": p.kind.value,
            "recurrency": None if p.recurrency is None else p.recurrency.value,
            "valid_from": p.valid_from,
            "valid_to": p.valid_to,
            "transaction_id": p.transaction_id,
            "schedules": orjson.dumps([_schedule_json(s) for s in p.schedules]).decode(),
            "payload": orjson.dumps(stored.payload).decode(),
            "ocpp_version": stored.ocpp_version,
            "source": stored.source,
            "report_id": stored.report_id,
            "updated_at": stored.updated_at,
        }
        for name in _DATETIMES:
            if values[name] is not None:
                values[name] = self._ts(values[name])
        return tuple(values[name] for name in _COLUMNS)

    async def save(self, *items: StoredProfile) -> None:
        """Create or replace ``items`` (by station and profile id), in one commit."""
        if items:
            await self._writer.execute(*(WriteOp(_SAVE, self._params(s)) for s in items))

    async def delete(self, station_id: str, profile_ids: Iterable[int]) -> None:
        """Remove the station's profiles with these ids, in one commit."""
        ops = [WriteOp(_DELETE, (station_id, pid)) for pid in profile_ids]
        if ops:
            await self._writer.execute(*ops)

    async def replace(
        self, station_id: str, report_id: int, items: Sequence[StoredProfile]
    ) -> None:
        """Make ``items`` (all carrying ``report_id``) plus the rows already stored with
        ``report_id`` the station's whole record, in one commit."""
        ops = [WriteOp(_SAVE, self._params(s)) for s in items]
        ops.append(WriteOp(_DELETE_UNREPORTED, (station_id, report_id)))
        await self._writer.execute(*ops)

    async def list(self, station_id: str) -> builtins.list[StoredProfile]:
        """The station's profiles, oldest write first (a later one wins a composite tie)."""
        c = charging_profiles.c
        query = (
            select(charging_profiles)
            .where(c.station_id == station_id)
            .order_by(c.updated_at, c.profile_id)
        )
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_from_row(row) for row in rows]
