"""A charge point written with the ``ocpp`` PyPI library (not ours) boots and reports status on 1.6
and
2.0.1; what it reported is read back through the operator API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from tests.wire import api_client, basic_auth

PASSWORD = "library-client-pass-01"


async def test_library_charge_point_on_ocpp16(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="LIB-16", password=PASSWORD))
    async with connect(
        f"ws://127.0.0.1:{csms.ports.ocpp}/ocpp/LIB-16",
        subprotocols=[Subprotocol("ocpp1.6")],
        additional_headers=basic_auth("LIB-16", PASSWORD),
    ) as ws:
        cp = ChargePoint16("LIB-16", ws)
        runner = asyncio.create_task(cp.start())
        try:
            boot = await cp.call(
                call16.BootNotification(
                    charge_point_model="LibModel",
                    charge_point_vendor="LibVendor",
                    firmware_version="9.9",
                )
            )
            assert boot.status == "Accepted"
            heartbeat = await cp.call(call16.Heartbeat())
            assert heartbeat.current_time.endswith("Z")
            await cp.call(
                call16.StatusNotification(connector_id=1, error_code="NoError", status="Charging")
            )
            await cp.call(
                call16.StatusNotification(
                    connector_id=2, error_code="GroundFailure", status="Faulted", info="RCD trip"
                )
            )
            async with api_client(csms) as api:
                body = (await api.get("/api/v1/stations/LIB-16")).json()
        finally:
            runner.cancel()
    assert body["connected"] is True
    assert body["ocpp_version"] == "1.6"
    assert body["boot"]["vendor"] == "LibVendor"
    assert body["boot"]["firmware_version"] == "9.9"
    connectors = {e["evse_id"]: e["connectors"][0] for e in body["evses"]}
    assert connectors[1]["status"] == "Charging"
    assert connectors[2]["status"] == "Faulted"
    assert connectors[2]["error_code"] == "GroundFailure"
    assert connectors[2]["info"] == "RCD trip"


async def test_library_charge_point_on_ocpp201(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="LIB-201"))
    async with connect(
        f"ws://127.0.0.1:{csms.ports.ocpp}/ocpp/LIB-201",
        subprotocols=[Subprotocol("ocpp2.0.1")],
    ) as ws:
        cp = ChargePoint201("LIB-201", ws)
        runner = asyncio.create_task(cp.start())
        try:
            boot = await cp.call(
                call201.BootNotification(
                    charging_station={"model": "LibModel2", "vendor_name": "LibVendor2"},
                    reason="PowerUp",
                )
            )
            assert boot.status == "Accepted"
            assert boot.interval > 0
            await cp.call(
                call201.StatusNotification(
                    timestamp=datetime.now(UTC).isoformat(),
                    connector_status="Occupied",
                    evse_id=1,
                    connector_id=1,
                )
            )
            async with api_client(csms) as api:
                body = (await api.get("/api/v1/stations/LIB-201")).json()
        finally:
            runner.cancel()
    assert body["ocpp_version"] == "2.0.1"
    assert body["boot"]["model"] == "LibModel2"
    assert body["boot"]["reason"] == "PowerUp"
    assert body["evses"] == [
        {
            "evse_id": 1,
            "connectors": [
                {
                    "connector_id": 1,
                    "status": "Occupied",
                    "error_code": None,
                    "info": None,
                    "vendor_id": None,
                    "vendor_error_code": None,
                    "reported_at": body["evses"][0]["connectors"][0]["reported_at"],
                    "received_at": body["evses"][0]["connectors"][0]["received_at"],
                }
            ],
        }
    ]
