"""What stations report about themselves: connector status, events, meter values (transaction
events are the transactions service's: :mod:`opencsms.domain.transactions`).

Each method returns only after the report is committed: the handler answers the station afterwards,
so an acknowledged report is never lost. Every write is idempotent (ARCHITECTURE rule 7): a station
that resends a report from its offline queue stores nothing twice.
"""

from __future__ import annotations

from opencsms.domain.fleet_events import (
    FleetEvents,
    MeterValuesStored,
    MonitorEventsStored,
    StatusChanged,
)
from opencsms.domain.model import ConnectorStatus, MeterValueRecord, StationEvent
from opencsms.storage.store import Storage


class ReportService:
    """Stores station reports durably before they are acknowledged."""

    def __init__(self, storage: Storage, events: FleetEvents | None = None) -> None:
        self._storage = storage
        self._events = events or FleetEvents()

    async def connector_status(self, status: ConnectorStatus) -> None:
        """1.6 StatusNotification / 2.0.1 G01 StatusNotification: current state plus history."""
        await self._storage.status.record(status)
        self._events.publish(StatusChanged(status))

    async def events(self, events: list[StationEvent]) -> None:
        """2.0.1 NotifyEvent (N07): one record per EventData."""
        if events:
            await self._storage.events.add(events)
            self._events.publish(MonitorEventsStored(events[0].station_id, events))

    async def meter_values(self, records: list[MeterValueRecord]) -> None:
        """1.6 MeterValues / 2.0.1 MeterValues and the meter values inside TransactionEvent."""
        if records:
            await self._storage.meter.add(records)
            self._events.publish(MeterValuesStored(records[0].station_id, records))
