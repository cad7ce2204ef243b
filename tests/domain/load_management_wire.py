"""A raw station that sends its own CALLs while answering the CSMS's (the load manager sends
SetChargingProfile in the middle of a session), for the load-management wire tests."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from opencsms.app import Csms
from opencsms.config import Settings
from opencsms.domain.stations import StationSpec
from tests.wire import RawStation, raw_station, settings_for

Answer = Callable[[dict[str, Any]], dict[str, Any] | None]
"""A CALL's payload → the CALLRESULT payload, or None to never answer (a silent station)."""


def lm_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """A CSMS whose load manager reacts within 50 ms (no safety round during a test)."""
    values: dict[str, Any] = {
        "load_management_debounce": 0.05,
        "load_management_interval": 3600.0,
        "unknown_tokens": "accept",
    }
    return settings_for(tmp_path, **(values | overrides))


@dataclass
class DuplexStation:
    """Reads every frame in a task: CALLRESULTs go to the waiting :meth:`call`, CALLs from
    the CSMS are recorded and answered with ``answers[action]`` (default Accepted)."""

    raw: RawStation
    answers: dict[str, Answer] = field(default_factory=dict)
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _waiting: dict[str, asyncio.Future[list[Any]]] = field(default_factory=dict)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def run(self) -> None:
        while True:
            text = await self.raw.ws.recv()
            frame = orjson.loads(text)
            if frame[0] == 2:
                _, message_id, action, payload = frame
                answer = self.answers.get(action, lambda _p: {"status": "Accepted"})(payload)
                async with self._changed:
                    self.received.append((action, payload))
                    self._changed.notify_all()
                if answer is not None:
                    await self.raw.send_raw(orjson.dumps([3, message_id, answer]).decode())
            else:
                future = self._waiting.pop(frame[1], None)
                if future is not None:
                    future.set_result(frame)

    async def call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        message_id = f"s{next(self._ids)}"
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._waiting[message_id] = future
        await self.raw.send_raw(orjson.dumps([2, message_id, action, payload]).decode())
        async with asyncio.timeout(5):
            frame = await future
        assert frame[0] == 3, frame
        result: dict[str, Any] = frame[2]
        return result

    def profiles(self, purpose: str | None = None) -> list[dict[str, Any]]:
        """Every SetChargingProfile received (oldest first), of ``purpose`` if given."""
        out = []
        for action, payload in self.received:
            if action != "SetChargingProfile":
                continue
            raw = payload.get("csChargingProfiles") or payload["chargingProfile"]
            if purpose is None or raw["chargingProfilePurpose"] == purpose:
                out.append(payload)
        return out

    async def wait_until(self, condition: Callable[[], bool], wait: float = 5.0) -> None:
        """Wait until ``condition()`` holds after a CALL from the CSMS."""
        async with asyncio.timeout(wait), self._changed:
            await self._changed.wait_for(condition)

    async def wait_profiles(self, count: int, purpose: str | None = None) -> list[dict[str, Any]]:
        """Wait until at least ``count`` profiles (of ``purpose``) arrived; return them all."""
        async with asyncio.timeout(5), self._changed:
            await self._changed.wait_for(lambda: len(self.profiles(purpose)) >= count)
        return self.profiles(purpose)


def limit_of(payload: dict[str, Any]) -> float:
    """The (single) limit of a SetChargingProfile of either version."""
    raw = payload.get("csChargingProfiles") or payload["chargingProfile"]
    schedule = raw["chargingSchedule"]
    if isinstance(schedule, list):
        schedule = schedule[0]
    limit: float = schedule["chargingSchedulePeriod"][0]["limit"]
    return limit


@contextlib.asynccontextmanager
async def duplex(
    csms: Csms, station_id: str, subprotocol: str, answers: dict[str, Answer] | None = None
) -> AsyncIterator[DuplexStation]:
    """A provisioned, connected and booted station reading in the background."""
    if await csms.storage.stations.get(station_id) is None:
        await csms.stations.create(StationSpec(id=station_id))
    async with raw_station(csms, station_id, subprotocol) as raw:
        station = DuplexStation(raw, dict(answers or {}))
        task = asyncio.get_running_loop().create_task(station.run())
        try:
            boot: dict[str, Any] = (
                {"chargePointVendor": "ACME", "chargePointModel": "W1"}
                if subprotocol == "ocpp1.6"
                else {"reason": "PowerUp", "chargingStation": {"vendorName": "ACME", "model": "W2"}}
            )
            assert (await station.call("BootNotification", boot))["status"] == "Accepted"
            yield station
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
