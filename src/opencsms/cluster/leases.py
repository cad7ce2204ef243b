"""Station ownership: one lease per station, with a fencing token, in PostgreSQL.

The node that accepts a station's connection takes the station's lease: one statement that
inserts the lease or moves it to this node and adds one to its token. The token only ever grows,
so the newest connection's holder has the largest token, and a node that lost the station (its
station reconnected elsewhere while it was slow, partitioned or paused) holds a smaller one:
:meth:`StationLeases.check` refuses it, and a holder that writes checks first, inside the
transaction of its write (``FOR SHARE`` makes a concurrent takeover wait for that transaction),
so a stale holder can never write for a station it lost.

Nodes also keep a heartbeat row: a lease whose node stopped beating (killed) belongs to nobody
once the offline window has passed, which is how the cluster's view of a station held by a dead
node becomes "offline" before the station reconnects elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from opencsms.clock import Clock
from opencsms.storage.fencing import StaleLeaseError
from opencsms.storage.tables import cluster_nodes, station_leases

__all__ = ["Lease", "StaleLeaseError", "StationLeases"]


@dataclass(frozen=True, slots=True)
class Lease:
    station_id: str
    node_id: str | None
    token: int
    acquired_at: datetime


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

    async def holder(self, station_id: str) -> Lease | None:
        statement = sa.select(station_leases).where(station_leases.c.station_id == station_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(statement)).first()
        if row is None:
            return None
        return Lease(row.station_id, row.node_id, int(row.token), row.acquired_at)

    async def check(self, station_id: str, token: int, conn: AsyncConnection | None = None) -> None:
        """Raise :class:`StaleLeaseError` unless this node still holds ``token``.

        With ``conn`` (a transaction about to write for the station) the lease row is read
        ``FOR SHARE``: a takeover waits until that transaction ends, so the write either
        happens before the takeover or is refused."""
        statement = (
            sa.select(station_leases.c.node_id, station_leases.c.token)
            .where(station_leases.c.station_id == station_id)
            .with_for_update(read=True)
        )
        if conn is None:
            async with self._engine.begin() as own:
                row = (await own.execute(statement)).first()
        else:
            row = (await conn.execute(statement)).first()
        if row is None or row.node_id != self.node_id or int(row.token) != token:
            raise StaleLeaseError(
                f"node {self.node_id} lost station {station_id} (token {token} is stale)"
            )

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

    async def live_nodes(self, window: timedelta) -> set[str]:
        """Nodes that beat within ``window``."""
        since = self._clock.now() - window
        statement = sa.select(cluster_nodes.c.node_id).where(cluster_nodes.c.heartbeat_at >= since)
        async with self._engine.connect() as conn:
            return {row.node_id for row in await conn.execute(statement)}

    async def held(self, window: timedelta) -> dict[str, str]:
        """``station_id -> node_id`` of every lease held by a live node."""
        since = self._clock.now() - window
        statement = (
            sa.select(station_leases.c.station_id, station_leases.c.node_id)
            .join(cluster_nodes, cluster_nodes.c.node_id == station_leases.c.node_id)
            .where(cluster_nodes.c.heartbeat_at >= since)
        )
        async with self._engine.connect() as conn:
            return {row.station_id: row.node_id for row in await conn.execute(statement)}
