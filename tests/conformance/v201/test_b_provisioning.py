"""OCPP 2.0.1 Part 6 §3.3, B Provisioning: the CSMS test cases TC_B_xx_CSMS.

Boot (B01-B03: Accepted, Pending, Rejected, the CSMS's TriggerMessage while Pending), the device
model (B05 SetVariables, B06 GetVariables, B07 GetBaseReport), Reset (B11, B12) and
SetNetworkProfile (B09). The "Manual Action" steps are operator requests to the REST API
(docs/configuration-management.md, docs/commands.md); as an operator's request waits for the
station's answer, it runs as a task while the tool's station answers the CALL it causes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from tests.conformance.octt import CallError, Station, now
from tests.conformance.sut import CONFIGURED, Sut
from tests.conformance.v201.states import (
    Tx,
    boot,
    booted,
    check,
    connector_state,
    energy_transfer_started,
    transaction_event,
)

# <Configured ...> values of the OCTT for SetNetworkProfile (TC_B_42_CSMS).
CONFIGURATION_SLOT = 1
MESSAGE_TIMEOUT = 30
OCPP_INTERFACE = "Wired0"
SECURITY_PROFILE = 1


def operator(request: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    """Run an operator's API request while the station answers the CALL it sends."""
    return asyncio.get_running_loop().create_task(request)


def attribute_type_ok(data: dict[str, Any], allowed: tuple[str, ...]) -> bool:
    """attributeType is absent or one of ``allowed``."""
    return data.get("attributeType", "Actual") in allowed


def find(items: list[dict[str, Any]], component: str, variable: str) -> dict[str, Any]:
    """The Get/SetVariableData of ``component.variable`` in a request (any order)."""
    for item in items:
        if item["component"]["name"] == component and item["variable"]["name"] == variable:
            return item
    raise AssertionError(f"no {component}.{variable} in {items}")


async def stored_value(sut: Sut, station_id: str, component: str, variable: str) -> Any:
    """The value of ``component.variable`` (Actual) in the CSMS's stored device model."""
    page = await sut.api.get(
        f"/stations/{station_id}/device-model",
        params={"component": component, "variable": variable},
    )
    values = [
        item["value"]
        for item in page["items"]
        if item["variable"] == variable and item["attribute_type"] == "Actual"
    ]
    assert len(values) == 1, f"stored device model for {component}.{variable}: {page['items']}"
    return values[0]


async def pending_boot(station: Station, registration: str) -> None:
    """Steps 1-2 of TC_B_02/30/31: BootNotification PowerUp answered Pending (or Rejected)."""
    response = await boot(station)
    check(
        response["status"] == registration,
        f"BootNotificationResponse status {response['status']}, want {registration}",
    )


# --- B01-B03 Boot ------------------------------------------------------------------------------


async def test_TC_B_01_CSMS(sut: Sut) -> None:
    """Cold Boot Charging Station - Accepted (B01.FR.02)."""
    await sut.provision("CS-B01")
    async with sut.station("CS-B01") as station:
        # 1. Reusable State Booted.
        await booted(station)
    stored = await sut.api.get("/stations/CS-B01")
    assert stored["boot"]["vendor"] == CONFIGURED.vendor_name
    assert stored["boot"]["model"] == CONFIGURED.model


async def test_TC_B_02_CSMS(sut: Sut) -> None:
    """Cold Boot Charging Station - Pending (B02.FR.01, B02.FR.06).

    Prerequisite "the CSMS is configured to first respond Pending": the station is registered
    Pending; the operator accepts it while the station waits its interval.
    """
    await sut.provision("CS-B02", registration="Pending")
    async with sut.station("CS-B02") as station:
        # 1-2. BootNotification PowerUp → Pending.
        response = await boot(station)
        check(response["status"] == "Pending", f"step 2: status {response['status']}")
        # During the interval the CSMS may retrieve or set information; the operator accepts the
        # station, and the CSMS asks it for a new BootNotification, which the tool answers.
        station.tolerate("TriggerMessage", {"status": "Accepted"})
        await sut.api.patch("/stations/CS-B02", {"registration": "Accepted"})
        # 3-4. BootNotification PowerUp → Accepted.
        response = await boot(station)
        check(response["status"] == "Accepted", f"step 4: status {response['status']}")
        # 5-6. The state of all connectors.
        await connector_state(station, "Available")
    stored = await sut.api.get("/stations/CS-B02")
    assert stored["registration"] == "Accepted"
    assert stored["evses"][0]["connectors"][0]["status"] == "Available"


