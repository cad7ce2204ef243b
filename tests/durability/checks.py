"""What must hold in the database after the crash: every acknowledged transaction message stored
exactly once, no session created twice, every session's energy the station's own register
difference, and none left Active.

The database is read two ways: SQL straight from the tables (meter values and 2.0.1 events, the
rows whose exactly-once-ness is the point) and the operator API (sessions, as an operator sees
them). Keys are compared as multisets, so a row stored twice and a row missing both show up.

Meter values are identified as the storage identifies them (docs/storage.md): station, EVSE,
transaction, timestamp. Station timestamps have millisecond precision; the drivers never stop a
session or send an extra sample close to a periodic one (``test_sigkill.SAFE_GAP``), so two
samples of one EVSE never share a key (the storage would keep only the first).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import orjson

from opencsms.ocpp.version import OcppVersion
from opencsms.simulator.station import SimulatedStation
from tests.durability.recorder import Record, Recorder

REGISTER = "Energy.Active.Import.Register"

MeterKey = tuple[str, int, str, datetime, bytes]
"""(station, evse/connector, transaction id, timestamp, canonical samples): two different readings
in the same millisecond (a periodic sample beside a Transaction.End one) are two rows, not a
duplicate (migration 0004)."""
"""(station, evse, transaction id, timestamp)."""
EventKey = tuple[str, str, int]
"""(station, 2.0.1 transactionId, seqNo)."""


def _ts(value: str | datetime) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(UTC)


class Database:
    """Read-only SQL on the server's database (SQLite file or PostgreSQL)."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self.url.startswith("sqlite"):
            path = self.url.split(":///", 1)[1]
            return await asyncio.to_thread(self._sqlite_rows, path, sql)
        conn = await asyncpg.connect(self.url)
        try:
            return [tuple(row) for row in await conn.fetch(sql)]
        finally:
            await conn.close()

    @staticmethod
    def _sqlite_rows(path: str, sql: str) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return list(conn.execute(sql).fetchall())
        finally:
            conn.close()

    async def meter_keys(self, stations: set[str]) -> Counter[MeterKey]:
        rows = await self.rows(
            "SELECT station_id, evse_id, transaction_id, timestamp, samples FROM meter_values"
        )
        return Counter(
            (sid, int(evse), str(tx), _ts(ts), _samples(orjson.loads(samples)))
            for sid, evse, tx, ts, samples in rows
            if sid in stations
        )

    async def received_calls(self, stations: set[str]) -> Counter[tuple[str, str, bytes]]:
        """Transaction CALLs in the audit log: (station, action, canonical payload) → count."""
        rows = await self.rows(
            "SELECT station_id, action, payload FROM message_log WHERE direction = 'in' AND"
            " message_type = 2 AND action IN ('StartTransaction', 'MeterValues',"
            " 'StopTransaction', 'TransactionEvent')"
        )
        return Counter(
            (sid, action, canonical(orjson.loads(frame)[3]))
            for sid, action, frame in rows
            if sid in stations
        )

    async def event_keys(self, stations: set[str]) -> Counter[EventKey]:
        rows = await self.rows("SELECT station_id, transaction_id, seq_no FROM transaction_events")
        return Counter((sid, str(tx), int(seq)) for sid, tx, seq in rows if sid in stations)


@dataclass
class Expected:
    """What the stations had acknowledged, reduced to what the database must hold."""

    meter_keys: Counter[MeterKey] = field(default_factory=Counter)
    event_keys: Counter[EventKey] = field(default_factory=Counter)
    starts: dict[tuple[str, str], Record] = field(default_factory=dict)
    """(station, transaction id) → the acknowledged start message."""
    stops: dict[tuple[str, str], Record] = field(default_factory=dict)
    """(station, transaction id) → the acknowledged stop message."""
    duplicates: list[str] = field(default_factory=list)


def canonical(payload: dict[str, Any]) -> bytes:
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)


