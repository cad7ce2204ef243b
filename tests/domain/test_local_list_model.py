"""What goes on a station's local list and how updates are planned (domain/local_list_model.py,
pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from opencsms.domain.local_list_model import (
    HeldEntry,
    ListEntry,
    apply_update,
    desired_entries,
    diff,
    held_from,
    plan_differential,
    plan_full,
)
from opencsms.domain.tokens import IdToken, TokenStatus

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def token(id_token: str, **fields: object) -> IdToken:
    return IdToken(id_token, created_at=NOW, updated_at=NOW, **fields)  # type: ignore[arg-type]


def entry(id_token: str, status: TokenStatus = TokenStatus.ACCEPTED) -> ListEntry:
    return ListEntry(id_token, status)


def test_a_station_lists_every_token_allowed_there_whatever_its_status() -> None:
    tokens = [
        token("EVERYWHERE"),
        token("HERE", allowed_locations=("CS1",)),
        token("HERE-EVSE-2", allowed_locations=("CS9", "CS1/2")),
        token("ELSEWHERE", allowed_locations=("CS2",)),
        token("BLOCKED", status=TokenStatus.BLOCKED),
        token("NOCREDIT", status=TokenStatus.NO_CREDIT, group_id="FLEET"),
        token("NOAUTH", type="NoAuthorization"),
        token("A-VERY-LONG-EMAID-TOKEN-0001", type="eMAID"),  # 28 characters
    ]
    listed_201 = desired_entries(tokens, "CS1", ocpp_version="2.0.1")
    assert sorted(e.id_token for e in listed_201.values()) == [
        "A-VERY-LONG-EMAID-TOKEN-0001",
        "BLOCKED",
        "EVERYWHERE",
        "HERE",
        "HERE-EVSE-2",
        "NOCREDIT",
    ]
    assert listed_201["blocked"].status is TokenStatus.BLOCKED
    assert listed_201["nocredit"].group_id == "FLEET"
    # 1.6 idTag is CiString20: a longer token cannot be sent
    listed_16 = desired_entries(tokens, "CS1", ocpp_version="1.6")
    assert "a-very-long-emaid-token-0001" not in listed_16
    assert len(listed_16) == 5


def test_an_entry_does_not_depend_on_the_clock() -> None:
    past = datetime(2020, 1, 1, tzinfo=UTC)
    [listed] = desired_entries([token("OLD", expires_at=past)], "CS1", ocpp_version="1.6").values()
    assert (listed.status, listed.expires_at) == (TokenStatus.ACCEPTED, past)


def test_diff_adds_updates_and_removes() -> None:
    held = {
        "keep": HeldEntry("KEEP", entry("KEEP").digest),
        "change": HeldEntry("CHANGE", entry("CHANGE").digest),
        "gone": HeldEntry("GONE", entry("GONE").digest),
        "respelt": HeldEntry("RESPELT", entry("RESPELT").digest),
    }
    desired = {
        "keep": entry("KEEP"),
        "change": entry("CHANGE", TokenStatus.BLOCKED),
        "new": entry("NEW"),
        "respelt": entry("Respelt"),
    }
    changes = diff(held, desired)
    assert [(c.id_token, c.entry is None) for c in changes] == [
        ("CHANGE", False),
        ("GONE", True),
        ("NEW", False),
        ("Respelt", False),
    ]
    assert diff(held_from(desired), desired) == []


def test_a_full_update_that_does_not_fit_continues_as_differentials() -> None:
    desired = {name.lower(): entry(name) for name in ("A", "B", "C", "D", "E")}
    plan = plan_full(desired, first_version=7, max_items=2)
    assert [(u.version, u.full, len(u.changes)) for u in plan] == [
        (7, True, 2),
        (8, False, 2),
        (9, False, 1),
    ]
    held: dict[str, HeldEntry] = {"stale": HeldEntry("STALE", "x")}
    for update in plan:
        held = apply_update(held, update)
    assert held == held_from(desired)  # the first, Full part dropped the stale entry


def test_an_empty_list_is_one_full_update_without_entries() -> None:
    [update] = plan_full({}, first_version=3, max_items=100)
    assert (update.version, update.full, update.changes) == (3, True, ())
    assert apply_update({"x": HeldEntry("X", "d")}, update) == {}


def test_differential_parts_each_take_a_new_version() -> None:
    changes = diff({}, {name.lower(): entry(name) for name in ("A", "B", "C")})
    plan = plan_differential(changes, first_version=2, max_items=1)
    assert [(u.version, u.full) for u in plan] == [(2, False), (3, False), (4, False)]
    assert plan_differential([], first_version=2, max_items=1) == []


def test_the_digest_follows_the_info() -> None:
    a = ListEntry("T", TokenStatus.ACCEPTED, NOW, "G", "ISO14443")
    assert a.digest == ListEntry("T", TokenStatus.ACCEPTED, NOW, "G", "ISO14443").digest
    assert a.digest != ListEntry("T", TokenStatus.BLOCKED, NOW, "G", "ISO14443").digest
    assert a.digest != ListEntry("T", TokenStatus.ACCEPTED, None, "G", "ISO14443").digest
    assert a.digest != ListEntry("T", TokenStatus.ACCEPTED, NOW, None, "ISO14443").digest
