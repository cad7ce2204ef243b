"""One node's membership of a cluster: ownership of its stations, the bus, the leader's work.

What the node does, in the order of a station's life:

1. A station connects here: the node takes the station's lease (a new fencing token), answers
   the cluster's CALLs and close requests for it, tells the other nodes (a takeover closes an
   older connection of the station wherever it is), and the connection's task writes under the
   lease (``storage.fencing.current_fence``): once another node has taken the station, this one
   can no longer write for it.
2. Events of this node go out on the bus; the other nodes' events come in to the hub's
   ``remote`` subscribers and keep the directory of stations connected elsewhere.
3. The connection closes: the node stops answering for the station and releases the lease
   (unless a newer connection has it already).

Every node beats a heartbeat; one node at a time, the leader (``leadership.py``), runs the work
that must happen once, including reaping the stations of nodes that stopped beating: they are
recorded disconnected, so the cluster's view of them is right within the node timeout even
before they reconnect elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from opencsms.clock import Clock
from opencsms.cluster.bus import ClusterBus, RemoteCallHandler
from opencsms.cluster.leadership import Leadership
from opencsms.cluster.leases import StationLeases
from opencsms.cluster.remote import RemoteDirectory, RemoteStation
from opencsms.domain.fleet_events import FleetEvent, FleetEvents, StationDisconnected
from opencsms.storage.fencing import Fence, current_fence
from opencsms.storage.tables import cluster_nodes, station_leases, stations

__all__ = ["ClusterNode", "default_node_id"]

log = logging.getLogger(__name__)

Closer = Callable[[int, str], Awaitable[None]]
"""Closes a station's connection with a WebSocket close code and reason."""

FORWARD_QUEUE = 100_000
"""Events waiting for the bus; beyond it the oldest are dropped (and counted)."""


def default_node_id() -> str:
    """``host-pid-random``: unique per process, readable in logs."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def plain_dsn(url: str) -> str:
    """The libpq form of a SQLAlchemy PostgreSQL URL (asyncpg connects with it directly)."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