@pytest.mark.parametrize("registration", ["Pending", "Rejected"])
async def test_TC_B_30_CSMS(sut: Sut, registration: str) -> None:
    """Cold Boot Charging Station - Pending/Rejected - SecurityError (B02.FR.09, B03.FR.07)."""
    await sut.provision("CS-B30", registration=registration)
    async with sut.station("CS-B30") as station:
        # 1-2. BootNotification PowerUp → Pending OR Rejected.
        await pending_boot(station, registration)
        # 3-4. The connector state: each message is answered CALLERROR SecurityError.
        notification = {
            "timestamp": now(),
            "connectorStatus": "Available",
            "evseId": CONFIGURED.evse_id,
            "connectorId": CONFIGURED.connector_id,
        }
        event = {
            "generatedAt": now(),
            "seqNo": 0,
            "eventData": [
                {
                    "eventId": 1,
                    "timestamp": now(),
                    "trigger": "Delta",
                    "actualValue": "Available",
                    "eventNotificationType": "HardWiredNotification",
                    "component": {
                        "name": "Connector",
                        "evse": {"id": CONFIGURED.evse_id, "connectorId": CONFIGURED.connector_id},
                    },
                    "variable": {"name": "AvailabilityState"},
                }
            ],
        }
        for action, payload in (("StatusNotification", notification), ("NotifyEvent", event)):
            with pytest.raises(CallError) as refusal:
                await station.send(action, payload)
            assert refusal.value.code == "SecurityError", (
                f"step 4: {action} answered CALLERROR {refusal.value.code}, want SecurityError"
            )
    stored = await sut.api.get("/stations/CS-B30")
    assert stored["evses"] == [] or all(
        c["status"] is None for e in stored["evses"] for c in e["connectors"]
    ), f"a refused StatusNotification was stored: {stored['evses']}"


async def test_TC_B_31_CSMS(sut: Sut) -> None:
    """Cold Boot Charging Station - Pending/Rejected - TriggerMessage (B02, F06).

    The CSMS sends its TriggerMessage BootNotification when the operator accepts the Pending
    station (a Rejected station is not asked: it must not answer the CSMS).
    """
    await sut.provision("CS-B31", registration="Pending")
    async with sut.station("CS-B31") as station:
        # 1-2. BootNotification PowerUp → Pending.
        await pending_boot(station, "Pending")
        # 3. Before the interval expires, the CSMS sends a TriggerMessage (the operator accepted).
        await sut.api.patch("/stations/CS-B31", {"registration": "Accepted"})
        trigger = await station.expect("TriggerMessage")
        check(
            trigger.payload["requestedMessage"] == "BootNotification",
            f"step 3: requestedMessage {trigger.payload['requestedMessage']}",
        )
        # 4. TriggerMessageResponse Accepted.
        await station.respond(trigger, {"status": "Accepted"})
        # 5-6. BootNotification Triggered → Accepted.
        response = await boot(station, "Triggered")
        check(response["status"] == "Accepted", f"step 6: status {response['status']}")
        # 7-8. The state of all connectors, now accepted.
        await connector_state(station, "Available")
    log = await sut.api.get("/stations/CS-B31/commands")
    triggers = [c for c in log["items"] if c["action"] == "TriggerMessage"]
    assert triggers, log["items"]
    assert triggers[0]["requested_by"] == "csms", triggers[0]


# --- B05/B06 Get and Set Variables -----------------------------------------------------------


