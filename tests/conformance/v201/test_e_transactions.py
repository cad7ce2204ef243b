"""OCPP 2.0.1 Part 6 §3.6, E Transactions: the CSMS test cases TC_E_xx_CSMS.

The test tool plays the Charging Station over the wire; the "Manual Action" steps (remote stop,
GetTransactionStatus) are performed through the REST API, and what the CSMS stored of each
transaction (started, ended with its stoppedReason, meter values, the events in seqNo order) is
read back through ``/api/v1/transactions``.

The "<Configured Transaction Duration>" waits of the tool (EnergyTransferSuspended,
StopAuthorized, the offline periods of TC_E_29/31/33) only space the station's messages in time;
the CSMS cannot observe them except through the timestamps, so they are kept at zero here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable
from typing import Any

from tests.conformance.octt import Call, Station
from tests.conformance.sut import CONFIGURED, Sut
from tests.conformance.v201.states import (
    Tx,
    authorized,
    booted,
    check,
    connector_state,
    energy_transfer_started,
    energy_transfer_suspended,
    ev_connected_post_session,
    ev_connected_pre_session,
    ev_disconnected,
    id_token,
    stop_authorized,
    transaction_event,
)

# --- helpers -------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _booted_station(sut: Sut, station_id: str) -> AsyncIterator[Station]:
    """The station provisioned, the configured valid idToken known to the CSMS, connected and
    in Reusable State Booted (the starting point of every E test case)."""
    await sut.provision(station_id)
    await sut.add_token(CONFIGURED.valid_id_token)
    async with sut.station(station_id) as station:
        await booted(station)
        yield station
        # The scenario is over: the CSMS sent nothing it did not describe.
        await station.expect_nothing(0.1)


async def _manual(
    station: Station, request: Awaitable[Any], action: str, answer: dict[str, Any]
) -> tuple[Call, Any]:
    """A Manual Action through the API that makes the CSMS send ``action``: the tool answers it
    with ``answer``; returns the CALL and the API's result."""
    task = asyncio.ensure_future(request)
    try:
        call = await station.expect(action)
        await station.respond(call, answer)
        return call, await task
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


async def _stored(sut: Sut, station_id: str, tx: Tx) -> dict[str, Any]:
    """The CSMS's record of ``tx`` (detail view: meter values and events included)."""
    page = await sut.api.get("/transactions", params={"station_id": station_id})
    matches = [t for t in page["items"] if t["transaction_id"] == tx.transaction_id]
    assert len(matches) == 1, f"the CSMS stored {len(matches)} records of {tx.transaction_id}"
    detail: dict[str, Any] = await sut.api.get(f"/transactions/{matches[0]['id']}")
    return detail


def _expect_field(record: dict[str, Any], name: str, want: Any) -> None:
    """A post-scenario check of the stored transaction, naming the field that differs."""
    assert record[name] == want, (
        f"stored transaction {record['transaction_id']}: {name} is {record[name]!r}, want {want!r}"
    )


async def _assert_started(
    sut: Sut, station_id: str, tx: Tx, *, charging_state: str | None, token: bool = True
) -> dict[str, Any]:
    """The CSMS stored an open transaction on the configured EVSE with its latest state and
    every event the tool sent, in seqNo order."""
    record = await _stored(sut, station_id, tx)
    _expect_field(record, "status", "Active")
    _expect_field(record, "evse_id", tx.evse_id)
    _expect_field(record, "connector_id", tx.connector_id)
    _expect_field(record, "charging_state", charging_state)
    seq_nos = [e["seq_no"] for e in record["events"]]
    assert seq_nos == list(range(tx.seq_no)), f"stored events have seqNo {seq_nos}"
    if token:
        _expect_field(record, "id_token", CONFIGURED.valid_id_token)
        _expect_field(record, "auth_status", "Accepted")
    if tx.meter_wh:
        # The meter values sent so far are stored: the register series ends at the last reading.
        register = record["series"].get("Energy.Active.Import.Register", [])
        last = register[-1]["value"] if register else None
        assert last == tx.meter_wh, f"stored register ends at {last}, want {tx.meter_wh}"
        _expect_field(record, "energy_wh", tx.meter_wh - record["meter_start_wh"])
    return record


