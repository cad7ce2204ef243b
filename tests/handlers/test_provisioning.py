"""Boot, registration gate, heartbeat, status and events over the wire, on 1.6 and 2.0.1."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from opencsms.app import Csms
from opencsms.domain.model import RegistrationStatus
from opencsms.domain.stations import StationSpec
from tests.wire import RawStation, api_client, raw_station

BOOT = {
    "ocpp1.6": {
        "chargePointVendor": "ACME",
        "chargePointModel": "Wallbox 1",
        "chargePointSerialNumber": "SN-16",
        "firmwareVersion": "1.2.3",
        "iccid": "8931",
        "imsi": "2040",
        "meterType": "EM",
        "meterSerialNumber": "M-1",
    },
    "ocpp2.0.1": {
        "reason": "PowerUp",
        "chargingStation": {
            "vendorName": "ACME",
            "model": "Wallbox 2",
            "serialNumber": "SN-201",
            "firmwareVersion": "2.0.0",
            "modem": {"iccid": "8931", "imsi": "2040"},
        },
    },
}
BOOT["ocpp2.1"] = BOOT["ocpp2.0.1"]


def status_payload(subprotocol: str, evse: int = 1, status: str = "Available") -> dict[str, Any]:
    if subprotocol == "ocpp1.6":
        return {"connectorId": evse, "errorCode": "NoError", "status": status}
    return {
        "timestamp": "2026-11-25T10:00:00Z",
        "connectorStatus": status,
        "evseId": evse,
        "connectorId": 1,
    }


VERSIONS = ["ocpp1.6", "ocpp2.0.1", "ocpp2.1"]


@pytest.mark.parametrize("subprotocol", VERSIONS)
async def test_accepted_boot_is_stored_and_visible(csms: Csms, subprotocol: str) -> None:
    await csms.stations.create(StationSpec(id="CS1", heartbeat_interval=120))
    async with raw_station(csms, "CS1", subprotocol) as station:
        reply = await station.result("BootNotification", BOOT[subprotocol])
        assert reply["status"] == "Accepted"
        assert reply["interval"] == 120
        assert reply["currentTime"].endswith("Z")
        await station.result("StatusNotification", status_payload(subprotocol, 1, "Available"))
        busy = "Charging" if subprotocol == "ocpp1.6" else "Occupied"
        await station.result("StatusNotification", status_payload(subprotocol, 2, busy))
        async with api_client(csms) as api:
            body = (await api.get("/api/v1/stations/CS1")).json()
    assert body["connected"] is True
    assert body["ocpp_version"] == subprotocol.removeprefix("ocpp")
    assert body["boot"]["vendor"] == "ACME"
    assert body["boot"]["iccid"] == "8931"
    assert body["last_seen"] is not None
    statuses = {
        (e["evse_id"], c["connector_id"]): c["status"]
        for e in body["evses"]
        for c in e["connectors"]
    }
    assert statuses == {(1, 1): "Available", (2, 1): busy}


@pytest.mark.parametrize("subprotocol", VERSIONS)
@pytest.mark.parametrize("registration", [RegistrationStatus.PENDING, RegistrationStatus.REJECTED])
async def test_not_accepted_station_gets_security_error(
    csms: Csms, subprotocol: str, registration: RegistrationStatus
) -> None:
    """B02.FR.09 / B03.FR.07 (TC_B_30_CSMS): only BootNotification while Pending/Rejected."""
    await csms.stations.create(StationSpec(id="CS1", registration=registration))
    async with raw_station(csms, "CS1", subprotocol) as station:
        reply = await station.result("BootNotification", BOOT[subprotocol])
        assert reply["status"] == registration.value
        assert reply["interval"] == csms.settings.boot_retry_interval
        frame = await station.call("StatusNotification", status_payload(subprotocol))
        assert frame[0] == 4
        assert frame[2] == "SecurityError"
        frame = await station.call("Heartbeat", {})
        assert frame[0] == 4
        assert frame[2] == "SecurityError"
    assert await csms.storage.status.for_station("CS1") == []


async def _answer_next_call(station: RawStation, payload: dict[str, Any]) -> list[Any]:
    frame = await station.recv()
    assert frame[0] == 2
    await station.ws.send(__import__("orjson").dumps([3, frame[1], payload]).decode())
    return frame


@pytest.mark.parametrize("subprotocol", ["ocpp1.6", "ocpp2.0.1"])
async def test_pending_station_may_send_what_the_csms_triggered(
    csms: Csms, subprotocol: str
) -> None:
    """B02.FR.09, 1.6 §4.2: a Pending station may send what TriggerMessage asked for."""
    await csms.stations.create(StationSpec(id="CS1", registration=RegistrationStatus.PENDING))
    async with raw_station(csms, "CS1", subprotocol) as station:
        await station.result("BootNotification", BOOT[subprotocol])
        trigger = (
            {"requestedMessage": "StatusNotification", "connectorId": 1}
            if subprotocol == "ocpp1.6"
            else {"requestedMessage": "StatusNotification", "evse": {"id": 1, "connectorId": 1}}
        )
        call = asyncio.create_task(csms.call_station("CS1", "TriggerMessage", trigger))
        frame = await _answer_next_call(station, {"status": "Accepted"})
        assert frame[2] == "TriggerMessage"
        assert await call == {"status": "Accepted"}
        assert (await station.call("StatusNotification", status_payload(subprotocol)))[0] == 3
        assert (await station.call("Heartbeat", {}))[2] == "SecurityError"


async def test_pending_station_may_send_the_report_the_csms_asked_for(csms: Csms) -> None:
    """B02.FR.09: a request answered by later CALLs (here GetMonitoringReport → N02
    NotifyMonitoringReport) lets a Pending station send those, and nothing else."""
    await csms.stations.create(StationSpec(id="CS1", registration=RegistrationStatus.PENDING))
    async with raw_station(csms, "CS1", "ocpp2.0.1") as station:
        await station.result("BootNotification", BOOT["ocpp2.0.1"])
        report = {"requestId": 7, "seqNo": 0, "generatedAt": "2026-11-25T10:00:00Z", "tbc": False}
        assert (await station.call("NotifyMonitoringReport", report))[2] == "SecurityError"
        call = asyncio.create_task(
            csms.call_station("CS1", "GetMonitoringReport", {"requestId": 7})
        )
        frame = await _answer_next_call(station, {"status": "Accepted"})
        assert frame[2] == "GetMonitoringReport"
        assert await call == {"status": "Accepted"}
        assert (await station.call("NotifyMonitoringReport", report))[0] == 3
        assert (await station.call("NotifyDisplayMessages", {"requestId": 7}))[2] == (
            "SecurityError"
        )


async def test_registration_persists_across_connections_without_new_boot(csms: Csms) -> None:
    """ARCHITECTURE rule 6: a station provisioned as Accepted is treated as booted."""
    await csms.stations.create(StationSpec(id="CS1"))
    async with raw_station(csms, "CS1") as station:
        assert (await station.call("StatusNotification", status_payload("ocpp1.6")))[0] == 3


@pytest.mark.parametrize("subprotocol", ["ocpp1.6", "ocpp2.0.1"])
async def test_operator_acceptance_triggers_a_new_boot(csms: Csms, subprotocol: str) -> None:
    """TC_B_31_CSMS: the CSMS asks a Pending station for a BootNotification, then accepts it."""
    await csms.stations.create(StationSpec(id="CS1", registration=RegistrationStatus.PENDING))
    async with raw_station(csms, "CS1", subprotocol) as station:
        reply = await station.result("BootNotification", BOOT[subprotocol])
        assert reply["status"] == "Pending"
        async with api_client(csms) as api:
            response = await api.patch("/api/v1/stations/CS1", json={"registration": "Accepted"})
            assert response.status_code == 200
        trigger = await _answer_next_call(station, {"status": "Accepted"})
        assert trigger[2] == "TriggerMessage"
        assert trigger[3] == {"requestedMessage": "BootNotification"}
        reply = await station.result("BootNotification", BOOT[subprotocol])
        assert reply["status"] == "Accepted"
        assert (await station.call("Heartbeat", {}))[0] == 3


async def test_operator_rejection_restricts_a_live_station_at_once(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CS1"))
    async with raw_station(csms, "CS1") as station:
        assert (await station.call("Heartbeat", {}))[0] == 3
        async with api_client(csms) as api:
            await api.patch("/api/v1/stations/CS1", json={"registration": "Rejected"})
        assert (await station.call("Heartbeat", {}))[2] == "SecurityError"
        reply = await station.result("BootNotification", BOOT["ocpp1.6"])
        assert reply["status"] == "Rejected"


@pytest.mark.parametrize("subprotocol", VERSIONS)
async def test_heartbeat_returns_utc_time(csms: Csms, subprotocol: str) -> None:
    await csms.stations.create(StationSpec(id="CS1"))
    async with raw_station(csms, "CS1", subprotocol) as station:
        reply = await station.result("Heartbeat", {})
    assert reply["currentTime"].endswith("Z")


@pytest.mark.parametrize("subprotocol", VERSIONS)
async def test_data_transfer_with_unknown_vendor(csms: Csms, subprotocol: str) -> None:
    await csms.stations.create(StationSpec(id="CS1"))
    async with raw_station(csms, "CS1", subprotocol) as station:
        reply = await station.result("DataTransfer", {"vendorId": "com.example", "data": "x"})
    assert reply == {"status": "UnknownVendorId"}


async def test_notify_event_is_stored_once(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CS1"))
    event = {
        "generatedAt": "2026-11-25T10:00:00Z",
        "seqNo": 0,
        "eventData": [
            {
                "eventId": 7,
                "timestamp": "2026-11-25T10:00:00Z",
                "trigger": "Delta",
                "actualValue": "Faulted",
                "eventNotificationType": "HardWiredNotification",
                "component": {"name": "Connector", "evse": {"id": 1, "connectorId": 1}},
                "variable": {"name": "AvailabilityState"},
                "techCode": "E42",
            }
        ],
    }
    async with raw_station(csms, "CS1", "ocpp2.0.1") as station:
        assert await station.result("NotifyEvent", event) == {}
        assert await station.result("NotifyEvent", event) == {}  # a resend stores nothing new
    stored = await csms.storage.events.for_station("CS1", 10)
    assert len(stored) == 1
    assert stored[0].actual_value == "Faulted"
    assert stored[0].tech_code == "E42"


async def test_status_timestamps_are_kept_apart_from_receipt_time(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CS1"))
    async with raw_station(csms, "CS1", "ocpp2.0.1") as station:
        await station.result("StatusNotification", status_payload("ocpp2.0.1"))
    [status] = await csms.storage.status.for_station("CS1")
    assert status.reported_at is not None
    assert status.reported_at.isoformat().startswith("2026-11-25T10:00")
    assert status.received_at != status.reported_at
