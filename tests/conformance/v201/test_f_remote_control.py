"""OCPP 2.0.1 Part 6 §3.7, F Remote Control: the CSMS test cases TC_F_xx_CSMS.

The "Manual Action: Trigger the CSMS to ..." steps, and the CSMS-initiated CALLs of the
scenarios, are operator commands of the REST API (docs/commands.md): remote-start, unlock and
trigger. The command's HTTP answer only comes once the station answered, so the command runs as a
task while the tool's station plays its part.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from tests.conformance.octt import Station, now
from tests.conformance.sut import CONFIGURED, Sut
from tests.conformance.v201.states import (
    Tx,
    booted,
    check,
    connector_state,
    energy_transfer_started,
    ev_connected_pre_session,
    id_token,
    transaction_event,
)


@contextlib.asynccontextmanager
async def manual_action(request: Coroutine[Any, Any, Any]) -> AsyncIterator[asyncio.Task[Any]]:
    """Run an operator's API request while the station answers what it makes the CSMS send;
    the task is cancelled if the scenario fails before awaiting it."""
    task = asyncio.ensure_future(request)
    try:
        yield task
    finally:
        if not task.done():
            task.cancel()
        with contextlib.suppress(BaseException):
            await task


async def ready(sut: Sut, station_id: str) -> None:
    """The CSMS's configuration every case here needs: the station and the valid token."""
    await sut.provision(station_id)
    await sut.add_token(CONFIGURED.valid_id_token)


async def one_transaction(sut: Sut, station_id: str) -> dict[str, Any]:
    """The station's only session, in full (GET /transactions/{id})."""
    page = await sut.api.get("/transactions", params={"station_id": station_id})
    check(page["total"] == 1, f"want one session of {station_id}, the CSMS has {page['total']}")
    detail: dict[str, Any] = await sut.api.get(f"/transactions/{page['items'][0]['id']}")
    return detail


def check_request_start(call_payload: dict[str, Any]) -> None:
    """Tool validation of step 1 (TC_F_01..04): the configured valid idToken."""
    token = call_payload["idToken"]
    check(
        token["idToken"] == CONFIGURED.valid_id_token,
        f"RequestStartTransactionRequest idToken.idToken {token['idToken']}",
    )
    check(
        token["type"] == CONFIGURED.valid_id_token_type,
        f"RequestStartTransactionRequest idToken.type {token['type']}",
    )


def remote_start_info(tx: Tx, remote_start_id: int) -> dict[str, Any]:
    return {
        "transactionInfo": {"transactionId": tx.transaction_id, "remoteStartId": remote_start_id}
    }


async def remote_start_requested(
    sut: Sut, station: Station, station_id: str, *, transaction_id: str | None
) -> int:
    """Manual action and steps 1-2 of TC_F_01..04: the operator starts a session remotely; the
    station answers Accepted (with ``transaction_id`` when it already has one). Returns the
    remoteStartId the CSMS provided."""
    body = {"evse_id": CONFIGURED.evse_id, "id_token": CONFIGURED.valid_id_token}
    async with manual_action(
        sut.api.post(f"/stations/{station_id}/commands/remote-start", body)
    ) as command:
        call = await station.expect("RequestStartTransaction")  # 1.
        check_request_start(call.payload)
        answer: dict[str, Any] = {"status": "Accepted"}
        if transaction_id is not None:
            answer["transactionId"] = transaction_id
        await station.respond(call, answer)  # 2.
        recorded = await command
    check(recorded["status"] == "Answered", f"command recorded as {recorded['status']}")
    check(recorded["response"]["status"] == "Accepted", f"recorded answer {recorded['response']}")
    remote_start_id: int = call.payload["remoteStartId"]
    return remote_start_id


async def test_TC_F_01_CSMS(sut: Sut) -> None:
    """Remote start transaction - Cable plugin first (F01)."""
    await ready(sut, "CS-F01")
    async with sut.station("CS-F01") as station:
        await booted(station)
        tx = Tx()
        await ev_connected_pre_session(station, tx)  # Before: EVConnectedPreSession
        remote_start_id = await remote_start_requested(
            sut, station, "CS-F01", transaction_id=tx.transaction_id
        )
        tx.id_token = id_token()
        # 3. Updated, triggerReason RemoteStart, remoteStartId as provided by the CSMS.
        response = await transaction_event(
            station,
            tx,
            "Updated",
            "RemoteStart",
            with_token=True,
            extra=remote_start_info(tx, remote_start_id),
        )
        check(
            response.get("idTokenInfo", {}).get("status") == "Accepted",
            f"TransactionEventResponse {response}",
        )
        tx.authorized = True
        await energy_transfer_started(station, tx)  # 5.
    stored = await one_transaction(sut, "CS-F01")
    assert stored["remote_start_id"] == remote_start_id
    assert stored["id_token"] == CONFIGURED.valid_id_token
    assert stored["charging_state"] == "Charging"
    assert stored["status"] == "Active"