async def committed_unanswered(db: Database, records: Iterable[Record]) -> int:
    """Resent messages whose first copy the killed server had committed (its frame is in the
    audit log twice, which is written in the same commit as the message's data): the station
    never got that answer, and the resend had to be recognised as one."""
    resent = [r for r in records if r.resent]
    calls = await db.received_calls({r.station_id for r in resent})
    return sum(1 for r in resent if calls[(r.station_id, r.action, canonical(r.payload))] >= 2)


def _samples(sampled_value: Any) -> bytes:
    return orjson.dumps(sampled_value, option=orjson.OPT_SORT_KEYS)


def _register(meter_value: dict[str, Any]) -> float:
    for sample in meter_value["sampledValue"]:
        if sample.get("measurand", REGISTER) == REGISTER and "phase" not in sample:
            return float(sample["value"])
    raise AssertionError(f"no energy register in {meter_value}")


def expected_from(records: Iterable[Record]) -> Expected:
    """Fold the acknowledged messages into the rows and sessions they must have produced."""
    out = Expected()
    tx_of_16: dict[tuple[str, str], int] = {}  # 1.6: (station, transactionId) → connector
    acked = [r for r in records if r.acked]
    for record in acked:
        if record.action == "StartTransaction":
            key = (record.station_id, str(record.answer["transactionId"]))  # type: ignore[index]
            if key in out.starts:
                out.duplicates.append(f"transactionId {key} answered to two StartTransactions")
            out.starts[key] = record
            tx_of_16[key] = int(record.payload["connectorId"])
    for record in acked:
        sid, payload = record.station_id, record.payload
        if record.action == "MeterValues":
            tx = str(payload["transactionId"])
            for mv in payload["meterValue"]:
                out.meter_keys[
                    (
                        sid,
                        int(payload["connectorId"]),
                        tx,
                        _ts(mv["timestamp"]),
                        _samples(mv["sampledValue"]),
                    )
                ] += 1
        elif record.action == "StopTransaction":
            key = (sid, str(payload["transactionId"]))
            out.stops[key] = record
            connector = tx_of_16.get(key, 0)
            for mv in payload.get("transactionData", []):
                out.meter_keys[
                    (sid, connector, key[1], _ts(mv["timestamp"]), _samples(mv["sampledValue"]))
                ] += 1
        elif record.action == "TransactionEvent":
            tx = payload["transactionInfo"]["transactionId"]
            out.event_keys[(sid, tx, int(payload["seqNo"]))] += 1
            for mv in payload.get("meterValue", []):
                out.meter_keys[
                    (
                        sid,
                        int(payload["evse"]["id"]),
                        tx,
                        _ts(mv["timestamp"]),
                        _samples(mv["sampledValue"]),
                    )
                ] += 1
            if payload["eventType"] == "Started":
                out.starts[(sid, tx)] = record
            elif payload["eventType"] == "Ended":
                out.stops[(sid, tx)] = record
    return out


def _multiset_problems(what: str, expected: Counter[Any], stored: Counter[Any]) -> list[str]:
    problems = []
    twice = [k for k, n in stored.items() if n > 1]
    missing = [k for k in expected if k not in stored]
    extra = [k for k in stored if k not in expected]
    acked_twice = [k for k, n in expected.items() if n > 1]
    if twice:
        problems.append(f"{what}: {len(twice)} stored more than once, e.g. {twice[:3]}")
    if missing:
        problems.append(f"{what}: {len(missing)} acknowledged but not stored, e.g. {missing[:3]}")
    if extra:
        problems.append(f"{what}: {len(extra)} stored but never acknowledged, e.g. {extra[:3]}")
    if acked_twice:
        problems.append(f"{what}: {len(acked_twice)} keys acknowledged twice, e.g. {acked_twice}")
    return problems


async def sessions_of(api: httpx.AsyncClient, station_id: str) -> list[dict[str, Any]]:
    response = await api.get("/transactions", params={"station_id": station_id, "limit": 1000})
    response.raise_for_status()
    page = response.json()
    assert page["total"] == len(page["items"]), "more sessions than one page"
    items: list[dict[str, Any]] = page["items"]
    return items


