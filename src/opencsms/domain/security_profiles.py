"""Security profile and Basic-auth credentials state of each station (docs/security.md).

* Each station has one security profile (1.6 security whitepaper A00.FR.001): its own, or the
  node's ``security_profile`` setting. The gateway refuses it on a listener of another profile
  (A00.FR.002).
* Lowering a profile is never done over OCPP (A00.FR.005): here an operator may lower it only
  with an explicit ``allow_downgrade`` (an out-of-band decision, e.g. after replacing hardware).
* Raising it follows A05: the higher profile is recorded as pending; until the station first
  connects at it, it may still connect at its current one (the station falls back to it when it
  cannot connect with the new one, A05.FR.08); after that first connection the higher profile is
  final and the lower one refused (A05.FR.09).
* A Basic-auth password rotation in progress (A01, see :mod:`opencsms.domain.basic_auth`) keeps
  the new password's hash next to the current one, both accepted, until the rotation settles.

The state of every station that has any is kept in memory (loaded at start, changed here), like
:class:`~opencsms.domain.stations.StationAdmin`'s access data, so that admission needs no database
read. Changes made by another node are not seen until restart (the same limit as StationAdmin).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from opencsms.clock import Clock

if TYPE_CHECKING:
    from opencsms.storage.store import Storage

__all__ = [
    "PROFILES",
    "InvalidSecurityChange",
    "RotationStatus",
    "SecurityProfiles",
    "StationSecurity",
]

PROFILES = (1, 2, 3)


class InvalidSecurityChange(ValueError):
    """An operator change breaks a rule; the message says which (the API answers 400)."""


class RotationStatus(StrEnum):
    """Where the last Basic-auth password rotation of a station stands (A01)."""

    PENDING = "pending"
    """Sent, no answer yet: both passwords accepted."""
    ACCEPTED = "accepted"
    """The station accepted (or connected with) the new password: only it is accepted
    (A01.FR.03)."""
    REJECTED = "rejected"
    """Rejected or NotSupported: only the old password is accepted (A01.FR.04)."""
    REBOOT_REQUIRED = "reboot_required"
    """The station takes it after a reboot: both accepted until it connects with the new one."""
    UNCONFIRMED = "unconfirmed"
    """No answer (timeout, CALLERROR, connection lost): both accepted until the station connects
    with one of them."""
    ABANDONED = "abandoned"
    """Unconfirmed, then the station connected with the old password: the new one is dropped."""


@dataclass(frozen=True, slots=True)
class StationSecurity:
    """The security state of one station (table ``station_security``)."""

    station_id: str
    security_profile: int | None = None
    """None: the node's default profile."""
    pending_security_profile: int | None = None
    pending_password_hash: str | None = None
    rotation_status: RotationStatus | None = None
    rotation_requested_at: datetime | None = None
    rotation_finished_at: datetime | None = None
    password_rotated_at: datetime | None = None
    """When a rotated password last became the current one (then the provisioning file's password
    no longer overwrites it)."""
    updated_at: datetime | None = None


