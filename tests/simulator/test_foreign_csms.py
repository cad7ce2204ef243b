"""The simulator against two CSMSs we did not write, on 1.6 and 2.0.1 (issue 3).

* ``ocpp-lib``: a CSMS built with the ``ocpp`` PyPI library, which validates every request it
  receives and every answer to its own CALLs against the official JSON schemas;
* ``ocpp-rpc``: the strict server of the ``ocpp-rpc`` npm package (Node), which validates every
  message against its own bundled schemas and refuses anything off-schema with a CALLERROR.

Each test ends with :func:`assert_spoke_cleanly`: neither peer answered anything with a CALLERROR
nor reported a validation failure, so the simulator speaks standard OCPP, not just our dialect.
The assertions are on what the peer recorded (docs/simulator-interop.md).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import EvseConfig, SimulatedStation
from tests.peers.ocpp_lib_csms import LibCsms
from tests.peers.ocpp_rpc_csms import RpcCsms, node_executable
from tests.peers.recording import CsmsPeer, PeerRequest
from tests.simulator.foreign_helpers import (
    assert_spoke_cleanly,
    energy_registers,
    foreign_config,
    transaction_id_of,
)

V16 = OcppVersion.V16
ID = "IOP-1"


@pytest.fixture(params=["ocpp-lib", "ocpp-rpc"])
async def peer(request: pytest.FixtureRequest) -> AsyncIterator[CsmsPeer]:
    """A fresh foreign CSMS answering BootNotification with a 1 s heartbeat interval."""
    if request.param == "ocpp-lib":
        async with LibCsms(heartbeat_interval=1) as lib:
            yield lib
        return
    if node_executable() is None:
        pytest.skip("node is not installed: the ocpp-rpc peer is a Node.js server")
    async with RpcCsms(heartbeat_interval=1) as rpc:
        yield rpc


@pytest.fixture(params=[OcppVersion.V16, OcppVersion.V201], ids=["1.6", "2.0.1"])
def version(request: pytest.FixtureRequest) -> OcppVersion:
    param: OcppVersion = request.param
    return param


def _connector(request: PeerRequest) -> int:
    """The connector a StatusNotification is about (1.6 connectorId, 2.x evseId: one each)."""
    payload = request.payload
    return int(payload["connectorId"] if "connectorStatus" not in payload else payload["evseId"])


def _status(request: PeerRequest) -> str:
    return str(request.payload.get("status") or request.payload["connectorStatus"])


async def test_boot_statuses_heartbeats_and_csms_calls(
    peer: CsmsPeer, version: OcppVersion
) -> None:
    rec = peer.recorder
    cfg = foreign_config(peer.url, ID, version, evses=(EvseConfig(), EvseConfig(phases=1)))
    async with SimulatedStation(cfg) as st:
        # Boot (1.6 §4.2, B01): Accepted, the peer's interval adopted, every connector reported.
        await st.wait_for(lambda s: s.registration == "Accepted" and s.unsent_statuses == 0)
        assert st.heartbeat_interval == 1
        (boot,) = await rec.wait_for(ID, "BootNotification")
        assert boot.result is not None
        assert boot.result["status"] == "Accepted"
        if version is V16:
            assert boot.payload["chargePointVendor"] == cfg.vendor
            connectors = {0, 1, 2}  # 1.6 §4.9: connector 0 is the charge point itself
        else:
            assert boot.payload["reason"] == "PowerUp"
            assert boot.payload["chargingStation"]["vendorName"] == cfg.vendor
            connectors = {1, 2}
        statuses = await rec.wait_for(ID, "StatusNotification", len(connectors))
        assert {_connector(s) for s in statuses} == connectors
        assert {_status(s) for s in statuses} == {"Available"}

        # Heartbeats at the interval from the BootNotification answer (1.6 §4.6, G02).
        beats = await rec.wait_for(ID, "Heartbeat", 2, timeout=5)
        assert all(b.result is not None and "currentTime" in b.result for b in beats)

        # Configuration through the peer's own CALL machinery (answers validated by it).
        if version is V16:  # 1.6 §5.8 GetConfiguration, §5.3 ChangeConfiguration
            got = await peer.call(
                ID, "GetConfiguration", {"key": ["HeartbeatInterval", "NumberOfConnectors", "Nope"]}
            )
            values = {k["key"]: k["value"] for k in got["configurationKey"]}
            assert values == {"HeartbeatInterval": "1", "NumberOfConnectors": "2"}
            assert got["unknownKey"] == ["Nope"]
            change = {"key": "HeartbeatInterval", "value": "30"}
            assert await peer.call(ID, "ChangeConfiguration", change) == {"status": "Accepted"}
            readonly = {"key": "NumberOfConnectors", "value": "4"}
            assert await peer.call(ID, "ChangeConfiguration", readonly) == {"status": "Rejected"}
        else:  # 2.0.1 B05 SetVariables, B06 GetVariables
            comm = {"name": "OCPPCommCtrlr"}
            heartbeat = {"component": comm, "variable": {"name": "HeartbeatInterval"}}
            set_answer = await peer.call(
                ID, "SetVariables", {"setVariableData": [heartbeat | {"attributeValue": "30"}]}
            )
            assert [r["attributeStatus"] for r in set_answer["setVariableResult"]] == ["Accepted"]
            unknown = {"component": {"name": "Nope"}, "variable": {"name": "A"}}
            got = await peer.call(ID, "GetVariables", {"getVariableData": [heartbeat, unknown]})
            results = got["getVariableResult"]
            assert (results[0]["attributeStatus"], results[0]["attributeValue"]) == (
                "Accepted",
                "30",
            )
            assert results[1]["attributeStatus"] == "UnknownComponent"
        assert st.heartbeat_interval == 30

        # TriggerMessage StatusNotification (1.6 §5.17, F06): Accepted, then the message.
        before = len(rec.of(ID, "StatusNotification"))
        trigger: dict[str, object] = {"requestedMessage": "StatusNotification"}
        trigger |= {"connectorId": 1} if version is V16 else {"evse": {"id": 1, "connectorId": 1}}
        assert await peer.call(ID, "TriggerMessage", trigger) == {"status": "Accepted"}
        triggered = await rec.wait_for(ID, "StatusNotification", before + 1)
        assert _connector(triggered[-1]) == 1

        # Reset (1.6 §5.14, B11/B12): Accepted, reconnect, boot again, report every connector.
        reset = {"type": "Soft" if version is V16 else "Immediate"}
        assert await peer.call(ID, "Reset", reset) == {"status": "Accepted"}
        boots = await rec.wait_for(ID, "BootNotification", 2)
        if version is not V16:  # 1.6 BootNotification has no reason field
            assert boots[1].payload["reason"] == "RemoteReset"
        await rec.wait_for(ID, "StatusNotification", before + 1 + len(connectors))
        await st.wait_for(lambda s: s.connections == 2 and s.registration == "Accepted")
        assert rec.connections[ID] == 2
        assert st.heartbeat_interval == 1  # the new BootNotification answer's interval
    assert_spoke_cleanly(peer)


async def test_charging_session(peer: CsmsPeer, version: OcppVersion) -> None:
    rec = peer.recorder
    async with SimulatedStation(
        foreign_config(peer.url, ID, version, meter_sample_interval=1)
    ) as st:
        await st.wait_for(lambda s: s.registration == "Accepted" and s.unsent_statuses == 0)
        tx = await st.start_transaction(1, "TAG-1")
        assert st.transaction(1) is tx

        def ours(r: PeerRequest) -> bool:
            return transaction_id_of(r) == tx.id

        if version is V16:
            (start,) = await rec.wait_for(ID, "StartTransaction")
            assert (start.payload["connectorId"], start.payload["idTag"]) == (1, "TAG-1")
            assert start.result is not None
            assert tx.id == str(start.result["transactionId"])  # 1.6 §4.8: the CSMS's id
            # 1.6 §4.7: MeterValues every MeterValueSampleInterval, with the transactionId.
            (periodic, *_) = await rec.wait_for(ID, "MeterValues", where=ours)
            contexts = {s.get("context") for s in periodic.payload["meterValue"][0]["sampledValue"]}
            assert contexts == {"Sample.Periodic"}
        else:
            # J02 / TC_J_09_CS: TransactionEvent(Updated) every TxUpdatedInterval.
            await rec.wait_for(
                ID,
                "TransactionEvent",
                where=lambda r: ours(r) and r.payload["triggerReason"] == "MeterValuePeriodic",
            )

        await st.stop_transaction(1, reason="Local")
        assert st.transaction(1) is None
        await st.unplug(1)
        # Available after boot, and again once the EV is gone (1.6 §4.9, G01).
        await rec.wait_for(
            ID,
            "StatusNotification",
            2,
            where=lambda r: _connector(r) == 1 and _status(r) == "Available",
        )

    if version is V16:
        (stop,) = rec.of(ID, "StopTransaction")
        assert transaction_id_of(stop) == tx.id
        assert stop.payload["meterStop"] >= start.payload["meterStart"]
        assert stop.payload.get("reason", "Local") == "Local"  # 1.6 §6.49: omitted means Local
    else:
        events = [e for e in rec.of(ID, "TransactionEvent") if ours(e)]
        kinds = [e.payload["eventType"] for e in events]
        assert kinds[0] == "Started"
        assert kinds[-1] == "Ended"
        assert set(kinds[1:-1]) == {"Updated"}
        seq = [e.payload["seqNo"] for e in events]
        assert seq == sorted(set(seq)), f"seqNo not increasing: {seq}"  # 2.0.1 part 6 tool rules
        # Part 6 tool rules: the first event after the token was presented carries it.
        tokens = [e.payload["idToken"]["idToken"] for e in events if "idToken" in e.payload]
        assert tokens[:1] == ["TAG-1"]
        ended = events[-1].payload["transactionInfo"]
        assert ended.get("stoppedReason", "Local") == "Local"  # errata: omitted means Local
        registers = [value for e in events for value in energy_registers(e)]
        assert registers, "no energy register in any TransactionEvent"
        assert registers == sorted(registers), f"energy register went backwards: {registers}"
    assert_spoke_cleanly(peer)


async def test_remote_start_and_stop(peer: CsmsPeer, version: OcppVersion) -> None:
    rec = peer.recorder
    async with SimulatedStation(foreign_config(peer.url, ID, version)) as st:
        await st.wait_for(lambda s: s.registration == "Accepted" and s.unsent_statuses == 0)
        if version is V16:
            # 1.6 §5.11: the EV is plugged in (Preparing), the CSMS starts remotely.
            await st.plug_in(1)
            start_call = {"idTag": "TAG-R", "connectorId": 1}
            assert await peer.call(ID, "RemoteStartTransaction", start_call) == {
                "status": "Accepted"
            }
            (start,) = await rec.wait_for(ID, "StartTransaction")
            assert start.payload["idTag"] == "TAG-R"
            # The id is the CSMS's (1.6 §4.8): known once the station has read the answer.
            await st.wait_for(lambda s: getattr(s.transaction(1), "id", None) is not None)
            tx = st.transaction(1)
            assert tx is not None
            assert start.result is not None
            assert tx.id == str(start.result["transactionId"])
            stop_call = {"transactionId": int(tx.id)}
            assert await peer.call(ID, "RemoteStopTransaction", stop_call) == {"status": "Accepted"}
            (stop,) = await rec.wait_for(ID, "StopTransaction")
            assert transaction_id_of(stop) == tx.id
            assert stop.payload["reason"] == "Remote"  # 1.6 §7.36 Reason
        else:
            # F02 / TC_F_02_CS "remote start first": RequestStartTransaction, then the driver
            # plugs in (unless the station already has an EV on that EVSE).
            start_call = {
                "idToken": {"idToken": "TAG-R", "type": "ISO14443"},
                "remoteStartId": 42,
                "evseId": 1,
            }
            answer = await peer.call(ID, "RequestStartTransaction", start_call)
            assert answer["status"] == "Accepted"
            if st.meter(1).ev is None:
                await st.plug_in(1)
            await st.wait_for(lambda s: s.transaction(1) is not None)
            tx = st.transaction(1)
            assert tx is not None
            events = await rec.wait_for(
                ID, "TransactionEvent", where=lambda r: transaction_id_of(r) == tx.id
            )
            # TC_F_02_CS general rule: the first event after the request says RemoteStart
            # and carries the remoteStartId; the first event of a transaction is Started.
            first = events[0].payload
            assert (first["eventType"], first["triggerReason"]) == ("Started", "RemoteStart")
            assert first["transactionInfo"]["remoteStartId"] == 42
            stop_answer = await peer.call(ID, "RequestStopTransaction", {"transactionId": tx.id})
            assert stop_answer["status"] == "Accepted"
            (ended,) = await rec.wait_for(
                ID,
                "TransactionEvent",
                where=lambda r: transaction_id_of(r) == tx.id and r.payload["eventType"] == "Ended",
            )
            # TC_E_35_CS (E06.FR.06): triggerReason RemoteStop, stoppedReason Remote.
            assert ended.payload["triggerReason"] == "RemoteStop"
            assert ended.payload["transactionInfo"]["stoppedReason"] == "Remote"
        await st.wait_for(lambda s: s.transaction(1) is None)
    assert_spoke_cleanly(peer)


async def test_peer_refuses_an_off_schema_message(peer: CsmsPeer) -> None:
    """The peers really validate: a BootNotification with a reason outside BootReasonEnumType
    gets a CALLERROR, is recorded as refused, and :func:`assert_spoke_cleanly` catches it."""
    bad_boot = {"reason": "Bogus", "chargingStation": {"model": "M", "vendorName": "V"}}
    async with connect(f"{peer.url}/RAW-1", subprotocols=[Subprotocol("ocpp2.0.1")]) as ws:
        await ws.send(json.dumps([2, "m-1", "BootNotification", bad_boot]))
        answer = json.loads(await ws.recv())
    assert answer[:2] == [4, "m-1"]
    assert answer[2] in {"FormatViolation", "PropertyConstraintViolation"}
    (boot,) = await peer.recorder.wait_for("RAW-1", "BootNotification")
    assert boot.error == answer[2]
    with pytest.raises(AssertionError, match="refused"):
        assert_spoke_cleanly(peer)
