"""Exponential back-off after failed authentications (docs/security.md "Brute-force protection").

Station Basic auth (per station id and per remote address) and the operator API's bearer token
(per remote address) use the same :class:`AuthBackoff`. After ``free_failures`` failures of one
key, each further failure blocks that key for ``base * 2**n`` seconds (n = failures beyond the
free ones), at most ``maximum``. While a key is blocked every attempt is refused at once with
HTTP 429 and ``Retry-After``, without checking the credentials: a guesser learns nothing, and no
task or socket is held for the delay. A success resets the keys it used.

A per-station-id block also locks the real station out (an attacker who knows an id can keep it
blocked). Two things soften that: the block is at most ``maximum`` seconds, and a (station id,
address) pair that authenticated recently is exempt from blocks caused by others, until it fails
itself. Stations of one site often share an address behind NAT, so an address gets four times the
free failures of a station id.

State is in memory, per node, bounded: at most ``max_entries`` keys (least recently failed
dropped first), and a key quiet for ``2 * maximum`` seconds is forgotten. It is lost on restart,
which only shortens a running block; storing it would put a database write on every failed
handshake, the very load an attacker controls.

OCPP requirements: 1.6 security whitepaper A00.FR.201-206 / 301-304 (Basic auth); the back-off
itself is not specified by OCPP.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

_V = TypeVar("_V")

__all__ = ["ADDRESS_FREE_FACTOR", "AuthBackoff"]

ADDRESS_FREE_FACTOR = 4
"""An address may fail this many times more often than one station id before back-off."""


@dataclass(slots=True)
class _Entry:
    failures: int
    last_failure: float
    blocked_until: float


class AuthBackoff:
    """Failure counters with exponential back-off for station ids and remote addresses."""

    def __init__(
        self,
        *,
        base: float = 1.0,
        maximum: float = 300.0,
        free_failures: int = 3,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._base = max(base, 0.0)
        self._maximum = max(maximum, self._base)
        self._free = max(free_failures, 0)
        self._max_entries = max(max_entries, 1)
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._trusted: OrderedDict[tuple[str, str], float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries) + len(self._trusted)

    def retry_after(self, station_id: str | None, address: str | None) -> float:
        """Seconds until an attempt for ``station_id`` from ``address`` may be checked (0: now)."""
        now = self._clock()
        if station_id is not None and address is not None:
            trusted_at = self._trusted.get((station_id, address))
            if trusted_at is not None and now - trusted_at <= 2 * self._maximum:
                return 0.0
        wait = 0.0
        for key in _keys(station_id, address):
            entry = self._live(key, now)
            if entry is not None:
                wait = max(wait, entry.blocked_until - now)
        return wait

    def failed(self, station_id: str | None, address: str | None) -> None:
        """Count a failed attempt against both keys (and end the pair's exemption)."""
        now = self._clock()
        if station_id is not None and address is not None:
            self._trusted.pop((station_id, address), None)
        for key in _keys(station_id, address):
            entry = self._live(key, now) or _Entry(0, now, now)
            entry.failures += 1
            entry.last_failure = now
            free = self._free * (ADDRESS_FREE_FACTOR if key[0] == "addr" else 1)
            beyond = entry.failures - free
            if beyond > 0:
                delay = min(self._maximum, self._base * 2 ** min(beyond - 1, 62))
                entry.blocked_until = max(entry.blocked_until, now + delay)
            self._entries[key] = entry
            self._entries.move_to_end(key)
        self._trim(self._entries)

    def succeeded(self, station_id: str | None, address: str | None) -> None:
        """Reset both keys; the (station id, address) pair becomes exempt from others' blocks."""
        for key in _keys(station_id, address):
            self._entries.pop(key, None)
        if station_id is not None and address is not None:
            self._trusted[(station_id, address)] = self._clock()
            self._trusted.move_to_end((station_id, address))
            self._trim(self._trusted)

    def _live(self, key: tuple[str, str], now: float) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None and now - entry.last_failure > 2 * self._maximum:
            del self._entries[key]
            return None
        return entry

    def _trim(self, table: OrderedDict[tuple[str, str], _V]) -> None:
        while len(table) > self._max_entries:
            table.popitem(last=False)


def _keys(station_id: str | None, address: str | None) -> list[tuple[str, str]]:
    keys = []
    if station_id is not None:
        keys.append(("id", station_id))
    if address is not None:
        keys.append(("addr", address))
    return keys
