"""OCPP 1.6 configuration keys: what each station reported (GetConfiguration, 1.6 §5.8) and what
the CSMS changed (ChangeConfiguration, §5.3), stored per key with its read-only flag and its last
known value (docs/configuration-management.md).

The station's commands come through a :class:`KeysPort` (handlers/v16/configuration.py), built
on a recorded station call: every CALL lands in the command log.

Storing rules:

* GetConfiguration **without** keys answers with every key the station has: the stored set is
  replaced by the answer (keys it no longer reports are removed).
* GetConfiguration **with** keys updates those keys; the ``unknownKey`` ones are removed (the
  station says it has no such key).
* ChangeConfiguration ``Accepted`` stores the new value (the key is writable, so not read-only);
  ``RebootRequired`` keeps the old value (the new one applies after a reboot, which the next
  GetConfiguration shows); ``Rejected`` and ``NotSupported`` change nothing stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from opencsms.clock import Clock

if TYPE_CHECKING:
    from opencsms.storage.store import Storage

__all__ = [
    "CHANGE_STATUSES",
    "ConfigurationKey",
    "ConfigurationService",
    "KeyReport",
    "KeysPort",
    "ReportedKey",
]

CHANGE_STATUSES = ("Accepted", "Rejected", "RebootRequired", "NotSupported")
"""1.6 §7.8 ConfigurationStatus."""


@dataclass(frozen=True, slots=True)
class ReportedKey:
    """One 1.6 KeyValue (§7.31): ``value`` is optional (a key whose value the station hides)."""

    key: str
    readonly: bool
    value: str | None = None


@dataclass(frozen=True, slots=True)
class KeyReport:
    """A GetConfiguration answer: the known keys and the names the station does not know."""

    keys: tuple[ReportedKey, ...]
    unknown: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ConfigurationKey:
    """A 1.6 key as stored: the station's last known value and when the CSMS learned it."""

    station_id: str
    key: str
    value: str | None
    readonly: bool
    reported_at: datetime


class KeysPort(Protocol):
    """A connected 1.6 station's configuration commands in domain terms."""

    @property
    def ocpp_version(self) -> str: ...

    async def get_configuration(self, keys: Sequence[str] | None) -> KeyReport:
        """GetConfiguration of ``keys`` (``None``: every key)."""
        ...

    async def change_configuration(self, key: str, value: str) -> str:
        """ChangeConfiguration; the station's status (:data:`CHANGE_STATUSES`)."""
        ...


class ConfigurationService:
    """Reads, changes and stores 1.6 configuration keys (one instance per node)."""

    def __init__(self, storage: Storage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, station_id: str) -> asyncio.Lock:
        lock = self._locks.get(station_id)
        if lock is None:
            lock = self._locks[station_id] = asyncio.Lock()
        return lock

    async def keys(self, station_id: str) -> list[ConfigurationKey]:
        """The station's stored keys, by name."""
        return await self._storage.configuration.keys(station_id)

    async def refresh(
        self, station_id: str, port: KeysPort, keys: Sequence[str] | None = None
    ) -> KeyReport:
        """GetConfiguration (every key when ``keys`` is empty), stored as the module docstring
        says. Call failures propagate (nothing is stored then)."""
        wanted = list(keys) if keys else None
        report = await port.get_configuration(wanted)
        await self.record_report(station_id, report, complete=wanted is None)
        return report

    async def record_report(self, station_id: str, report: KeyReport, *, complete: bool) -> None:
        """Store a GetConfiguration answer; ``complete``: it answered a request for every key,
        so keys it leaves out are gone."""
        now = self._clock.now()
        rows = [
            ConfigurationKey(station_id, reported.key, reported.value, reported.readonly, now)
            for reported in report.keys
        ]
        async with self._lock(station_id):
            if complete:
                await self._storage.configuration.replace_keys(station_id, rows)
            else:
                await self._storage.configuration.put_keys(rows)
                if report.unknown:
                    await self._storage.configuration.remove_keys(station_id, report.unknown)

    async def change(self, station_id: str, port: KeysPort, key: str, value: str) -> str:
        """ChangeConfiguration of one key; the station's status, its outcome stored (module
        docstring). Call failures propagate."""
        status = await port.change_configuration(key, value)
        await self.record_change(station_id, key, value, status)
        return status

    async def record_change(self, station_id: str, key: str, value: str, status: str) -> None:
        """Store what a ChangeConfiguration answer says about the key."""
        if status != "Accepted":
            return
        async with self._lock(station_id):
            await self._storage.configuration.put_keys(
                [ConfigurationKey(station_id, key, value, False, self._clock.now())]
            )
