"""The authorization rules as a pure function (domain/authorization.py), with a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opencsms.domain.authorization import (
    AuthorizationStatus as S,
)
from opencsms.domain.authorization import (
    AuthPurpose,
    AuthRequest,
    decide,
)
from opencsms.domain.tokens import IdToken, InvalidTokenError, TokenStatus, build_token

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def token(**fields: object) -> IdToken:
    values: dict[str, object] = {"id_token": "T1", "created_at": NOW, "updated_at": NOW}
    values.update(fields)
    return IdToken(**values)  # type: ignore[arg-type]


def request(
    purpose: AuthPurpose = AuthPurpose.START,
    *,
    station: str = "CS1",
    evse: int | None = 1,
    kind: str | None = None,
    id_token: str = "T1",
) -> AuthRequest:
    return AuthRequest(id_token, kind, station, evse, purpose)


def status(tok: IdToken | None, req: AuthRequest | None = None, **options: object) -> S:
    kwargs: dict[str, object] = {"now": NOW, "open_sessions": 0}
    kwargs.update(options)
    return decide(tok, req or request(), **kwargs).status  # type: ignore[arg-type]


def test_unknown_token_follows_the_policy() -> None:
    assert status(None) is S.INVALID
    assert status(None, unknown_tokens="accept") is S.ACCEPTED
    assert status(None, request(kind="NoAuthorization", id_token="")) is S.ACCEPTED


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (TokenStatus.BLOCKED, S.BLOCKED),
        (TokenStatus.EXPIRED, S.EXPIRED),
        (TokenStatus.INVALID, S.INVALID),
        (TokenStatus.NO_CREDIT, S.NO_CREDIT),
        (TokenStatus.ACCEPTED, S.ACCEPTED),
    ],
)
def test_stored_status(stored: TokenStatus, expected: S) -> None:
    assert status(token(status=stored)) is expected


def test_expiry_is_judged_on_the_csms_clock() -> None:
    assert status(token(expires_at=NOW)) is S.EXPIRED
    assert status(token(expires_at=NOW + timedelta(seconds=1))) is S.ACCEPTED
    decision = decide(
        token(expires_at=NOW + timedelta(days=1), group_id="G"), request(), now=NOW, open_sessions=0
    )
    assert (decision.group_id, decision.expires_at) == ("G", NOW + timedelta(days=1))


def test_type_must_match_when_both_are_known() -> None:
    typed = token(type="ISO14443")
    assert status(typed, request(kind="KeyCode")) is S.INVALID
    assert status(typed, request(kind="ISO14443")) is S.ACCEPTED
    assert status(typed, request(kind=None)) is S.ACCEPTED  # 1.6 has no type
    assert status(token(), request(kind="eMAID")) is S.ACCEPTED


def test_locations() -> None:
    limited = token(allowed_locations=("CS2", "CS1/2"))
    assert status(limited, request(station="CS2", evse=9)) is S.ACCEPTED
    assert status(limited, request(station="CS1", evse=2)) is S.ACCEPTED
    assert status(limited, request(station="CS1", evse=1)) is S.NOT_AT_THIS_LOCATION
    assert status(limited, request(AuthPurpose.AUTHORIZE, station="CS1", evse=None)) is S.ACCEPTED
    assert status(limited, request(station="CS3")) is S.NOT_AT_THIS_LOCATION


def test_concurrency_limit_counts_only_for_starting() -> None:
    one = token(max_concurrent=1)
    assert status(one, open_sessions=0) is S.ACCEPTED
    assert status(one, open_sessions=1) is S.CONCURRENT_TX
    assert status(one, request(AuthPurpose.STOP), open_sessions=1) is S.ACCEPTED
    assert status(one, request(AuthPurpose.AUTHORIZE), open_sessions=5) is S.ACCEPTED
    assert status(token(), open_sessions=99) is S.ACCEPTED


def test_master_pass_stops_but_never_starts() -> None:
    master = token(group_id="master")  # group ids compare case-insensitively
    options = {"master_pass_group_id": "MASTER"}
    assert status(master, request(AuthPurpose.START), **options) is S.INVALID
    assert status(master, request(AuthPurpose.STOP), **options) is S.ACCEPTED
    decision = decide(
        master,
        request(AuthPurpose.AUTHORIZE),
        now=NOW,
        open_sessions=0,
        master_pass_group_id="MASTER",
    )
    assert (decision.status, decision.master_pass) == (S.ACCEPTED, True)
    assert status(master, request(AuthPurpose.START)) is S.ACCEPTED  # no master group set


def test_blocked_wins_over_everything_after_it() -> None:
    assert status(token(status=TokenStatus.BLOCKED, expires_at=NOW), open_sessions=9) is S.BLOCKED


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"id_token": ""}, "1-36"),
        ({"id_token": "x" * 37}, "1-36"),
        ({"id_token": "has space"}, "printable"),
        ({"id_token": "T", "type": "Card"}, "type"),
        ({"id_token": "T", "status": "Maybe"}, "status"),
        ({"id_token": "T", "expires_at": datetime(2026, 1, 1)}, "time zone"),
        ({"id_token": "T", "allowed_locations": ["CS1/x"]}, "allowed location"),
        ({"id_token": "T", "max_concurrent": 0}, "max_concurrent"),
        ({"id_token": "T", "colour": "red"}, "unknown"),
    ],
)
def test_token_rules(values: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidTokenError, match=message):
        build_token(values, now=NOW, existing=None)


def test_changes_keep_identity_and_creation_time() -> None:
    original = build_token({"id_token": "Abc", "group_id": "G"}, now=NOW, existing=None)
    later = NOW + timedelta(hours=1)
    changed = build_token({"status": "Blocked", "group_id": None}, now=later, existing=original)
    assert (changed.id_token, changed.status, changed.group_id) == (
        "Abc",
        TokenStatus.BLOCKED,
        None,
    )
    assert (changed.created_at, changed.updated_at) == (NOW, later)
    with pytest.raises(InvalidTokenError, match="cannot be changed"):
        build_token({"id_token": "Other"}, now=later, existing=original)
