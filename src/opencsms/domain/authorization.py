"""Authorization decisions: may this id token do this, here, now? (1.6 §4.1/§4.8/§4.10, 2.0.1 C01,
C04-C06, C16 master pass, E01-E07 idTokenInfo.)

:func:`decide` is the whole rule set as a pure function of the token record, the request, the CSMS's
clock reading and the token's number of open sessions; :class:`AuthorizationService` feeds it from
the store. Both speak version-neutral :class:`AuthorizationStatus` (2.0.1's superset); the 1.6
handlers map the 2.0.1-only values to 1.6 §7.2 ones.

Rules, first match wins:

1. A 2.0.1 ``NoAuthorization`` token (E01 with AuthCtrlr disabled: no identification was asked
   for) is Accepted without a lookup.
2. An unknown token is Invalid (2.0.1 TC_C_02_CSMS accepts Invalid or Unknown) unless the
   ``unknown_tokens = "accept"`` policy says Accepted.
3. A token presented with another 2.0.1 type than it was provisioned with is Invalid: the
   (idToken, type) pair identifies a 2.0.1 token.
4. The stored status if it is not Accepted (Blocked, Expired, Invalid, NoCredit; C01.FR.07).
5. Expired when ``expires_at`` has passed on the CSMS's clock (station clocks are not trusted).
6. Not at this location: the token's ``allowed_locations`` do not name the station (or EVSE).
7. Master pass (C16, TC_C_47-49_CSMS): a token in the ``master_pass_group_id`` group is Accepted to
   authorize and to stop anybody's transaction, but may not start one of its own: Invalid.
8. ConcurrentTx when starting would exceed the token's ``max_concurrent`` open sessions.

One more rule applies to starts only, after these (:func:`reserved_for_other`): a session starting
on an EVSE reserved for another token (not the token, not its group; see
:mod:`opencsms.domain.reservation_model`) is refused even when the token is otherwise Accepted.
2.0.1 answers ``NotAtThisTime`` (the token is valid, the EVSE is taken until the reservation ends:
H03, the station "SHALL refuse" such tokens itself), which 1.6 does not know and receives as
``Invalid`` (1.6 §5.13). Either way a station with StopTransactionOnInvalidId / StopTxOnInvalidId
ends the session.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Literal

from opencsms.clock import Clock
from opencsms.domain.tokens import IdToken, TokenStatus, parse_location, token_key
from opencsms.storage.store import Storage

TOKEN_CACHE_SIZE = 200_000
"""Tokens kept in memory by the authorization service before it starts over."""

__all__ = [
    "AuthDecision",
    "AuthPurpose",
    "AuthRequest",
    "AuthorizationService",
    "AuthorizationStatus",
    "UnknownTokenPolicy",
    "decide",
    "reserved_for_other",
]

UnknownTokenPolicy = Literal["reject", "accept"]


class AuthorizationStatus(StrEnum):
    """2.0.1 AuthorizationStatusEnumType (a superset of 1.6 §7.2 AuthorizationStatus)."""

    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    CONCURRENT_TX = "ConcurrentTx"
    EXPIRED = "Expired"
    INVALID = "Invalid"
    NO_CREDIT = "NoCredit"
    NOT_ALLOWED_TYPE_EVSE = "NotAllowedTypeEVSE"
    NOT_AT_THIS_LOCATION = "NotAtThisLocation"
    NOT_AT_THIS_TIME = "NotAtThisTime"
    UNKNOWN = "Unknown"


class AuthPurpose(StrEnum):
    """Why the token is checked: it changes the master-pass and concurrency rules."""

    AUTHORIZE = "authorize"
    """An Authorize request: the station does not say whether to start or to stop."""
    START = "start"
    """StartTransaction, or a TransactionEvent that starts or authorizes a session."""
    STOP = "stop"
    """StopTransaction's idTag, or the idToken of a TransactionEvent that ends a session."""


@dataclass(frozen=True, slots=True)
class AuthRequest:
    """A token presented at a station. ``token_type`` is ``None`` for 1.6 (no type)."""

    id_token: str
    token_type: str | None
    station_id: str
    evse_id: int | None
    purpose: AuthPurpose


@dataclass(frozen=True, slots=True)
class AuthDecision:
    """The answer: a status, and what the station may cache (group and expiry)."""

    status: AuthorizationStatus
    group_id: str | None = None
    expires_at: datetime | None = None
    master_pass: bool = False

    @property
    def accepted(self) -> bool:
        return self.status is AuthorizationStatus.ACCEPTED