async def _assert_ended(
    sut: Sut, station_id: str, tx: Tx, *, stop_reason: str, charging_state: str | None = None
) -> dict[str, Any]:
    """The CSMS stored the transaction as ended by the station with ``stop_reason``; when the
    tool sent register readings, the energy is the last reading minus the first."""
    record = await _stored(sut, station_id, tx)
    _expect_field(record, "status", "Completed")
    _expect_field(record, "stop_source", "station")
    _expect_field(record, "stop_reason", stop_reason)
    assert record["stopped_at"] is not None, f"stored transaction without stopped_at: {record}"
    if charging_state is not None:
        _expect_field(record, "charging_state", charging_state)
    if tx.meter_wh:
        _expect_field(record, "meter_stop_wh", tx.meter_wh)
        _expect_field(record, "energy_wh", tx.meter_wh - record["meter_start_wh"])
    return record


async def _authorize(station: Station, token: dict[str, str]) -> None:
    """AuthorizeRequest with the token; the tool validation: idTokenInfo.status Accepted."""
    answer = await station.send("Authorize", {"idToken": token})
    status = answer["idTokenInfo"]["status"]
    check(status == "Accepted", f"AuthorizeResponse idTokenInfo.status {status}, want Accepted")


def _token_status(response: dict[str, Any]) -> str | None:
    status: str | None = response.get("idTokenInfo", {}).get("status")
    return status


# --- E01 start options ---------------------------------------------------------------------------


async def test_TC_E_01_CSMS(sut: Sut) -> None:
    """Start transaction options - PowerPathClosed (E01.FR.05)."""
    async with _booted_station(sut, "CS-E01") as station:
        tx = Tx(id_token=id_token())
        await _authorize(station, tx.id_token or {})  # 1-2
        await connector_state(station, "Occupied")  # 3-4
        response = await transaction_event(  # 5-6
            station,
            tx,
            "Started",
            "ChargingStateChanged",
            charging_state="SuspendedEVSE",
            with_token=True,
        )
        check(
            _token_status(response) == "Accepted",
            f"TransactionEventResponse idTokenInfo.status {_token_status(response)}, want Accepted",
        )
        await transaction_event(  # 7-8
            station, tx, "Updated", "ChargingStateChanged", charging_state="Charging"
        )
        await _assert_started(sut, "CS-E01", tx, charging_state="Charging")


async def test_TC_E_02_CSMS(sut: Sut) -> None:
    """Start transaction options - EnergyTransfer (E01.FR.06)."""
    async with _booted_station(sut, "CS-E02") as station:
        tx = Tx(id_token=id_token())
        await _authorize(station, tx.id_token or {})  # 1-2
        await connector_state(station, "Occupied")  # 3-4
        response = await transaction_event(  # 5-6
            station,
            tx,
            "Started",
            "ChargingStateChanged",
            charging_state="Charging",
            with_token=True,
        )
        check(
            _token_status(response) == "Accepted",
            f"TransactionEventResponse idTokenInfo.status {_token_status(response)}, want Accepted",
        )
        await _assert_started(sut, "CS-E02", tx, charging_state="Charging")


async def test_TC_E_09_CSMS(sut: Sut) -> None:
    """Start transaction options - EVConnected (E01.FR.02)."""
    async with _booted_station(sut, "CS-E09") as station:
        tx = Tx()
        await connector_state(station, "Occupied")  # 1-2
        response = await transaction_event(  # 3-4
            station, tx, "Started", "CablePluggedIn", charging_state="EVConnected"
        )
        check("idTokenInfo" not in response, f"idTokenInfo without an idToken: {response}")
        record = await _assert_started(sut, "CS-E09", tx, charging_state="EVConnected", token=False)
        assert record["id_token"] is None, record


async def test_TC_E_10_CSMS(sut: Sut) -> None:
    """Start transaction options - Authorized - Local (E01.FR.03)."""
    async with _booted_station(sut, "CS-E10") as station:
        tx = Tx(id_token=id_token())
        await _authorize(station, tx.id_token or {})  # 1-2
        response = await transaction_event(  # 3-4
            station, tx, "Started", "Authorized", with_token=True
        )
        check(
            _token_status(response) == "Accepted",
            f"TransactionEventResponse idTokenInfo.status {_token_status(response)}, want Accepted",
        )
        await _assert_started(sut, "CS-E10", tx, charging_state=None)


