"""2.0.1/2.1 display messages (O01-O06) of a simulated station, over the real wire."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opencsms.clock import utc_iso
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import BackOffConfig, SimulatedStation, StationConfig
from opencsms.simulator.display import MAX_MESSAGES, display
from tests.peers.ocpp_lib_csms import LibCsms
from tests.simulator.csms_peer import CsmsPeer

Payload = dict[str, Any]


@pytest.fixture
async def peer() -> AsyncIterator[CsmsPeer]:
    async with CsmsPeer(OcppVersion.V201) as csms:
        csms.answers["Authorize"] = {"idTokenInfo": {"status": "Accepted"}}
        yield csms


def message(
    message_id: int, text: str = "Welcome", priority: str = "NormalCycle", **extra: Any
) -> Payload:
    fmt = extra.pop("format", "UTF8")
    return {
        "message": {
            "id": message_id,
            "priority": priority,
            "message": {"format": fmt, "content": text},
            **extra,
        }
    }


def _in(hours: float) -> str:
    return utc_iso(datetime.now(UTC) + timedelta(hours=hours))


async def status_of(peer: CsmsPeer, request: Payload) -> str:
    answer = await peer.call("SetDisplayMessage", request)
    status: str = answer["status"]
    return status


async def test_set_display_message_statuses(peer: CsmsPeer) -> None:
    async with SimulatedStation(peer.station_config("DSP-1")) as st:
        assert await status_of(peer, message(1)) == "Accepted"
        assert await status_of(peer, message(2, format="HTML")) == "NotSupportedMessageFormat"
        assert await status_of(peer, message(3, transactionId="no-such-tx")) == (
            "UnknownTransaction"
        )
        assert await status_of(peer, message(4, endDateTime=_in(-1))) == "Rejected"  # expired
        assert await status_of(peer, message(5, startDateTime=_in(2), endDateTime=_in(1))) == (
            "Rejected"
        )
        assert await status_of(peer, message(6, display={"name": "Speaker"})) == "Rejected"
        assert st.device_model is not None
        st.device_model.set("DisplayMessageCtrlr", "SupportedPriorities", "InFront,NormalCycle")
        assert await status_of(peer, message(7, priority="AlwaysFront")) == "NotSupportedPriority"

        # The store holds MAX_MESSAGES; replacing an existing id still works (O06).
        for message_id in range(10, 10 + MAX_MESSAGES - 1):
            assert await status_of(peer, message(message_id)) == "Accepted"
        assert await status_of(peer, message(99)) == "Rejected"
        assert await status_of(peer, message(1, "Hello again")) == "Accepted"
        assert len(display(st).messages()) == MAX_MESSAGES
        assert display(st).messages()[0]["message"]["content"] == "Hello again"
        count = await peer.call(
            "GetVariables",
            {
                "getVariableData": [
                    {
                        "component": {"name": "DisplayMessageCtrlr"},
                        "variable": {"name": "DisplayMessages"},
                    }
                ]
            },
        )
        assert count["getVariableResult"][0]["attributeValue"] == str(MAX_MESSAGES)


async def test_get_display_messages_in_parts_and_by_filter(peer: CsmsPeer) -> None:
    async with SimulatedStation(peer.station_config("DSP-2")) as st:
        assert st.device_model is not None
        st.device_model.set("DeviceDataCtrlr", "ItemsPerMessage", "2")
        for message_id, priority, state in (
            (1, "NormalCycle", "Idle"),
            (2, "InFront", "Charging"),
            (3, "InFront", None),
            (4, "AlwaysFront", "Faulted"),
            (5, "NormalCycle", None),
        ):
            extra = {"state": state} if state else {}
            assert await status_of(peer, message(message_id, priority=priority, **extra)) == (
                "Accepted"
            )
        assert await peer.call("GetDisplayMessages", {"requestId": 4}) == {"status": "Accepted"}
        parts = [(await peer.next_call("NotifyDisplayMessages")).payload for _ in range(3)]
        assert [(p["requestId"], p["tbc"]) for p in parts] == [(4, True), (4, True), (4, False)]
        assert [m["id"] for p in parts for m in p["messageInfo"]] == [1, 2, 3, 4, 5]

        answer = await peer.call(
            "GetDisplayMessages", {"requestId": 5, "priority": "InFront", "id": [1, 2, 3]}
        )
        assert answer == {"status": "Accepted"}
        matched = (await peer.next_call("NotifyDisplayMessages")).payload
        assert [m["id"] for m in matched["messageInfo"]] == [2, 3]
        assert matched["tbc"] is False

        await peer.call("GetDisplayMessages", {"requestId": 6, "state": "Faulted"})
        faulted = (await peer.next_call("NotifyDisplayMessages")).payload["messageInfo"]
        assert faulted == [message(4, priority="AlwaysFront", state="Faulted")["message"]]

        unknown = await peer.call("GetDisplayMessages", {"requestId": 7, "id": [42]})
        assert unknown == {"status": "Unknown"}
        assert [c.payload["requestId"] for c in peer.calls if c.action.startswith("NotifyD")] == [
            4,
            4,
            4,
            5,
            6,
        ]


async def test_clear_and_transaction_messages(peer: CsmsPeer) -> None:
    async with SimulatedStation(peer.station_config("DSP-3")) as st:
        assert await status_of(peer, message(1, "Idle screen", state="Idle")) == "Accepted"
        assert await peer.call("ClearDisplayMessage", {"id": 1}) == {"status": "Accepted"}
        assert await peer.call("ClearDisplayMessage", {"id": 1}) == {"status": "Unknown"}

        tx = await st.start_transaction(1, "TAG-1")
        assert tx.id is not None
        request = message(2, "Your session", priority="InFront", transactionId=tx.id)
        assert await status_of(peer, request) == "Accepted"
        assert await status_of(peer, message(3, "Idle only", state="Idle")) == "Accepted"
        assert await status_of(peer, message(4, "Soon", startDateTime=_in(1))) == "Accepted"
        assert await status_of(peer, message(5, "Front", priority="AlwaysFront")) == "Accepted"
        # While charging: the front message first, no Idle-only or not-yet-started message.
        assert [m["id"] for m in display(st).shown()] == [5, 2]

        await st.stop_transaction(1)
        # O02: the transaction's message ends with the transaction.
        gone = await peer.call("GetDisplayMessages", {"requestId": 1, "id": [2]})
        assert gone == {"status": "Unknown"}
        assert [m["id"] for m in display(st).shown()] == [5, 3]


async def test_v21_formats_and_states() -> None:
    async with (
        CsmsPeer(OcppVersion.V21) as peer,
        SimulatedStation(peer.station_config("DSP-21")),
    ):
        assert await status_of(peer, message(1, "https://pay.example", format="QRCODE")) == (
            "Accepted"
        )
        assert await status_of(peer, message(2, state="Discharging")) == "NotSupportedState"
        assert await status_of(peer, message(3, state="Suspended")) == "Accepted"
        extra = message(4, messageExtra=[{"format": "HTML", "content": "<b>Hi</b>"}])
        assert await status_of(peer, extra) == "NotSupportedMessageFormat"
        assert await peer.call("ClearDisplayMessage", {"id": 3}) == {"status": "Accepted"}


async def test_display_answers_pass_the_ocpp_library_schemas() -> None:
    async with LibCsms() as csms:
        config = StationConfig(
            id="DSP-LIB",
            version=OcppVersion.V201,
            csms_url=csms.url,
            call_timeout=5.0,
            backoff=BackOffConfig(wait_minimum=0.1, random_range=0.0, repeat_times=1),
        )
        async with SimulatedStation(config):
            answer = await csms.call("DSP-LIB", "SetDisplayMessage", message(7, "Hi"))
            assert answer == {"status": "Accepted"}
            answer = await csms.call("DSP-LIB", "GetDisplayMessages", {"requestId": 1, "id": [8]})
            assert answer == {"status": "Unknown"}
            answer = await csms.call("DSP-LIB", "ClearDisplayMessage", {"id": 7})
            assert answer == {"status": "Accepted"}
