"""The registry of live station connections: at most one per station id.

A new connection for a station replaces the old one (the old socket is closed by the gateway).
Teardown of the old connection must never touch the new one, so removal is by identity: a connection
can only remove itself, never whichever connection currently holds its station id (ARCHITECTURE rule
6).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, Protocol, TypeVar


class _HasStationId(Protocol):
    @property
    def station_id(self) -> str: ...


C = TypeVar("C", bound=_HasStationId)


class ConnectionRegistry(Generic[C]):
    """Station id → the one live connection of that station."""

    def __init__(self) -> None:
        self._by_id: dict[str, C] = {}

    def attach(self, connection: C) -> C | None:
        """Make ``connection`` the live one for its station; return the connection it replaces."""
        previous = self._by_id.get(connection.station_id)
        self._by_id[connection.station_id] = connection
        return previous if previous is not connection else None

    def detach(self, connection: C) -> bool:
        """Remove ``connection`` if it is still the live one; False when it was already replaced."""
        if self._by_id.get(connection.station_id) is connection:
            del self._by_id[connection.station_id]
            return True
        return False

    def get(self, station_id: str) -> C | None:
        return self._by_id.get(station_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[C]:
        return iter(list(self._by_id.values()))
