"""The audit log: every OCPP-J frame in and out, per station, with retention.

Frames are queued into the storage writer's next group commit without waiting: the incoming frame is
queued before the handler's own (awaited) write, so by the time a station's message is acknowledged
its audit record is committed too.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from opencsms.clock import Clock
from opencsms.domain.basic_auth import redact_frame
from opencsms.domain.model import FrameRecord
from opencsms.storage.store import Storage


class AuditTrail:
    """Records frames for the operator (``GET /api/v1/stations/{id}/messages``)."""

    def __init__(self, storage: Storage, clock: Clock, *, retention_days: int) -> None:
        self._storage = storage
        self._clock = clock
        self._retention = timedelta(days=retention_days)

    def frame(
        self,
        station_id: str,
        direction: str,
        text: str,
        message_type: int | None,
        message_id: str | None,
        action: str | None,
        at: datetime,
    ) -> None:
        if message_type == 2:  # a CALL may carry a Basic-auth password (A01.FR.09)
            text = redact_frame(action, text)
        self._storage.audit.append_frame(
            station_id,
            at,
            "in" if direction == "in" else "out",
            message_type or 0,
            action,
            message_id or "",
            text,
        )

    async def purge(self) -> int:
        """Delete frames older than the retention period; returns how many."""
        return await self._storage.audit.purge_older_than(self._clock.now() - self._retention)

    async def page(self, station_id: str, before_id: int | None, limit: int) -> list[FrameRecord]:
        """Newest first. Frames are written without waiting, so flush first: a reader sees every
        frame that crossed the wire before the request."""
        await self._storage.writer.flush()
        return await self._storage.audit.page(station_id, before_id, limit)
