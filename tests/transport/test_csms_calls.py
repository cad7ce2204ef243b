"""CSMS-to-station calls over a real socket: one at a time, queued, timed out, failed on close."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from opencsms.domain.stations import StationSpec
from opencsms.errors import (
    CallErrorResponse,
    CallTimeoutError,
    ConnectionClosedError,
    InvalidResponseError,
    PayloadValidationError,
)
from tests.wire import raw_station, running_csms, settings_for

TRIGGER = {"requestedMessage": "Heartbeat"}


async def test_one_outstanding_call_and_the_rest_queue(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path)) as csms:
        await csms.stations.create(StationSpec(id="CS1"))
        async with raw_station(csms, "CS1") as station:
            first = asyncio.create_task(csms.call_station("CS1", "TriggerMessage", TRIGGER))
            second = asyncio.create_task(csms.call_station("CS1", "ClearCache", {}))
            call_1 = await station.recv()
            assert call_1[2] == "TriggerMessage"
            with pytest.raises(TimeoutError):  # the second CALL must wait for the first answer
                await station.recv(wait=0.3)
            await station.send_raw(orjson.dumps([3, call_1[1], {"status": "Accepted"}]).decode())
            call_2 = await station.recv()
            assert call_2[2] == "ClearCache"
            await station.send_raw(orjson.dumps([3, call_2[1], {"status": "Rejected"}]).decode())
            assert await first == {"status": "Accepted"}
            assert await second == {"status": "Rejected"}


async def test_unanswered_call_times_out_and_late_answer_is_not_matched(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path, call_timeout=0.3)) as csms:
        await csms.stations.create(StationSpec(id="CS1"))
        async with raw_station(csms, "CS1") as station:
            first = asyncio.create_task(csms.call_station("CS1", "TriggerMessage", TRIGGER))
            second = asyncio.create_task(csms.call_station("CS1", "ClearCache", {}))
            call_1 = await station.recv()
            with pytest.raises(CallTimeoutError):
                await first
            call_2 = await station.recv()  # released by the timeout, with a fresh deadline
            assert call_2[2] == "ClearCache"
            # the late answer to the first call must not complete the second
            await station.send_raw(orjson.dumps([3, call_1[1], {"status": "Accepted"}]).decode())
            await station.send_raw(orjson.dumps([3, call_2[1], {"status": "Accepted"}]).decode())
            assert await second == {"status": "Accepted"}
            connection = csms.registry.get("CS1")
            assert connection is not None
            assert connection.session.late_results == 1


async def test_closing_fails_outstanding_and_queued_calls_at_once(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path, call_timeout=30)) as csms:
        await csms.stations.create(StationSpec(id="CS1"))
        async with raw_station(csms, "CS1") as station:
            first = asyncio.create_task(csms.call_station("CS1", "TriggerMessage", TRIGGER))
            second = asyncio.create_task(csms.call_station("CS1", "ClearCache", {}))
            await station.recv()
        async with asyncio.timeout(3):  # far less than the 30 s call timeout
            with pytest.raises(ConnectionClosedError):
                await first
            with pytest.raises(ConnectionClosedError):
                await second
        with pytest.raises(ConnectionClosedError):
            await csms.call_station("CS1", "ClearCache", {})


async def test_call_error_and_invalid_result_reach_the_caller(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path)) as csms:
        await csms.stations.create(StationSpec(id="CS1"))
        async with raw_station(csms, "CS1") as station:
            call = asyncio.create_task(csms.call_station("CS1", "ClearCache", {}))
            frame = await station.recv()
            await station.send_raw(
                orjson.dumps([4, frame[1], "NotSupported", "no cache here", {}]).decode()
            )
            with pytest.raises(CallErrorResponse) as error:
                await call
            assert error.value.error_code == "NotSupported"

            call = asyncio.create_task(csms.call_station("CS1", "ClearCache", {}))
            frame = await station.recv()
            await station.send_raw(orjson.dumps([3, frame[1], {"status": "Maybe"}]).decode())
            with pytest.raises(InvalidResponseError):
                await call


async def test_invalid_outgoing_payload_is_refused_before_sending(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path)) as csms:
        await csms.stations.create(StationSpec(id="CS1"))
        async with raw_station(csms, "CS1") as station:
            with pytest.raises(PayloadValidationError):
                await csms.call_station("CS1", "TriggerMessage", {"requestedMessage": "Coffee"})
            with pytest.raises(TimeoutError):
                await station.recv(wait=0.3)  # nothing was sent