async def remote_start_first(sut: Sut, station_id: str, *, authorize: bool) -> None:
    """TC_F_02 / TC_F_03: the remote start comes before the cable (F02)."""
    await ready(sut, station_id)
    async with sut.station(station_id) as station:
        await booted(station)
        tx = Tx()
        # 1-2. transactionId is omitted: the station has no transaction yet.
        remote_start_id = await remote_start_requested(
            sut, station, station_id, transaction_id=None
        )
        if authorize:  # 3-4. AuthorizeRemoteStart is true: the station authorizes first.
            answer = await station.send("Authorize", {"idToken": id_token()})
            check(
                answer["idTokenInfo"]["status"] == "Accepted",
                f"AuthorizeResponse idTokenInfo.status {answer['idTokenInfo']['status']}",
            )
        tx.id_token = id_token()
        # Started, triggerReason RemoteStart; the step says "<By OCTT generated remoteStartID>",
        # but the id is the one the CSMS put in its RequestStartTransactionRequest (F01.FR.01),
        # which the station echoes.
        response = await transaction_event(
            station,
            tx,
            "Started",
            "RemoteStart",
            with_token=True,
            meter=True,
            extra=remote_start_info(tx, remote_start_id),
        )
        check(
            response.get("idTokenInfo", {}).get("status") == "Accepted",
            f"TransactionEventResponse {response}",
        )
        tx.authorized = True
        await energy_transfer_started(station, tx)  # Authorized, _EVConnected = false
    stored = await one_transaction(sut, station_id)
    assert stored["remote_start_id"] == remote_start_id
    assert stored["id_token"] == CONFIGURED.valid_id_token
    assert stored["evse_id"] == CONFIGURED.evse_id
    assert stored["charging_state"] == "Charging"


async def test_TC_F_02_CSMS(sut: Sut) -> None:
    """Remote start transaction - Remote start first - AuthorizeRemoteStart is true (F02.FR.01,
    F01.FR.01)."""
    await remote_start_first(sut, "CS-F02", authorize=True)


async def test_TC_F_03_CSMS(sut: Sut) -> None:
    """Remote start transaction - Remote start first - AuthorizeRemoteStart is false (F02.FR.01,
    F01.FR.02)."""
    await remote_start_first(sut, "CS-F03", authorize=False)


async def test_TC_F_04_CSMS(sut: Sut) -> None:
    """Remote start transaction - Remote start first - Cable plugin timeout (E03.FR.05)."""
    await ready(sut, "CS-F04")
    async with sut.station("CS-F04") as station:
        await booted(station)
        tx = Tx()
        remote_start_id = await remote_start_requested(sut, station, "CS-F04", transaction_id=None)
        tx.id_token = id_token()
        await transaction_event(  # 3-4.
            station,
            tx,
            "Started",
            "RemoteStart",
            with_token=True,
            meter=True,
            extra=remote_start_info(tx, remote_start_id),
        )
        # 5-6. The EV was not plugged in within EVConnectionTimeout: the station deauthorizes.
        await transaction_event(station, tx, "Updated", "EVConnectTimeout")
    stored = await one_transaction(sut, "CS-F04")
    assert stored["remote_start_id"] == remote_start_id
    assert stored["trigger_reason"] == "EVConnectTimeout"
    assert [e["trigger_reason"] for e in stored["events"]] == ["RemoteStart", "EVConnectTimeout"]


async def test_TC_F_06_CSMS(sut: Sut) -> None:
    """Remote unlock Connector - Without ongoing transaction - Accepted (F05)."""
    await sut.provision("CS-F06")
    async with sut.station("CS-F06") as station:
        await booted(station)
        body = {"evse_id": CONFIGURED.evse_id, "connector_id": CONFIGURED.connector_id}
        async with manual_action(sut.api.post("/stations/CS-F06/commands/unlock", body)) as command:
            call = await station.expect("UnlockConnector")  # 1.
            check(call.payload["evseId"] == CONFIGURED.evse_id, f"evseId {call.payload}")
            check(
                call.payload["connectorId"] == CONFIGURED.connector_id,
                f"connectorId {call.payload}",
            )
            await station.respond(call, {"status": "Unlocked"})  # 2.
            recorded = await command
    assert recorded["status"] == "Answered"
    assert recorded["response"] == {"status": "Unlocked"}


