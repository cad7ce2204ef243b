"""OCPP 2.0.1 Part 6 §3.8, G Availability: the CSMS test cases TC_G_xx_CSMS (G03 change
availability of an EVSE or connector, G04 of the station, G05 lock failure).

The "Manual Action" of each case is the operator's ``POST /stations/{id}/commands/availability``
(docs/commands.md); the state the station then reports is checked through ``GET /stations/{id}``.
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
    availability_event,
    booted,
    check,
    connector_state,
    energy_transfer_started,
    ev_connected_post_session,
    ev_disconnected,
    status,
    stop_authorized,
)

EVSE = CONFIGURED.evse_id
CONNECTOR = CONFIGURED.connector_id


@contextlib.asynccontextmanager
async def _connected(sut: Sut, station_id: str, *, evses: int = 1) -> AsyncIterator[Station]:
    await sut.provision(station_id)
    await sut.add_token(CONFIGURED.valid_id_token)  # the driver of the sessions
    async with sut.station(station_id) as station:
        await booted(station, evses=evses)
        yield station
        # The OCTT fails a test case on a message its scenario does not expect.
        unexpected = [c.action for c in station.received if c.action != "ChangeAvailability"]
        check(not unexpected, f"the CSMS sent messages the scenario does not expect: {unexpected}")


async def _change_availability(
    sut: Sut, station: Station, body: dict[str, Any], answer: str
) -> dict[str, Any]:
    """Manual Action: the operator asks for ``body``; 1. the CSMS sends ChangeAvailabilityRequest,
    2. the OCTT responds with ``answer``. Returns the request's payload."""
    request: Coroutine[Any, Any, Any] = sut.api.post(
        f"/stations/{station.station_id}/commands/availability", body
    )
    async with asyncio.TaskGroup() as group:
        api = group.create_task(request)
        call = await station.expect("ChangeAvailability")
        await station.respond(call, {"status": answer})
    command = api.result()
    assert command["status"] == "Answered", f"the command was not answered: {command}"
    assert command["response"]["status"] == answer, f"the API reported {command['response']}"
    return call.payload


def _check_request(
    payload: dict[str, Any], operational: str, evse: dict[str, int] | None, step: int = 1
) -> None:
    """Tool validation of ChangeAvailabilityRequest: operationalStatus and evse (None: omitted)."""
    check(
        payload["operationalStatus"] == operational,
        f"step {step}: ChangeAvailabilityRequest operationalStatus "
        f"{payload['operationalStatus']}, want {operational}",
    )
    check(
        payload.get("evse") == evse,
        f"step {step}: ChangeAvailabilityRequest evse {payload.get('evse')}, want "
        f"{'omitted' if evse is None else evse}",
    )


async def _connector_statuses(sut: Sut, station_id: str) -> dict[tuple[int, int], str]:
    """What the CSMS stored of each connector's last StatusNotification."""
    station = await sut.api.get(f"/stations/{station_id}")
    return {
        (evse["evse_id"], connector["connector_id"]): connector["status"]
        for evse in station["evses"]
        for connector in evse["connectors"]
    }


async def _assert_statuses(sut: Sut, station_id: str, want: dict[tuple[int, int], str]) -> None:
    stored = await _connector_statuses(sut, station_id)
    for key, value in want.items():
        assert stored.get(key) == value, (
            f"the CSMS shows EVSE {key[0]} connector {key[1]} as {stored.get(key)}, want {value}"
        )


async def _unavailable_evse(sut: Sut, station: Station) -> None:
    """Reusable State Unavailable for <Configured evseId> (Table 392)."""
    payload = await _change_availability(
        sut, station, {"operative": False, "evse_id": EVSE}, "Accepted"
    )
    # Step 1: operationalStatus Inoperative, evse <Specified evseId>, connectorId omitted
    _check_request(payload, "Inoperative", {"id": EVSE})
    # 3./4. every connector of the EVSE reports Unavailable
    await connector_state(station, "Unavailable", evse_id=EVSE, connector_id=CONNECTOR)


async def test_TC_G_03_CSMS(sut: Sut) -> None:
    """Change Availability EVSE - Operative to inoperative (G03)."""
    async with _connected(sut, "CS-G03") as station:
        await _unavailable_evse(sut, station)  # 1. Reusable State Unavailable
        await _assert_statuses(sut, "CS-G03", {(EVSE, CONNECTOR): "Unavailable"})


