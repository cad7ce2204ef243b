"""Shutdown loses nothing: the CALL being handled is stored and answered before the 1001 close."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from opencsms.errors import ProtocolUsageError
from opencsms.handlers.router import CallContext
from opencsms.ocpp.version import OcppVersion
from tests.wire import raw_station, settings_for


async def test_in_flight_call_is_answered_before_close_1001(tmp_path: Path) -> None:
    csms = Csms(settings_for(tmp_path))
    await csms.__aenter__()
    try:
        await csms.stations.create(StationSpec(id="CS1"))
        gate, entered = asyncio.Event(), asyncio.Event()
        original = csms.router._tables[OcppVersion.V16]["StatusNotification"]

        async def held(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
            entered.set()
            await gate.wait()
            return await original(ctx, payload)

        csms.router._tables[OcppVersion.V16]["StatusNotification"] = held
        async with raw_station(csms, "CS1") as station:
            await station.send_raw(
                '[2, "s1", "StatusNotification", '
                '{"connectorId": 1, "errorCode": "NoError", "status": "Available"}]'
            )
            await entered.wait()
            connection = csms.registry.get("CS1")
            assert connection is not None
            draining = asyncio.Event()
            drain = connection.drain_and_close

            async def observed_drain(code: int = 1001, reason: str = "") -> None:
                draining.set()
                # runs up to its wait for the CALL in hand before the test goes on
                await drain(code, reason)

            connection.drain_and_close = observed_drain  # type: ignore[method-assign]
            shutdown = asyncio.create_task(csms.__aexit__(None, None, None))
            await draining.wait()
            gate.set()
            assert await station.recv() == [3, "s1", {}]
            with pytest.raises(ConnectionClosed) as closed:
                await station.ws.recv()
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1001
            await shutdown
    finally:
        with contextlib.suppress(Exception):
            await csms.__aexit__(None, None, None)
    # what was acknowledged is in the database
    async with Csms(settings_for(tmp_path)) as again:
        [status] = await again.storage.status.for_station("CS1")
        assert status.status == "Available"


async def test_handler_awaiting_its_own_station_gets_a_clear_error(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CS1"))
    seen: list[BaseException] = []

    async def calls_back(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            await csms.call_station(ctx.station_id, "ClearCache", {})
        except ProtocolUsageError as exc:
            seen.append(exc)
            raise
        return {}

    csms.router._tables[OcppVersion.V16]["Heartbeat"] = calls_back
    async with raw_station(csms, "CS1") as station:
        frame = await station.call("Heartbeat", {})
    assert frame[2] == "InternalError"
    assert len(seen) == 1
