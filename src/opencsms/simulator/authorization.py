"""Who may charge on a simulated station: local authorization list, authorization cache, Authorize.

A real station decides locally when it can (1.6 §3.4 LocalPreAuthorize / LocalAuthorizeOffline;
2.0.1 C12-C14 AuthCtrlr) and asks the CSMS otherwise. Both versions are kept in one shape here:
an entry is a 2.0.1-style ``idTokenInfo``-like dict with ``status`` and optional ``expiry`` and
``group`` (1.6 ``parentIdTag`` / 2.0.1 ``groupIdToken.idToken``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opencsms.handlers.common import parse_timestamp
from opencsms.ocpp.version import OcppVersion

if TYPE_CHECKING:
    from opencsms.simulator.station import SimulatedStation

__all__ = ["AuthEntry", "LocalAuthorization", "entry_from_2", "entry_from_16"]

LOCAL_LIST_MAX = 100
"""1.6 LocalAuthListMaxLength / 2.0.1 LocalAuthListCtrlr.Entries of the simulated station."""


@dataclass(frozen=True, slots=True)
class AuthEntry:
    """What the station knows about one token (local list or cache)."""

    status: str
    expiry: datetime | None = None
    group: str | None = None

    def valid_at(self, now: datetime) -> bool:
        """Accepted and not expired (1.6 §3.4.1: an expired cached entry is not used)."""
        return self.status == "Accepted" and (self.expiry is None or self.expiry > now)


def entry_from_16(info: dict[str, Any]) -> AuthEntry:
    """1.6 ``idTagInfo`` (§7.23) → entry."""
    expiry = info.get("expiryDate")
    return AuthEntry(
        info["status"], parse_timestamp(expiry) if expiry else None, info.get("parentIdTag")
    )


def entry_from_2(info: dict[str, Any]) -> AuthEntry:
    """2.0.1 ``idTokenInfo`` (part 2 §2.29) → entry."""
    expiry = info.get("cacheExpiryDateTime")
    group = info.get("groupIdToken")
    return AuthEntry(
        info["status"],
        parse_timestamp(expiry) if expiry else None,
        group["idToken"] if group else None,
    )


@dataclass(slots=True)
class LocalAuthorization:
    """The local authorization list (versioned) and the authorization cache of one station."""

    version: int = 0
    entries: dict[str, AuthEntry] = field(default_factory=dict)
    cache: dict[str, AuthEntry] = field(default_factory=dict)

    def lookup(
        self, token: str, now: datetime, *, use_list: bool, use_cache: bool
    ) -> AuthEntry | None:
        """The local decision for ``token``: list first, then cache (1.6 §3.4.3: the list wins)."""
        if use_list and token in self.entries:
            return self.entries[token]
        if use_cache and token in self.cache:
            entry = self.cache[token]
            if entry.expiry is not None and entry.expiry <= now:
                return None  # an expired cache entry is not a decision: ask the CSMS
            return entry
        return None

    def send_local_list(self, version: int, full: bool, items: dict[str, AuthEntry | None]) -> str:
        """Apply SendLocalList (1.6 §5.15 / 2.0.1 D01-D02): ``None`` removes an entry.

        A differential update whose version is not newer is a ``VersionMismatch``
        (1.6 §5.15, D02.FR.xx); a list that would grow past the maximum ``Failed``.
        """
        if not full and version <= self.version:
            return "VersionMismatch"
        entries = {} if full else dict(self.entries)
        for token, entry in items.items():
            if entry is None:
                entries.pop(token, None)
            else:
                entries[token] = entry
        if len(entries) > LOCAL_LIST_MAX:
            return "Failed"
        self.entries = entries
        self.version = version
        return "Accepted"


def local_list_items(version: OcppVersion, payload: dict[str, Any]) -> dict[str, AuthEntry | None]:
    """The entries of a SendLocalList payload; an entry without info is a removal."""
    items: dict[str, AuthEntry | None] = {}
    if version is OcppVersion.V16:
        for item in payload.get("localAuthorizationList", []):
            info = item.get("idTagInfo")
            items[item["idTag"]] = entry_from_16(info) if info else None
    else:
        for item in payload.get("localAuthorizationList", []):
            info = item.get("idTokenInfo")
            items[item["idToken"]["idToken"]] = entry_from_2(info) if info else None
    return items


def authorize_payload(station: SimulatedStation, token: str, token_type: str) -> dict[str, Any]:
    """Authorize request (1.6 §4.1 / 2.0.1 C01)."""
    if station.version is OcppVersion.V16:
        return {"idTag": token}
    return {"idToken": {"idToken": token, "type": token_type}}


def entry_from_answer(station: SimulatedStation, answer: dict[str, Any]) -> AuthEntry:
    """The entry an Authorize / StartTransaction / TransactionEvent answer carries."""
    if station.version is OcppVersion.V16:
        return entry_from_16(answer["idTagInfo"])
    return entry_from_2(answer["idTokenInfo"])