async def test_TC_B_06_CSMS(sut: Sut) -> None:
    """Get Variables - single value (B06.FR.01-04, B06.FR.10, B06.FR.11)."""
    await sut.provision("CS-B06")
    async with sut.station("CS-B06") as station:
        await booted(station)
        # 1. Manual action: the operator asks for OCPPCommCtrlr.OfflineThreshold.
        request = operator(
            sut.api.post(
                "/stations/CS-B06/variables/get",
                {"items": [{"path": "OCPPCommCtrlr.OfflineThreshold"}]},
            )
        )
        call = await station.expect("GetVariables")
        data = call.payload["getVariableData"]
        check(len(data) == 1, f"step 1: {len(data)} getVariableData, want 1")
        item = find(data, "OCPPCommCtrlr", "OfflineThreshold")
        check(
            attribute_type_ok(item, ("Actual", "Target", "MinSet", "MaxSet")),
            f"step 1: attributeType {item.get('attributeType')}",
        )
        # 2. GetVariablesResponse.
        await station.respond(
            call,
            {
                "getVariableResult": [
                    {
                        "attributeStatus": "Accepted",
                        "attributeType": item.get("attributeType", "Actual"),
                        "attributeValue": "300",
                        "component": {"name": "OCPPCommCtrlr"},
                        "variable": {"name": "OfflineThreshold"},
                    }
                ]
            },
        )
        answer = await request
    # Post scenario: the CSMS has correctly read the requested variable.
    assert [(r["status"], r["value"]) for r in answer["results"]] == [("Accepted", "300")]
    assert await stored_value(sut, "CS-B06", "OCPPCommCtrlr", "OfflineThreshold") == "300"


async def test_TC_B_07_CSMS(sut: Sut) -> None:
    """Get Variables - multiple values (B06.FR.01-03)."""
    await sut.provision("CS-B07")
    async with sut.station("CS-B07") as station:
        await booted(station)
        # 1. Manual action: OCPPCommCtrlr.OfflineThreshold and AuthCtrlr.AuthorizeRemoteStart.
        request = operator(
            sut.api.post(
                "/stations/CS-B07/variables/get",
                {
                    "items": [
                        {"path": "OCPPCommCtrlr.OfflineThreshold"},
                        {"path": "AuthCtrlr.AuthorizeRemoteStart"},
                    ]
                },
            )
        )
        call = await station.expect("GetVariables")
        data = call.payload["getVariableData"]
        check(len(data) == 2, f"step 1: {len(data)} getVariableData, want 2")
        values = {"OfflineThreshold": "300", "AuthorizeRemoteStart": "false"}
        results = []
        for component, variable in (
            ("OCPPCommCtrlr", "OfflineThreshold"),
            ("AuthCtrlr", "AuthorizeRemoteStart"),
        ):
            item = find(data, component, variable)
            check(
                attribute_type_ok(item, ("Actual", "Target", "MinSet", "MaxSet")),
                f"step 1: {variable} attributeType {item.get('attributeType')}",
            )
            results.append(
                {
                    "attributeStatus": "Accepted",
                    "attributeType": item.get("attributeType", "Actual"),
                    "attributeValue": values[variable],
                    "component": {"name": component},
                    "variable": {"name": variable},
                }
            )
        # 2. GetVariablesResponse.
        await station.respond(call, {"getVariableResult": results})
        answer = await request
    # Post scenario: the CSMS has correctly read the requested variables.
    assert [(r["status"], r["value"]) for r in answer["results"]] == [
        ("Accepted", "300"),
        ("Accepted", "false"),
    ]
    assert await stored_value(sut, "CS-B07", "OCPPCommCtrlr", "OfflineThreshold") == "300"
    assert await stored_value(sut, "CS-B07", "AuthCtrlr", "AuthorizeRemoteStart") == "false"


