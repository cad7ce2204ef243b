"""OCPP 2.0.1 TransactionEvent over the wire (E01-E15): seqNo order, resends, reboots."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from tests.handlers.builders import add_token, booted, register_201, tx_event
from tests.wire import RawStation, api_client, raw_station

V201 = "ocpp2.0.1"


async def api_get(csms: Csms, path: str, **params: Any) -> Any:
    async with api_client(csms) as api:
        response = await api.get(f"/api/v1{path}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def only_transaction(csms: Csms, **params: Any) -> dict[str, Any]:
    (item,) = (await api_get(csms, "/transactions", **params))["items"]
    detail: dict[str, Any] = await api_get(csms, f"/transactions/{item['id']}")
    return detail


async def test_started_updated_ended_with_id_token_info(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CS1"))
    await add_token(csms, "CARD-1", type="ISO14443", group_id="FLEET")
    async with raw_station(csms, "CS1", V201) as cs:
        await booted(cs, V201)
        begin = register_201("2026-01-01T10:00:00Z", 1000, context="Transaction.Begin")
        started = await cs.result(
            "TransactionEvent",
            tx_event("Started", 0, id_token="CARD-1", state="EVConnected", meter=[begin]),
        )
        assert started == {
            "idTokenInfo": {
                "status": "Accepted",
                "groupIdToken": {"idToken": "FLEET", "type": "Central"},
            }
        }
        periodic = register_201("2026-01-01T10:30:00Z", 2500, kwh=True)
        updated = tx_event(
            "Updated", 1, trigger="MeterValuePeriodic", state="Charging", meter=[periodic]
        )
        assert await cs.result("TransactionEvent", updated) == {}
        end = register_201("2026-01-01T11:00:00Z", 4200, context="Transaction.End", kwh=True)
        ended = tx_event(
            "Ended",
            2,
            trigger="EVDeparted",
            at="2026-01-01T11:00:00Z",
            state="Idle",
            stopped_reason="EVDisconnected",
            meter=[end],
        )
        assert await cs.result("TransactionEvent", ended) == {}
    body = await only_transaction(csms, station_id="CS1")
    assert (body["status"], body["transaction_id"], body["evse_id"], body["connector_id"]) == (
        "Completed",
        "TX-1",
        1,
        1,
    )
    assert (body["id_token"], body["id_token_type"], body["group_id"]) == (
        "CARD-1",
        "ISO14443",
        "FLEET",
    )
    assert (body["meter_start_wh"], body["meter_stop_wh"], body["energy_wh"]) == (
        1000.0,
        4200.0,
        3200.0,
    )
    assert (body["stop_reason"], body["charging_state"], body["trigger_reason"]) == (
        "EVDisconnected",
        "Idle",
        "EVDeparted",
    )
    assert body["started_at"].startswith("2026-01-01T10:00:00")
    assert [p["value"] for p in body["series"]["Power.Active.Import"]] == [7400.0] * 3
    assert [e["seq_no"] for e in body["events"]] == [0, 1, 2]


async def test_resent_event_changes_nothing(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CS1"))
    async with raw_station(csms, "CS1", V201) as cs:
        await booted(cs, V201)
        meter = [register_201("2026-01-01T10:00:00Z", 1000)]
        event = tx_event("Started", 0, trigger="CablePluggedIn", state="EVConnected", meter=meter)
        await cs.result("TransactionEvent", event)
        await cs.result("TransactionEvent", event)  # the answer was lost
        ended = tx_event("Ended", 1, trigger="EVDeparted", at="2026-01-01T10:10:00Z")
        await cs.result("TransactionEvent", ended)
        await cs.result("TransactionEvent", ended)
    body = await only_transaction(csms)
    assert [e["seq_no"] for e in body["events"]] == [0, 1]
    assert len(body["meter_values"]) == 1
    assert body["stop_reason"] == "Local"  # stoppedReason "MAY only be omitted when Local"


async def test_out_of_order_offline_events_apply_in_seq_order(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CS1"))
    await add_token(csms, "CARD-1")
    async with raw_station(csms, "CS1", V201) as cs:
        await booted(cs, V201)
        # The offline queue delivers late and out of order, with gaps in seqNo.
        events = [
            tx_event(
                "Updated",
                7,
                trigger="ChargingStateChanged",
                state="SuspendedEV",
                at="2026-01-01T10:20:00Z",
                offline=True,
            ),
            tx_event(
                "Ended",
                12,
                trigger="StopAuthorized",
                id_token="CARD-1",
                at="2026-01-01T10:40:00Z",
                offline=True,
                meter=[register_201("2026-01-01T10:40:00Z", 3000, context="Transaction.End")],
            ),
            tx_event(
                "Updated",
                3,
                trigger="ChargingStateChanged",
                state="Charging",
                at="2026-01-01T10:05:00Z",
                offline=True,
            ),
            tx_event(
                "Started",
                0,
                trigger="Authorized",
                id_token="CARD-1",
                state="EVConnected",
                at="2026-01-01T10:00:00Z",
                offline=True,
                meter=[register_201("2026-01-01T10:00:00Z", 1000, context="Transaction.Begin")],
            ),
        ]
        answers = [await cs.result("TransactionEvent", e) for e in events]
    assert [a.get("idTokenInfo", {}).get("status") for a in answers] == [
        None,
        "Accepted",
        None,
        "Accepted",
    ]
    body = await only_transaction(csms)
    assert body["status"] == "Completed"
    assert body["charging_state"] == "SuspendedEV"  # seq 7, not seq 3 that arrived later
    assert body["trigger_reason"] == "StopAuthorized"  # seq 12 is the last word
    assert body["started_at"].startswith("2026-01-01T10:00:00")  # from seq 0, which came last
    assert (body["id_token"], body["stop_id_token"]) == ("CARD-1", "CARD-1")
    assert body["energy_wh"] == 2000.0
    assert body["offline"] is True
    assert [e["seq_no"] for e in body["events"]] == [0, 3, 7, 12]


async def test_new_seq_numbers_per_transaction(csms: Csms) -> None:
    """TC_E_53_CSMS: each transaction may start again at seqNo 0."""
    await csms.stations.create(StationSpec(id="CS1"))
    async with raw_station(csms, "CS1", V201) as cs:
        await booted(cs, V201)
        for tx in ("A", "B"):
            await cs.result(
                "TransactionEvent", tx_event("Started", 0, tx=tx, trigger="CablePluggedIn")
            )
            await cs.result("TransactionEvent", tx_event("Ended", 1, tx=tx, trigger="EVDeparted"))
    items = (await api_get(csms, "/transactions", station_id="CS1"))["items"]
    assert sorted((t["transaction_id"], t["status"]) for t in items) == [
        ("A", "Completed"),
        ("B", "Completed"),
    ]


async def answer_transaction_status(cs: RawStation, ongoing: set[str]) -> str:
    """Answer the CSMS's GetTransactionStatus (E14); returns the transactionId it asked about."""
    frame = await cs.recv()
    assert frame[0] == 2, frame
    assert frame[2] == "GetTransactionStatus", frame
    result = {"ongoingIndicator": frame[3]["transactionId"] in ongoing, "messagesInQueue": False}
    await cs.send_raw(orjson.dumps([3, frame[1], result]).decode())
    transaction_id: str = frame[3]["transactionId"]
    return transaction_id


