"""OCPP 1.6 OCTT test case document, Central System part (§3.1-§3.13, §3.20): the Core module
test cases TC_0xx_CSMS.

The test tool plays the Charge Point over ``ocpp1.6``; the "Manual Action" steps (an operator
asking for a remote start, a reset, an unlock, a configuration change ...) go through the REST API.

Sources of the catalog (tests/conformance/v16/catalog.json) and of the steps below: the OCA's
"OCPP 1.6 - Compliancy Testing Tool - Test Case Document" (2025-11 edition; CSMS cases are
Tables 122-198, §3.1-§3.21, reusable states Tables 199-201 in §3.22), read through public
transcriptions: the ocpplab.com pages per case (ocpplab.com/docs/protocols/ocpp-1-6/test-cases/,
from the 2025-06 trial edition), the docstrings of the tzi-app/tzi-OCTT suite (which cite the
2025-11 table numbers; the table chain 122-198 is complete once TC_045_2 (Table 165) and TC_053
(Table 175) are added) and the EVtivity CSMS 1.6 results page, whose 77 ids and module grouping
(Core 34, Local Authorization List 6, Firmware Management 5, Reservation 10, Remote Trigger 2,
Smart Charging 5, Security 15) agree with that chain.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conformance.octt import Call, ConformanceFailure, Station
from tests.conformance.sut import CONFIGURED, Sut
from tests.conformance.v16.states import (
    PROTOCOL,
    Tx,
    authorize,
    authorized,
    boot,
    booted,
    charging,
    check,
    manual_action,
    start_transaction,
    status,
    stop_transaction,
    stopped,
)

CORE_KEYS = {
    # TC_019_1 step 2: the keys a Charge Point reports (Core, Local Auth List, Smart Charging).
    "AuthorizeRemoteTxRequests": ("true", False),
    "ClockAlignedDataInterval": ("0", False),
    "ConnectionTimeOut": ("60", False),
    "ConnectorPhaseRotation": ("0.RST,1.RST", False),
    "GetConfigurationMaxKeys": ("50", True),
    "HeartbeatInterval": ("300", False),
    "LocalAuthorizeOffline": ("true", False),
    "LocalPreAuthorize": ("false", False),
    "MeterValuesAlignedData": ("Energy.Active.Import.Register", False),
    "MeterValuesSampledData": ("Energy.Active.Import.Register", False),
    "MeterValueSampleInterval": ("0", False),
    "NumberOfConnectors": ("1", True),
    "ResetRetries": ("3", False),
    "StopTransactionOnEVSideDisconnect": ("true", False),
    "StopTransactionOnInvalidId": ("true", False),
    "StopTxnAlignedData": ("", False),
    "StopTxnSampledData": ("", False),
    "SupportedFeatureProfiles": ("Core,LocalAuthListManagement,SmartCharging", True),
    "TransactionMessageAttempts": ("3", False),
    "TransactionMessageRetryInterval": ("60", False),
    "UnlockConnectorOnEVSideDisconnect": ("true", False),
    "LocalAuthListEnabled": ("true", False),
    "LocalAuthListMaxLength": ("100", True),
    "SendLocalListMaxLength": ("100", True),
    "ChargeProfileMaxStackLevel": ("10", True),
    "ChargingScheduleAllowedChargingRateUnit": ("Current,Power", True),
    "ChargingScheduleMaxPeriods": ("24", True),
    "MaxChargingProfilesInstalled": ("10", True),
}


async def expect(station: Station, action: str, request: asyncio.Task[Any]) -> Call:
    """The CALL the Manual Action makes; if the API request ends first (refused), fail with
    its answer instead of waiting for a CALL that will not come."""
    call = asyncio.get_running_loop().create_task(station.expect(action))
    await asyncio.wait({call, request}, return_when=asyncio.FIRST_COMPLETED)
    if not call.done():
        call.cancel()
        request.result()  # raises the API's refusal
        raise ConformanceFailure(f"the API answered {request.result()} without sending {action}")
    return call.result()


async def ready(sut: Sut, station_id: str, **token: Any) -> None:
    """The CSMS's configuration for every case: the charge point provisioned (Accepted) and
    <Configured Valid IdTag> known."""
    await sut.provision(station_id)
    await sut.add_token(CONFIGURED.valid_id_token, **token)


async def transactions(sut: Sut, station_id: str) -> list[dict[str, Any]]:
    page = await sut.api.get(f"/transactions?station_id={station_id}")
    items: list[dict[str, Any]] = page["items"]
    return items


async def transaction(sut: Sut, station_id: str, tx: Tx) -> dict[str, Any]:
    """The CSMS's record of ``tx`` (by the transactionId it assigned)."""
    for item in await transactions(sut, station_id):
        if item["transaction_id"] == str(tx.id()):
            return item
    raise AssertionError(f"the CSMS has no transaction {tx.id()} for {station_id}")


