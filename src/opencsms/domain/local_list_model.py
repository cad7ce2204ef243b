"""Local authorization lists: what goes on a station's list and how an update is planned (pure).

A station's Local Authorization List (1.6 §3.5.2 / §5.15, 2.0.1 D01-D02) lets it authorize
drivers without asking the CSMS (offline, or with LocalPreAuthorize). The CSMS builds each
station's list from the id tokens; :mod:`opencsms.domain.local_lists` sends it.

What goes on a station's list (:func:`desired_entries`):

* every token whose ``allowed_locations`` admit the station (``null`` = everywhere, or an entry
  naming the station, with or without an EVSE: a list cannot say "only EVSE 2", so an
  EVSE-restricted token is listed for the whole station and its EVSE is checked when the session
  reaches the CSMS, where a wrong EVSE is answered NotAtThisLocation and stopped);
* **whatever its status**: Accepted tokens so drivers can charge offline, and Blocked, Expired,
  Invalid and NoCredit ones so the station refuses them offline too instead of letting them in
  through ``AllowOfflineTxForUnknownId`` (1.6 §3.5.4: "Identifiers that are present in a Local
  Authorization List that have a status other than Accepted MUST be rejected");
* with the token's group (1.6 parentIdTag, 2.0.1 groupIdToken) and expiry, so the station applies
  the expiry itself (1.6 §3.5.4: "apparently expired due to passage of time MUST also be
  rejected"). An entry is a function of the token record alone, never of the clock, so time
  passing never makes a list out of date;
* not 2.0.1 ``NoAuthorization`` tokens (nothing is presented), and for 1.6 stations not tokens
  longer than 20 characters (1.6 IdToken is CiString20: they cannot be sent).

The CSMS remembers, per station, the entries it believes the station holds (token key →
:class:`HeldEntry`: the spelling sent and a digest of the info). :func:`diff` compares them with
the desired entries; :func:`plan_full` / :func:`plan_differential` cut the update into
SendLocalList messages of at most the station's ``SendLocalListMaxLength`` (1.6) /
``LocalAuthListCtrlr.ItemsPerMessage`` (2.0.1) entries, each with its own, strictly increasing
version number: a Full update that does not fit in one message is a Full first part followed by
Differential parts that add the rest (a station refuses a Differential whose version is not newer
than its own: 1.6 §5.15 VersionMismatch).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from opencsms.domain.tokens import IdToken, TokenStatus, parse_location

__all__ = [
    "MAX_ID_TAG_LENGTH_16",
    "HeldEntry",
    "ListChange",
    "ListEntry",
    "ListUpdate",
    "LocalListState",
    "UpdateStatus",
    "apply_update",
    "desired_entries",
    "diff",
    "held_from",
    "plan_differential",
    "plan_full",
]

MAX_ID_TAG_LENGTH_16 = 20
"""1.6 §7.28 IdToken is CiString20Type: longer tokens cannot go on a 1.6 list."""


class UpdateStatus(StrEnum):
    """A station's answer to SendLocalList (1.6 §7.44 UpdateStatus, 2.0.1
    SendLocalListStatusEnumType) and what the CSMS records for a sync."""

    ACCEPTED = "Accepted"
    FAILED = "Failed"
    NOT_SUPPORTED = "NotSupported"
    """1.6 only (2.0.1 stations answer a CALLERROR instead, recorded the same way)."""
    VERSION_MISMATCH = "VersionMismatch"


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One token as it goes on a list: version-neutral; the handlers render it per version."""

    id_token: str
    status: TokenStatus
    expires_at: datetime | None = None
    group_id: str | None = None
    type: str | None = None

    @property
    def digest(self) -> str:
        """A short fingerprint of the info: equal digests mean the station needs no update."""
        text = "|".join(
            (
                self.status.value,
                self.expires_at.isoformat() if self.expires_at else "",
                self.group_id or "",
                self.type or "",
            )
        )
        return hashlib.blake2s(text.encode(), digest_size=8).hexdigest()

    @property
    def held(self) -> HeldEntry:
        return HeldEntry(self.id_token, self.digest)


@dataclass(frozen=True, slots=True)
class HeldEntry:
    """What the CSMS believes a station holds for one token: the spelling it sent and the
    digest of the info it sent."""

    id_token: str
    digest: str


@dataclass(frozen=True, slots=True)
class ListChange:
    """One entry of an update: the token and its info, or ``entry is None`` for a removal
    (1.6 §7.1 / 2.0.1 AuthorizationData without info: "the entry SHALL be deleted")."""

    key: str
    id_token: str
    entry: ListEntry | None