async def test_TC_E_11_CSMS(sut: Sut) -> None:
    """Start transaction options - DataSigned (E01.FR.04): the signed meter value is kept."""
    signed = {
        "signedMeterData": "T0NNRi1Mb2FkLTAuMC1PQ1RULVNJR05FRA==",
        "signingMethod": "ECDSA-secp256r1-SHA256",
        "encodingMethod": "OCMF",
        "publicKey": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEOCTT",
    }
    async with _booted_station(sut, "CS-E11") as station:
        tx = Tx(id_token=id_token())
        await _authorize(station, tx.id_token or {})  # 1-2
        await connector_state(station, "Occupied")  # 3-4
        begin = {
            "value": 0.0,
            "context": "Transaction.Begin",
            "measurand": "Energy.Active.Import.Register",
            "signedMeterValue": signed,
        }
        response = await transaction_event(  # 5-6
            station,
            tx,
            "Started",
            "SignedDataReceived",
            with_token=True,
            extra={"meterValue": [{"timestamp": "2024-01-01T00:00:00Z", "sampledValue": [begin]}]},
        )
        check(
            _token_status(response) == "Accepted",
            f"TransactionEventResponse idTokenInfo.status {_token_status(response)}, want Accepted",
        )
        await transaction_event(  # 7-8
            station, tx, "Updated", "ChargingStateChanged", charging_state="Charging"
        )
        record = await _assert_started(sut, "CS-E11", tx, charging_state="Charging")
        assert record["meter_start_wh"] == 0.0, record
        samples = [s for mv in record["meter_values"] for s in mv["sampled_value"]]
        assert [s.get("signedMeterValue") for s in samples] == [signed], samples


async def test_TC_E_12_CSMS(sut: Sut) -> None:
    """Start transaction options - ParkingBayOccupied (E01.FR.01)."""
    async with _booted_station(sut, "CS-E12") as station:
        tx = Tx()
        await transaction_event(station, tx, "Started", "EVDetected")  # 1-2
        record = await _assert_started(sut, "CS-E12", tx, charging_state=None, token=False)
        assert record["trigger_reason"] == "EVDetected", record


# --- E02 / E03 local start -----------------------------------------------------------------------


async def test_TC_E_03_CSMS(sut: Sut) -> None:
    """Local start transaction - Cable plugin first - Success (E02.FR.02)."""
    async with _booted_station(sut, "CS-E03") as station:
        tx = Tx()
        await ev_connected_pre_session(station, tx)  # Before: EVConnectedPreSession (Started)
        await authorized(station, tx)  # 1. Authorized (Updated)
        await energy_transfer_started(station, tx)  # 2. EnergyTransferStarted (part 2)
        await _assert_started(sut, "CS-E03", tx, charging_state="Charging")


async def test_TC_E_04_CSMS(sut: Sut) -> None:
    """Local start transaction - Authorization first - Success (E03.FR.02)."""
    async with _booted_station(sut, "CS-E04") as station:
        tx = Tx()
        await authorized(station, tx)  # 1. Authorized (Started)
        await energy_transfer_started(station, tx)  # 2. EnergyTransferStarted (parts 1 and 2)
        await _assert_started(sut, "CS-E04", tx, charging_state="Charging")


async def test_TC_E_38_CSMS(sut: Sut) -> None:
    """Local start transaction - EV not ready (E03)."""
    async with _booted_station(sut, "CS-E38") as station:
        tx = Tx()
        await authorized(station, tx)  # Before: Authorized
        await ev_connected_pre_session(station, tx)  # 1. EVConnectedPreSession (Updated)
        await transaction_event(  # 2-3
            station, tx, "Updated", "ChargingStateChanged", charging_state="SuspendedEV"
        )
        await _assert_started(sut, "CS-E38", tx, charging_state="SuspendedEV")


# --- E06 stop options ----------------------------------------------------------------------------


async def test_TC_E_39_CSMS(sut: Sut) -> None:
    """Stop transaction options - Deauthorized - timeout (E03.FR.05, E06.FR.04)."""
    async with _booted_station(sut, "CS-E39") as station:
        tx = Tx()
        await authorized(station, tx)  # Before: Authorized
        # 1-2, after the EV connection timeout.
        await transaction_event(station, tx, "Ended", "EVConnectTimeout", stopped_reason="Timeout")
        await _assert_ended(sut, "CS-E39", tx, stop_reason="Timeout")


