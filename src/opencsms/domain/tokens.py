"""Id tokens: the identifiers a driver presents (1.6 idTag, 2.0.1 IdTokenType) and what the CSMS
knows about each.

Pure types and rules, no storage: the repository, the API, the provisioning file and the CSV
import all build :class:`IdToken` records through :func:`build_token`, so a rule is checked in one
place whatever the way in.

Identity. 1.6 §7.28 IdToken is a CiString20Type and 2.0.1 IdTokenType.idToken a case-insensitive
string of up to 36 characters, so ``"AB12"`` and ``"ab12"`` are the same token: the store keys a
token by :func:`token_key` (its lower-case form) and keeps the spelling the operator gave.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "DEFAULT_TOKEN_TYPE",
    "MAX_ID_TOKEN_LENGTH",
    "TOKEN_TYPES",
    "IdToken",
    "InvalidTokenError",
    "TokenStatus",
    "build_token",
    "parse_location",
    "token_key",
]

MAX_ID_TOKEN_LENGTH = 36
"""2.0.1 IdTokenType.idToken is identifier-string(36); 1.6 idTag is CiString20 (a subset)."""

TOKEN_TYPES = frozenset(
    {
        "Central",
        "eMAID",
        "ISO14443",
        "ISO15693",
        "KeyCode",
        "Local",
        "MacAddress",
        "NoAuthorization",
    }
)
"""2.0.1 IdTokenEnumType. 1.6 has no token type; a 1.6 idTag matches a token of any type."""

DEFAULT_TOKEN_TYPE = "ISO14443"
"""The type the CSMS sends to a 2.0.1 station for a token stored without one (ReserveNow and
SendLocalList need a type): RFID cards, the most common token."""


class InvalidTokenError(ValueError):
    """An id token definition breaks a rule; the message says which (the API answers 422)."""


class TokenStatus(StrEnum):
    """The status an operator gives a token (stored).

    The subset of 2.0.1 AuthorizationStatusEnumType that describes a token rather than one use of
    it (ConcurrentTx, NotAtThisLocation and the like are decided per request by
    :mod:`opencsms.domain.authorization`). 1.6 §7.2 knows Accepted, Blocked, Expired and Invalid;
    NoCredit is answered to 1.6 stations as Blocked.
    """

    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"
    NO_CREDIT = "NoCredit"


def token_key(id_token: str) -> str:
    """The case-insensitive identity of a token (1.6 CiString, 2.0.1 "case insensitive")."""
    return id_token.lower()


@dataclass(frozen=True, slots=True)
class IdToken:
    """One id token and its authorization data.

    ``group_id`` is the 1.6 parentIdTag and the 2.0.1 groupIdToken. ``allowed_locations`` limits
    where the token may charge: ``None`` means everywhere, otherwise each entry is a station id
    (any EVSE of it) or ``"STATION/EVSE"``. ``max_concurrent`` caps the token's simultaneous
    sessions (``None``: no cap). ``type`` ``None`` matches any 2.0.1 token type.
    """

    id_token: str
    type: str | None = None
    status: TokenStatus = TokenStatus.ACCEPTED
    expires_at: datetime | None = None
    group_id: str | None = None
    allowed_locations: tuple[str, ...] | None = None
    max_concurrent: int | None = None
    created_at: datetime = field(kw_only=True)
    updated_at: datetime = field(kw_only=True)

    @property
    def key(self) -> str:
        return token_key(self.id_token)


def parse_location(entry: str) -> tuple[str, int | None]:
    """``"CS-1"`` → ``("CS-1", None)``, ``"CS-1/2"`` → ``("CS-1", 2)``; InvalidTokenError else."""
    station, sep, evse = entry.partition("/")
    if not station or ":" in station or (sep and not evse.isdigit()):
        raise InvalidTokenError(
            f"allowed location {entry!r} must be a station id or 'STATION/EVSE' (EVSE a number)"
        )
    return station, int(evse) if sep else None


def build_token(values: dict[str, Any], *, now: datetime, existing: IdToken | None) -> IdToken:
    """Validate ``values`` (field name → value, domain-typed or plain) and return the token.

    With ``existing`` the values are changes to it (``updated_at`` moves, ``created_at`` stays);
    without, they define a new token. Raises :class:`InvalidTokenError`.
    """
    known = {
        "id_token",
        "type",
        "status",
        "expires_at",
        "group_id",
        "allowed_locations",
        "max_concurrent",
    }
    unknown = set(values) - known
    if unknown:
        raise InvalidTokenError(f"unknown id token fields: {', '.join(sorted(unknown))}")
    merged: dict[str, Any] = {}
    if existing is not None:
        merged = {name: getattr(existing, name) for name in known}
        if "id_token" in values and token_key(values["id_token"]) != existing.key:
            raise InvalidTokenError("id_token cannot be changed")
    merged.update(values)
    id_token = merged.get("id_token")
    if not isinstance(id_token, str) or not 1 <= len(id_token) <= MAX_ID_TOKEN_LENGTH:
        raise InvalidTokenError(f"id_token must be 1-{MAX_ID_TOKEN_LENGTH} characters")
    if any(ord(c) < 0x21 or ord(c) > 0x7E for c in id_token):
        raise InvalidTokenError("id_token must be printable ASCII without spaces")
    token_type = merged.get("type")
    if token_type is not None and token_type not in TOKEN_TYPES:
        raise InvalidTokenError(f"type must be one of {', '.join(sorted(TOKEN_TYPES))}")
    try:
        status = TokenStatus(merged.get("status") or TokenStatus.ACCEPTED)
    except ValueError:
        choices = ", ".join(s.value for s in TokenStatus)
        raise InvalidTokenError(f"status must be one of {choices}") from None
    expires_at = merged.get("expires_at")
    if expires_at is not None and (
        not isinstance(expires_at, datetime) or expires_at.utcoffset() is None
    ):
        raise InvalidTokenError("expires_at must be a date-time with a time zone")
    if expires_at is not None:
        expires_at = expires_at.astimezone(UTC)  # UTC everywhere (ARCHITECTURE rule 4)
    group_id = merged.get("group_id") or None
    if group_id is not None and (
        not isinstance(group_id, str) or len(group_id) > MAX_ID_TOKEN_LENGTH
    ):
        raise InvalidTokenError(f"group_id must be at most {MAX_ID_TOKEN_LENGTH} characters")
    locations = merged.get("allowed_locations")
    if locations is not None:
        locations = tuple(locations)
        for entry in locations:
            parse_location(entry)
    limit = merged.get("max_concurrent")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise InvalidTokenError("max_concurrent must be at least 1 (or null for no limit)")
    return IdToken(
        id_token=id_token,
        type=token_type,
        status=status,
        expires_at=expires_at,
        group_id=group_id,
        allowed_locations=locations,
        max_concurrent=limit,
        created_at=existing.created_at if existing is not None else now,
        updated_at=now,
    )
