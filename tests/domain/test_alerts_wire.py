"""Alerts over the real wire: each type raised by what stations do and resolved when the
condition clears (or by an operator), deduplicated with a count, and kept across a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from opencsms.app import Csms
from opencsms.domain.alert_model import Alert, AlertChange, AlertType
from opencsms.domain.fleet_events import AlertChanged, Subscription
from opencsms.domain.model import RegistrationStatus
from opencsms.domain.stations import StationSpec
from tests.handlers.builders import add_token, booted, meter_16, start_16, stop_16
from tests.handlers.station_calls import responding
from tests.wire import (
    api_client,
    client_frame,
    raw_station,
    raw_websocket,
    running_csms,
    settings_for,
)

FAST = {
    "alert_check_interval": 0.05,
    "offline_after_seconds": 0.6,
    "reconnect_alert_count": 3,
    "reconnect_alert_window": 1.0,
    "stuck_transaction_after": 0.4,
}


@pytest.fixture
async def csms(tmp_path: Path) -> AsyncIterator[Csms]:
    async with running_csms(settings_for(tmp_path, **FAST)) as node:
        yield node


async def change(
    events: Subscription,
    alert_type: AlertType,
    kind: AlertChange,
    station_id: str,
    wait: float = 10.0,
) -> Alert:
    """The next change of this kind to an alert of this type and station."""
    async with asyncio.timeout(wait):
        while True:
            event = await events.get()
            assert isinstance(event, AlertChanged)
            alert = event.alert
            if (alert.type, event.change, alert.station_id) == (alert_type, kind, station_id):
                return alert


def alert_events(csms: Csms) -> Any:
    return csms.events.subscription(lambda e: isinstance(e, AlertChanged))


async def test_offline_on_disconnect_resolved_on_reconnect(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="OFF1"))
    with alert_events(csms) as events:
        async with raw_station(csms, "OFF1") as cp:
            await booted(cp, "ocpp1.6")
        raised = await change(events, AlertType.STATION_OFFLINE, AlertChange.RAISED, "OFF1")
        assert raised.details["reason"] == "disconnected"
        assert raised.open
        assert raised.count == 1
        async with raw_station(csms, "OFF1") as cp:
            cleared = await change(events, AlertType.STATION_OFFLINE, AlertChange.RESOLVED, "OFF1")
    assert cleared.id == raised.id
    # The connection event and the periodic liveness check race to see the new connection first;
    # either resolves the alert, once.
    assert cleared.resolution in {"station connected", "station heard from again"}
    stored = await csms.storage.alerts.get(raised.id)
    assert stored is not None
    assert not stored.open


class SilentStation:
    """A station that completed the handshake and then neither sends nor answers pings (a
    half-open TCP connection, a hung modem): only the CSMS's liveness check can notice."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, csms: Csms, station_id: str) -> SilentStation:
        reader, writer = await raw_websocket(csms, station_id)
        return cls(reader, writer)

    def send_text(self, text: str) -> None:
        """One masked text frame (RFC 6455 §5.2), as a client must send."""
        self.writer.write(client_frame(text.encode()))

    def close(self) -> None:
        self.writer.close()


async def test_a_connected_station_that_goes_silent_is_offline_until_heard_again(
    csms: Csms,
) -> None:
    await csms.stations.create(StationSpec(id="QUIET"))  # answers pings, sends nothing
    await csms.stations.create(StationSpec(id="HUNG"))  # answers nothing
    with alert_events(csms) as events:
        async with raw_station(csms, "QUIET"):
            silent = await SilentStation.connect(csms, "HUNG")
            try:
                raised = await change(events, AlertType.STATION_OFFLINE, AlertChange.RAISED, "HUNG")
                assert raised.details["reason"] == "unresponsive"
                # just as long without a frame, but it answered the CSMS's pings
                open_keys = {a.dedup_key for a in csms.alerts.open_alerts()}
                assert "station_offline|QUIET|" not in open_keys
                quiet = csms.registry.get("QUIET")
                assert quiet is not None
                assert quiet.state.last_pong_at is not None
                silent.send_text(orjson.dumps([2, "h1", "Heartbeat", {}]).decode())
                cleared = await change(
                    events, AlertType.STATION_OFFLINE, AlertChange.RESOLVED, "HUNG"
                )
                assert cleared.resolution == "station heard from again"
            finally:
                silent.close()


