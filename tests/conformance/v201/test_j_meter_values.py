"""OCPP 2.0.1 Part 6 §3.11, J Meter Values: the CSMS test cases TC_J_xx_CSMS.

The CSMS only has to answer these messages; what the test cases imply it keeps — every sample as
the station sent it, signed meter data included (J01.FR.21, J02.FR.21), with or without a
transaction — is checked through the API: ``GET /api/v1/stations/{id}/meter-values`` and
``GET /api/v1/transactions/{id}`` (docs/transactions.md).

"This step will be executed every <Configured ... interval>": the tool's station does not wait for
the interval, it stamps its samples as a station would have, one interval apart (the CSMS keeps
station time and trusts it for nothing else).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conformance.octt import Station
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

INTERVAL = timedelta(seconds=900)
"""The configured clock-aligned / sampled Meter Values interval of the tool's station."""

SIGNED = {
    "signedMeterData": "T0NNRnx7IkZWIjoiMS4wIiwiUEciOiJUMSJ9fHsiU0QiOiIzMDQ0In0=",
    "signingMethod": "ECDSA-secp256r1-SHA256",
    "encodingMethod": "OCMF",
    "publicKey": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEq2yIsqGtWbl0pJ0dZXvd",
}
"""A <Generated SignedMeterValueType>: what matters is that the CSMS keeps it as sent."""


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def aligned(count: int) -> list[datetime]:
    """``count`` clock-aligned moments one INTERVAL apart, the last one the latest boundary."""
    seconds = INTERVAL.total_seconds()
    latest = datetime.fromtimestamp(datetime.now(UTC).timestamp() // seconds * seconds, UTC)
    return [latest - INTERVAL * (count - 1 - k) for k in range(count)]


def meter_value(
    moment: datetime, wh: float, context: str, *, signed: bool = False
) -> dict[str, Any]:
    sample: dict[str, Any] = {
        "value": wh,
        "context": context,
        "measurand": "Energy.Active.Import.Register",
        "unitOfMeasure": {"unit": "Wh"},
    }
    if signed:
        sample["signedMeterValue"] = SIGNED
    return {"timestamp": stamp(moment), "sampledValue": [sample]}


async def fiscal_metering_event(station: Station, moment: datetime, wh: float) -> None:
    """The NotifyEventRequest beside clock-aligned MeterValues: trigger Periodic, component
    FiscalMetering."""
    await station.send(
        "NotifyEvent",
        {
            "generatedAt": stamp(moment),
            "seqNo": 0,
            "eventData": [
                {
                    "eventId": int(moment.timestamp()) % 100_000,
                    "timestamp": stamp(moment),
                    "trigger": "Periodic",
                    "actualValue": str(wh),
                    "eventNotificationType": "HardWiredMonitor",
                    "component": {"name": "FiscalMetering"},
                    "variable": {"name": "EnergyImportRegister"},
                }
            ],
        },
    )


async def clock_aligned(station: Station, moment: datetime, evse_id: int, wh: float) -> None:
    """Step 1-2 of TC_J_01 / TC_J_02: MeterValues (Sample.Clock) and NotifyEvent for one EVSE."""
    answer = await station.send(
        "MeterValues", {"evseId": evse_id, "meterValue": [meter_value(moment, wh, "Sample.Clock")]}
    )
    check(answer == {}, f"MeterValuesResponse {answer}")
    await fiscal_metering_event(station, moment, wh)


async def station_values(sut: Sut, station_id: str) -> list[dict[str, Any]]:
    """The station's stored meter values, oldest first."""
    stored: list[dict[str, Any]] = await sut.api.get(f"/stations/{station_id}/meter-values")
    return sorted(stored, key=lambda m: (m["timestamp"], m["evse_id"]))


async def the_transaction(sut: Sut, station_id: str) -> dict[str, Any]:
    page = await sut.api.get("/transactions", params={"station_id": station_id})
    check(page["total"] == 1, f"want one session of {station_id}, the CSMS has {page['total']}")
    detail: dict[str, Any] = await sut.api.get(f"/transactions/{page['items'][0]['id']}")
    return detail


def gaps(timestamps: list[str]) -> set[timedelta]:
    moments = [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in timestamps]
    return {b - a for a, b in itertools.pairwise(moments)}


async def ready(sut: Sut, station_id: str) -> None:
    await sut.provision(station_id)
    await sut.add_token(CONFIGURED.valid_id_token)


async def test_TC_J_01_CSMS(sut: Sut) -> None:
    """Clock-aligned Meter Values - No transaction ongoing (J01.FR.18)."""
    await sut.provision("CS-J01")
    async with sut.station("CS-J01") as station:
        await booted(station)
        # 1-2, every interval, for evseId 0 and every EVSE; the tool stops after three.
        for k, moment in enumerate(aligned(3)):
            for evse_id in (0, CONFIGURED.evse_id):
                await clock_aligned(station, moment, evse_id, 10_000.0 + 100 * k + evse_id)
    stored = await station_values(sut, "CS-J01")
    assert [(m["evse_id"], m["context"], m["transaction_id"]) for m in stored] == [
        (evse, "Sample.Clock", None) for _ in range(3) for evse in (0, CONFIGURED.evse_id)
    ]
    assert gaps([m["timestamp"] for m in stored if m["evse_id"] == 0]) == {INTERVAL}
    assert stored[-1]["sampled_value"][0]["value"] == 10_201.0
    events = await sut.api.get("/stations/CS-J01/events")
    fiscal = [e for e in events["items"] if e["component"]["name"] == "FiscalMetering"]
    assert len(fiscal) == 3
    assert {e["trigger"] for e in fiscal} == {"Periodic"}


async def test_TC_J_02_CSMS(sut: Sut) -> None:
    """Clock-aligned Meter Values - Transaction ongoing (J01.FR.18)."""
    await ready(sut, "CS-J02")
    async with sut.station("CS-J02") as station:
        await booted(station)
        tx = Tx()
        await energy_transfer_started(station, tx)  # Before
        for k, moment in enumerate(aligned(3)):
            # 1-2. evseId 0 and the idle EVSEs (the configured one is charging).
            await clock_aligned(station, moment, 0, 50_000.0 + 100 * k)
            # 3-4. The transaction's clock-aligned values.
            tx.meter_wh += 250.0
            await transaction_event(
                station,
                tx,
                "Updated",
                "MeterValueClock",
                extra={
                    "timestamp": stamp(moment),
                    "meterValue": [meter_value(moment, tx.meter_wh, "Sample.Clock")],
                },
            )
    session = await the_transaction(sut, "CS-J02")
    clock = [m for m in session["meter_values"] if m["context"] == "Sample.Clock"]
    assert len(clock) == 3
    assert gaps([m["timestamp"] for m in clock]) == {INTERVAL}
    assert [e["trigger_reason"] for e in session["events"]][-3:] == ["MeterValueClock"] * 3
    grid = [m for m in await station_values(sut, "CS-J02") if m["transaction_id"] is None]
    assert [(m["evse_id"], m["context"]) for m in grid] == [(0, "Sample.Clock")] * 3


async def ended_with_readings(
    sut: Sut, station_id: str, context: str, *, signed: bool
) -> dict[str, Any]:
    """TC_J_03/04/10/11: EnergyTransferStarted, then EVDisconnected whose Ended event carries the
    readings of the transaction (``context`` one interval apart, the last Transaction.End)."""
    await ready(sut, station_id)
    async with sut.station(station_id) as station:
        await booted(station)
        tx = Tx()
        await energy_transfer_started(station, tx)  # Before
        # 1. Reusable State EVDisconnected, after the configured transaction duration: the
        # readings are stamped from the start of the session on, one interval apart.
        start = datetime.now(UTC)
        readings = [
            meter_value(start + INTERVAL * k, tx.meter_wh + 1000.0 * k, context, signed=signed)
            for k in range(1, 4)
        ]
        end = start + INTERVAL * 3 + timedelta(seconds=30)
        final_wh = tx.meter_wh + 3500.0
        readings.append(meter_value(end, final_wh, "Transaction.End", signed=signed))
        await connector_state(station, "Available")
        tx.ev_connected = False
        answer = await transaction_event(
            station,
            tx,
            "Ended",
            "EVCommunicationLost",
            charging_state="Idle",
            stopped_reason="EVDisconnected",
            extra={"timestamp": stamp(end), "meterValue": readings},
        )
        check("idTokenInfo" not in answer, f"TransactionEventResponse {answer}")
    session = await the_transaction(sut, station_id)
    assert session["status"] == "Completed"
    assert session["stop_reason"] == "EVDisconnected"
    assert session["meter_stop_wh"] == final_wh
    assert session["energy_wh"] == final_wh - session["meter_start_wh"]
    sent = [r["sampledValue"] for r in readings]
    stored = [m["sampled_value"] for m in session["meter_values"]][-len(sent) :]
    assert stored == sent, "the CSMS did not keep the Ended event's readings as sent"
    assert [m["context"] for m in session["meter_values"]][-4:] == [context] * 3 + [
        "Transaction.End"
    ]
    assert gaps([m["timestamp"] for m in session["meter_values"]][-4:-1]) == {INTERVAL}
    return session


async def test_TC_J_03_CSMS(sut: Sut) -> None:
    """Clock-aligned Meter Values - EventType Ended (J01.FR.18)."""
    await ended_with_readings(sut, "CS-J03", "Sample.Clock", signed=False)


async def test_TC_J_04_CSMS(sut: Sut) -> None:
    """Clock-aligned Meter Values - Signed (J01.FR.21): the signed meter data is kept."""
    session = await ended_with_readings(sut, "CS-J04", "Sample.Clock", signed=True)
    for reading in session["meter_values"][-4:]:
        assert reading["sampled_value"][0]["signedMeterValue"] == SIGNED


async def test_TC_J_07_CSMS(sut: Sut) -> None:
    """Sampled Meter Values - EventType Started - EVSE known (J02.FR.19)."""
    await ready(sut, "CS-J07")
    async with sut.station("CS-J07") as station:
        await booted(station)
        tx = Tx()
        # 1. EVConnectedPreSession: the Started event carries a Transaction.Begin reading.
        await ev_connected_pre_session(station, tx)
    session = await the_transaction(sut, "CS-J07")
    assert session["evse_id"] == CONFIGURED.evse_id
    assert [m["context"] for m in session["meter_values"]] == ["Transaction.Begin"]
    assert session["meter_start_wh"] == tx.meter_wh


async def test_TC_J_08_CSMS(sut: Sut) -> None:
    """Sampled Meter Values - Context Transaction.Begin - EVSE not known (J02.FR.19)."""
    await ready(sut, "CS-J08")
    async with sut.station("CS-J08") as station:
        await booted(station)
        tx = Tx()
        # 1. Authorized, before any EVSE is chosen: the Started event names no EVSE.
        tx.id_token = id_token()
        answer = await station.send("Authorize", {"idToken": tx.id_token})
        check(answer["idTokenInfo"]["status"] == "Accepted", f"AuthorizeResponse {answer}")
        response = await transaction_event(
            station, tx, "Started", "Authorized", with_token=True, evse=False
        )
        check(
            response.get("idTokenInfo", {}).get("status") == "Accepted",
            f"TransactionEventResponse {response}",
        )
        tx.authorized = True
        # 2. EVConnectedPreSession: now the EVSE is known, with a Transaction.Begin reading.
        await connector_state(station, "Occupied")
        begin_wh = 7_000.0
        tx.meter_wh = begin_wh
        await transaction_event(
            station,
            tx,
            "Updated",
            "CablePluggedIn",
            charging_state="EVConnected",
            extra={"meterValue": [meter_value(datetime.now(UTC), begin_wh, "Transaction.Begin")]},
        )
        tx.ev_connected = True
        await energy_transfer_started(station, tx)  # 3.
    session = await the_transaction(sut, "CS-J08")
    assert session["evse_id"] == CONFIGURED.evse_id
    assert session["connector_id"] == CONFIGURED.connector_id
    assert session["charging_state"] == "Charging"
    assert session["meter_values"][0]["context"] == "Transaction.Begin"
    assert session["meter_values"][0]["evse_id"] == CONFIGURED.evse_id
    assert session["meter_start_wh"] == begin_wh


async def test_TC_J_09_CSMS(sut: Sut) -> None:
    """Sampled Meter Values - EventType Updated (J02.FR.19)."""
    await ready(sut, "CS-J09")
    async with sut.station("CS-J09") as station:
        await booted(station)
        tx = Tx()
        await energy_transfer_started(station, tx)  # Before
        start = datetime.now(UTC)
        for k in range(1, 4):  # 1-2, every sampled interval; the tool stops after three.
            moment = start + INTERVAL * k
            tx.meter_wh += 1000.0
            answer = await transaction_event(
                station,
                tx,
                "Updated",
                "MeterValuePeriodic",
                extra={
                    "timestamp": stamp(moment),
                    "meterValue": [meter_value(moment, tx.meter_wh, "Sample.Periodic")],
                },
            )
            check("idTokenInfo" not in answer, f"TransactionEventResponse {answer}")
    session = await the_transaction(sut, "CS-J09")
    periodic = session["meter_values"][-3:]
    assert [m["context"] for m in periodic] == ["Sample.Periodic"] * 3
    assert gaps([m["timestamp"] for m in periodic]) == {INTERVAL}
    assert [e["trigger_reason"] for e in session["events"]][-3:] == ["MeterValuePeriodic"] * 3
    energy = session["series"]["Energy.Active.Import.Register"]
    assert energy[-1]["value"] == tx.meter_wh
    assert session["energy_wh"] == tx.meter_wh - session["meter_start_wh"]


async def test_TC_J_10_CSMS(sut: Sut) -> None:
    """Sampled Meter Values - EventType Ended (J02.FR.19)."""
    await ended_with_readings(sut, "CS-J10", "Sample.Periodic", signed=False)


async def test_TC_J_11_CSMS(sut: Sut) -> None:
    """Sampled Meter Values - Signed (J02.FR.21): the signed meter data is kept."""
    session = await ended_with_readings(sut, "CS-J11", "Sample.Periodic", signed=True)
    for reading in session["meter_values"][-4:]:
        assert reading["sampled_value"][0]["signedMeterValue"] == SIGNED
