"""Load groups, members and decisions round-trip on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from opencsms.domain.load_management_model import (
    Decision,
    DecisionEntry,
    ExternalSignal,
    GroupMember,
    LoadGroup,
)
from opencsms.storage import Storage
from tests.storage.conftest import T0


async def test_groups_members_and_decisions_round_trip(storage: Storage) -> None:
    repo = storage.load_management
    site = LoadGroup(
        "site",
        "Depot",
        T0,
        T0,
        max_current_a=100.0,
        schedule=[{"daily": "07:00", "max_current_a": 16}],
        priorities={"VIP": 5},
        external=ExternalSignal(50.0, None, T0, T0 + timedelta(hours=1)),
    )
    feeder = LoadGroup("feeder", "F1", T0, T0, parent_id="site", max_power_w=22000.0, phases=1)
    await repo.save_group(site)
    await repo.save_group(feeder)
    assert await repo.groups() == [feeder, site]
    later = LoadGroup("site", "Depot 2", T0 + timedelta(seconds=5), T0 + timedelta(seconds=5))
    await repo.save_group(later)
    (_, stored) = await repo.groups()
    assert stored.name == "Depot 2"
    assert stored.created_at == T0  # kept on replace
    assert stored.external is None

    member = GroupMember("CP-1", 0, "feeder", T0, 32.0, 3, None)
    await repo.save_member(member)
    await repo.save_member(GroupMember("CP-2", 1, "feeder", T0, None, 1, 2))
    assert [m.station_id for m in await repo.members()] == ["CP-1", "CP-2"]
    assert await repo.delete_member("site", "CP-1", 0) is False  # not in that group
    assert await repo.delete_member("feeder", "CP-1", 0) is True
    assert await repo.delete_group("feeder") is True
    assert await repo.members() == []
    assert await repo.delete_group("feeder") is False

    for n in range(3):
        entry = DecisionEntry("CP-1", 1, "TxProfile", 10.0 + n, "7", None, None, "Accepted", "5 ms")
        await repo.add_decision(
            Decision("site", T0 + timedelta(seconds=n), f"round {n}", {"site": {}}, (entry,))
        )
    newest = await repo.decisions("site", limit=2)
    assert [d.trigger for d in newest] == ["round 2", "round 1"]
    assert newest[0].entries[0].limit_a == 12.0
    assert newest[0].sent == 1
    assert [d.trigger for d in await repo.decisions("site", offset=2)] == ["round 0"]
    assert await repo.count_decisions("site") == 3
    assert await repo.count_decisions("other") == 0