async def test_faulted_connector_deduplicated_with_its_error_code_and_resolved(
    csms: Csms,
) -> None:
    await csms.stations.create(StationSpec(id="F1"))
    with alert_events(csms) as events:
        async with raw_station(csms, "F1") as cp:
            await booted(cp, "ocpp1.6")
            fault = {"connectorId": 2, "errorCode": "GroundFailure", "status": "Faulted"}
            await cp.result("StatusNotification", fault)
            raised = await change(events, AlertType.CONNECTOR_FAULTED, AlertChange.RAISED, "F1")
            assert raised.key == "evse:2/connector:1"
            assert raised.details["error_code"] == "GroundFailure"
            await cp.result("StatusNotification", {**fault, "errorCode": "HighTemperature"})
            again = await change(events, AlertType.CONNECTOR_FAULTED, AlertChange.REPEATED, "F1")
            assert (again.id, again.count) == (raised.id, 2)
            assert again.details["error_code"] == "HighTemperature"
            # another connector's status does not touch it
            await cp.result(
                "StatusNotification",
                {"connectorId": 1, "errorCode": "NoError", "status": "Available"},
            )
            await cp.result(
                "StatusNotification",
                {"connectorId": 2, "errorCode": "NoError", "status": "Available"},
            )
            cleared = await change(events, AlertType.CONNECTOR_FAULTED, AlertChange.RESOLVED, "F1")
    assert (cleared.id, cleared.count) == (raised.id, 2)
    assert cleared.resolution == "connector reported Available"


async def test_boot_rejected_until_the_next_accepted_boot(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="B1", registration=RegistrationStatus.REJECTED))
    boot = {"chargePointVendor": "V", "chargePointModel": "M"}
    with alert_events(csms) as events:
        async with raw_station(csms, "B1") as cp:
            assert (await cp.result("BootNotification", boot))["status"] == "Rejected"
            raised = await change(events, AlertType.BOOT_REJECTED, AlertChange.RAISED, "B1")
        async with api_client(csms) as api:
            patched = await api.patch("/api/v1/stations/B1", json={"registration": "Accepted"})
            assert patched.status_code == 200, patched.text
        async with raw_station(csms, "B1") as cp:
            assert (await cp.result("BootNotification", boot))["status"] == "Accepted"
            cleared = await change(events, AlertType.BOOT_REJECTED, AlertChange.RESOLVED, "B1")
    assert cleared.id == raised.id


async def test_repeated_reconnects_raised_then_resolved_after_a_quiet_window(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="FLAP"))
    with alert_events(csms) as events:
        for _ in range(3):
            async with raw_station(csms, "FLAP"):
                pass
        raised = await change(events, AlertType.REPEATED_RECONNECTS, AlertChange.RAISED, "FLAP")
        assert raised.details["connections"] == 3
        cleared = await change(events, AlertType.REPEATED_RECONNECTS, AlertChange.RESOLVED, "FLAP")
    assert cleared.resolution == "no reconnect for a whole window"