async def test_TC_E_14_CSMS(sut: Sut) -> None:
    """Stop transaction options - EVDisconnected - Charging Station side (E06.FR.02)."""
    async with _booted_station(sut, "CS-E14") as station:
        tx = Tx()
        # Before: EVConnectedPostSession (Authorized, EnergyTransferStarted, StopAuthorized first).
        await energy_transfer_started(station, tx)
        await stop_authorized(station, tx)
        await ev_connected_post_session(station, tx)
        await ev_disconnected(station, tx)  # 1. EVDisconnected
        record = await _assert_ended(
            sut, "CS-E14", tx, stop_reason="EVDisconnected", charging_state="Idle"
        )
        assert record["stop_id_token"] == CONFIGURED.valid_id_token, record


async def test_TC_E_20_CSMS(sut: Sut) -> None:
    """Stop transaction options - EVDisconnected - EV side (able to charge IEC 61851-1 EV)
    (E06.FR.02, E10)."""
    async with _booted_station(sut, "CS-E20") as station:
        tx = Tx()
        await energy_transfer_started(station, tx)  # Before: EnergyTransferSuspended
        await energy_transfer_suspended(station, tx)
        # 1. EVDisconnected: the cable is pulled at the EV side while suspended, so the steps of
        # the state itself are played, not a stop authorization the case does not describe.
        await ev_disconnected(station, tx)
        await _assert_ended(sut, "CS-E20", tx, stop_reason="EVDisconnected", charging_state="Idle")


async def test_TC_E_15_CSMS(sut: Sut) -> None:
    """Stop transaction options - StopAuthorized - Local (E06.FR.03)."""
    async with _booted_station(sut, "CS-E15") as station:
        tx = Tx()
        await energy_transfer_started(station, tx)  # Before: EnergyTransferStarted
        await transaction_event(  # 1-2
            station, tx, "Ended", "StopAuthorized", stopped_reason="Local", with_token=True
        )
        record = await _assert_ended(sut, "CS-E15", tx, stop_reason="Local")
        assert record["stop_id_token"] == CONFIGURED.valid_id_token, record


async def test_TC_E_21_CSMS(sut: Sut) -> None:
    """Stop transaction options - StopAuthorized - Remote (E06.FR.03, F03.FR.01, F03.FR.09)."""
    async with _booted_station(sut, "CS-E21") as station:
        tx = Tx()
        await energy_transfer_started(station, tx)  # Before: EnergyTransferStarted
        # Manual Action: trigger the CSMS to stop the ongoing transaction; 1-2.
        call, command = await _manual(
            station,
            sut.api.post(
                "/stations/CS-E21/commands/remote-stop", {"transaction_id": tx.transaction_id}
            ),
            "RequestStopTransaction",
            {"status": "Accepted"},
        )
        check(
            call.payload.get("transactionId") == tx.transaction_id,
            f"RequestStopTransactionRequest transactionId {call.payload.get('transactionId')},"
            f" want {tx.transaction_id}",
        )
        assert command["status"] == "Answered", command
        assert command["response"] == {"status": "Accepted"}, command
        await transaction_event(  # 3-4
            station, tx, "Ended", "RemoteStop", stopped_reason="Remote", meter=True
        )
        await _assert_ended(sut, "CS-E21", tx, stop_reason="Remote")


async def test_TC_E_07_CSMS(sut: Sut) -> None:
    """Stop transaction options - PowerPathClosed - Local stop (E06.FR.06)."""
    async with _booted_station(sut, "CS-E07") as station:
        tx = Tx()
        await energy_transfer_started(station, tx)  # Before: EnergyTransferStarted
        await transaction_event(  # 1-2
            station, tx, "Ended", "StopAuthorized", stopped_reason="Local", with_token=True
        )
        record = await _assert_ended(sut, "CS-E07", tx, stop_reason="Local")
        assert record["stop_id_token"] == CONFIGURED.valid_id_token, record


async def test_TC_E_08_CSMS(sut: Sut) -> None:
    """Stop transaction options - EnergyTransfer stopped - StopAuthorized (E06.FR.07)."""
    async with _booted_station(sut, "CS-E08") as station:
        tx = Tx()
        await energy_transfer_started(station, tx)  # Before: StopAuthorized
        await stop_authorized(station, tx)
        await transaction_event(  # 1-2
            station,
            tx,
            "Ended",
            "ChargingStateChanged",
            charging_state="EVConnected",
            stopped_reason="Local",
        )
        await _assert_ended(sut, "CS-E08", tx, stop_reason="Local", charging_state="EVConnected")