async def _set_variables(
    sut: Sut, station_id: str, wanted: list[tuple[str, str, str]]
) -> dict[str, Any]:
    """TC_B_09/10: the operator sets ``wanted`` (component, variable, value); the tool checks the
    SetVariablesRequest (any order) and accepts every item."""
    async with sut.station(station_id) as station:
        await booted(station)
        # 1. Manual action: request the CSMS to set the data.
        request = operator(
            sut.api.post(
                f"/stations/{station_id}/variables/set",
                {"items": [{"path": f"{c}.{v}", "value": value} for c, v, value in wanted]},
            )
        )
        call = await station.expect("SetVariables")
        data = call.payload["setVariableData"]
        check(len(data) == len(wanted), f"step 1: {len(data)} setVariableData")
        results = []
        for component, variable, value in wanted:
            item = find(data, component, variable)
            check(
                item["attributeValue"] == value,
                f"step 1: {variable} attributeValue {item['attributeValue']!r}, want {value!r}",
            )
            check(
                attribute_type_ok(item, ("Actual",)),
                f"step 1: {variable} attributeType {item.get('attributeType')}",
            )
            results.append(
                {
                    "attributeStatus": "Accepted",
                    "attributeType": "Actual",
                    "component": {"name": component},
                    "variable": {"name": variable},
                }
            )
        # 2. SetVariablesResponse.
        await station.respond(call, {"setVariableResult": results})
        answer: dict[str, Any] = await request
    return answer


async def test_TC_B_09_CSMS(sut: Sut) -> None:
    """Set Variables - single value (B05.FR.01-03, B05.FR.10, B05.FR.12)."""
    await sut.provision("CS-B09")
    answer = await _set_variables(sut, "CS-B09", [("OCPPCommCtrlr", "OfflineThreshold", "123")])
    # Post scenario: the CSMS has correctly set the requested variable.
    assert [r["status"] for r in answer["results"]] == ["Accepted"]
    assert await stored_value(sut, "CS-B09", "OCPPCommCtrlr", "OfflineThreshold") == "123"


async def test_TC_B_10_CSMS(sut: Sut) -> None:
    """Set Variables - multiple values (B05.FR.01-03)."""
    await sut.provision("CS-B10")
    answer = await _set_variables(
        sut,
        "CS-B10",
        [
            ("OCPPCommCtrlr", "OfflineThreshold", "123"),
            ("AuthCtrlr", "AuthorizeRemoteStart", "false"),
        ],
    )
    # Post scenario: the CSMS has correctly set the requested variables.
    assert [r["status"] for r in answer["results"]] == ["Accepted", "Accepted"]
    assert await stored_value(sut, "CS-B10", "OCPPCommCtrlr", "OfflineThreshold") == "123"
    assert await stored_value(sut, "CS-B10", "AuthCtrlr", "AuthorizeRemoteStart") == "false"


# --- B07 Get Base Report ---------------------------------------------------------------------


def _report_data(component: str, variable: str, value: str, mutability: str) -> dict[str, Any]:
    return {
        "component": {"name": component},
        "variable": {"name": variable},
        "variableAttribute": [
            {"type": "Actual", "value": value, "mutability": mutability, "persistent": True}
        ],
        "variableCharacteristics": {"dataType": "integer", "supportsMonitoring": False},
    }


async def _base_report(sut: Sut, station_id: str, report_base: str) -> None:
    """TC_B_12/13: the operator asks for a base report; the tool accepts it and sends it in two
    NotifyReport parts; the CSMS must receive both and show the result."""
    async with sut.station(station_id) as station:
        await booted(station)
        # 1. Manual action: instruct the CSMS to retrieve the report.
        request = operator(
            sut.api.post(
                f"/stations/{station_id}/device-model/report", {"report_base": report_base}
            )
        )
        call = await station.expect("GetBaseReport")
        request_id = call.payload["requestId"]
        check(
            isinstance(request_id, int) and request_id >= 0,
            f"step 1: requestId {request_id!r}",
        )
        check(
            call.payload["reportBase"] == report_base,
            f"step 1: reportBase {call.payload['reportBase']}, want {report_base}",
        )
        # 2. GetBaseReportResponse Accepted, then the report (B07.FR.03: NotifyReport parts).
        await station.respond(call, {"status": "Accepted"})
        answer = await request
        assert answer["request_id"] == request_id, answer
        assert answer["status"] == "Accepted", answer
        parts = [
            _report_data("OCPPCommCtrlr", "HeartbeatInterval", "300", "ReadWrite"),
            _report_data("OCPPCommCtrlr", "OfflineThreshold", "600", "ReadWrite"),
        ]
        if report_base == "FullInventory":
            parts[1] = _report_data("EVSE", "EvseCount", "1", "ReadOnly")
            parts[1]["component"]["evse"] = {"id": 1}
        for seq_no, data in enumerate(parts):
            await station.send(
                "NotifyReport",
                {
                    "requestId": request_id,
                    "generatedAt": now(),
                    "tbc": seq_no < len(parts) - 1,
                    "seqNo": seq_no,
                    "reportData": [data],
                },
            )
    # Post scenario: the CSMS received every NotifyReport of this requestId and shows the result.
    report = await sut.api.get(f"/stations/{station_id}/device-model/reports/{request_id}")
    assert report["complete"], report
    assert report["parts"] == 2, report
    assert await stored_value(sut, station_id, "OCPPCommCtrlr", "HeartbeatInterval") == "300"
    last = parts[1]
    stored = await stored_value(
        sut, station_id, last["component"]["name"], last["variable"]["name"]
    )
    assert stored == last["variableAttribute"][0]["value"]