async def test_failed_firmware_job_resolved_by_a_later_successful_one(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="J1"))
    with alert_events(csms) as events:
        async with raw_station(csms, "J1", "ocpp2.0.1") as cs:
            await booted(cs, "ocpp2.0.1")
            body = {"location": "https://fw.example.com/x-1.bin"}
            async with (
                responding(cs, {"UpdateFirmware": {"status": "Rejected"}}),
                api_client(csms) as api,
            ):
                refused = await api.post("/api/v1/stations/J1/jobs/firmware", json=body)
            assert refused.json()["state"] == "Rejected"
            raised = await change(events, AlertType.JOB_FAILED, AlertChange.RAISED, "J1")
            assert raised.key == "job:firmware"
            assert raised.details["state"] == "Rejected"
            async with (
                responding(cs, {"UpdateFirmware": {"status": "Accepted"}}),
                api_client(csms) as api,
            ):
                accepted = await api.post("/api/v1/stations/J1/jobs/firmware", json=body)
            job_id = accepted.json()["id"]
            status = {"status": "Installed", "requestId": job_id}
            assert await cs.result("FirmwareStatusNotification", status) == {}
            cleared = await change(events, AlertType.JOB_FAILED, AlertChange.RESOLVED, "J1")
    assert cleared.id == raised.id
    assert cleared.resolution == f"job {job_id} succeeded"


async def test_critical_security_event_is_resolved_by_an_operator(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="S1"))
    with alert_events(csms) as events:
        async with raw_station(csms, "S1", "ocpp2.0.1") as cs:
            await booted(cs, "ocpp2.0.1")
            # not critical (2.0.1 part 2 appendix 1): stored, no alert
            await cs.result(
                "SecurityEventNotification",
                {"type": "InvalidMessages", "timestamp": "2026-01-01T10:00:00Z"},
            )
            tamper = {
                "type": "TamperDetectionActivated",
                "timestamp": "2026-01-01T10:01:00Z",
                "techInfo": "cover opened",
            }
            await cs.result("SecurityEventNotification", tamper)
            raised = await change(events, AlertType.SECURITY_EVENT, AlertChange.RAISED, "S1")
            assert raised.key == "security:TamperDetectionActivated"
            assert raised.details["tech_info"] == "cover opened"
            assert raised.severity.value == "critical"
        async with api_client(csms) as api:
            acked = await api.post(f"/api/v1/alerts/{raised.id}/acknowledge", json={"by": "ann"})
            assert acked.json()["status"] == "open"
            assert acked.json()["acknowledged_by"] == "ann"
            done = await api.post(
                f"/api/v1/alerts/{raised.id}/resolve", json={"by": "ann", "note": "inspected"}
            )
            missing = await api.post("/api/v1/alerts/999999/resolve")
    assert done.status_code == 200
    assert done.json()["status"] == "resolved"
    assert done.json()["resolution"] == "manual: ann: inspected"
    assert missing.status_code == 404
    assert [a.type for a in csms.alerts.open_alerts() if a.station_id == "S1"] == [
        AlertType.STATION_OFFLINE  # it disconnected
    ]


def notify_event(event_id: int, *, cleared: bool, value: str) -> dict[str, Any]:
    return {
        "generatedAt": "2026-01-01T10:00:00Z",
        "seqNo": 0,
        "eventData": [
            {
                "eventId": event_id,
                "timestamp": "2026-01-01T10:00:00Z",
                "trigger": "Alerting",
                "actualValue": value,
                "eventNotificationType": "CustomMonitor",
                "component": {"name": "EVSE", "evse": {"id": 1}},
                "variable": {"name": "Temperature"},
                "variableMonitoringId": 7,
                "cleared": cleared,
            }
        ],
    }


async def test_monitor_event_resolved_when_the_station_reports_it_cleared(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="M1"))
    with alert_events(csms) as events:
        async with raw_station(csms, "M1", "ocpp2.0.1") as cs:
            await booted(cs, "ocpp2.0.1")
            await cs.result("NotifyEvent", notify_event(1, cleared=False, value="81"))
            raised = await change(events, AlertType.MONITOR_EVENT, AlertChange.RAISED, "M1")
            assert raised.details["actual_value"] == "81"
            assert raised.details["variable"] == {"name": "Temperature"}
            await cs.result("NotifyEvent", notify_event(2, cleared=True, value="60"))
            cleared = await change(events, AlertType.MONITOR_EVENT, AlertChange.RESOLVED, "M1")
    assert cleared.id == raised.id