async def trigger(
    sut: Sut,
    station: Station,
    station_id: str,
    message: str,
    *,
    evse_id: int | None = None,
    answer: str = "Accepted",
) -> dict[str, Any]:
    """Steps 1-2 of the TriggerMessage cases: the operator asks for ``message``; the tool
    validates the request and answers ``answer``. Returns the recorded command."""
    body: dict[str, Any] = {"message": message}
    if evse_id is not None:
        body["evse_id"] = evse_id
    async with manual_action(
        sut.api.post(f"/stations/{station_id}/commands/trigger", body)
    ) as command:
        call = await station.expect("TriggerMessage")  # 1.
        check(
            call.payload["requestedMessage"] == message,
            f"requestedMessage {call.payload['requestedMessage']}, want {message}",
        )
        if evse_id is not None:
            evse = call.payload.get("evse")
            check(evse is not None and evse["id"] == evse_id, f"evse {evse}, want id {evse_id}")
        await station.respond(call, {"status": answer})  # 2.
        recorded: dict[str, Any] = await command
    check(recorded["status"] == "Answered", f"command recorded as {recorded['status']}")
    check(recorded["response"] == {"status": answer}, f"recorded answer {recorded['response']}")
    return recorded


def triggered_meter_value(wh: float) -> list[dict[str, Any]]:
    return [
        {
            "timestamp": now(),
            "sampledValue": [
                {"value": wh, "context": "Trigger", "measurand": "Energy.Active.Import.Register"}
            ],
        }
    ]


async def test_TC_F_11_CSMS(sut: Sut) -> None:
    """Trigger message - MeterValues - Specific EVSE (F06.FR.01, F06.FR.02)."""
    await sut.provision("CS-F11")
    async with sut.station("CS-F11") as station:
        await booted(station)
        await trigger(sut, station, "CS-F11", "MeterValues", evse_id=CONFIGURED.evse_id)
        answer = await station.send(  # 3-4.
            "MeterValues", {"evseId": CONFIGURED.evse_id, "meterValue": triggered_meter_value(1234)}
        )
        assert answer == {}
    stored = await sut.api.get("/stations/CS-F11/meter-values")
    assert [(m["evse_id"], m["context"], m["transaction_id"]) for m in stored] == [
        (CONFIGURED.evse_id, "Trigger", None)
    ]
    assert stored[0]["sampled_value"][0]["value"] == 1234


async def test_TC_F_12_CSMS(sut: Sut) -> None:
    """Trigger message - MeterValues - All EVSE (F06.FR.01)."""
    await sut.provision("CS-F12")
    async with sut.station("CS-F12") as station:
        await booted(station)
        recorded = await trigger(sut, station, "CS-F12", "MeterValues")
        assert "evse" not in recorded["payload"]
        # 3-4, for every EVSE. The step says "evseId omitted", but MeterValuesRequest requires
        # evseId, so the tool's station names each of its EVSEs (it has one).
        answer = await station.send(
            "MeterValues", {"evseId": CONFIGURED.evse_id, "meterValue": triggered_meter_value(55)}
        )
        assert answer == {}
    stored = await sut.api.get("/stations/CS-F12/meter-values")
    assert [(m["evse_id"], m["context"]) for m in stored] == [(CONFIGURED.evse_id, "Trigger")]


async def triggered_transaction_event(sut: Sut, station_id: str, *, evse_id: int | None) -> None:
    """TC_F_13 / TC_F_14: during EnergyTransferStarted, the operator triggers a TransactionEvent."""
    await ready(sut, station_id)
    async with sut.station(station_id) as station:
        await booted(station)
        tx = Tx()
        await energy_transfer_started(station, tx)  # Before
        await trigger(sut, station, station_id, "TransactionEvent", evse_id=evse_id)
        # 3-4. triggerReason Trigger, chargingState Charging, a meter value of context Trigger.
        tx.meter_wh += 500.0
        answer = await transaction_event(
            station,
            tx,
            "Updated",
            "Trigger",
            charging_state="Charging",
            evse=evse_id is not None,
            extra={"meterValue": triggered_meter_value(tx.meter_wh)},
        )
        check("idTokenInfo" not in answer, f"TransactionEventResponse {answer}")
    stored = await one_transaction(sut, station_id)
    assert stored["trigger_reason"] == "Trigger"
    assert stored["charging_state"] == "Charging"
    assert stored["meter_values"][-1]["context"] == "Trigger"
    assert stored["meter_values"][-1]["sampled_value"][0]["value"] == tx.meter_wh


async def test_TC_F_13_CSMS(sut: Sut) -> None:
    """Trigger message - TransactionEvent - Specific EVSE (F06.FR.01, F06.FR.02)."""
    await triggered_transaction_event(sut, "CS-F13", evse_id=CONFIGURED.evse_id)