async def test_TC_B_12_CSMS(sut: Sut) -> None:
    """Get Base Report - ConfigurationInventory (B07.FR.07)."""
    await sut.provision("CS-B12")
    await _base_report(sut, "CS-B12", "ConfigurationInventory")


async def test_TC_B_13_CSMS(sut: Sut) -> None:
    """Get Base Report - FullInventory (B07.FR.08)."""
    await sut.provision("CS-B13")
    await _base_report(sut, "CS-B13", "FullInventory")


# --- B11/B12 Reset ---------------------------------------------------------------------------


async def _reset(
    sut: Sut, station: Station, body: dict[str, Any], want: dict[str, Any], status: str
) -> None:
    """Manual action and steps 1-2 of a Reset test case: the operator asks for the reset, the
    tool checks the ResetRequest against ``want`` and answers ``status``."""
    request = operator(sut.api.post(f"/stations/{station.station_id}/commands/reset", body))
    call = await station.expect("Reset")
    for key, value in want.items():
        check(
            call.payload.get(key) == value,
            f"step 1: ResetRequest {key} {call.payload.get(key)!r}, want {value!r}",
        )
    if "evseId" not in want:
        check("evseId" not in call.payload, f"step 1: a station reset with {call.payload}")
    await station.respond(call, {"status": status})
    answer = await request
    assert answer["status"] == "Answered", answer
    assert answer["response"] == {"status": status}, answer


async def _reboot(sut: Sut, station_id: str, reason: str, connector: str) -> None:
    """The station comes back after its reset: BootNotification ``reason`` answered Accepted, then
    the state of its connector."""
    async with sut.station(station_id) as station:
        response = await boot(station, reason)
        check(
            response["status"] == "Accepted",
            f"BootNotificationResponse status {response['status']}, want Accepted",
        )
        await connector_state(station, connector)
        await station.expect_nothing(0.3)


async def _transaction(sut: Sut, station_id: str, tx_id: str) -> dict[str, Any]:
    page = await sut.api.get("/transactions", params={"station_id": station_id})
    found = [t for t in page["items"] if t.get("transaction_id") == tx_id]
    assert len(found) == 1, f"transaction {tx_id}: {page['items']}"
    transaction: dict[str, Any] = found[0]
    return transaction


async def test_TC_B_20_CSMS(sut: Sut) -> None:
    """Reset Charging Station - Without ongoing transaction - OnIdle (B11.FR.04)."""
    await sut.provision("CS-B20")
    async with sut.station("CS-B20") as station:
        await booted(station)
        # Manual action, 1-2: ResetRequest OnIdle → Accepted.
        await _reset(sut, station, {"type": "on_idle"}, {"type": "OnIdle"}, "Accepted")
    # 3-6. The station reboots: BootNotification → Accepted; connectors Available.
    await _reboot(sut, "CS-B20", "RemoteReset", "Available")


