"""The commands the CSMS sends on its own are in the command log with ``requested_by`` "csms":
the TriggerMessage BootNotification after an operator changes a registration, the automatic
local-list syncs, and GetTransactionStatus after a 2.0.1 station rebooted (E14)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from opencsms.app import Csms
from opencsms.domain.model import RegistrationStatus
from opencsms.domain.stations import StationSpec
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import SimulatedStation
from tests.handlers.builders import booted, register_201, tx_event
from tests.simulator.helpers import sim_config
from tests.wire import api_client, raw_station, running_csms, settings_for

VERSIONS = [OcppVersion.V16, OcppVersion.V201]
Command = dict[str, Any]


async def wait_for_log(
    csms: Csms, api: httpx.AsyncClient, station_id: str, done: Callable[[list[Command]], bool]
) -> list[Command]:
    """The station's command log once ``done`` holds for it. A command is recorded after its
    answer, which may be after what the answer set off: read again after each commit."""
    async with asyncio.timeout(5):
        while True:
            response = await api.get(f"/api/v1/stations/{station_id}/commands")
            assert response.status_code == 200, response.text
            items: list[Command] = response.json()["items"]
            if done(items):
                return items
            await csms.storage.writer.flush()


def by_csms(items: list[Command], action: str) -> list[Command]:
    return [c for c in items if c["action"] == action and c["requested_by"] == "csms"]


@pytest.mark.parametrize("version", VERSIONS)
async def test_accepting_a_pending_station_is_recorded(csms: Csms, version: OcppVersion) -> None:
    station_id = f"PENDING-{version.name}"
    await csms.stations.create(StationSpec(id=station_id, registration=RegistrationStatus.PENDING))
    async with (
        SimulatedStation(sim_config(csms, station_id, version)) as st,
        api_client(csms) as api,
    ):
        await st.wait_for(lambda s: s.registration == "Pending")
        patched = await api.patch(
            f"/api/v1/stations/{station_id}", json={"registration": "Accepted"}
        )
        assert patched.status_code == 200, patched.text
        await st.wait_for(lambda s: s.registration == "Accepted")
        items = await wait_for_log(csms, api, station_id, lambda i: bool(i))
    (trigger,) = items
    assert trigger["action"] == "TriggerMessage"
    assert trigger["payload"] == {"requestedMessage": "BootNotification"}
    assert (trigger["requested_by"], trigger["status"]) == ("csms", "Answered")
    assert trigger["response"] == {"status": "Accepted"}
    assert trigger["ocpp_version"] == version.value


@pytest.mark.parametrize("version", VERSIONS)
async def test_automatic_local_list_syncs_are_recorded(
    tmp_path: Path, version: OcppVersion
) -> None:
    station_id = f"SYNCED-{version.name}"
    async with running_csms(settings_for(tmp_path, local_list_debounce=0.0)) as csms:
        await csms.stations.create(StationSpec(id=station_id))
        await csms.tokens.create({"id_token": "DRIVER-A"})
        async with (
            SimulatedStation(sim_config(csms, station_id, version)) as st,
            api_client(csms) as api,
        ):
            await st.wait_for(lambda s: s.registration == "Accepted")
            synced = await api.post(f"/api/v1/stations/{station_id}/local-list/sync")
            assert synced.status_code == 200, synced.text
            by_operator = {c["id"] for c in await wait_for_log(csms, api, station_id, bool)}

            await st.go_offline()
            await csms.tokens.create({"id_token": "DRIVER-B"})  # missed while away
            st.go_online()  # reconnects without booting: the worker re-syncs it
            await st.wait_for(lambda s: "DRIVER-B" in s.sessions.auth.entries)
            await csms.local_list_worker.idle()  # records are stored before the worker idles
            items = await wait_for_log(csms, api, station_id, bool)
    by_station = {c["action"]: c["requested_by"] for c in items if c["id"] in by_operator}
    assert set(by_station.values()) == {"api"}
    assert "SendLocalList" in by_station
    automatic = [c for c in items if c["id"] not in by_operator]
    assert {c["requested_by"] for c in automatic} == {"csms"}
    (sent,) = by_csms(automatic, "SendLocalList")
    assert sent["status"] == "Answered"
    assert sent["response"] == {"status": "Accepted"}
    assert sent["payload"]["updateType"] == "Differential"


async def test_get_transaction_status_after_a_reboot_is_recorded(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="REBOOTED"))
    async with raw_station(csms, "REBOOTED", "ocpp2.0.1") as cs:
        await booted(cs, "ocpp2.0.1")
        meter = [register_201("2026-01-01T10:00:00Z", 1000, context="Transaction.Begin")]
        await cs.result(
            "TransactionEvent",
            tx_event("Started", 0, tx="OPEN", evse=1, trigger="CablePluggedIn", meter=meter),
        )
    async with raw_station(csms, "REBOOTED", "ocpp2.0.1") as cs, api_client(csms) as api:
        await booted(cs, "ocpp2.0.1")
        frame = await cs.recv()
        assert frame[:3] == [2, frame[1], "GetTransactionStatus"]
        answer = {"ongoingIndicator": True, "messagesInQueue": False}
        await cs.send_raw(orjson.dumps([3, frame[1], answer]).decode())
        items = await wait_for_log(
            csms, api, "REBOOTED", lambda i: bool(by_csms(i, "GetTransactionStatus"))
        )
    (asked,) = by_csms(items, "GetTransactionStatus")
    assert asked["payload"] == {"transactionId": "OPEN"}
    assert (asked["status"], asked["response"]) == ("Answered", answer)
