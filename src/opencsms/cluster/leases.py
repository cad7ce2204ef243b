"""Station ownership: one lease per station, with a fencing token, in PostgreSQL.

The node that accepts a station's connection takes the station's lease: one statement that
inserts the lease or moves it to this node and adds one to its token. The token only ever grows,
so the newest connection's holder has the largest token, and a node that lost the station (its
station reconnected elsewhere while it was slow, partitioned or paused) holds a smaller one: the
writes of its connection carry that token and are refused (storage/fencing.py).

Nodes also keep a heartbeat row: the leader reaps the leases of a node that stopped beating
(cluster/node.py), which is how the cluster's view of a station held by a dead node becomes
"offline" before the station reconnects elsewhere.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from opencsms.clock import Clock
from opencsms.storage.fencing import StaleLeaseError
from opencsms.storage.tables import cluster_nodes, station_leases

__all__ = ["StaleLeaseError", "StationLeases"]


class StationLeases:
    """The leases of the cluster, as seen by node ``node_id``."""

    def __init__(self, engine: AsyncEngine, node_id: str, clock: Clock) -> None:
        self._engine = engine
        self.node_id = node_id
        self._clock = clock

    async def acquire(self, station_id: str) -> int:
        """Take ``station_id``'s lease for this node; the new fencing token."""
        now = self._clock.now()
        insert = sa.dialects.postgresql.insert(station_leases).values(
            station_id=station_id, node_id=self.node_id, token=1, acquired_at=now
        )
        statement = insert.on_conflict_do_update(
            index_elements=[station_leases.c.station_id],
            set_={
                "node_id": self.node_id,
                "token": station_leases.c.token + 1,
                "acquired_at": now,
            },
        ).returning(station_leases.c.token)
        async with self._engine.begin() as conn:
            token = (await conn.execute(statement)).scalar_one()
        return int(token)

    async def release(self, station_id: str, token: int) -> bool:
        """Give the lease up (the connection closed), unless another node took it since."""
        statement = (
            sa.update(station_leases)
            .where(station_leases.c.station_id == station_id, station_leases.c.token == token)
            .values(node_id=None)
        )
        async with self._engine.begin() as conn:
            return (await conn.execute(statement)).rowcount == 1

    async def release_all(self) -> int:
        """Give up every lease of this node (a clean shutdown)."""
        statement = (
            sa.update(station_leases)
            .where(station_leases.c.node_id == self.node_id)
            .values(node_id=None)
        )
        async with self._engine.begin() as conn:
            return (await conn.execute(statement)).rowcount

    # ------------------------------------------------------------------ node liveness

    async def heartbeat(self) -> None:
        """Record that this node is alive (every few seconds)."""
        now = self._clock.now()
        insert = sa.dialects.postgresql.insert(cluster_nodes).values(
            node_id=self.node_id, started_at=now, heartbeat_at=now
        )
        statement = insert.on_conflict_do_update(
            index_elements=[cluster_nodes.c.node_id], set_={"heartbeat_at": now}
        )
        async with self._engine.begin() as conn:
            await conn.execute(statement)

    async def leave(self) -> None:
        """This node is stopping: its leases and its heartbeat row go."""
        await self.release_all()
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.delete(cluster_nodes).where(cluster_nodes.c.node_id == self.node_id)
            )