@dataclass(frozen=True, slots=True)
class ListUpdate:
    """One SendLocalList message: Full or Differential, with the version it sets."""

    version: int
    full: bool
    changes: tuple[ListChange, ...]


@dataclass(frozen=True, slots=True)
class LocalListState:
    """What the CSMS knows about one station's list (stored per station).

    ``version`` and ``entries`` are what the station confirmed last (``None``: nothing yet);
    ``sent_version`` the highest version ever sent, so versions strictly increase even after a
    refused update. ``in_sync`` is False when the station reported another version than
    ``version`` or an update failed part-way; token changes are seen by comparing ``entries`` with
    the desired entries (see :func:`diff`). ``max_items`` is the station's limit per message,
    read once. ``last_result`` is the last sync's outcome (an :class:`UpdateStatus` value or
    ``"Error"`` with ``last_error``).
    """

    station_id: str
    ocpp_version: str | None = None
    version: int | None = None
    sent_version: int = 0
    entries: Mapping[str, HeldEntry] = field(default_factory=dict)
    in_sync: bool = False
    max_items: int | None = None
    station_version: int | None = None
    station_version_at: datetime | None = None
    last_result: str | None = None
    last_error: str | None = None
    last_attempt_at: datetime | None = None
    synced_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


def _listed_here(token: IdToken, station_id: str) -> bool:
    if token.allowed_locations is None:
        return True
    return any(parse_location(entry)[0] == station_id for entry in token.allowed_locations)


def desired_entries(
    tokens: Iterable[IdToken], station_id: str, *, ocpp_version: str
) -> dict[str, ListEntry]:
    """The entries ``station_id``'s list should hold, by token key (see the module docstring)."""
    is_16 = ocpp_version == "1.6"
    out: dict[str, ListEntry] = {}
    for token in tokens:
        if token.type == "NoAuthorization" or not _listed_here(token, station_id):
            continue
        if is_16 and len(token.id_token) > MAX_ID_TAG_LENGTH_16:
            continue
        out[token.key] = ListEntry(
            id_token=token.id_token,
            status=token.status,
            expires_at=token.expires_at,
            group_id=token.group_id,
            type=token.type,
        )
    return out


def held_from(desired: Mapping[str, ListEntry]) -> dict[str, HeldEntry]:
    """The held entries after a station accepted ``desired`` whole."""
    return {key: entry.held for key, entry in desired.items()}


def diff(held: Mapping[str, HeldEntry], desired: Mapping[str, ListEntry]) -> list[ListChange]:
    """The changes that turn ``held`` into ``desired``: additions and updates with their info,
    removals without; ordered by key so a plan is deterministic."""
    changes: list[ListChange] = []
    for key in sorted(held.keys() | desired.keys()):
        want = desired.get(key)
        have = held.get(key)
        if want is None:
            assert have is not None
            changes.append(ListChange(key, have.id_token, None))
        elif have is None or have != want.held:
            changes.append(ListChange(key, want.id_token, want))
    return changes


def _chunks(items: Sequence[ListChange], size: int) -> list[tuple[ListChange, ...]]:
    return [tuple(items[i : i + size]) for i in range(0, len(items), size)]


def plan_full(
    desired: Mapping[str, ListEntry], *, first_version: int, max_items: int
) -> list[ListUpdate]:
    """A Full update of ``desired``: one Full message (empty when there is nothing to list: 1.6
    §6.41 "If no (empty) localAuthorizationList is given and the updateType is Full, all
    identifications are removed"), then Differential messages with the rest, each version one
    higher than the one before."""
    entries = [ListChange(key, e.id_token, e) for key, e in sorted(desired.items())]
    parts = _chunks(entries, max(1, max_items)) or [()]
    return [ListUpdate(first_version + index, index == 0, part) for index, part in enumerate(parts)]


def plan_differential(
    changes: Sequence[ListChange], *, first_version: int, max_items: int
) -> list[ListUpdate]:
    """Differential messages carrying ``changes`` (none when there are no changes)."""
    return [
        ListUpdate(first_version + index, False, part)
        for index, part in enumerate(_chunks(changes, max(1, max_items)))
    ]


def apply_update(held: Mapping[str, HeldEntry], update: ListUpdate) -> dict[str, HeldEntry]:
    """The entries the station holds after it accepted ``update``."""
    result: dict[str, HeldEntry] = {} if update.full else dict(held)
    for change in update.changes:
        if change.entry is None:
            result.pop(change.key, None)
        else:
            result[change.key] = change.entry.held
    return result
