"""Stations connected to other nodes, as this node sees them: a directory kept from the events
the nodes fan out, and a link that sends CALLs through the bus to the node holding the socket.

A :class:`RemoteStation` answers the same questions as a local ``StationConnection`` (version,
registration, last heard, ``call``, ``close``), so the API and the services reach a station the
same way wherever it is connected (ARCHITECTURE: an intent "leaves as a CALL through the gateway
to whichever node holds that station's socket").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opencsms.cluster.bus import ClusterBus
from opencsms.domain.fleet_events import (
    BootReported,
    FleetEvent,
    StationConnected,
    StationDisconnected,
    StatusChanged,
    TransactionChanged,
)
from opencsms.ocpp.version import OcppVersion
from opencsms.transport.connection import ConnectionState

__all__ = ["RemoteDirectory", "RemoteStation"]


@dataclass
class RemoteStation:
    """A station whose socket another node holds."""

    station_id: str
    node_id: str
    version: OcppVersion
    state: ConnectionState
    _bus: ClusterBus

    async def call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send a CALL through the node holding the station; its CALLRESULT payload."""
        return await self._bus.call_station(self.station_id, action, payload)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Have the holding node close the station's connection."""
        await self._bus.close_station(self.station_id, code, reason)

    def last_heard(self) -> datetime:
        return self.state.last_message_at


class RemoteDirectory:
    """Which station is connected to which other node, from the cluster's events."""

    def __init__(self, bus: ClusterBus) -> None:
        self._bus = bus
        self._stations: dict[str, RemoteStation] = {}

    def get(self, station_id: str) -> RemoteStation | None:
        return self._stations.get(station_id)

    def __iter__(self) -> Iterator[RemoteStation]:
        return iter(list(self._stations.values()))

    def add(
        self, station_id: str, node_id: str, version: str, registration: str, at: datetime
    ) -> None:
        state = ConnectionState(
            connected_at=at, remote_address=None, last_message_at=at, registration=registration
        )
        self._stations[station_id] = RemoteStation(
            station_id, node_id, OcppVersion(version), state, self._bus
        )

    def local(self, station_id: str) -> None:
        """The station connected to this node: it is no longer anyone else's."""
        self._stations.pop(station_id, None)

    def taken_over(self, station_id: str, node_id: str) -> None:
        entry = self._stations.get(station_id)
        if entry is not None:
            entry.node_id = node_id

    def heard(self, origin: str, event: FleetEvent) -> None:
        """Update the directory from an event another node (``origin``) published."""
        if isinstance(event, StationConnected):
            self.add(
                event.station_id,
                origin,
                event.ocpp_version,
                event.registration or "Accepted",
                event.at,
            )
            return
        if isinstance(event, StationDisconnected):
            entry = self._stations.get(event.station_id)
            # A disconnect reported after a newer connection elsewhere does not end that one.
            if entry is not None and entry.state.connected_at <= event.at:
                del self._stations[event.station_id]
            return
        station_id = getattr(event, "station_id", None)
        if isinstance(event, StatusChanged):
            station_id = event.status.station_id
        elif isinstance(event, TransactionChanged):
            station_id = event.transaction.station_id
        entry = self._stations.get(station_id) if isinstance(station_id, str) else None
        if entry is None:
            return
        at = getattr(event, "at", None)
        if isinstance(at, datetime) and at > entry.state.last_message_at:
            entry.state.last_message_at = at
        if isinstance(event, BootReported):
            entry.state.registration = event.status
