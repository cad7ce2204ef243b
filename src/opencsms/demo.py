"""A small demo fleet for ``opencsms serve --demo``: stations that connect, boot, report status and
beat.

It runs on the same protocol core as the CSMS (the station side of :class:`RpcSession`). It is only
a showcase for a newcomer's first ``make run``; the full simulator with charging sessions lives in
``opencsms.simulator``.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from opencsms.clock import utc_iso
from opencsms.domain.model import RegistrationStatus
from opencsms.domain.stations import StationSpec
from opencsms.ocpp.session import CallCompleted, CallFailed, IncomingCall, Role, RpcSession
from opencsms.ocpp.version import OcppVersion

if TYPE_CHECKING:
    from opencsms.app import Csms

log = logging.getLogger("opencsms.demo")

DEMO_STATIONS: tuple[tuple[str, OcppVersion, int], ...] = (
    ("DEMO-16-001", OcppVersion.V16, 2),
    ("DEMO-16-002", OcppVersion.V16, 1),
    ("DEMO-201-001", OcppVersion.V201, 2),
    ("DEMO-201-002", OcppVersion.V201, 1),
    ("DEMO-21-001", OcppVersion.V21, 1),
)


async def run_demo_fleet(csms: Csms) -> None:
    """Provision the demo stations and keep them connected until cancelled."""
    for station_id, _version, _evses in DEMO_STATIONS:
        await csms.stations.seed(
            StationSpec(id=station_id, registration=RegistrationStatus.ACCEPTED)
        )
    url = f"ws://127.0.0.1:{csms.ports.ocpp}/ocpp"
    async with asyncio.TaskGroup() as tasks:
        for station_id, version, evses in DEMO_STATIONS:
            tasks.create_task(DemoStation(url, station_id, version, evses).run())


class DemoStation:
    """One demo station: boot, one StatusNotification per connector, then heartbeats."""

    def __init__(self, url: str, station_id: str, version: OcppVersion, evses: int) -> None:
        self.url = f"{url}/{station_id}"
        self.station_id = station_id
        self.version = version
        self.evses = evses
        self.session = RpcSession(version, role=Role.STATION)
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}

    async def run(self) -> None:
        while True:
            try:
                async with connect(
                    self.url, subprotocols=[Subprotocol(self.version.subprotocol)]
                ) as ws:
                    self.session = RpcSession(self.version, role=Role.STATION)
                    async with asyncio.TaskGroup() as tasks:
                        reader = tasks.create_task(self._read(ws))
                        await self._behave(ws)
                        reader.cancel()
            except (OSError, ConnectionClosed) as exc:
                log.info("demo station %s: connection lost (%s); retrying", self.station_id, exc)
            await asyncio.sleep(5)

    async def _behave(self, ws: ClientConnection) -> None:
        boot = await self._call(ws, "BootNotification", self._boot_payload())
        interval = int(boot.get("interval", 60)) or 60
        for evse in range(1, self.evses + 1):
            await self._call(ws, "StatusNotification", self._status_payload(evse))
        while True:
            await asyncio.sleep(min(interval, 30))
            await self._call(ws, "Heartbeat", {})

    async def _call(
        self, ws: ClientConnection, action: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        pending = self.session.call(action, payload, asyncio.get_running_loop().time())
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[pending.message_id] = future
        for frame in self.session.data_to_send():
            await ws.send(frame)
        return await future

    async def _read(self, ws: ClientConnection) -> None:
        async for message in ws:
            for event in self.session.receive(message, asyncio.get_running_loop().time()):
                if isinstance(event, CallCompleted):
                    self._settle(event.pending.message_id, event.payload, None)
                elif isinstance(event, CallFailed):
                    self._settle(event.pending.message_id, None, event.error)
                elif isinstance(event, IncomingCall):
                    self.session.answer_error(event.call, NotImplementedError(event.call.action))
            for frame in self.session.data_to_send():
                await ws.send(frame)

    def _settle(
        self, message_id: str, payload: dict[str, Any] | None, error: BaseException | None
    ) -> None:
        future = self._replies.pop(message_id, None)
        if future is None or future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(payload or {})

    def _boot_payload(self) -> dict[str, Any]:
        if self.version is OcppVersion.V16:
            return {"chargePointVendor": "OpenCSMS", "chargePointModel": "Demo AC 22"}
        return {
            "reason": "PowerUp",
            "chargingStation": {"vendorName": "OpenCSMS", "model": "Demo AC 22"},
        }

    def _status_payload(self, evse: int) -> dict[str, Any]:
        now = utc_iso(datetime.now(UTC))
        if self.version is OcppVersion.V16:
            return {
                "connectorId": evse,
                "errorCode": "NoError",
                "status": "Available",
                "timestamp": now,
            }
        return {"timestamp": now, "connectorStatus": "Available", "evseId": evse, "connectorId": 1}
