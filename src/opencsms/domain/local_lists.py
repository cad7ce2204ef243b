"""Local authorization lists: keeping each managed station's list equal to the id tokens
(1.6 §3.5.2, §5.10 GetLocalListVersion, §5.15 SendLocalList; 2.0.1 D01 Send Local List, D02 Get
Local List Version).

What goes on a list and how an update is cut into messages is decided in
:mod:`opencsms.domain.local_list_model` (pure); this service runs a sync against a connected
station through a :class:`LocalListPort` (implemented per OCPP version by the handlers) and
records the outcome per station (:class:`~opencsms.domain.local_list_model.LocalListState`).

A sync (:meth:`LocalListService.sync`):

1. asks the station its list version (GetLocalListVersion; 1.6 ``-1`` = lists not supported);
2. reads the station's per-message limit once (1.6 ``SendLocalListMaxLength`` through
   GetConfiguration, 2.0.1 ``LocalAuthListCtrlr.ItemsPerMessage`` through GetVariables), or uses
   the configured default when the station does not say;
3. sends a **Full** update when the CSMS has no confirmed version for the station, the station
   reports another version than the one the CSMS last had accepted (it lost or changed its list),
   or the operator asked for one; otherwise a **Differential** update with only the changes
   (removals as entries without info) — nothing at all when there are none;
4. every message gets a new version, strictly above every version sent before and the station's
   own; each accepted message is recorded at once, so a sync broken off half-way leaves a true
   record;
5. a Differential answered ``VersionMismatch`` or ``Failed`` is retried once as a Full update
   (1.6 §5.15: "the Central System SHOULD retry sending the full local authorization list");
   ``NotSupported`` (1.6) and a CALLERROR ``NotSupported``/``NotImplemented`` are recorded, and
   automatic syncs leave that station alone until an operator's sync succeeds.

A station is *managed* once the CSMS has sent it a list (``sent_version > 0``): only managed
stations are re-synced automatically (:mod:`opencsms.domain.local_list_worker`).

The token list is read once and cached until a token changes (:meth:`tokens_changed`), so a
thousand stations syncing after one change cost one read of the tokens. Like the transaction
cache this is the node's own view; a cluster must call :meth:`tokens_changed` on every node.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from opencsms.clock import Clock
from opencsms.domain.fleet_events import FleetEvents, LocalListSyncChanged
from opencsms.domain.local_list_model import (
    ListEntry,
    ListUpdate,
    LocalListState,
    UpdateStatus,
    apply_update,
    desired_entries,
    diff,
    plan_differential,
    plan_full,
)
from opencsms.domain.tokens import IdToken
from opencsms.errors import CallErrorResponse, CallFailedError
from opencsms.storage.store import Storage

__all__ = ["UP_TO_DATE", "ListStatus", "LocalListPort", "LocalListService", "SyncReport"]

UP_TO_DATE = "UpToDate"
"""A sync's result when the station already held the right list (nothing was sent)."""

NOT_SUPPORTED_ERRORS = frozenset({"NotSupported", "NotImplemented"})
"""CALLERROR codes by which a station says it has no local list at all."""

_TOKEN_PAGE = 1000