async def wait_for_status(csms: Csms, pk: int, wanted: str) -> dict[str, Any]:
    async with asyncio.timeout(5):
        while True:
            tx = await csms.storage.transactions.get(pk)
            assert tx is not None
            if tx.status.value == wanted:
                body: dict[str, Any] = await api_get(csms, f"/transactions/{pk}")
                return body
            await csms.storage.writer.flush()


async def test_reboot_reconciles_with_get_transaction_status(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CS1"))
    async with raw_station(csms, "CS1", V201) as cs:
        await booted(cs, V201)
        for tx, evse in (("LOST", 1), ("KEPT", 2)):
            meter = [register_201("2026-01-01T10:00:00Z", 1000, context="Transaction.Begin")]
            await cs.result(
                "TransactionEvent",
                tx_event("Started", 0, tx=tx, evse=evse, trigger="CablePluggedIn", meter=meter),
            )
        later = [register_201("2026-01-01T10:30:00Z", 1900)]
        await cs.result(
            "TransactionEvent",
            tx_event("Updated", 1, tx="LOST", trigger="MeterValuePeriodic", meter=later),
        )
    items = {t["transaction_id"]: t["id"] for t in (await api_get(csms, "/transactions"))["items"]}
    async with raw_station(csms, "CS1", V201) as cs:
        await booted(cs, V201)
        asked = {
            await answer_transaction_status(cs, ongoing={"KEPT"}),
            await answer_transaction_status(cs, ongoing={"KEPT"}),
        }
        assert asked == {"LOST", "KEPT"}
        lost = await wait_for_status(csms, items["LOST"], "Completed")
    assert (lost["stop_source"], lost["stop_reason"], lost["energy_wh"]) == (
        "csms",
        "Reboot",
        900.0,
    )
    assert lost["stopped_at"].startswith("2026-01-01T10:30:00")
    kept = await api_get(csms, f"/transactions/{items['KEPT']}")
    assert kept["status"] == "Active"


async def test_started_on_a_busy_evse_ends_the_lost_session(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CS1"))
    async with raw_station(csms, "CS1", V201) as cs:
        await booted(cs, V201)
        await cs.result(
            "TransactionEvent", tx_event("Started", 0, tx="OLD", trigger="CablePluggedIn")
        )
        await cs.result(
            "TransactionEvent", tx_event("Started", 0, tx="NEW", trigger="CablePluggedIn")
        )
    items = {t["transaction_id"]: t for t in (await api_get(csms, "/transactions"))["items"]}
    assert (items["OLD"]["status"], items["OLD"]["stop_source"]) == ("Completed", "csms")
    assert items["NEW"]["status"] == "Active"