async def test_stuck_session_resolved_by_meter_values_then_by_its_end(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="T1"))
    await add_token(csms, "TAG-1")
    with alert_events(csms) as events:
        async with raw_station(csms, "T1") as cp:
            await booted(cp, "ocpp1.6")
            tx = (await cp.result("StartTransaction", start_16(meter=1000)))["transactionId"]
            first = await change(events, AlertType.TRANSACTION_STUCK, AlertChange.RAISED, "T1")
            assert first.key == f"transaction:{tx}"
            await cp.result("MeterValues", meter_16(tx, "2026-01-01T10:20:00Z", "2000"))
            meter = await change(events, AlertType.TRANSACTION_STUCK, AlertChange.RESOLVED, "T1")
            assert meter.resolution == "meter values received"
            second = await change(events, AlertType.TRANSACTION_STUCK, AlertChange.RAISED, "T1")
            assert second.id != first.id  # a new occurrence after resolution is a new alert
            await cp.result("StopTransaction", stop_16(tx, meter=3000))
            ended = await change(events, AlertType.TRANSACTION_STUCK, AlertChange.RESOLVED, "T1")
    assert (ended.id, ended.resolution) == (second.id, "session ended")


async def test_local_list_out_of_sync_until_a_sync_succeeds(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="L1"))
    await add_token(csms, "TAG-L")
    config = {
        "configurationKey": [{"key": "SendLocalListMaxLength", "readonly": True, "value": "50"}]
    }

    def answers(status: str) -> dict[str, Any]:
        return {
            "GetLocalListVersion": {"listVersion": 0},
            "GetConfiguration": config,
            "SendLocalList": {"status": status},
        }

    with alert_events(csms) as events:
        async with raw_station(csms, "L1") as cp:
            await booted(cp, "ocpp1.6")
            async with responding(cp, answers("Failed")), api_client(csms) as api:
                failed = await api.post("/api/v1/stations/L1/local-list/sync")
            assert failed.status_code == 200, failed.text
            raised = await change(
                events, AlertType.LOCAL_LIST_OUT_OF_SYNC, AlertChange.RAISED, "L1"
            )
            assert raised.details["last_result"] == "Failed"
            async with responding(cp, answers("Accepted")), api_client(csms) as api:
                synced = await api.post("/api/v1/stations/L1/local-list/sync")
            assert synced.status_code == 200, synced.text
            cleared = await change(
                events, AlertType.LOCAL_LIST_OUT_OF_SYNC, AlertChange.RESOLVED, "L1"
            )
    assert cleared.id == raised.id


async def test_open_alerts_survive_a_restart_and_resolve_afterwards(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, **FAST)
    async with running_csms(settings) as first:
        await first.stations.create(StationSpec(id="R1"))
        with alert_events(first) as events:
            async with raw_station(first, "R1") as cp:
                await booted(cp, "ocpp1.6")
                await cp.result(
                    "StatusNotification",
                    {"connectorId": 1, "errorCode": "PowerMeterFailure", "status": "Faulted"},
                )
                raised = await change(events, AlertType.CONNECTOR_FAULTED, AlertChange.RAISED, "R1")
    async with running_csms(settings) as second:
        async with api_client(second) as api:
            listed = await api.get("/api/v1/alerts", params={"status": "open", "station": "R1"})
            by_type = await api.get("/api/v1/alerts", params={"type": "connector_faulted"})
            bad = await api.get("/api/v1/alerts", params={"type": "nonsense"})
        assert [a["id"] for a in listed.json()["items"]] == [raised.id]
        assert by_type.json()["items"][0]["details"]["error_code"] == "PowerMeterFailure"
        assert bad.status_code == 422
        with alert_events(second) as events:
            async with raw_station(second, "R1") as cp:
                await cp.result(
                    "StatusNotification",
                    {"connectorId": 1, "errorCode": "NoError", "status": "Available"},
                )
                cleared = await change(
                    events, AlertType.CONNECTOR_FAULTED, AlertChange.RESOLVED, "R1"
                )
    assert cleared.id == raised.id