async def test_TC_B_21_CSMS(sut: Sut) -> None:
    """Reset Charging Station - With Ongoing Transaction - OnIdle (B12.FR.01, B12.FR.03,
    E07.FR.03)."""
    await sut.provision("CS-B21")
    await sut.add_token(CONFIGURED.valid_id_token)
    tx = Tx()
    async with sut.station("CS-B21") as station:
        await booted(station)
        await energy_transfer_started(station, tx)
        # Manual action, 1-2: ResetRequest OnIdle → Scheduled.
        await _reset(sut, station, {"type": "on_idle"}, {"type": "OnIdle"}, "Scheduled")
        # 3-4. The driver stops: Updated, StopAuthorized, EVConnected, the valid idToken.
        response = await transaction_event(
            station, tx, "Updated", "StopAuthorized", charging_state="EVConnected", with_token=True
        )
        status = response.get("idTokenInfo", {}).get("status")
        assert status == "Accepted", f"step 4: idTokenInfo.status {status}"
        # 5-6. Ended, EVCommunicationLost, Idle, EVDisconnected.
        await transaction_event(
            station,
            tx,
            "Ended",
            "EVCommunicationLost",
            charging_state="Idle",
            stopped_reason="EVDisconnected",
        )
    # 7-10. The scheduled reset: BootNotification ScheduledReset → Accepted; connectors Available.
    await _reboot(sut, "CS-B21", "ScheduledReset", "Available")
    transaction = await _transaction(sut, "CS-B21", tx.transaction_id)
    assert transaction["status"] == "Completed", transaction


async def test_TC_B_22_CSMS(sut: Sut) -> None:
    """Reset Charging Station - With Ongoing Transaction - Immediate (B12)."""
    await sut.provision("CS-B22")
    await sut.add_token(CONFIGURED.valid_id_token)
    tx = Tx()
    async with sut.station("CS-B22") as station:
        await booted(station)
        await energy_transfer_started(station, tx)
        # Manual action, 1-2: ResetRequest Immediate → Accepted.
        await _reset(sut, station, {"type": "immediate"}, {"type": "Immediate"}, "Accepted")
        # 3-4. Ended, ResetCommand, EVConnected, ImmediateReset, no idToken.
        await transaction_event(
            station,
            tx,
            "Ended",
            "ResetCommand",
            charging_state="EVConnected",
            stopped_reason="ImmediateReset",
        )
    # 5-8. BootNotification RemoteReset → Accepted; the EV is still plugged in: Occupied.
    await _reboot(sut, "CS-B22", "RemoteReset", "Occupied")
    transaction = await _transaction(sut, "CS-B22", tx.transaction_id)
    assert transaction["status"] == "Completed", transaction


async def test_TC_B_25_CSMS(sut: Sut) -> None:
    """Reset EVSE - Without ongoing transaction (B11.FR.04)."""
    await sut.provision("CS-B25")
    async with sut.station("CS-B25") as station:
        await booted(station)
        # Manual action, 1-2: ResetRequest OnIdle for <Configured evseId> → Accepted.
        await _reset(
            sut,
            station,
            {"type": "on_idle", "evse_id": CONFIGURED.evse_id},
            {"type": "OnIdle", "evseId": CONFIGURED.evse_id},
            "Accepted",
        )


async def test_TC_B_26_CSMS(sut: Sut) -> None:
    """Reset EVSE - With Ongoing Transaction - OnIdle (B12.FR.07)."""
    await sut.provision("CS-B26")
    await sut.add_token(CONFIGURED.valid_id_token)
    tx = Tx()
    async with sut.station("CS-B26") as station:
        await booted(station)
        await energy_transfer_started(station, tx)
        # Manual action, 1-2: ResetRequest OnIdle for the charging EVSE → Scheduled.
        await _reset(
            sut,
            station,
            {"type": "on_idle", "evse_id": CONFIGURED.evse_id},
            {"type": "OnIdle", "evseId": CONFIGURED.evse_id},
            "Scheduled",
        )
        # 3-4. Updated, StopAuthorized, EVConnected, the valid idToken.
        response = await transaction_event(
            station, tx, "Updated", "StopAuthorized", charging_state="EVConnected", with_token=True
        )
        status = response.get("idTokenInfo", {}).get("status")
        assert status == "Accepted", f"step 4: idTokenInfo.status {status}"
        # 5-6. Ended, EVCommunicationLost, Idle, EVDisconnected.
        await transaction_event(
            station,
            tx,
            "Ended",
            "EVCommunicationLost",
            charging_state="Idle",
            stopped_reason="EVDisconnected",
        )
        await station.expect_nothing(0.3)
    transaction = await _transaction(sut, "CS-B26", tx.transaction_id)
    assert transaction["status"] == "Completed", transaction