class LocalListPort(Protocol):
    """A connected station's local-list commands in domain terms (see handlers/*/local_auth.py)."""

    @property
    def ocpp_version(self) -> str: ...

    async def get_list_version(self) -> int:
        """GetLocalListVersion: the station's list version (0: empty; -1: no list support)."""
        ...

    async def max_list_items(self) -> int | None:
        """The station's maximum number of entries per SendLocalList, or None if it won't say."""
        ...

    async def send_list(self, update: ListUpdate) -> UpdateStatus:
        """SendLocalList of one :class:`ListUpdate`; the station's status."""
        ...


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What one sync did: ``result`` is an :class:`UpdateStatus` value or ``UpToDate``."""

    result: str
    update_type: Literal["Full", "Differential"] | None
    """``Full`` / ``Differential`` of the last message sent, None when nothing was sent."""
    messages: int
    entries_sent: int
    state: LocalListState


@dataclass(frozen=True, slots=True)
class ListStatus:
    """A station's list as the operator sees it: the stored state and how it compares with the
    tokens now."""

    state: LocalListState
    managed: bool
    in_sync: bool
    desired: dict[str, ListEntry]
    changes: int


class LocalListService:
    """Syncs stations' local lists and records what each holds (one instance per node)."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        *,
        default_items: int,
        events: FleetEvents | None = None,
    ) -> None:
        self._events = events
        self._storage = storage
        self._clock = clock
        self._default_items = default_items
        self._tokens: list[IdToken] | None = None
        self._managed: set[str] | None = None
        self._locks: dict[str, asyncio.Lock] = {}

    # ------------------------------------------------------------------ bookkeeping

    def tokens_changed(self) -> None:
        """A token was created, changed or deleted: read the tokens again next time."""
        self._tokens = None

    async def tokens(self) -> list[IdToken]:
        """Every id token (cached until :meth:`tokens_changed`)."""
        tokens = self._tokens
        if tokens is None:
            tokens = []
            while True:
                page = await self._storage.id_tokens.list(offset=len(tokens), limit=_TOKEN_PAGE)
                tokens += page
                if len(page) < _TOKEN_PAGE:
                    break
            self._tokens = tokens
        return tokens

    async def managed(self) -> set[str]:
        """Ids of the stations whose list the CSMS manages (read once, then kept up to date)."""
        if self._managed is None:
            self._managed = await self._storage.local_lists.managed()
        return self._managed

    async def desired(self, station_id: str, ocpp_version: str) -> dict[str, ListEntry]:
        """The entries the station's list should hold now."""
        return desired_entries(await self.tokens(), station_id, ocpp_version=ocpp_version)

    def _blank(self, station_id: str) -> LocalListState:
        now = self._clock.now()
        return LocalListState(station_id, created_at=now, updated_at=now)

    async def stored(self, station_id: str) -> LocalListState | None:
        """The stored state of the station's list, if the CSMS has one."""
        return await self._storage.local_lists.get(station_id)

    async def status(self, station_id: str, ocpp_version: str | None) -> ListStatus:
        """The stored state and its comparison with the tokens (``ocpp_version``: the
        station's, which decides what fits on its list)."""
        state = await self._storage.local_lists.get(station_id) or self._blank(station_id)
        version = state.ocpp_version or ocpp_version or "2.0.1"
        desired = await self.desired(station_id, version)
        changes = len(diff(state.entries, desired))
        managed = state.sent_version > 0
        in_sync = managed and state.in_sync and state.version is not None and changes == 0
        return ListStatus(state, managed, in_sync, desired, changes)

    async def needs_sync(self, station_id: str, ocpp_version: str) -> bool:
        """Whether an automatic sync of a managed station would change anything: it is out of
        sync or the tokens changed since. False for unmanaged stations and for stations that
        said they have no local list."""
        if station_id not in await self.managed():
            return False
        status = await self.status(station_id, ocpp_version)
        if status.state.last_result == UpdateStatus.NOT_SUPPORTED:
            return False
        return not status.in_sync or status.state.ocpp_version != ocpp_version

    def _lock(self, station_id: str) -> asyncio.Lock:
        lock = self._locks.get(station_id)
        if lock is None:
            lock = self._locks[station_id] = asyncio.Lock()
        return lock

    async def _save(self, state: LocalListState) -> LocalListState:
        state = replace(state, updated_at=self._clock.now())
        await self._storage.local_lists.put(state)
        if state.sent_version > 0 and self._managed is not None:
            self._managed.add(state.station_id)
        if self._events is not None:  # after storage: the out-of-sync alert follows it
            self._events.publish(
                LocalListSyncChanged(
                    state.station_id,
                    state.sent_version > 0,
                    state.in_sync,
                    state.last_result,
                    state.last_error,
                    state.updated_at,
                )
            )
        return state

    async def _failed(self, state: LocalListState, exc: CallFailedError) -> None:
        """Record a call that did not end in an answer, then let the caller see it."""
        not_supported = (
            isinstance(exc, CallErrorResponse) and exc.error_code in NOT_SUPPORTED_ERRORS
        )
        detail = exc.description if isinstance(exc, CallErrorResponse) else ""
        await self._save(
            replace(
                state,
                in_sync=False,
                last_result=UpdateStatus.NOT_SUPPORTED.value if not_supported else "Error",
                last_error=f"{exc}: {detail}" if detail else str(exc),
            )
        )

    # ------------------------------------------------------------------ station calls

    async def check_version(self, station_id: str, port: LocalListPort) -> LocalListState:
        """GetLocalListVersion, recorded: a version other than the one the station last
        accepted marks the list out of sync (the next sync sends it whole)."""
        async with self._lock(station_id):
            state = await self._storage.local_lists.get(station_id) or self._blank(station_id)
            try:
                reported = await port.get_list_version()
            except CallFailedError as exc:
                await self._failed(state, exc)
                raise
            return await self._save(self._with_reported(state, reported))

    def _with_reported(self, state: LocalListState, reported: int) -> LocalListState:
        state = replace(state, station_version=reported, station_version_at=self._clock.now())
        if reported != state.version:
            state = replace(state, in_sync=False)
        return state

    async def sync(self, station_id: str, port: LocalListPort, *, full: bool = False) -> SyncReport:
        """Bring the station's list up to date (see the module docstring); ``full`` forces a
        Full update. Raises ``CallFailedError`` (recorded first) when a call gets no answer."""
        async with self._lock(station_id):
            state = await self._storage.local_lists.get(station_id) or self._blank(station_id)
            if state.ocpp_version != port.ocpp_version:
                # A new protocol version (a firmware upgrade): what fits on the list differs and
                # the old record says nothing about the station now. Start over.
                state = replace(
                    state,
                    ocpp_version=port.ocpp_version,
                    version=None,
                    entries={},
                    in_sync=False,
                    max_items=None,
                )
            progress = _Progress(replace(state, last_attempt_at=self._clock.now()))
            try:
                return await self._sync(progress, port, full=full)
            except CallFailedError as exc:
                await self._failed(progress.state, exc)
                raise

    async def _sync(self, progress: _Progress, port: LocalListPort, *, full: bool) -> SyncReport:
        state = progress.state
        reported = await port.get_list_version()
        state = progress.state = self._with_reported(state, reported)
        if reported < 0:  # 1.6 §5.10: -1 = the station does not support local lists
            state = await self._save(
                replace(
                    state,
                    in_sync=False,
                    last_result=UpdateStatus.NOT_SUPPORTED.value,
                    last_error="GetLocalListVersion answered -1",
                )
            )
            return SyncReport(UpdateStatus.NOT_SUPPORTED.value, None, 0, 0, state)
        if state.max_items is None:
            limit = await port.max_list_items()
            state = progress.state = replace(state, max_items=limit or self._default_items)
        max_items = state.max_items or self._default_items
        desired = await self.desired(state.station_id, port.ocpp_version)
        whole = full or state.version is None or reported != state.version
        base = max(state.sent_version, reported, state.version or 0) + 1
        if whole:
            plan = plan_full(desired, first_version=base, max_items=max_items)
        else:
            plan = plan_differential(
                diff(state.entries, desired), first_version=base, max_items=max_items
            )
            if not plan:
                state = await self._save(
                    replace(
                        state,
                        in_sync=True,
                        last_result=UP_TO_DATE,
                        last_error=None,
                        synced_at=self._clock.now(),
                    )
                )
                return SyncReport(UP_TO_DATE, None, 0, 0, state)
        status, sent = await self._send(progress, plan, port)
        messages, entries = sent, sum(len(u.changes) for u in plan[:sent])
        last = plan[sent - 1]
        if status in (UpdateStatus.FAILED, UpdateStatus.VERSION_MISMATCH) and not whole:
            # 1.6 §5.15: a refused Differential is followed by the Full list.
            first = progress.state.sent_version + 1
            plan = plan_full(desired, first_version=first, max_items=max_items)
            status, sent = await self._send(progress, plan, port)
            messages += sent
            entries += sum(len(u.changes) for u in plan[:sent])
            last = plan[sent - 1]
        accepted = status is UpdateStatus.ACCEPTED
        state = await self._save(
            replace(
                progress.state,
                in_sync=accepted,
                last_result=status.value,
                last_error=None if accepted else f"SendLocalList answered {status.value}",
                synced_at=self._clock.now() if accepted else progress.state.synced_at,
            )
        )
        update_type: Literal["Full", "Differential"] = "Full" if last.full else "Differential"
        return SyncReport(status.value, update_type, messages, entries, state)

    async def _send(
        self, progress: _Progress, plan: list[ListUpdate], port: LocalListPort
    ) -> tuple[UpdateStatus, int]:
        """Send the plan's messages in order until one is refused; record each accepted one
        (when there are several, so a sync broken off half-way leaves a true record)."""
        status = UpdateStatus.ACCEPTED
        sent = 0
        for update in plan:
            state = progress.state = replace(
                progress.state, sent_version=max(progress.state.sent_version, update.version)
            )
            status = await port.send_list(update)
            sent += 1
            if status is not UpdateStatus.ACCEPTED:
                break
            state = replace(
                state,
                version=update.version,
                entries=apply_update(state.entries, update),
                in_sync=False,  # until every part is in
            )
            progress.state = await self._save(state) if len(plan) > 1 else state
        return status, sent


class _Progress:
    """The state of one sync as it advances, so a failure records what was already accepted."""

    __slots__ = ("state",)

    def __init__(self, state: LocalListState) -> None:
        self.state = state