class ClusterNode:
    """This node in the cluster (created only when ``cluster_nats_url`` is set)."""

    def __init__(
        self,
        *,
        node_id: str,
        nats_url: str,
        engine: AsyncEngine,
        db_url: str,
        events: FleetEvents,
        clock: Clock,
        call_timeout: float,
        heartbeat_interval: float,
        node_timeout: float,
        cluster_name: str = "opencsms",
        record_disconnected: Callable[[str, datetime], Awaitable[None]],
    ) -> None:
        self.node_id = node_id
        self._nats_url = nats_url
        self._engine = engine
        self._db_url = db_url
        self._events = events
        self._clock = clock
        self._heartbeat_interval = heartbeat_interval
        self._node_timeout = timedelta(seconds=node_timeout)
        self._record_disconnected = record_disconnected
        self.bus = ClusterBus(node_id, call_timeout=call_timeout, cluster=cluster_name)
        self.leases = StationLeases(engine, node_id, clock)
        self.remote = RemoteDirectory(self.bus)
        self._held: dict[str, tuple[int, Closer]] = {}
        """The stations whose socket this node holds: their lease token and how to close it."""
        self._outbox: asyncio.Queue[FleetEvent] = asyncio.Queue(FORWARD_QUEUE)
        self.dropped_events = 0
        self.leadership: Leadership | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Join: connect the bus, beat once, learn who holds which station."""
        await self.bus.connect(self._nats_url)
        await self.leases.heartbeat()
        await self.bus.on_takeover(self._taken_over)
        await self.bus.on_events(self._heard)
        self._events.forward = self._forward
        await self._seed_directory()
        log.info("node %s joined the cluster at %s", self.node_id, self._nats_url)

    async def stop(self) -> None:
        """Leave cleanly: the leases and the heartbeat row go, the bus drains."""
        self._events.forward = None
        with contextlib.suppress(Exception):
            await self.leases.leave()
        await self.bus.close()

    def run(
        self,
        tasks: asyncio.TaskGroup,
        leader_work: Callable[[], Coroutine[Any, Any, None]],
    ) -> list[asyncio.Task[None]]:
        """Start the node's own tasks in ``tasks`` (heartbeat, event forwarding, leader
        election); the caller cancels the returned tasks at shutdown."""

        async def lead() -> None:
            async with asyncio.TaskGroup() as work:
                work.create_task(self._reap_dead_nodes(), name="cluster-reaper")
                work.create_task(leader_work(), name="leader-work")

        self.leadership = Leadership(plain_dsn(self._db_url), lead)
        return [
            tasks.create_task(self._beat(), name="cluster-heartbeat"),
            tasks.create_task(self._send_events(), name="cluster-events"),
            tasks.create_task(self.leadership.run(), name="cluster-leadership"),
        ]

    # ------------------------------------------------------------------ stations

    async def station_connected(
        self,
        station_id: str,
        calls: RemoteCallHandler,
        closer: Closer,
    ) -> Fence:
        """Take the station's lease and answer for it; returns the fence its task writes under
        (already set on the current task's context)."""
        token = await self.leases.acquire(station_id)
        self._held[station_id] = (token, closer)
        fence = Fence(station_id, self.node_id, token)
        current_fence.set(fence)
        self.remote.local(station_id)
        await self.bus.serve_station(station_id, calls, closer)
        await self.bus.announce_takeover(station_id, token)
        return fence

    async def station_disconnected(self, fence: Fence) -> None:
        """The connection under ``fence`` closed (and no newer local one replaced it)."""
        if self.holds(fence):
            del self._held[fence.station_id]
            await self.bus.stop_serving(fence.station_id)
        with contextlib.suppress(Exception):  # the lease of a dead database is nobody's anyway
            await self.leases.release(fence.station_id, fence.token)

    def holds(self, fence: Fence) -> bool:
        """Whether this node still holds the station under ``fence`` (no takeover seen)."""
        held = self._held.get(fence.station_id)
        return held is not None and held[0] == fence.token

    def link(self, station_id: str) -> RemoteStation | None:
        """The station's link when another node holds it."""
        return self.remote.get(station_id)

    async def _taken_over(self, station_id: str, node_id: str, token: int) -> None:
        """Another node accepted a connection of ``station_id``: an older one here closes."""
        self.remote.taken_over(station_id, node_id)
        mine = self._held.get(station_id)
        if mine is not None and mine[0] < token:
            log.info(
                "station %s reconnected to node %s; closing its connection here",
                station_id,
                node_id,
            )
            del self._held[station_id]
            await self.bus.stop_serving(station_id)
            await mine[1](1000, "replaced by a new connection on another node")

    # ------------------------------------------------------------------ events

    def _forward(self, event: FleetEvent) -> None:
        if self._outbox.full():
            self._outbox.get_nowait()
            self.dropped_events += 1
        self._outbox.put_nowait(event)

    async def _send_events(self) -> None:
        while True:
            event = await self._outbox.get()
            try:
                await self.bus.publish_event(event)
            except Exception:
                log.exception("could not publish %s to the cluster", type(event).__name__)

    def _heard(self, origin: str, event: Any) -> None:
        self.remote.heard(origin, event)
        self._events.publish_remote(event)

    async def _seed_directory(self) -> None:
        """Stations held by the other live nodes when this node joins."""
        since = self._clock.now() - self._node_timeout
        statement = (
            sa.select(
                station_leases.c.station_id,
                station_leases.c.node_id,
                station_leases.c.acquired_at,
                stations.c.ocpp_version,
                stations.c.registration,
            )
            .join(cluster_nodes, cluster_nodes.c.node_id == station_leases.c.node_id)
            .join(stations, stations.c.id == station_leases.c.station_id)
            .where(cluster_nodes.c.heartbeat_at >= since, station_leases.c.node_id != self.node_id)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(statement)).all()
        for row in rows:
            if row.ocpp_version:
                self.remote.add(
                    row.station_id, row.node_id, row.ocpp_version, row.registration, row.acquired_at
                )

    # ------------------------------------------------------------------ liveness

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_interval)
            try:
                await self.leases.heartbeat()
            except Exception as exc:
                log.warning("cluster heartbeat failed: %s", exc)

    async def _reap_dead_nodes(self) -> None:
        """Leader: the stations of nodes that stopped beating are disconnected."""
        while True:
            await asyncio.sleep(self._heartbeat_interval)
            try:
                await self.reap_once()
            except Exception:
                log.exception("reaping the stations of dead nodes failed")

    async def reap_once(self) -> int:
        since = self._clock.now() - self._node_timeout
        statement = (
            sa.select(station_leases.c.station_id, station_leases.c.token, station_leases.c.node_id)
            .outerjoin(cluster_nodes, cluster_nodes.c.node_id == station_leases.c.node_id)
            .where(
                station_leases.c.node_id.is_not(None),
                sa.or_(
                    cluster_nodes.c.heartbeat_at.is_(None), cluster_nodes.c.heartbeat_at < since
                ),
            )
        )
        async with self._engine.connect() as conn:
            orphans = (await conn.execute(statement)).all()
        reaped = 0
        for row in orphans:
            # Conditional on the token: a station that reconnected meanwhile keeps its lease.
            if not await self.leases.release(row.station_id, int(row.token)):
                continue
            now = self._clock.now()
            await self._record_disconnected(row.station_id, now)
            log.info("station %s of dead node %s is disconnected", row.station_id, row.node_id)
            gone = StationDisconnected(row.station_id, now)
            self.remote.heard(self.node_id, gone)  # this node's own view (others hear it)
            self._events.publish(gone)
            reaped += 1
        return reaped