def decide(
    token: IdToken | None,
    request: AuthRequest,
    *,
    now: datetime,
    open_sessions: int,
    unknown_tokens: UnknownTokenPolicy = "reject",
    master_pass_group_id: str | None = None,
) -> AuthDecision:
    """Apply the rules of the module docstring. ``open_sessions`` counts the token's open
    transactions other than the one this request belongs to."""
    if request.token_type == "NoAuthorization":
        return AuthDecision(AuthorizationStatus.ACCEPTED)
    if token is None:
        if unknown_tokens == "accept":
            return AuthDecision(AuthorizationStatus.ACCEPTED)
        return AuthDecision(AuthorizationStatus.INVALID)
    group = token.group_id
    master = (
        master_pass_group_id is not None
        and group is not None
        and (token_key(group) == token_key(master_pass_group_id))
    )

    def answer(status: AuthorizationStatus) -> AuthDecision:
        return AuthDecision(status, group, token.expires_at, master)

    if (
        request.token_type is not None
        and token.type is not None
        and token.type != request.token_type
    ):
        return answer(AuthorizationStatus.INVALID)
    if token.status is not TokenStatus.ACCEPTED:
        return answer(AuthorizationStatus(token.status.value))
    if token.expires_at is not None and token.expires_at <= now:
        return answer(AuthorizationStatus.EXPIRED)
    if not _allowed_here(token, request.station_id, request.evse_id):
        return answer(AuthorizationStatus.NOT_AT_THIS_LOCATION)
    if master and request.purpose is AuthPurpose.START:
        return answer(AuthorizationStatus.INVALID)
    if (
        request.purpose is AuthPurpose.START
        and token.max_concurrent is not None
        and open_sessions >= token.max_concurrent
    ):
        return answer(AuthorizationStatus.CONCURRENT_TX)
    return answer(AuthorizationStatus.ACCEPTED)


def reserved_for_other(decision: AuthDecision) -> AuthDecision:
    """The decision for a start on an EVSE reserved for another token: an Accepted token gets
    NotAtThisTime (1.6: Invalid); a token refused anyway keeps its own reason."""
    if not decision.accepted:
        return decision
    return replace(decision, status=AuthorizationStatus.NOT_AT_THIS_TIME)


def _allowed_here(token: IdToken, station_id: str, evse_id: int | None) -> bool:
    if token.allowed_locations is None:
        return True
    for entry in token.allowed_locations:
        station, evse = parse_location(entry)
        # An EVSE-restricted entry admits a request that names no EVSE yet (Authorize): the EVSE
        # is checked again when the session starts on one.
        if station == station_id and (evse is None or evse_id is None or evse == evse_id):
            return True
    return False


class AuthorizationService:
    """Answers authorization requests from the stored tokens and open transactions."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        *,
        unknown_tokens: UnknownTokenPolicy = "reject",
        master_pass_group_id: str | None = None,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._unknown_tokens: UnknownTokenPolicy = unknown_tokens
        self._master_pass_group_id = master_pass_group_id
        # Tokens (and unknown ids) by key, read once: every Authorize, start and stop decides
        # from memory. TokenAdmin reports every change (tokens_changed), which empties it.
        self._tokens: dict[str, IdToken | None] = {}

    def tokens_changed(self) -> None:
        """A token was created, changed or deleted: forget what was read (this node only)."""
        self._tokens.clear()

    async def _token(self, id_token: str) -> IdToken | None:
        key = token_key(id_token)
        try:
            return self._tokens[key]
        except KeyError:
            pass
        token = await self._storage.id_tokens.get(id_token)
        if len(self._tokens) >= TOKEN_CACHE_SIZE:
            self._tokens.clear()  # bounded: a flood of unknown ids cannot grow it without end
        self._tokens[key] = token
        return token

    async def authorize(
        self, request: AuthRequest, *, exclude_transaction: int | None = None
    ) -> AuthDecision:
        """Decide ``request``; ``exclude_transaction`` is the session it belongs to (not counted
        against the token's concurrency limit)."""
        token = None
        if request.token_type != "NoAuthorization":
            token = await self._token(request.id_token)
        open_sessions = 0
        if (
            token is not None
            and request.purpose is AuthPurpose.START
            and token.max_concurrent is not None
        ):
            open_sessions = await self._storage.transactions.count_open_for_token(
                token.key, exclude_id=exclude_transaction
            )
        return decide(
            token,
            request,
            now=self._clock.now(),
            open_sessions=open_sessions,
            unknown_tokens=self._unknown_tokens,
            master_pass_group_id=self._master_pass_group_id,
        )