async def test_TC_F_14_CSMS(sut: Sut) -> None:
    """Trigger message - TransactionEvent - All EVSE (F06.FR.01)."""
    await triggered_transaction_event(sut, "CS-F14", evse_id=None)


async def test_TC_F_15_CSMS(sut: Sut) -> None:
    """Trigger message - LogStatusNotification - Idle (F06.FR.01)."""
    await sut.provision("CS-F15")
    async with sut.station("CS-F15") as station:
        await booted(station)
        await trigger(sut, station, "CS-F15", "LogStatusNotification")
        answer = await station.send("LogStatusNotification", {"status": "Idle"})  # 3-4.
        assert answer == {}
    events = await sut.api.get("/stations/CS-F15/jobs/events", params={"reports_only": True})
    assert [(e["action"], e["status"]) for e in events["items"]] == [
        ("LogStatusNotification", "Idle")
    ]


async def test_TC_F_18_CSMS(sut: Sut) -> None:
    """Trigger message - FirmwareStatusNotification - Idle (F06.FR.01)."""
    await sut.provision("CS-F18")
    async with sut.station("CS-F18") as station:
        await booted(station)
        await trigger(sut, station, "CS-F18", "FirmwareStatusNotification")
        answer = await station.send("FirmwareStatusNotification", {"status": "Idle"})  # 3-4.
        assert answer == {}
    events = await sut.api.get("/stations/CS-F18/jobs/events", params={"reports_only": True})
    assert [(e["action"], e["status"]) for e in events["items"]] == [
        ("FirmwareStatusNotification", "Idle")
    ]


async def test_TC_F_20_CSMS(sut: Sut) -> None:
    """Trigger message - Heartbeat (F06.FR.01)."""
    await sut.provision("CS-F20")
    async with sut.station("CS-F20") as station:
        await booted(station)
        await trigger(sut, station, "CS-F20", "Heartbeat")
        answer = await station.send("Heartbeat", {})  # 3-4.
        check("currentTime" in answer, f"HeartbeatResponse {answer}")


async def connector_status(sut: Sut, station_id: str) -> str:
    """The status the CSMS keeps for the configured connector (GET /stations/{id})."""
    station = await sut.api.get(f"/stations/{station_id}")
    for evse in station["evses"]:
        if evse["evse_id"] == CONFIGURED.evse_id:
            for connector in evse["connectors"]:
                if connector["connector_id"] == CONFIGURED.connector_id:
                    status_: str = connector["status"]
                    return status_
    raise AssertionError(f"the CSMS knows no connector {CONFIGURED.evse_id}/1: {station}")


async def test_TC_F_23_CSMS(sut: Sut) -> None:
    """Trigger message - StatusNotification - Specific EVSE - Available (F06.FR.01, F06.FR.02,
    F06.FR.13)."""
    await sut.provision("CS-F23")
    async with sut.station("CS-F23") as station:
        await booted(station)
        await trigger(sut, station, "CS-F23", "StatusNotification", evse_id=CONFIGURED.evse_id)
        await connector_state(station, "Available")  # 3-4.
    assert await connector_status(sut, "CS-F23") == "Available"
    history = await sut.api.get("/stations/CS-F23/status-history")
    assert history[0]["status"] == "Available"
    assert len(history) == 2  # the boot's report and the triggered one


async def test_TC_F_24_CSMS(sut: Sut) -> None:
    """Trigger message - StatusNotification - Specific EVSE - Occupied (F06.FR.01, F06.FR.02,
    F06.FR.13)."""
    await sut.provision("CS-F24")
    async with sut.station("CS-F24") as station:
        await booted(station)
        await connector_state(station, "Occupied")  # 1-2.
        await trigger(sut, station, "CS-F24", "StatusNotification", evse_id=CONFIGURED.evse_id)
        await connector_state(station, "Occupied")  # 5-6.
    assert await connector_status(sut, "CS-F24") == "Occupied"
    history = await sut.api.get("/stations/CS-F24/status-history")
    assert [h["status"] for h in history][:2] == ["Occupied", "Occupied"]


async def test_TC_F_27_CSMS(sut: Sut) -> None:
    """Trigger message - NotImplemented (F06.FR.08)."""
    await sut.provision("CS-F27")
    async with sut.station("CS-F27") as station:
        await booted(station)
        # 1-2. The station does not implement the requested message: an answer, not an error.
        await trigger(
            sut, station, "CS-F27", "SignChargingStationCertificate", answer="NotImplemented"
        )
        await station.expect_nothing(0.5)
    log = await sut.api.get("/stations/CS-F27/commands")
    assert [(c["action"], c["response"]) for c in log["items"]] == [
        ("TriggerMessage", {"status": "NotImplemented"})
    ]