class SecurityProfiles:
    """Reads and changes the security state of stations, with an in-memory copy for admission."""

    def __init__(self, storage: Storage, clock: Clock, *, default_profile: int) -> None:
        if default_profile not in PROFILES:
            raise InvalidSecurityChange("security_profile must be 1, 2 or 3")
        self._storage = storage
        self._clock = clock
        self.default_profile = default_profile
        self._state: dict[str, StationSecurity] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.on_change: Callable[[str], None] = lambda _station_id: None
        """Called with the station's id after each change (a cluster tells the other nodes)."""

    async def load(self) -> int:
        """Read every station's state into memory; returns how many."""
        for state in await self._storage.station_security.list_all():
            if state.rotation_status is RotationStatus.PENDING:
                # The node stopped while waiting for the answer: nobody will settle it now.
                state = replace(state, rotation_status=RotationStatus.UNCONFIRMED)
            self._state[state.station_id] = state
        return len(self._state)

    def lock(self, station_id: str) -> asyncio.Lock:
        """Serialises the changes to one station's state (rotation and admission race)."""
        lock = self._locks.get(station_id)
        if lock is None:
            lock = self._locks[station_id] = asyncio.Lock()
        return lock

    def get(self, station_id: str) -> StationSecurity:
        """The station's state (an empty one when it has none)."""
        return self._state.get(station_id) or StationSecurity(station_id)

    def profile_of(self, station_id: str) -> int:
        """The profile the station must connect with (its own, else the default)."""
        own = self.get(station_id).security_profile
        return own if own is not None else self.default_profile

    def accepted_profiles(self, station_id: str) -> frozenset[int]:
        """The profiles a connection of the station is admitted at: its own, and a pending
        upgrade (A05.FR.08: it may fall back until it has connected with the new one)."""
        state = self.get(station_id)
        profiles = {self.profile_of(station_id)}
        if state.pending_security_profile is not None:
            profiles.add(state.pending_security_profile)
        return frozenset(profiles)

    async def save(self, state: StationSecurity) -> StationSecurity:
        """Store ``state`` durably, then make it the one admission sees."""
        state = replace(state, updated_at=self._clock.now())
        await self._storage.station_security.upsert(state)
        self._state[state.station_id] = state
        self.on_change(state.station_id)
        return state

    async def reload(self, station_id: str) -> None:
        """Read one station's state again (another node of the cluster changed it)."""
        for state in await self._storage.station_security.list_all():
            if state.station_id == station_id:
                self._state[station_id] = state
                return
        self._state.pop(station_id, None)

    async def set_profile(
        self, station_id: str, profile: int, *, allow_downgrade: bool = False
    ) -> StationSecurity:
        """An operator's change of the station's profile.

        Higher: pending until the station connects at it (A05). Lower: refused unless
        ``allow_downgrade`` (A00.FR.005: never over OCPP; this is the operator's other method),
        then immediate. The same: cancels a pending upgrade.
        """
        if profile not in PROFILES:
            raise InvalidSecurityChange("security_profile must be 1, 2 or 3")
        async with self.lock(station_id):
            state = self.get(station_id)
            current = self.profile_of(station_id)
            if profile > current:
                return await self.save(replace(state, pending_security_profile=profile))
            if profile < current and not allow_downgrade:
                raise InvalidSecurityChange(
                    f"lowering the security profile from {current} to {profile} needs "
                    "allow_downgrade: true (OCPP never lowers a profile, A00.FR.005)"
                )
            return await self.save(
                replace(state, security_profile=profile, pending_security_profile=None)
            )

    async def cancel_pending(self, station_id: str, profile: int) -> None:
        """The station refused an upgrade to ``profile``: drop it, unless it became final
        meanwhile (the station connected at it) or another upgrade replaced it."""
        async with self.lock(station_id):
            state = self.get(station_id)
            if state.pending_security_profile == profile:
                await self.save(replace(state, pending_security_profile=None))

    async def seed_profile(self, station_id: str, profile: int) -> None:
        """The provisioning file's profile: set as written (the file is the operator's)."""
        async with self.lock(station_id):
            state = self.get(station_id)
            if state.security_profile != profile or state.pending_security_profile is not None:
                await self.save(
                    replace(state, security_profile=profile, pending_security_profile=None)
                )

    async def connected(self, station_id: str, profile: int) -> None:
        """A station connected at ``profile``: a pending upgrade to it becomes final (A05.FR.09)."""
        state = self.get(station_id)
        if state.pending_security_profile != profile:
            return
        async with self.lock(station_id):
            state = self.get(station_id)
            if state.pending_security_profile == profile:
                await self.save(
                    replace(state, security_profile=profile, pending_security_profile=None)
                )

    async def forget(self, station_id: str) -> None:
        """The station was deleted: drop its state (a station re-created later starts afresh)."""
        self._state.pop(station_id, None)
        await self._storage.station_security.delete(station_id)