async def test_TC_G_04_CSMS(sut: Sut) -> None:
    """Change Availability EVSE - Inoperative to operative (G03)."""
    async with _connected(sut, "CS-G04") as station:
        await _unavailable_evse(sut, station)  # Memory State: Unavailable for <evseId>
        # Manual Action: make the EVSE Operative → 1./2.
        payload = await _change_availability(
            sut, station, {"operative": True, "evse_id": EVSE}, "Accepted"
        )
        # Step 1: operationalStatus Operative, evse.id <evseId>, connectorId omitted
        _check_request(payload, "Operative", {"id": EVSE})
        # 3./4. StatusNotification Available and NotifyEvent AvailabilityState Available
        await connector_state(station, "Available", evse_id=EVSE, connector_id=CONNECTOR)
        await _assert_statuses(sut, "CS-G04", {(EVSE, CONNECTOR): "Available"})


async def _station_inoperative(sut: Sut, station: Station) -> None:
    """G04: the whole station made Inoperative, every connector reports Unavailable."""
    payload = await _change_availability(sut, station, {"operative": False}, "Accepted")
    # Step 1: operationalStatus Inoperative, evse omitted
    _check_request(payload, "Inoperative", None)
    # 3./4. the state of all connectors
    await connector_state(station, "Unavailable", evse_id=EVSE, connector_id=CONNECTOR)


async def test_TC_G_05_CSMS(sut: Sut) -> None:
    """Change Availability Charging Station - Operative to inoperative (G04)."""
    async with _connected(sut, "CS-G05") as station:
        await _station_inoperative(sut, station)
        await _assert_statuses(sut, "CS-G05", {(EVSE, CONNECTOR): "Unavailable"})


async def test_TC_G_06_CSMS(sut: Sut) -> None:
    """Change Availability Charging Station - Inoperative to operative (G04).

    The table's Manual Action says "to Inoperative", its tool validation operationalStatus
    Operative (the test case's name): the operator asks for Operative."""
    async with _connected(sut, "CS-G06") as station:
        # Reusable State: Charging Station set to Unavailable (original status Available)
        await _station_inoperative(sut, station)
        payload = await _change_availability(sut, station, {"operative": True}, "Accepted")
        # Step 1: operationalStatus Operative, evse omitted
        _check_request(payload, "Operative", None)
        # 3./4. all connectors Available
        await connector_state(station, "Available", evse_id=EVSE, connector_id=CONNECTOR)
        await _assert_statuses(sut, "CS-G06", {(EVSE, CONNECTOR): "Available"})


async def _connector_inoperative(sut: Sut, station: Station) -> None:
    payload = await _change_availability(
        sut,
        station,
        {"operative": False, "evse_id": EVSE, "connector_id": CONNECTOR},
        "Accepted",
    )
    # Step 1: operationalStatus Inoperative, evse.id <evseId>, evse.connectorId <connectorId>
    _check_request(payload, "Inoperative", {"id": EVSE, "connectorId": CONNECTOR})
    # 3./4. the state of the connector
    await connector_state(station, "Unavailable", evse_id=EVSE, connector_id=CONNECTOR)


async def test_TC_G_07_CSMS(sut: Sut) -> None:
    """Change Availability Connector - Operative to inoperative (G03)."""
    async with _connected(sut, "CS-G07") as station:
        await _connector_inoperative(sut, station)
        await _assert_statuses(sut, "CS-G07", {(EVSE, CONNECTOR): "Unavailable"})


async def test_TC_G_08_CSMS(sut: Sut) -> None:
    """Change Availability Connector - Inoperative to operative (G03)."""
    async with _connected(sut, "CS-G08") as station:
        await _connector_inoperative(sut, station)  # Memory State: Unavailable for <connectorId>
        payload = await _change_availability(
            sut,
            station,
            {"operative": True, "evse_id": EVSE, "connector_id": CONNECTOR},
            "Accepted",
        )
        # Step 1: operationalStatus Operative, evse.id <evseId>, evse.connectorId <connectorId>
        _check_request(payload, "Operative", {"id": EVSE, "connectorId": CONNECTOR})
        # 3./4. the state of the connector
        await connector_state(station, "Available", evse_id=EVSE, connector_id=CONNECTOR)
        await _assert_statuses(sut, "CS-G08", {(EVSE, CONNECTOR): "Available"})


async def _finish_session(station: Station, tx: Tx) -> None:
    """Wait for <Configured Transaction Duration>, then StopAuthorized, EVConnectedPostSession,
    EVDisconnected (the tool's duration is not the CSMS's business: no wait)."""
    await stop_authorized(station, tx)
    await ev_connected_post_session(station, tx)
    await ev_disconnected(station, tx)


