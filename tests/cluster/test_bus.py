"""The NATS bus against the real server: routed CALLs, their failures, takeovers, events."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from opencsms.cluster.bus import ClusterBus
from opencsms.domain.fleet_events import StationConnected, StatusChanged
from opencsms.domain.model import ConnectorStatus
from opencsms.errors import CallErrorResponse, CallTimeoutError, ConnectionClosedError


@pytest.fixture
async def nodes(nats_url: str) -> AsyncIterator[tuple[ClusterBus, ClusterBus]]:
    run = uuid.uuid4().hex[:6]
    a = ClusterBus(f"a-{run}", call_timeout=0.5)
    b = ClusterBus(f"b-{run}", call_timeout=0.5)
    await a.connect(nats_url)
    await b.connect(nats_url)
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


def station() -> str:
    # Characters NATS subjects give a meaning to, and unique per test run (a shared server).
    return f"CS.{uuid.uuid4().hex[:8]} *>"


async def test_a_call_reaches_the_node_holding_the_station_and_its_answer_comes_back(
    nodes: tuple[ClusterBus, ClusterBus],
) -> None:
    a, b = nodes
    sid = station()
    seen: list[tuple[str, dict[str, Any]]] = []

    async def connection(action: str, payload: dict[str, Any]) -> dict[str, Any]:
        seen.append((action, payload))
        return {"status": "Accepted"}

    await a.serve_station(sid, connection)
    result = await b.call_station(sid, "Reset", {"type": "Immediate"})
    assert result == {"status": "Accepted"}
    assert seen == [("Reset", {"type": "Immediate"})]


async def test_no_node_holding_the_station_is_not_connected_at_once(
    nodes: tuple[ClusterBus, ClusterBus],
) -> None:
    _, b = nodes
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(ConnectionClosedError, match="not connected"):
        await b.call_station(station(), "Reset", {"type": "Immediate"})
    assert loop.time() - started < 0.5  # NATS "no responders", not a timeout


async def test_the_station_failures_travel_as_the_same_errors(
    nodes: tuple[ClusterBus, ClusterBus],
) -> None:
    a, b = nodes
    sid = station()

    async def failing(action: str, payload: dict[str, Any]) -> dict[str, Any]:
        if action == "Reset":
            raise CallErrorResponse("NotSupported", "no reset here", {"why": 1})
        if action == "ClearCache":
            raise CallTimeoutError("timed out", action=action)
        raise ConnectionClosedError("closed", action=action)

    await a.serve_station(sid, failing)
    with pytest.raises(CallErrorResponse) as refused:
        await b.call_station(sid, "Reset", {"type": "Immediate"})
    assert refused.value.error_code == "NotSupported"
    assert refused.value.description == "no reset here"
    assert refused.value.details == {"why": 1}
    with pytest.raises(CallTimeoutError):
        await b.call_station(sid, "ClearCache", {})
    with pytest.raises(ConnectionClosedError):
        await b.call_station(sid, "Heartbeat", {})


async def test_a_holder_that_stops_serving_leaves_the_station_offline(
    nodes: tuple[ClusterBus, ClusterBus],
) -> None:
    a, b = nodes
    sid = station()

    async def ok(action: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {}

    await a.serve_station(sid, ok)
    assert await b.call_station(sid, "ClearCache", {}) == {}
    await a.stop_serving(sid)
    with pytest.raises(ConnectionClosedError):
        await b.call_station(sid, "ClearCache", {})


async def test_takeovers_reach_the_other_nodes_only(nodes: tuple[ClusterBus, ClusterBus]) -> None:
    a, b = nodes
    sid = station()
    heard_a: asyncio.Queue[tuple[str, str, int]] = asyncio.Queue()
    heard_b: asyncio.Queue[tuple[str, str, int]] = asyncio.Queue()

    async def on_a(s: str, node: str, token: int) -> None:
        heard_a.put_nowait((s, node, token))

    async def on_b(s: str, node: str, token: int) -> None:
        heard_b.put_nowait((s, node, token))

    await a.on_takeover(on_a)
    await b.on_takeover(on_b)
    await b.announce_takeover(sid, 7)
    assert await asyncio.wait_for(heard_a.get(), 5) == (sid, b.node_id, 7)
    await a.client.flush()
    assert heard_b.empty()


async def test_events_fan_out_to_the_other_nodes_as_the_same_objects(
    nodes: tuple[ClusterBus, ClusterBus],
) -> None:
    a, b = nodes
    got: asyncio.Queue[Any] = asyncio.Queue()
    mine: list[Any] = []
    await b.on_events(lambda origin, event: got.put_nowait((origin, event)))
    await a.on_events(lambda origin, event: mine.append(event))
    at = datetime(2026, 11, 26, 1, 2, 3, 456000, tzinfo=UTC)
    status = ConnectorStatus("CS-1", 1, 2, "Occupied", reported_at=at, received_at=at)
    sent = [StationConnected("CS-1", "2.0.1", at), StatusChanged(status)]
    for event in sent:
        await a.publish_event(event)
    assert [await asyncio.wait_for(got.get(), 5) for _ in sent] == [(a.node_id, e) for e in sent]
    await a.client.flush()
    assert mine == []  # a node does not hear its own events back