async def test_TC_E_16_CSMS(sut: Sut) -> None:
    """Stop transaction options - Deauthorized - Invalid idToken (E06.FR.04, E01.FR.11,
    E01.FR.12). The configured invalid idToken is one the CSMS does not accept."""
    async with _booted_station(sut, "CS-E16") as station:
        tx = Tx(id_token=id_token(CONFIGURED.invalid_id_token))
        response = await transaction_event(  # 1-2
            station, tx, "Started", "Authorized", with_token=True
        )
        status = _token_status(response)
        check(
            status in ("Invalid", "Unknown"),
            f"TransactionEventResponse idTokenInfo.status {status}, want Invalid or Unknown",
        )
        await transaction_event(  # 3-4
            station, tx, "Ended", "Deauthorized", stopped_reason="DeAuthorized"
        )
        record = await _assert_ended(sut, "CS-E16", tx, stop_reason="DeAuthorized")
        assert record["id_token"] == CONFIGURED.invalid_id_token, record
        assert record["auth_status"] == status, record


async def test_TC_E_17_CSMS(sut: Sut) -> None:
    """Stop transaction options - Deauthorized - EV side disconnect (E06.FR.04)."""
    async with _booted_station(sut, "CS-E17") as station:
        tx = Tx()
        await energy_transfer_started(station, tx)  # Before: EnergyTransferSuspended
        await energy_transfer_suspended(station, tx)
        await transaction_event(  # 1-2
            station,
            tx,
            "Ended",
            "EVCommunicationLost",
            charging_state="Idle",
            stopped_reason="EVDisconnected",
        )
        await _assert_ended(sut, "CS-E17", tx, stop_reason="EVDisconnected", charging_state="Idle")


async def test_TC_E_22_CSMS(sut: Sut) -> None:
    """Stop transaction options - EnergyTransfer stopped - SuspendedEV (E06.FR.07)."""
    async with _booted_station(sut, "CS-E22") as station:
        tx = Tx()
        await energy_transfer_started(station, tx)  # Before: EnergyTransferStarted
        await transaction_event(  # 1-2
            station,
            tx,
            "Ended",
            "ChargingStateChanged",
            charging_state="SuspendedEV",
            stopped_reason="StoppedByEV",
        )
        await _assert_ended(
            sut, "CS-E22", tx, stop_reason="StoppedByEV", charging_state="SuspendedEV"
        )


async def test_TC_E_19_CSMS(sut: Sut) -> None:
    """Stop transaction options - ParkingBayUnoccupied (E06.FR.01).

    The Before state is Reusable State EVDisconnected, played as its table says (it already ends
    the transaction with stoppedReason EVDisconnected); step 1 then reports the EV leaving the
    bay with a second Ended event. The CSMS must answer both and keep both events; which of the
    two stoppedReasons the record shows is the CSMS's choice (OpenCSMS keeps the first Ended in
    seqNo order, E01.FR.16), so either is accepted here.
    """
    async with _booted_station(sut, "CS-E19") as station:
        tx = Tx()
        await energy_transfer_started(station, tx)  # Before: EVDisconnected
        await stop_authorized(station, tx)
        await ev_connected_post_session(station, tx)
        await ev_disconnected(station, tx)
        await transaction_event(  # 1-2
            station, tx, "Ended", "EVDeparted", stopped_reason="Local"
        )
        record = await _stored(sut, "CS-E19", tx)
        _expect_field(record, "status", "Completed")
        _expect_field(record, "stop_source", "station")
        assert record["stop_reason"] in ("EVDisconnected", "Local"), record
        assert [(e["event_type"], e["trigger_reason"]) for e in record["events"][-2:]] == [
            ("Ended", "EVCommunicationLost"),
            ("Ended", "EVDeparted"),
        ], record["events"]
        assert record["last_seq_no"] == tx.seq_no - 1, record


# --- E10 EV-side disconnect ----------------------------------------------------------------------