async def test_TC_G_11_CSMS(sut: Sut) -> None:
    """Change Availability EVSE - With ongoing transaction (G03): Scheduled until the session
    ends."""
    async with _connected(sut, "CS-G11") as station:
        tx = Tx()
        await energy_transfer_started(station, tx)  # State is EnergyTransferStarted
        payload = await _change_availability(
            sut, station, {"operative": False, "evse_id": EVSE}, "Scheduled"
        )
        # Step 1: operationalStatus Inoperative, evse.id <evseId>, connectorId omitted
        _check_request(payload, "Inoperative", {"id": EVSE})
        await _finish_session(station, tx)  # 3.-5.
        # 6./7. StatusNotification Unavailable (or the NotifyEvent): the tool sends both.
        await status(station, "Unavailable", evse_id=EVSE, connector_id=CONNECTOR)
        await availability_event(station, "Unavailable", evse_id=EVSE, connector_id=CONNECTOR)
        # Post scenario: every connector's state was answered, and is known to the CSMS.
        await _assert_statuses(sut, "CS-G11", {(EVSE, CONNECTOR): "Unavailable"})
        page = await sut.api.get("/transactions", params={"station_id": "CS-G11"})
        assert [t["status"] for t in page["items"]] == ["Completed"], page["items"]


async def test_TC_G_14_CSMS(sut: Sut) -> None:
    """Change Availability Charging Station - With ongoing transaction (G04): the free
    connectors become Unavailable at once, the busy one when its session ends. The station has
    two EVSEs so that there is an unoccupied connector to report at step 3."""
    async with _connected(sut, "CS-G14", evses=2) as station:
        tx = Tx()
        await energy_transfer_started(station, tx)  # State is EnergyTransferStarted (EVSE 1)
        payload = await _change_availability(sut, station, {"operative": False}, "Scheduled")
        # Step 1: operationalStatus Inoperative, evse omitted
        _check_request(payload, "Inoperative", None)
        # 3./4. all unoccupied connectors: StatusNotification Unavailable
        await status(station, "Unavailable", evse_id=2, connector_id=1)
        await _finish_session(station, tx)  # 5.-7.
        # 8./9. the configured connector: StatusNotification Unavailable
        await status(station, "Unavailable", evse_id=EVSE, connector_id=CONNECTOR)
        await _assert_statuses(
            sut, "CS-G14", {(EVSE, CONNECTOR): "Unavailable", (2, 1): "Unavailable"}
        )


async def test_TC_G_17_CSMS(sut: Sut) -> None:
    """Change Availability Connector - With ongoing transaction (G03)."""
    async with _connected(sut, "CS-G17") as station:
        tx = Tx()
        await energy_transfer_started(station, tx)  # State is EnergyTransferStarted
        payload = await _change_availability(
            sut,
            station,
            {"operative": False, "evse_id": EVSE, "connector_id": CONNECTOR},
            "Scheduled",
        )
        # Step 1: operationalStatus Inoperative, evse.id <evseId>, evse.connectorId <connectorId>
        _check_request(payload, "Inoperative", {"id": EVSE, "connectorId": CONNECTOR})
        await _finish_session(station, tx)  # 3.-5.
        # 6./7. StatusNotification Unavailable for the connector
        await status(station, "Unavailable", evse_id=EVSE, connector_id=CONNECTOR)
        await _assert_statuses(sut, "CS-G17", {(EVSE, CONNECTOR): "Unavailable"})


async def test_TC_G_20_CSMS(sut: Sut) -> None:
    """Connector status Notification - Lock Failure (G05.FR.03): the CSMS answers the
    NotifyEvent of ConnectorPlugRetentionLock.Problem and keeps it."""
    async with _connected(sut, "CS-G20") as station:
        # 1. NotifyEventRequest trigger Delta, ConnectorPlugRetentionLock Problem "true"
        response = await station.send(
            "NotifyEvent",
            {
                "generatedAt": now(),
                "seqNo": 0,
                "eventData": [
                    {
                        "eventId": 2001,
                        "timestamp": now(),
                        "trigger": "Delta",
                        "actualValue": "true",
                        "eventNotificationType": "HardWiredNotification",
                        "component": {
                            "name": "ConnectorPlugRetentionLock",
                            "evse": {"id": EVSE, "connectorId": CONNECTOR},
                        },
                        "variable": {"name": "Problem"},
                    }
                ],
            },
        )
        # 2. NotifyEventResponse (an empty object; schema-checked by the tool)
        check(response == {}, f"NotifyEventResponse {response}, want an empty object")
        events = await sut.api.get("/stations/CS-G20/events")
        assert any(
            e["component"]["name"] == "ConnectorPlugRetentionLock"
            and e["variable"]["name"] == "Problem"
            and e["actual_value"] == "true"
            for e in events["items"]
        ), f"the CSMS did not keep the lock failure event: {events}"
