"""OCPP 1.6 OCTT test case document, Central System section, module "Remote Trigger":
TC_054_CSMS and TC_055_CSMS (TriggerMessage, §5.17 / §4.x).

The "Manual Action" is ``POST /stations/{id}/commands/trigger`` (docs/commands.md); the command
it records, read back through the API, holds the charge point's answer.
"""

from __future__ import annotations

from typing import Any

from tests.conformance.octt import Station, now
from tests.conformance.sut import CONFIGURED, Sut
from tests.conformance.v16.states import PROTOCOL, booted, check, manual_action, status


async def _trigger(
    sut: Sut, station: Station, message: str, answer: str, *, connector_id: int | None = None
) -> dict[str, Any]:
    """Manual Action: trigger ``message``; the tool answers TriggerMessage.conf ``answer``."""
    body: dict[str, Any] = {"message": message}
    if connector_id is not None:
        body["evse_id"] = connector_id
    triggering = manual_action(
        sut.api.post(f"/stations/{station.station_id}/commands/trigger", body)
    )
    call = await station.expect("TriggerMessage")
    check(
        call.payload.get("requestedMessage") == message,
        f"TriggerMessage.req requestedMessage {call.payload}, want {message}",
    )
    if connector_id is not None:
        check(
            call.payload.get("connectorId") == connector_id,
            f"TriggerMessage.req connectorId {call.payload}, want {connector_id}",
        )
    await station.respond(call, {"status": answer})
    command: dict[str, Any] = await triggering
    assert command["response"] == {"status": answer}, command
    return command


async def test_TC_054_CSMS(sut: Sut) -> None:
    """Trigger Message: MeterValues, Heartbeat, StatusNotification, DiagnosticsStatusNotification,
    FirmwareStatusNotification; the Central System answers each triggered message."""
    connector = CONFIGURED.connector_id
    await sut.provision("CP054")
    async with sut.station("CP054", PROTOCOL) as station:
        await booted(station)
        await _trigger(sut, station, "MeterValues", "Accepted", connector_id=connector)  # 1./2.
        meter = {
            "connectorId": connector,
            "meterValue": [
                {
                    "timestamp": now(),
                    "sampledValue": [
                        {
                            "value": "1000",
                            "context": "Trigger",
                            "measurand": "Energy.Active.Import.Register",
                            "unit": "Wh",
                        }
                    ],
                }
            ],
        }
        assert await station.send("MeterValues", meter) == {}  # 3./4.
        await _trigger(sut, station, "Heartbeat", "Accepted")  # 5./6.
        beat = await station.send("Heartbeat", {})  # 7./8.
        check("currentTime" in beat, f"Heartbeat.conf without currentTime: {beat}")
        await _trigger(sut, station, "StatusNotification", "Accepted", connector_id=connector)
        await status(station, "Available", connector_id=connector)  # 11./12.
        await _trigger(sut, station, "DiagnosticsStatusNotification", "Accepted")  # 13./14.
        await station.send("DiagnosticsStatusNotification", {"status": "Idle"})  # 15./16.
        await _trigger(sut, station, "FirmwareStatusNotification", "Accepted")  # 17./18.
        await station.send("FirmwareStatusNotification", {"status": "Idle"})  # 19./20.
        await station.expect_nothing(0.3)
    # The Idle reports were received as history (they match no job).
    events = await sut.api.get("/stations/CP054/jobs/events", params={"reports_only": "true"})
    reported = {(e["action"], e["status"]) for e in events["items"]}
    assert ("FirmwareStatusNotification", "Idle") in reported, events
    assert ("DiagnosticsStatusNotification", "Idle") in reported, events


async def test_TC_055_CSMS(sut: Sut) -> None:
    """Trigger Message - Rejected: the Central System handles the refusal."""
    await sut.provision("CP055")
    async with sut.station("CP055", PROTOCOL) as station:
        await booted(station)
        command = await _trigger(sut, station, "MeterValues", "Rejected")  # 1./2.
        assert command["status"] == "Answered", command
        await station.expect_nothing(0.3)