async def test_TC_E_26_CSMS(sut: Sut) -> None:
    """Disconnect cable on EV-side - Suspend transaction (E10.FR.01)."""
    async with _booted_station(sut, "CS-E26") as station:
        tx = Tx()
        await energy_transfer_started(station, tx)  # Before: EnergyTransferSuspended
        await energy_transfer_suspended(station, tx)
        await transaction_event(  # 1-2
            station, tx, "Updated", "EVCommunicationLost", charging_state="Idle"
        )
        await connector_state(station, "Available")  # 3-4
        await transaction_event(  # 5-6
            station, tx, "Updated", "CablePluggedIn", charging_state="EVConnected"
        )
        await transaction_event(  # 7-8
            station, tx, "Updated", "ChargingStateChanged", charging_state="Charging"
        )
        record = await _assert_started(sut, "CS-E26", tx, charging_state="Charging")
        assert record["stopped_at"] is None, record
        assert record["stop_reason"] is None, record


# --- E14 GetTransactionStatus --------------------------------------------------------------------


async def _get_transaction_status(
    sut: Sut, station: Station, payload: dict[str, Any], answer: dict[str, Any]
) -> Call:
    """Manual Action: the operator asks the CSMS for the transaction status (generic command);
    the tool answers with ``answer``, which the API returns."""
    call, command = await _manual(
        station,
        sut.api.call(station.station_id, "GetTransactionStatus", payload),
        "GetTransactionStatus",
        answer,
    )
    assert command["status"] == "Answered", command
    assert command["response"] == answer, command
    return call


async def test_TC_E_29_CSMS(sut: Sut) -> None:
    """Check Transaction status - Transaction with id ongoing - with message in queue
    (E14.FR.02, E14.FR.04)."""
    await sut.provision("CS-E29")
    await sut.add_token(CONFIGURED.valid_id_token)
    tx = Tx()
    async with sut.station("CS-E29") as station:
        await booted(station)
        await energy_transfer_started(station, tx)  # Before: EnergyTransferStarted
    # 1. The OCTT closes the WebSocket; 2. it reconnects (no BootNotification).
    async with sut.station("CS-E29") as station:
        call = await _get_transaction_status(  # 3-4
            sut,
            station,
            {"transactionId": tx.transaction_id},
            {"ongoingIndicator": True, "messagesInQueue": True},
        )
        check(
            call.payload.get("transactionId") == tx.transaction_id,
            f"GetTransactionStatusRequest transactionId {call.payload.get('transactionId')},"
            f" want {tx.transaction_id}",
        )
        await transaction_event(  # 5-6
            station, tx, "Updated", "MeterValuePeriodic", meter=True, extra={"offline": True}
        )
        await station.expect_nothing(0.1)
        record = await _assert_started(sut, "CS-E29", tx, charging_state="Charging")
        _expect_field(record, "offline", True)


async def test_TC_E_30_CSMS(sut: Sut) -> None:
    """Check Transaction status - Transaction with id ongoing - without message in queue
    (E14.FR.02, E14.FR.05)."""
    async with _booted_station(sut, "CS-E30") as station:
        tx = Tx()
        await energy_transfer_started(station, tx)  # Before: EnergyTransferStarted
        call = await _get_transaction_status(  # 1-2
            sut,
            station,
            {"transactionId": tx.transaction_id},
            {"ongoingIndicator": True, "messagesInQueue": False},
        )
        check(
            call.payload.get("transactionId") == tx.transaction_id,
            f"GetTransactionStatusRequest transactionId {call.payload.get('transactionId')},"
            f" want {tx.transaction_id}",
        )
        # The answer says the transaction goes on: the CSMS keeps it open.
        await _assert_started(sut, "CS-E30", tx, charging_state="Charging")


