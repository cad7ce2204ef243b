"""CostUpdated (I03), CustomerInformation (N09/N10) and SetNetworkProfile (B09) of a simulated
2.0.1 station, over the real wire."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import BackOffConfig, SimulatedStation, StationConfig
from opencsms.simulator.customer import records
from tests.peers.ocpp_lib_csms import LibCsms
from tests.simulator.csms_peer import CsmsPeer, PeerCall

Payload = dict[str, Any]
TOKEN = {"idToken": "TAG-7", "type": "ISO14443"}


@pytest.fixture
async def peer() -> AsyncIterator[CsmsPeer]:
    async with CsmsPeer(OcppVersion.V201) as csms:
        csms.answers["Authorize"] = {"idTokenInfo": {"status": "Accepted"}}
        yield csms


def ask(request_id: int, *, report: bool, clear: bool, **subject: Any) -> Payload:
    return {"requestId": request_id, "report": report, "clear": clear, **subject}


async def notifications(peer: CsmsPeer) -> list[PeerCall]:
    """The NotifyCustomerInformation parts of the next report (up to tbc false)."""
    parts = [await peer.next_call("NotifyCustomerInformation")]
    while parts[-1].payload["tbc"]:
        parts.append(await peer.next_call("NotifyCustomerInformation"))
    return parts


def text(parts: list[PeerCall]) -> str:
    return "".join(p.payload["data"] for p in parts)


# ------------------------------------------------------------------------------- I03


async def test_cost_updated_is_kept_per_transaction(peer: CsmsPeer) -> None:
    async with SimulatedStation(peer.station_config("CUS-1")) as st:
        tx = await st.start_transaction(1, TOKEN["idToken"])
        assert tx.id is not None
        for cost in (0.42, 1.37):
            answer = await peer.call("CostUpdated", {"totalCost": cost, "transactionId": tx.id})
            assert answer == {}
        assert await peer.call("CostUpdated", {"totalCost": 9.0, "transactionId": "nope"}) == {}
        assert records(st).cost(tx.id) == 1.37
        assert records(st).cost("nope") is None


# ------------------------------------------------------------------------------- N09 / N10


async def test_report_then_clear_customer_data(peer: CsmsPeer) -> None:
    async with SimulatedStation(peer.station_config("CUS-2")) as st:
        local_list = {
            "versionNumber": 3,
            "updateType": "Full",
            "localAuthorizationList": [
                {"idToken": TOKEN, "idTokenInfo": {"status": "Accepted"}},
            ],
        }
        assert await peer.call("SendLocalList", local_list) == {"status": "Accepted"}
        for _ in range(7):  # enough history for a report of more than 512 characters
            await st.start_transaction(1, TOKEN["idToken"])
            await st.stop_transaction(1)
        assert TOKEN["idToken"] in st.sessions.auth.cache  # every Authorize answer is cached

        answer = await peer.call(
            "CustomerInformation", ask(1, report=True, clear=False, idToken=TOKEN)
        )
        assert answer == {"status": "Accepted"}
        parts = await notifications(peer)
        assert [(p.payload["seqNo"], p.payload["tbc"]) for p in parts] == [(0, True), (1, False)]
        assert {p.payload["requestId"] for p in parts} == {1}
        assert all(len(p.payload["data"]) <= 512 for p in parts)
        report = text(parts)
        assert report.startswith("idToken TAG-7 (ISO14443)")
        assert "local list (version 3): Accepted" in report
        assert "authorization cache: Accepted" in report
        assert report.count("transaction ") == 7
        assert "ended (Local)" in report

        # Clear and report: the report still shows the data, then it is gone - except the
        # local list, which the CSMS manages (TC_N_30_CS).
        answer = await peer.call(
            "CustomerInformation", ask(2, report=True, clear=True, idToken=TOKEN)
        )
        assert answer == {"status": "Accepted"}
        cleared = text(await notifications(peer))
        assert "authorization cache" in cleared
        assert cleared.endswith("customer data cleared")
        assert TOKEN["idToken"] not in st.sessions.auth.cache
        assert TOKEN["idToken"] in st.sessions.auth.entries
        assert all(tx.id_token == "" for tx in st.sessions.history)

        await peer.call("CustomerInformation", ask(3, report=True, clear=False, idToken=TOKEN))
        [after] = await notifications(peer)
        assert after.payload["data"] == "idToken TAG-7 (ISO14443)\nlocal list (version 3): Accepted"


async def test_no_data_clear_only_and_refusals(peer: CsmsPeer) -> None:
    async with SimulatedStation(peer.station_config("CUS-3")):
        stranger = {"idToken": "NOBODY", "type": "ISO14443"}
        answer = await peer.call(
            "CustomerInformation", ask(1, report=True, clear=False, idToken=stranger)
        )
        assert answer == {"status": "Accepted"}
        [none] = await notifications(peer)
        assert none.payload["data"] == "idToken NOBODY (ISO14443): no data found"  # N09.FR.06

        await peer.call("CustomerInformation", ask(2, report=False, clear=True, idToken=stranger))
        [done] = await notifications(peer)
        assert done.payload["data"] == "idToken NOBODY (ISO14443): customer data cleared"

        await peer.call(
            "CustomerInformation", ask(3, report=True, clear=True, customerIdentifier="C-123")
        )
        [unknown] = await notifications(peer)
        assert unknown.payload["data"] == "customer C-123: no data found"

        neither = await peer.call(
            "CustomerInformation", ask(4, report=False, clear=False, idToken=stranger)
        )
        assert neither == {"status": "Rejected"}
        nobody = await peer.call("CustomerInformation", ask(5, report=True, clear=False))
        assert nobody == {"status": "Invalid"}  # N09.FR.09
        both = await peer.call(
            "CustomerInformation",
            ask(6, report=True, clear=False, idToken=stranger, customerIdentifier="C-123"),
        )
        assert both == {"status": "Invalid"}
    assert [
        c.payload["requestId"] for c in peer.calls if c.action == "NotifyCustomerInformation"
    ] == [1, 2, 3]


# ------------------------------------------------------------------------------- B09


def profile(**changes: Any) -> Payload:
    data = {
        "ocppVersion": "OCPP20",
        "ocppTransport": "JSON",
        "ocppCsmsUrl": "wss://csms2.example.com/ocpp",
        "messageTimeout": 30,
        "securityProfile": 2,
        "ocppInterface": "Wired0",
    }
    data.update(changes)
    return data


async def test_set_network_profile(peer: CsmsPeer) -> None:
    async with SimulatedStation(peer.station_config("CUS-4", password="s3cret")) as st:
        accepted = await peer.call(
            "SetNetworkProfile", {"configurationSlot": 1, "connectionData": profile()}
        )
        assert accepted == {"status": "Accepted"}
        assert records(st).profiles[1] == profile()
        assert records(st).profiles[0]["ocppCsmsUrl"] == st.config.csms_url  # the one in use

        async def refused(slot: int, data: Payload) -> str:
            answer = await peer.call(
                "SetNetworkProfile", {"configurationSlot": slot, "connectionData": data}
            )
            assert answer["status"] == "Rejected"
            reason: str = answer["statusInfo"]["reasonCode"]
            return reason

        assert await refused(999, profile()) == "InvalidConfSlot"  # TC_B_43_CS
        # This station runs security profile 1 (basic auth): 0 would be a downgrade.
        downgrade = profile(securityProfile=0, ocppCsmsUrl="ws://csms2.example.com/ocpp")
        assert await refused(2, downgrade) == "NoSecurityDowngrade"
        assert await refused(2, profile(ocppTransport="SOAP")) == "InvalidNetworkConf"
        assert await refused(2, profile(ocppVersion="OCPP16")) == "InvalidNetworkConf"
        assert await refused(2, profile(ocppCsmsUrl="https://csms2.example.com")) == (
            "InvalidNetworkConf"
        )
        assert await refused(2, profile(securityProfile=1)) == "InvalidNetworkConf"  # wss, no TLS
        assert await refused(2, profile(messageTimeout=0)) == "InvalidNetworkConf"
        assert 2 not in records(st).profiles
        active = await peer.call(
            "GetVariables",
            {
                "getVariableData": [
                    {
                        "component": {"name": "OCPPCommCtrlr"},
                        "variable": {"name": "ActiveNetworkProfile"},
                    }
                ]
            },
        )
        assert active["getVariableResult"][0]["attributeValue"] == "0"


async def test_answers_pass_the_ocpp_library_schemas() -> None:
    async with LibCsms() as csms:
        config = StationConfig(
            id="CUS-LIB",
            version=OcppVersion.V201,
            csms_url=csms.url,
            call_timeout=5.0,
            backoff=BackOffConfig(wait_minimum=0.1, random_range=0.0, repeat_times=1),
        )
        async with SimulatedStation(config):
            cost = {"totalCost": 1.5, "transactionId": "x"}
            assert await csms.call("CUS-LIB", "CostUpdated", cost) == {}
            slot = {"configurationSlot": 5, "connectionData": profile()}
            answer = await csms.call("CUS-LIB", "SetNetworkProfile", slot)
            assert answer == {"status": "Rejected", "statusInfo": {"reasonCode": "InvalidConfSlot"}}
            answer = await csms.call(
                "CUS-LIB", "CustomerInformation", ask(1, report=False, clear=False, idToken=TOKEN)
            )
            assert answer == {"status": "Rejected"}