def _session_problems(
    station: SimulatedStation, stored: list[dict[str, Any]], expected: Expected
) -> list[str]:
    """One station's sessions: each created once, Completed, with the station's energy."""
    sid = station.config.id
    problems: list[str] = []
    by_tx: dict[str, list[dict[str, Any]]] = {}
    for item in stored:
        by_tx.setdefault(item["transaction_id"], []).append(item)
    started = {tx for (s, tx) in expected.starts if s == sid}
    history = {tx.id for tx in station.sessions.history}
    if None in history or history != started:
        problems.append(f"{sid}: station sessions {sorted(map(str, history))} ≠ acked {started}")
    if set(by_tx) != started:
        problems.append(f"{sid}: stored sessions {sorted(by_tx)} ≠ acknowledged starts {started}")
    for tx_id, items in by_tx.items():
        if len(items) != 1:
            problems.append(f"{sid}/{tx_id}: {len(items)} sessions for one transaction")
            continue
        item = items[0]
        start, stop = expected.starts.get((sid, tx_id)), expected.stops.get((sid, tx_id))
        if start is None:
            continue
        if stop is None:
            problems.append(f"{sid}/{tx_id}: the station never had a stop acknowledged")
            continue
        if item["status"] != "Completed" or item["stop_source"] != "station":
            problems.append(f"{sid}/{tx_id}: {item['status']} ({item['stop_source']})")
        if station.version is OcppVersion.V16:
            begin, end = start.payload["meterStart"], stop.payload["meterStop"]
            energy_ok = item["energy_wh"] == end - begin  # 1.6: integer Wh, exact
        else:
            begin = _register(start.payload["meterValue"][0])
            end = _register(stop.payload["meterValue"][0])
            energy = item["energy_wh"]
            energy_ok = energy is not None and abs(energy - (end - begin)) < 1e-6
        if not energy_ok or item["meter_start_wh"] != begin or item["meter_stop_wh"] != end:
            problems.append(
                f"{sid}/{tx_id}: energy {item['energy_wh']} ({item['meter_start_wh']} → "
                f"{item['meter_stop_wh']}), station {end - begin} ({begin} → {end})"
            )
    return problems


@dataclass
class Verdict:
    """The outcome of the checks, with the counts a reader wants to see."""

    problems: list[str]
    counts: dict[str, int]


async def verify(
    recorder: Recorder,
    stations: list[SimulatedStation],
    db: Database,
    api: httpx.AsyncClient,
) -> Verdict:
    """Every check of the module docstring; returns the problems found (none: all good)."""
    ids = {st.config.id for st in stations}
    expected = expected_from(recorder.records)
    problems = list(expected.duplicates)
    refused = [r for r in recorder.records if r.refused]
    if refused:
        problems.append(f"{len(refused)} messages refused with a CALLERROR: {refused[:3]}")
    unacked = [r for r in recorder.records if not r.acked]
    if unacked:
        problems.append(f"{len(unacked)} messages never acknowledged")
    meters = await db.meter_keys(ids)
    events = await db.event_keys(ids)
    problems += _multiset_problems("meter values", expected.meter_keys, meters)
    problems += _multiset_problems("2.0.1 events", expected.event_keys, events)
    total_sessions = 0
    for station in stations:
        stored = await sessions_of(api, station.config.id)
        total_sessions += len(stored)
        problems += _session_problems(station, stored, expected)
    still_active = (await api.get("/transactions", params={"status": "Active"})).json()["total"]
    if still_active:
        problems.append(f"{still_active} sessions left Active")
    return Verdict(
        problems,
        {
            "sessions": total_sessions,
            "meter_values": sum(meters.values()),
            "events_201": sum(events.values()),
            "messages_acked": len(recorder.acked()),
        },
    )