async def test_TC_E_31_CSMS(sut: Sut) -> None:
    """Check Transaction status - Transaction with id ended - with message in queue
    (E14.FR.03, E14.FR.04). The two queued events arrive after the Ended event whose seqNo
    skipped them; the record is the fold in seqNo order (E01.FR.16)."""
    await sut.provision("CS-E31")
    await sut.add_token(CONFIGURED.valid_id_token)
    tx = Tx()
    async with sut.station("CS-E31") as station:
        await booted(station)
        await energy_transfer_started(station, tx)  # Before: EnergyTransferStarted
    # 1. The OCTT closes the WebSocket; 2. it reconnects (no BootNotification).
    async with sut.station("CS-E31") as station:
        skipped = tx.seq_no
        tx.seq_no += 2
        await transaction_event(  # 3-4: seqNo skips two values
            station,
            tx,
            "Ended",
            "EVCommunicationLost",
            charging_state="Idle",
            extra={"offline": True},
        )
        call = await _get_transaction_status(  # 5-6
            sut,
            station,
            {"transactionId": tx.transaction_id},
            {"ongoingIndicator": False, "messagesInQueue": True},
        )
        check(
            call.payload.get("transactionId") == tx.transaction_id,
            f"GetTransactionStatusRequest transactionId {call.payload.get('transactionId')},"
            f" want {tx.transaction_id}",
        )
        last = tx.seq_no
        tx.seq_no = skipped
        await transaction_event(  # 7-8: the first skipped seqNo
            station, tx, "Updated", "StopAuthorized", with_token=True, extra={"offline": True}
        )
        await transaction_event(  # 9-10: the second skipped seqNo
            station,
            tx,
            "Updated",
            "ChargingStateChanged",
            charging_state="EVConnected",
            extra={"offline": True},
        )
        tx.seq_no = last
        await station.expect_nothing(0.1)
        # Ended without stoppedReason: Local (TransactionType.stoppedReason); the latest state
        # by seqNo is the Ended event's Idle, not the late EVConnected.
        record = await _assert_ended(sut, "CS-E31", tx, stop_reason="Local", charging_state="Idle")
        _expect_field(record, "offline", True)
        assert record["stop_id_token"] == CONFIGURED.valid_id_token, record
        assert record["trigger_reason"] == "EVCommunicationLost", record
        assert [e["seq_no"] for e in record["events"]] == list(range(last)), record["events"]


async def test_TC_E_33_CSMS(sut: Sut) -> None:
    """Check Transaction status - Without transactionId - with message in queue (E14.FR.06,
    E14.FR.07)."""
    await sut.provision("CS-E33")
    await sut.add_token(CONFIGURED.valid_id_token)
    tx = Tx()
    async with sut.station("CS-E33") as station:
        await booted(station)
        await energy_transfer_started(station, tx)  # Before: EnergyTransferStarted
    # 1. The OCTT closes the WebSocket; 2. it reconnects (no BootNotification).
    async with sut.station("CS-E33") as station:
        call = await _get_transaction_status(sut, station, {}, {"messagesInQueue": True})  # 3-4
        check(
            "transactionId" not in call.payload,
            f"GetTransactionStatusRequest must omit transactionId: {call.payload}",
        )
        await transaction_event(  # 5-6
            station, tx, "Updated", "MeterValuePeriodic", meter=True, extra={"offline": True}
        )
        await station.expect_nothing(0.1)
        record = await _assert_started(sut, "CS-E33", tx, charging_state="Charging")
        _expect_field(record, "offline", True)


async def test_TC_E_34_CSMS(sut: Sut) -> None:
    """Check Transaction status - Without transactionId - without message in queue
    (E14.FR.06, E14.FR.08)."""
    async with _booted_station(sut, "CS-E34") as station:
        call = await _get_transaction_status(sut, station, {}, {"messagesInQueue": False})  # 1-2
        check(
            "transactionId" not in call.payload,
            f"GetTransactionStatusRequest must omit transactionId: {call.payload}",
        )


# --- E01.FR.07 seqNo -----------------------------------------------------------------------------


async def test_TC_E_53_CSMS(sut: Sut) -> None:
    """Reset Sequence Number - CSMS accepting seqNo = 0 at start of transaction (E01.FR.07)."""
    async with _booted_station(sut, "CS-E53") as station:
        sessions = [Tx(), Tx()]
        for tx in sessions:
            # 1 / 3. EnergyTransferStarted: the new transaction's Started event has seqNo 0.
            await energy_transfer_started(station, tx)
            # 2 / 4. EVDisconnected (StopAuthorized and EVConnectedPostSession before it).
            await stop_authorized(station, tx)
            await ev_connected_post_session(station, tx)
            await ev_disconnected(station, tx)
        for tx in sessions:
            record = await _assert_ended(sut, "CS-E53", tx, stop_reason="EVDisconnected")
            events = record["events"]
            assert events[0]["seq_no"] == 0, events
            assert events[0]["event_type"] == "Started", events
            assert [e["seq_no"] for e in events] == list(range(tx.seq_no)), events
