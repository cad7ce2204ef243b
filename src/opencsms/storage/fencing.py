"""Fencing of station writes in a cluster: a node writes for a station only while it still holds
the station's lease (cluster/leases.py).

The node's connection task sets :data:`current_fence` to ``(station_id, node_id, token)`` for
its station; every write submitted from that task (the handlers' stores) carries it, and the
group-commit writer checks all fences of a batch inside the batch's own transaction, reading the
leases ``FOR SHARE``: a takeover (which updates the lease row) waits for that transaction, so a
write either lands before the takeover or is refused with :class:`StaleLeaseError`. Single-node
mode sets no fence and pays nothing.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from opencsms.errors import StorageError

from .tables import station_leases

__all__ = ["Fence", "StaleLeaseError", "check_fences", "current_fence"]


class StaleLeaseError(StorageError):
    """A node tried to write (or act) for a station whose lease another node has taken since."""


@dataclass(frozen=True, slots=True)
class Fence:
    station_id: str
    node_id: str
    token: int


current_fence: ContextVar[Fence | None] = ContextVar("opencsms_fence", default=None)
"""The lease under which the current task writes (set by the cluster for a connection's task)."""


async def check_fences(conn: AsyncConnection, fences: set[Fence]) -> None:
    """Raise :class:`StaleLeaseError` unless every fence is still its station's current lease,
    locking the lease rows ``FOR SHARE`` until ``conn``'s transaction ends."""
    ids = sorted({f.station_id for f in fences})
    rows = await conn.execute(
        sa.select(station_leases.c.station_id, station_leases.c.node_id, station_leases.c.token)
        .where(station_leases.c.station_id.in_(ids))
        .with_for_update(read=True)
    )
    held = {row.station_id: (row.node_id, int(row.token)) for row in rows}
    for fence in fences:
        if held.get(fence.station_id) != (fence.node_id, fence.token):
            raise StaleLeaseError(
                f"node {fence.node_id} lost station {fence.station_id} "
                f"(lease token {fence.token} is stale)"
            )
