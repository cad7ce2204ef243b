"""The tariff repository on SQLite and PostgreSQL: versions, assignments, cost revisions and
CDRs inserted once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import text

from opencsms.billing import SessionTimeline, compute_cost, parse_tariff, tariff_json
from opencsms.domain.cdrs import Cdr, CostRevision
from opencsms.domain.tariffs import Assignment, AssignmentScope
from opencsms.storage import Storage, create_engine
from opencsms.storage.migrate import migrate_engine
from opencsms.storage.types import encode_sqlite_timestamp

T0 = datetime(2026, 1, 5, 10, tzinfo=UTC)
BODY = tariff_json(
    parse_tariff(
        {
            "currency": "EUR",
            "tax_rate": "0.21",
            "elements": [{"components": [{"type": "ENERGY", "price": "0.3333"}]}],
        }
    )
)


async def test_versions_assignments_costs_and_cdrs(storage: Storage) -> None:
    repo = storage.tariffs
    assert await repo.create("T1", "one", BODY, T0)
    assert not await repo.create("T1", "again", BODY, T0)
    assert await repo.add_version("T1", 2, "two", {**BODY, "name": "two"}, T0 + timedelta(hours=1))
    assert not await repo.add_version("T1", 2, "race", BODY, T0)
    stored = await repo.get("T1")
    assert stored is not None
    assert (stored.name, stored.current_version, stored.archived) == ("two", 2, False)
    assert [v.version for v in await repo.versions("T1")] == [1, 2]
    assert await repo.version_at("T1", T0 + timedelta(minutes=30)) == 1
    assert await repo.version_at("T1", T0 - timedelta(days=1)) is None

    await repo.set_assignment(Assignment(AssignmentScope.EVSE, "CS/1", "T1", T0))
    await repo.set_assignment(Assignment(AssignmentScope.EVSE, "CS/1", "T2", T0))
    assert [(a.target, a.tariff_id) for a in await repo.assignments()] == [("CS/1", "T2")]
    # history: two changes in one tick keep the later; a later change closes the interval
    t1, t2 = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    await repo.set_assignment(Assignment(AssignmentScope.EVSE, "CS/1", "T1", t1))
    assert await repo.delete_assignment(AssignmentScope.EVSE, "CS/1", t2)
    assert not await repo.delete_assignment(AssignmentScope.EVSE, "CS/1", t2)
    history = await repo.assignment_history(AssignmentScope.EVSE, "CS/1")
    assert [(a.tariff_id, a.updated_at, until) for a, until in history] == [
        ("T2", T0, t1),
        ("T1", t1, t2),
    ]
    at = [await repo.assignments_at(T0 + timedelta(minutes=m)) for m in (-1, 0, 61, 120)]
    assert [[a.tariff_id for a in found] for found in at] == [[], ["T2"], ["T1"], []]
    await repo.archive("T1", T0)
    archived = await repo.get("T1")
    assert archived is not None
    assert archived.archived

    version = await repo.version("T1", 1)
    assert version is not None
    timeline = SessionTimeline(
        T0, T0 + timedelta(hours=1), [(T0, Decimal(0)), (T0 + timedelta(hours=1), Decimal(7777))]
    )
    breakdown = compute_cost(version.tariff, timeline)
    revision = CostRevision(7, 1, "T1", 1, breakdown, T0)
    assert await repo.add_cost(revision)
    assert not await repo.add_cost(revision)
    assert await repo.costs(7) == [revision]

    cdr = Cdr(
        transaction_pk=7,
        station_id="CS",
        transaction_id="TX-7",
        ocpp_version="2.0.1",
        evse_id=1,
        connector_id=1,
        id_token="CARD",
        id_token_type="ISO14443",
        group_id=None,
        started_at=T0,
        stopped_at=T0 + timedelta(hours=1),
        stop_reason="Local",
        tariff_id="T1",
        tariff_version=1,
        cost_revision=1,
        currency="EUR",
        energy_wh=breakdown.energy_wh,
        net=breakdown.net,
        tax=breakdown.tax,
        gross=breakdown.gross,
        breakdown=breakdown,
        issued_at=T0 + timedelta(hours=2),
    )
    assert await repo.issue(cdr)
    assert not await repo.issue(cdr)  # once, never replaced
    assert await repo.cdr(7) == cdr
    assert cdr.gross == Decimal("3.13")  # exact Decimal text on both backends
    assert await repo.cdrs(station_id="CS") == [cdr]
    assert await repo.cdrs(since=T0 + timedelta(hours=2)) == []
    assert await repo.count_cdrs(until=T0 + timedelta(hours=2)) == 1
    assert [c async for c in repo.iterate_cdrs()] == [cdr]


async def test_existing_assignments_enter_the_history_as_valid_since_always(
    fresh_db_url: str,
) -> None:
    """0017: an assignment made before the history existed keeps pricing every session, however
    old (as it did before the upgrade)."""
    engine = create_engine(fresh_db_url)
    try:
        await migrate_engine(engine, "0016_certificates")
        moment = datetime(2026, 3, 1, tzinfo=UTC)
        at = encode_sqlite_timestamp(moment) if fresh_db_url.startswith("sqlite") else moment
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO tariff_assignments (scope, target, tariff_id, updated_at)"
                    " VALUES ('station', 'CS9', 'T9', :at)"
                ),
                {"at": at},
            )
        await migrate_engine(engine)
    finally:
        await engine.dispose()
    async with await Storage.open(fresh_db_url, migrate=False) as storage:
        history = await storage.tariffs.assignment_history(AssignmentScope.STATION, "CS9")
        long_ago = await storage.tariffs.assignments_at(datetime(2001, 1, 1, tzinfo=UTC))
    assert [(a.tariff_id, a.updated_at.year, until) for a, until in history] == [("T9", 1970, None)]
    assert [(a.target, a.tariff_id) for a in long_ago] == [("CS9", "T9")]