async def test_TC_B_27_CSMS(sut: Sut) -> None:
    """Reset EVSE - With Ongoing Transaction - Immediate (B12)."""
    await sut.provision("CS-B27")
    await sut.add_token(CONFIGURED.valid_id_token)
    tx = Tx()
    async with sut.station("CS-B27") as station:
        await booted(station)
        await energy_transfer_started(station, tx)
        # Manual action, 1-2: ResetRequest Immediate for the charging EVSE → Accepted.
        await _reset(
            sut,
            station,
            {"type": "immediate", "evse_id": CONFIGURED.evse_id},
            {"type": "Immediate", "evseId": CONFIGURED.evse_id},
            "Accepted",
        )
        # 3-4. Ended, ResetCommand, EVConnected, ImmediateReset.
        await transaction_event(
            station,
            tx,
            "Ended",
            "ResetCommand",
            charging_state="EVConnected",
            stopped_reason="ImmediateReset",
        )
        await station.expect_nothing(0.3)
    transaction = await _transaction(sut, "CS-B27", tx.transaction_id)
    assert transaction["status"] == "Completed", transaction


# --- B09 SetNetworkProfile -------------------------------------------------------------------


def _connection_data(sut: Sut) -> dict[str, Any]:
    """The <Configured ...> NetworkConnectionProfile: this CSMS's own URL."""
    return {
        "ocppVersion": "OCPP20",
        "ocppTransport": "JSON",
        "ocppCsmsUrl": sut.ws_url,
        "messageTimeout": MESSAGE_TIMEOUT,
        "securityProfile": SECURITY_PROFILE,
        "ocppInterface": OCPP_INTERFACE,
    }


async def _set_network_profile(sut: Sut, station_id: str, status: str) -> dict[str, Any]:
    """Step 1-2 of TC_B_42/44: the operator sets the configured profile; the tool answers."""
    async with sut.station(station_id) as station:
        await booted(station)
        request = operator(
            sut.api.post(
                f"/stations/{station_id}/network-profile",
                {
                    "configuration_slot": CONFIGURATION_SLOT,
                    "connection_data": _connection_data(sut),
                },
            )
        )
        # 1. SetNetworkProfileRequest with the configured slot and connection data.
        call = await station.expect("SetNetworkProfile")
        check(
            call.payload["configurationSlot"] == CONFIGURATION_SLOT,
            f"step 1: configurationSlot {call.payload['configurationSlot']}",
        )
        check(
            call.payload["connectionData"] == _connection_data(sut),
            f"step 1: connectionData {call.payload['connectionData']}",
        )
        # 2. SetNetworkProfileResponse.
        await station.respond(call, {"status": status})
        answer: dict[str, Any] = await request
    return answer


async def test_TC_B_42_CSMS(sut: Sut) -> None:
    """Set new NetworkConnectionProfile - Accepted (B09.FR.01)."""
    await sut.provision("CS-B42")
    answer = await _set_network_profile(sut, "CS-B42", "Accepted")
    assert answer["status"] == "Answered", answer
    assert answer["response"] == {"status": "Accepted"}, answer


async def test_TC_B_44_CSMS(sut: Sut) -> None:
    """Set new NetworkConnectionProfile - Failed (B09.FR.03)."""
    await sut.provision("CS-B44")
    answer = await _set_network_profile(sut, "CS-B44", "Failed")
    # The CSMS handles the refusal: an answer shown to the operator, not an error.
    assert answer["status"] == "Answered", answer
    assert answer["response"] == {"status": "Failed"}, answer