async def connector(sut: Sut, station_id: str, connector_id: int = 1) -> dict[str, Any]:
    """The CSMS's view of a 1.6 connector (shown as EVSE ``connector_id``, connector 1)."""
    station = await sut.api.get(f"/stations/{station_id}")
    for evse in station["evses"]:
        if evse["evse_id"] == connector_id:
            found: dict[str, Any] = evse["connectors"][0]
            return found
    raise AssertionError(f"the CSMS knows no connector {connector_id} of {station_id}")


def parse(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def past(minutes: int) -> str:
    """A timestamp ``minutes`` ago, as a charge point queues it while offline."""
    at = datetime.now(UTC) - timedelta(minutes=minutes)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# §3.1 Cold boot ----------------------------------------------------------------------------


async def test_TC_001_CSMS(sut: Sut) -> None:
    """Cold Boot Charge Point (Table 122)."""
    await ready(sut, "CP001")
    async with sut.station("CP001", PROTOCOL) as station:
        # 1-4. BootNotification (status Accepted), StatusNotification Available per connector
        # and for connectorId 0.
        response = await booted(station)
        check(response["interval"] > 0, f"BootNotification.conf interval {response['interval']}")
        # 5-6. Heartbeat every <interval> seconds: the Central System answers with its time.
        beat = await station.send("Heartbeat", {})
        check("currentTime" in beat, "Heartbeat.conf without currentTime")
        record = await sut.api.get("/stations/CP001")
        assert record["connected"]
        assert record["registration"] == "Accepted"
        assert record["boot"]["vendor"] == CONFIGURED.vendor_name
        assert (await connector(sut, "CP001"))["status"] == "Available"


# §3.2 Regular charging session -------------------------------------------------------------


async def test_TC_003_CSMS(sut: Sut) -> None:
    """Regular Charging Session - Plugin First (Table 123)."""
    await ready(sut, "CP003")
    async with sut.station("CP003", PROTOCOL) as station:
        await booted(station)
        tx = Tx()
        # 1-2. [EV driver plugs in the cable.] StatusNotification Preparing.
        await status(station, "Preparing")
        # 3-4. [EV driver presents identification.] Authorize.conf idTagInfo.status Accepted.
        answer = await authorize(station)
        check(answer["idTagInfo"]["status"] == "Accepted", f"Authorize.conf {answer}")
        # 5-8. StartTransaction.conf Accepted, StatusNotification Charging.
        await charging(station, tx, preparing=False)
        record = await transaction(sut, "CP003", tx)
        assert record["status"] == "Active"
        assert record["id_token"] == tx.id_tag
        assert (await connector(sut, "CP003"))["status"] == "Charging"


async def test_TC_004_1_CSMS(sut: Sut) -> None:
    """Regular Charging Session - Identification First (Table 124): Reusable State Charging."""
    await ready(sut, "CP0041")
    async with sut.station("CP0041", PROTOCOL) as station:
        await booted(station)
        tx = Tx()
        await authorized(station, tx)
        await charging(station, tx)
        assert (await transaction(sut, "CP0041", tx))["status"] == "Active"


async def test_TC_004_2_CSMS(sut: Sut) -> None:
    """Regular Charging Session - Identification First - ConnectionTimeOut (Table 125)."""
    await ready(sut, "CP0042")
    async with sut.station("CP0042", PROTOCOL) as station:
        await booted(station)
        await authorized(station)
        # 1-2. StatusNotification Preparing.
        await status(station, "Preparing")
        # 3-4. [ConnectionTimeOut expired.] StatusNotification Available.
        await status(station, "Available")
        await station.expect_nothing(0.5)
        assert (await connector(sut, "CP0042"))["status"] == "Available"
        assert await transactions(sut, "CP0042") == []


async def test_TC_005_1_CSMS(sut: Sut) -> None:
    """EV Side Disconnected - StopTransactionOnEVSideDisconnect = true (Table 126)."""
    await ready(sut, "CP0051")
    async with sut.station("CP0051", PROTOCOL) as station:
        await booted(station)
        tx = Tx()
        await authorized(station, tx)
        await charging(station, tx)
        # 1-2. [EV driver disconnects the cable on the EV side.] SuspendedEV.
        await status(station, "SuspendedEV")
        # 3-4. StopTransaction reason EVDisconnected.
        await stop_transaction(station, tx, reason="EVDisconnected")
        # 5-8. Finishing, then [cable unplugged] Available.
        await status(station, "Finishing")
        await status(station, "Available")
        record = await transaction(sut, "CP0051", tx)
        assert record["status"] == "Completed"
        assert record["stop_reason"] == "EVDisconnected"
        assert record["meter_stop_wh"] == tx.meter_wh


# §3.3 Cache --------------------------------------------------------------------------------


async def test_TC_007_CSMS(sut: Sut) -> None:
    """Regular Start Charging Session - Cached Id (Table 127): no Authorize.req first."""
    await ready(sut, "CP007")
    async with sut.station("CP007", PROTOCOL) as station:
        await booted(station)
        tx = Tx()
        # 1-2. Preparing; 3-6. StartTransaction (Accepted), Charging.
        await status(station, "Preparing")
        await charging(station, tx, preparing=False)
        assert (await transaction(sut, "CP007", tx))["status"] == "Active"


async def test_TC_061_CSMS(sut: Sut) -> None:
    """Clear Authorization Data in Authorization Cache (Table 128)."""
    await ready(sut, "CP061")
    async with sut.station("CP061", PROTOCOL) as station:
        await booted(station)
        # Manual Action: clear the charge point's authorization cache.
        request = manual_action(sut.api.post("/stations/CP061/clear-cache"))
        # 1-2. ClearCache.req; the Charge Point answers Accepted.
        call = await expect(station, "ClearCache", request)
        await station.respond(call, {"status": "Accepted"})
        assert (await request)["status"] == "Accepted"


# §3.4 Remote actions -----------------------------------------------------------------------


async def remote_start(sut: Sut, station: Station, **body: Any) -> tuple[Any, asyncio.Task[Any]]:
    """Manual Action: an operator starts a transaction remotely; returns the CSMS's
    RemoteStartTransaction.req (checked: idTag is the requested one) and the API request."""
    request = manual_action(
        sut.api.post(
            f"/stations/{station.station_id}/commands/remote-start",
            {"id_token": CONFIGURED.valid_id_token, **body},
        )
    )
    call = await expect(station, "RemoteStartTransaction", request)
    check(
        call.payload["idTag"] == CONFIGURED.valid_id_token,
        f"RemoteStartTransaction.req idTag {call.payload.get('idTag')}",
    )
    return call, request


async def test_TC_010_CSMS(sut: Sut) -> None:
    """Remote Start Charging Session - Cable Plugged in First (Table 129)."""
    await ready(sut, "CP010")
    async with sut.station("CP010", PROTOCOL) as station:
        await booted(station)
        tx = Tx()
        # 1-2. [EV driver plugs in the cable.] Preparing.
        await status(station, "Preparing")
        # 3-4. RemoteStartTransaction.req; the Charge Point accepts.
        call, request = await remote_start(sut, station, evse_id=1)
        check(
            call.payload.get("connectorId") == tx.connector_id,
            f"RemoteStartTransaction.req connectorId {call.payload.get('connectorId')}",
        )
        await station.respond(call, {"status": "Accepted"})
        command = await request
        assert command["status"] == "Answered"
        assert command["response"] == {"status": "Accepted"}
        # 5-6. Authorize.conf Accepted (AuthorizeRemoteTxRequests).
        await authorized(station, tx)
        # 7-10. StartTransaction.conf Accepted, Charging.
        await charging(station, tx, preparing=False)
        assert (await transaction(sut, "CP010", tx))["status"] == "Active"


async def test_TC_011_1_CSMS(sut: Sut) -> None:
    """Remote Start Charging Session - Remote Start First (Table 130)."""
    await ready(sut, "CP0111")
    async with sut.station("CP0111", PROTOCOL) as station:
        await booted(station)
        tx = Tx()
        # 1-2. RemoteStartTransaction.req; the Charge Point accepts.
        call, request = await remote_start(sut, station)
        await station.respond(call, {"status": "Accepted"})
        assert (await request)["response"] == {"status": "Accepted"}
        # 3-4. Authorize.conf Accepted.
        await authorized(station, tx)
        # 5-6. Preparing; [EV driver plugs in the cable.] 7-10. StartTransaction, Charging.
        await charging(station, tx)
        assert (await transaction(sut, "CP0111", tx))["status"] == "Active"


async def test_TC_011_2_CSMS(sut: Sut) -> None:
    """Remote Start Charging Session - Time Out (Table 131)."""
    await ready(sut, "CP0112")
    async with sut.station("CP0112", PROTOCOL) as station:
        await booted(station)
        # 1-2. RemoteStartTransaction.req; Accepted.
        call, request = await remote_start(sut, station)
        await station.respond(call, {"status": "Accepted"})
        await request
        # 3-4. Authorize.conf Accepted; 5-6. Preparing.
        await authorized(station)
        await status(station, "Preparing")
        # 7-8. [Connection timeout reached.] Available.
        await status(station, "Available")
        await station.expect_nothing(0.5)
        assert (await connector(sut, "CP0112"))["status"] == "Available"
        assert await transactions(sut, "CP0112") == []


async def test_TC_012_CSMS(sut: Sut) -> None:
    """Remote Stop Charging Session (Table 132)."""
    await ready(sut, "CP012")
    async with sut.station("CP012", PROTOCOL) as station:
        await booted(station)
        tx = Tx()
        await authorized(station, tx)
        await charging(station, tx)
        # Manual Action: the operator stops the transaction.
        request = manual_action(
            sut.api.post("/stations/CP012/commands/remote-stop", {"transaction_id": str(tx.id())})
        )
        # 1-2. RemoteStopTransaction.req for the running transaction; Accepted.
        call = await expect(station, "RemoteStopTransaction", request)
        check(
            call.payload["transactionId"] == tx.id(),
            f"RemoteStopTransaction.req transactionId {call.payload['transactionId']}, "
            f"want {tx.id()}",
        )
        await station.respond(call, {"status": "Accepted"})
        assert (await request)["response"] == {"status": "Accepted"}
        # 3-8. StopTransaction reason Remote, Finishing, [unplugged] Available.
        await stopped(station, tx, reason="Remote", with_id_tag=False)
        record = await transaction(sut, "CP012", tx)
        assert record["status"] == "Completed"
        assert record["stop_reason"] == "Remote"


# §3.5 Reset --------------------------------------------------------------------------------


async def reset(sut: Sut, station_id: str, kind: str) -> None:
    """Table 133/134: Reset.req of ``kind``; Accepted; the Charge Point reboots (a new
    connection), BootNotification.conf Accepted, StatusNotification Available per connector."""
    await ready(sut, station_id)
    async with sut.station(station_id, PROTOCOL) as station:
        await booted(station)
        # Manual Action: the operator resets the charge point.
        request = manual_action(
            sut.api.post(f"/stations/{station_id}/commands/reset", {"type": kind.lower()})
        )
        # 1-2. Reset.req type <kind>; Accepted.
        call = await expect(station, "Reset", request)
        check(call.payload["type"] == kind, f"Reset.req type {call.payload['type']}, want {kind}")
        await station.respond(call, {"status": "Accepted"})
        assert (await request)["response"] == {"status": "Accepted"}
    # 3-6. The Charge Point reboots: BootNotification Accepted, StatusNotification Available.
    async with sut.station(station_id, PROTOCOL) as station:
        await booted(station)
        await station.expect_nothing(0.5)
    record = await sut.api.get(f"/stations/{station_id}")
    assert record["registration"] == "Accepted"


async def test_TC_013_CSMS(sut: Sut) -> None:
    """Hard Reset (Table 133)."""
    await reset(sut, "CP013", "Hard")


async def test_TC_014_CSMS(sut: Sut) -> None:
    """Soft Reset (Table 134)."""
    await reset(sut, "CP014", "Soft")


# §3.6 Unlock connector ---------------------------------------------------------------------


async def unlock(sut: Sut, station: Station, answer: str) -> dict[str, Any]:
    """Manual Action: the operator unlocks connector 1; UnlockConnector.req connectorId 1,
    answered ``answer``; returns the API's record of the command."""
    request = manual_action(
        sut.api.post(f"/stations/{station.station_id}/commands/unlock", {"evse_id": 1})
    )
    call = await expect(station, "UnlockConnector", request)
    check(
        call.payload["connectorId"] == CONFIGURED.connector_id,
        f"UnlockConnector.req connectorId {call.payload['connectorId']}",
    )
    await station.respond(call, {"status": answer})
    command: dict[str, Any] = await request
    assert command["response"] == {"status": answer}, command
    return command


async def test_TC_017_1_CSMS(sut: Sut) -> None:
    """Unlock connector - no charging session running (Not fixed cable) (Table 135)."""
    await ready(sut, "CP0171")
    async with sut.station("CP0171", PROTOCOL) as station:
        await booted(station)
        # 1-2. UnlockConnector.req; Unlocked.
        await unlock(sut, station, "Unlocked")


async def test_TC_017_2_CSMS(sut: Sut) -> None:
    """Unlock connector - no charging session running (Fixed cable) (Table 136)."""
    await ready(sut, "CP0172")
    async with sut.station("CP0172", PROTOCOL) as station:
        await booted(station)
        # 1-2. UnlockConnector.req; NotSupported (fixed cable).
        await unlock(sut, station, "NotSupported")


async def test_TC_018_1_CSMS(sut: Sut) -> None:
    """Unlock Connector - With Charging Session (Not fixed cable) (Table 137)."""
    await ready(sut, "CP0181")
    async with sut.station("CP0181", PROTOCOL) as station:
        await booted(station)
        tx = Tx()
        await authorized(station, tx)
        await charging(station, tx)
        # 1-2. UnlockConnector.req; Unlocked.
        await unlock(sut, station, "Unlocked")
        # 3-4. Finishing; 5-6. StopTransaction reason UnlockCommand; 7-8. [unplugged] Available.
        await status(station, "Finishing")
        await stop_transaction(station, tx, reason="UnlockCommand", with_id_tag=False)
        await status(station, "Available")
        record = await transaction(sut, "CP0181", tx)
        assert record["status"] == "Completed"
        assert record["stop_reason"] == "UnlockCommand"


# §3.7 Configuration ------------------------------------------------------------------------


async def test_TC_019_1_CSMS(sut: Sut) -> None:
    """Retrieve all configuration keys (Table 138)."""
    await ready(sut, "CP0191")
    async with sut.station("CP0191", PROTOCOL) as station:
        await booted(station)
        # Manual Action: the operator retrieves every configuration key.
        request = manual_action(sut.api.post("/stations/CP0191/configuration/refresh", {}))
        # 1. GetConfiguration.req with an empty key list (or none).
        call = await expect(station, "GetConfiguration", request)
        check(not call.payload.get("key"), f"GetConfiguration.req key {call.payload.get('key')}")
        # 2. The Charge Point reports all its keys.
        keys = [
            {"key": key, "readonly": readonly, "value": value}
            for key, (value, readonly) in CORE_KEYS.items()
        ]
        await station.respond(call, {"configurationKey": keys})
        await request
        stored = await sut.api.get("/stations/CP0191/configuration")
        items = stored["keys"]
        assert {item["key"]: item["value"] for item in items} == {
            key: value for key, (value, _) in CORE_KEYS.items()
        }


async def test_TC_019_2_CSMS(sut: Sut) -> None:
    """Retrieve Specific Configuration Key (Table 139)."""
    await ready(sut, "CP0192")
    async with sut.station("CP0192", PROTOCOL) as station:
        await booted(station)
        request = manual_action(
            sut.api.post(
                "/stations/CP0192/configuration/refresh", {"keys": ["SupportedFeatureProfiles"]}
            )
        )
        # 1. GetConfiguration.req key SupportedFeatureProfiles.
        call = await expect(station, "GetConfiguration", request)
        check(
            call.payload.get("key") == ["SupportedFeatureProfiles"],
            f"GetConfiguration.req key {call.payload.get('key')}, want [SupportedFeatureProfiles]",
        )
        # 2. configurationKey SupportedFeatureProfiles, unknownKey empty.
        value, readonly = CORE_KEYS["SupportedFeatureProfiles"]
        await station.respond(
            call,
            {
                "configurationKey": [
                    {"key": "SupportedFeatureProfiles", "readonly": readonly, "value": value}
                ],
                "unknownKey": [],
            },
        )
        await request
        stored = await sut.api.get("/stations/CP0192/configuration")
        items = stored["keys"]
        assert [(i["key"], i["value"]) for i in items] == [("SupportedFeatureProfiles", value)]


async def change_configuration(
    sut: Sut, station: Station, key: str, value: str, answer: str
) -> dict[str, Any]:
    """Manual Action: the operator sets ``key`` to ``value``; ChangeConfiguration.req checked,
    answered ``answer``; returns the API's answer."""
    request = manual_action(
        sut.api.put(f"/stations/{station.station_id}/configuration/{key}", {"value": value})
    )
    call = await expect(station, "ChangeConfiguration", request)
    check(
        call.payload == {"key": key, "value": value},
        f"ChangeConfiguration.req {call.payload}, want key {key} value {value}",
    )
    await station.respond(call, {"status": answer})
    result: dict[str, Any] = await request
    assert result["status"] == answer, result
    return result


async def test_TC_021_CSMS(sut: Sut) -> None:
    """Change/set Configuration (Table 140)."""
    await ready(sut, "CP021")
    async with sut.station("CP021", PROTOCOL) as station:
        await booted(station)
        # 1. ChangeConfiguration.req key MeterValueSampleInterval value 60; 2. Accepted.
        await change_configuration(sut, station, "MeterValueSampleInterval", "60", "Accepted")
        stored = await sut.api.get("/stations/CP021/configuration")
        items = stored["keys"]
        values = {item["key"]: item["value"] for item in items}
        assert values.get("MeterValueSampleInterval") == "60", values


# §3.8 Authorization ------------------------------------------------------------------------


async def authorize_status(sut: Sut, station_id: str, id_tag: str, want: str) -> None:
    """Table 141-143: [EV driver presents identification.] Authorize.req; idTagInfo.status."""
    async with sut.station(station_id, PROTOCOL) as station:
        await booted(station)
        answer = await authorize(station, id_tag)
        got = answer["idTagInfo"]["status"]
        check(got == want, f"Authorize.conf idTagInfo.status {got}, want {want}")


async def test_TC_023_1_CSMS(sut: Sut) -> None:
    """Start Charging Session - Authorize invalid (Table 141): an idTag the CSMS does not know."""
    await ready(sut, "CP0231")
    await authorize_status(sut, "CP0231", CONFIGURED.invalid_id_token, "Invalid")


async def test_TC_023_2_CSMS(sut: Sut) -> None:
    """Start Charging Session - Authorize expired (Table 142): the CSMS has the idTag with
    status Expired (here: its expiry date passed)."""
    await ready(sut, "CP0232")
    await sut.add_token(CONFIGURED.expired_id_token, expires_at=past(60))
    await authorize_status(sut, "CP0232", CONFIGURED.expired_id_token, "Expired")


async def test_TC_023_3_CSMS(sut: Sut) -> None:
    """Start Charging Session - Authorize blocked (Table 143)."""
    await ready(sut, "CP0233")
    await sut.add_token(CONFIGURED.blocked_id_token, status="Blocked")
    await authorize_status(sut, "CP0233", CONFIGURED.blocked_id_token, "Blocked")


async def test_TC_024_CSMS(sut: Sut) -> None:
    """Start Charging Session Lock Failure (Table 144)."""
    await ready(sut, "CP024")
    async with sut.station("CP024", PROTOCOL) as station:
        await booted(station)
        await authorized(station)
        # 1-2. Preparing; 3-4. [cable plugged in] Faulted, errorCode ConnectorLockFailure.
        await status(station, "Preparing")
        await status(station, "Faulted", error_code="ConnectorLockFailure")
        state = await connector(sut, "CP024")
        assert state["status"] == "Faulted"
        assert state["error_code"] == "ConnectorLockFailure"


# §3.9 Remote start / stop rejected ---------------------------------------------------------


async def test_TC_026_CSMS(sut: Sut) -> None:
    """Remote Start Charging Session - Rejected (Table 145)."""
    await ready(sut, "CP026")
    async with sut.station("CP026", PROTOCOL) as station:
        await booted(station)
        # 1-2. RemoteStartTransaction.req; the Charge Point rejects it.
        call, request = await remote_start(sut, station)
        await station.respond(call, {"status": "Rejected"})
        command = await request
        assert command["response"] == {"status": "Rejected"}, command
        await station.expect_nothing(0.5)
        assert await transactions(sut, "CP026") == []


async def test_TC_028_CSMS(sut: Sut) -> None:
    """Remote Stop Transaction - Rejected (Table 146)."""
    await ready(sut, "CP028")
    async with sut.station("CP028", PROTOCOL) as station:
        await booted(station)
        tx = Tx()
        await authorized(station, tx)
        await charging(station, tx)
        request = manual_action(
            sut.api.post("/stations/CP028/commands/remote-stop", {"transaction_id": str(tx.id())})
        )
        # 1-2. RemoteStopTransaction.req; the Charge Point rejects it.
        call = await expect(station, "RemoteStopTransaction", request)
        await station.respond(call, {"status": "Rejected"})
        assert (await request)["response"] == {"status": "Rejected"}
        # The transaction goes on.
        await station.expect_nothing(0.5)
        assert (await transaction(sut, "CP028", tx))["status"] == "Active"


# §3.10 Unlock failures ---------------------------------------------------------------------


async def test_TC_030_CSMS(sut: Sut) -> None:
    """Unlock Connector - Unlock Failure (Table 147)."""
    await ready(sut, "CP030")
    async with sut.station("CP030", PROTOCOL) as station:
        await booted(station)
        # 1-2. UnlockConnector.req; UnlockFailed.
        await unlock(sut, station, "UnlockFailed")


async def test_TC_031_CSMS(sut: Sut) -> None:
    """Unlock Connector - Unknown Connector (Table 148)."""
    await ready(sut, "CP031")
    async with sut.station("CP031", PROTOCOL) as station:
        await booted(station)
        # 1-2. UnlockConnector.req; NotSupported.
        await unlock(sut, station, "NotSupported")


# §3.11 Power failure -----------------------------------------------------------------------


async def test_TC_032_1_CSMS(sut: Sut) -> None:
    """Power failure boot charging point - configured to stop transaction(s) (Table 149)."""
    await ready(sut, "CP0321")
    tx = Tx()
    async with sut.station("CP0321", PROTOCOL) as station:
        await booted(station)
        await authorized(station, tx)
        await charging(station, tx)
    # [Disconnect and reconnect the power of the Charge Point.]
    async with sut.station("CP0321", PROTOCOL) as station:
        # 1-2. BootNotification.conf Accepted.
        response = await boot(station)
        check(response["status"] == "Accepted", f"BootNotification.conf {response['status']}")
        # 3-4. connectorId 0 Available, the connector of the transaction Finishing.
        await status(station, "Available", connector_id=0)
        await status(station, "Finishing", connector_id=tx.connector_id)
        # 5-6. StopTransaction reason PowerLoss.
        await stop_transaction(station, tx, reason="PowerLoss", with_id_tag=False)
        await station.expect_nothing(0.5)
    record = await transaction(sut, "CP0321", tx)
    assert record["status"] == "Completed", record
    assert record["stop_reason"] == "PowerLoss", record
    assert record["meter_stop_wh"] == tx.meter_wh, record


# §3.12 Offline -----------------------------------------------------------------------------


async def offline_then_online(sut: Sut, station_id: str) -> None:
    """Booted, then [Remove connectivity between Charge Point and Central System]."""
    async with sut.station(station_id, PROTOCOL) as station:
        await booted(station)


async def test_TC_037_1_CSMS(sut: Sut) -> None:
    """Offline Start Transaction - Valid IdTag (Table 150)."""
    await ready(sut, "CP0371")
    await offline_then_online(sut, "CP0371")
    # [EV driver starts a transaction offline.] [Restore connectivity.]
    async with sut.station("CP0371", PROTOCOL) as station:
        tx = Tx()
        # 1-2. StartTransaction.req (queued, its offline timestamp); Accepted.
        started = past(5)
        response = await start_transaction(station, tx, timestamp=started)
        got = response["idTagInfo"]["status"]
        check(got == "Accepted", f"StartTransaction.conf idTagInfo.status {got}, want Accepted")
        # 3-4. StatusNotification Charging.
        await status(station, "Charging")
        record = await transaction(sut, "CP0371", tx)
        assert record["status"] == "Active"
        # The session starts when the Charge Point started it offline, not when it was told.
        assert abs(parse(record["started_at"]) - parse(started)) < timedelta(seconds=1), record


async def test_TC_037_3_CSMS(sut: Sut) -> None:
    """Offline Start Transaction - Invalid IdTag - StopTransactionOnInvalidId = true
    (Table 151)."""
    await ready(sut, "CP0373")
    await offline_then_online(sut, "CP0373")
    async with sut.station("CP0373", PROTOCOL) as station:
        tx = Tx(id_tag=CONFIGURED.invalid_id_token)
        # 1-2. StartTransaction.req with <Configured invalid idTag>; idTagInfo.status Invalid.
        response = await start_transaction(station, tx, timestamp=past(5))
        got = response["idTagInfo"]["status"]
        check(got == "Invalid", f"StartTransaction.conf idTagInfo.status {got}, want Invalid")
        # 3-4. Charging; 5-6. StopTransaction reason DeAuthorized; 7-8. Finishing.
        await status(station, "Charging")
        await stop_transaction(station, tx, reason="DeAuthorized", with_id_tag=False)
        await status(station, "Finishing")
        record = await transaction(sut, "CP0373", tx)
        assert record["status"] == "Completed"
        assert record["stop_reason"] == "DeAuthorized"


async def test_TC_039_CSMS(sut: Sut) -> None:
    """Offline Transaction (Table 152): start and stop both queued while offline."""
    await ready(sut, "CP039")
    await offline_then_online(sut, "CP039")
    async with sut.station("CP039", PROTOCOL) as station:
        tx = Tx()
        # 1-2. StartTransaction.req (offline timestamp); Accepted.
        response = await start_transaction(station, tx, timestamp=past(30))
        got = response["idTagInfo"]["status"]
        check(got == "Accepted", f"StartTransaction.conf idTagInfo.status {got}, want Accepted")
        # 3-4. StopTransaction.req reason Local (offline timestamp).
        await stop_transaction(station, tx, reason="Local", timestamp=past(10))
        record = await transaction(sut, "CP039", tx)
        assert record["status"] == "Completed", record
        assert record["energy_wh"] == 1000.0, record


# §3.13 Configuration keys ------------------------------------------------------------------


async def test_TC_040_1_CSMS(sut: Sut) -> None:
    """Configuration keys - NotSupported (Table 153)."""
    await ready(sut, "CP0401")
    async with sut.station("CP0401", PROTOCOL) as station:
        await booted(station)
        # 1-2. ChangeConfiguration.req of a key the Charge Point does not know; NotSupported.
        await change_configuration(sut, station, "OcttUnknownKey", "true", "NotSupported")


async def test_TC_040_2_CSMS(sut: Sut) -> None:
    """Configuration keys - Invalid value (Table 154)."""
    await ready(sut, "CP0402")
    async with sut.station("CP0402", PROTOCOL) as station:
        await booted(station)
        # 1. ChangeConfiguration.req key MeterValueSampleInterval; 2. Rejected.
        await change_configuration(sut, station, "MeterValueSampleInterval", "-1", "Rejected")


# §3.20 Data transfer -----------------------------------------------------------------------


async def test_TC_064_CSMS(sut: Sut) -> None:
    """Data Transfer to a Central System (Table 183)."""
    await ready(sut, "CP064")
    async with sut.station("CP064", PROTOCOL) as station:
        await booted(station)
        # 1-2. DataTransfer.req with a vendorId the Central System does not support.
        answer = await station.send(
            "DataTransfer", {"vendorId": "org.octt.unknown", "messageId": "Test", "data": "x"}
        )
        check(
            answer["status"] in ("Rejected", "UnknownMessageId", "UnknownVendorId"),
            f"DataTransfer.conf status {answer['status']}, want Rejected/UnknownMessageId/"
            "UnknownVendorId",
        )
