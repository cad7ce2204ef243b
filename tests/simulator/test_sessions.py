"""Charging sessions of the simulator, observed by a CSMS built on the ``ocpp`` library.

The peer (tests/peers/ocpp_lib_csms.py) records every CALL the station sent with the answer it
gave, and validates both with the library's own schemas; a CALLERROR shows up in
``recorder.errors()``. Behaviour that needs OpenCSMS itself is in test_sessions_opencsms.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from opencsms.clock import utc_iso
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import BackOffConfig, EvseConfig, SimulatedStation, StationConfig
from opencsms.simulator.sessions import NotAuthorizedError
from tests.peers.ocpp_lib_csms import LibCsms
from tests.peers.recording import PeerRequest

VERSIONS = [OcppVersion.V16, OcppVersion.V201]


@pytest.fixture
async def peer() -> AsyncIterator[LibCsms]:
    async with LibCsms(heartbeat_interval=300) as csms:
        yield csms


def config(peer: LibCsms, version: OcppVersion, **changes: Any) -> StationConfig:
    values: dict[str, Any] = {
        "id": f"TX-{version.name}",
        "version": version,
        "csms_url": peer.url,
        "call_timeout": 5.0,
        "meter_sample_interval": 1,
        "backoff": BackOffConfig(wait_minimum=0.1, random_range=0.0, repeat_times=1),
    }
    values.update(changes)
    return StationConfig(**values)


def tx_messages(peer: LibCsms, station: str, version: OcppVersion) -> list[PeerRequest]:
    wanted = {"StartTransaction", "StopTransaction", "MeterValues", "TransactionEvent"}
    if version is not OcppVersion.V16:
        wanted = {"TransactionEvent"}
    return [r for r in peer.recorder.of(station) if r.action in wanted]


def statuses(peer: LibCsms, station: str, evse: int) -> list[str]:
    out = []
    for r in peer.recorder.of(station, "StatusNotification"):
        p = r.payload
        if p.get("connectorId" if "errorCode" in p else "evseId") == evse:
            out.append(p.get("status") or p["connectorStatus"])
    return out


async def test_full_session_16(peer: LibCsms) -> None:
    cfg = config(peer, OcppVersion.V16)
    async with SimulatedStation(cfg) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        tx = await st.start_transaction(1, "TAG-1")
        assert tx.id is not None
        assert st.transaction(1) is tx
        meters = await peer.recorder.wait_for(cfg.id, "MeterValues", 2)
        await st.stop_transaction(1)
        await st.unplug(1)
        await st.wait_for(lambda s: s.unsent_statuses == 0)
    actions = [r.action for r in tx_messages(peer, cfg.id, OcppVersion.V16)]
    assert actions[0] == "StartTransaction"
    assert actions[-1] == "StopTransaction"
    assert all(m.payload["transactionId"] == int(tx.id) for m in meters)
    start = peer.recorder.of(cfg.id, "StartTransaction")[0]
    stop = peer.recorder.of(cfg.id, "StopTransaction")[0]
    assert stop.payload["transactionId"] == start.result["transactionId"]  # type: ignore[index]
    assert stop.payload["reason"] == "Local"
    assert stop.payload["idTag"] == "TAG-1"
    assert stop.payload["meterStop"] >= start.payload["meterStart"]
    registers = [
        float(m.payload["meterValue"][0]["sampledValue"][0]["value"])
        for m in peer.recorder.of(cfg.id, "MeterValues")
    ]
    assert registers == sorted(registers)
    assert registers[-1] > 0
    # 1.6 §4.9: Preparing → Charging → Finishing → Available
    assert statuses(peer, cfg.id, 1)[-4:] == ["Preparing", "Charging", "Finishing", "Available"]
    assert peer.recorder.errors() == []
    assert peer.recorder.problems == []


async def test_full_session_201(peer: LibCsms) -> None:
    cfg = config(peer, OcppVersion.V201)
    async with SimulatedStation(cfg) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        tx = await st.start_transaction(1, "TAG-1", "ISO14443")
        await peer.recorder.wait_for(
            cfg.id, "TransactionEvent", 3, where=lambda r: r.payload["eventType"] == "Updated"
        )
        await st.stop_transaction(1)
        await st.unplug(1)
        await st.wait_for(lambda s: s.unsent_statuses == 0)
    events = [r.payload for r in tx_messages(peer, cfg.id, OcppVersion.V201)]
    assert [e["seqNo"] for e in events] == list(range(len(events)))  # E01.FR.16: no gaps
    assert {e["transactionInfo"]["transactionId"] for e in events} == {tx.id}
    started, ended = events[0], events[-1]
    assert started["eventType"] == "Started"
    assert started["triggerReason"] == "Authorized"
    assert started["idToken"] == {"idToken": "TAG-1", "type": "ISO14443"}
    assert started["meterValue"][0]["sampledValue"][0]["context"] == "Transaction.Begin"
    assert {e["triggerReason"] for e in events[1:-1]} == {"MeterValuePeriodic"}
    assert ended["eventType"] == "Ended"
    assert ended["triggerReason"] == "StopAuthorized"
    assert ended["transactionInfo"]["stoppedReason"] == "Local"
    assert ended["transactionInfo"]["chargingState"] == "EVConnected"  # still plugged in
    assert statuses(peer, cfg.id, 1)[-2:] == ["Occupied", "Available"]
    assert peer.recorder.errors() == []
    assert peer.recorder.problems == []


@pytest.mark.parametrize("version", VERSIONS)
async def test_blocked_token_starts_nothing(peer: LibCsms, version: OcppVersion) -> None:
    cfg = config(peer, version)
    async with SimulatedStation(cfg) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        with pytest.raises(NotAuthorizedError) as refused:
            await st.start_transaction(1, "BLOCKED")
        assert refused.value.status == "Blocked"
        assert st.transaction(1) is None
        await peer.recorder.wait_for(cfg.id, "Authorize")
    assert tx_messages(peer, cfg.id, version) == []


@pytest.mark.parametrize("version", VERSIONS)
async def test_remote_start_and_stop(peer: LibCsms, version: OcppVersion) -> None:
    cfg = config(peer, version)
    async with SimulatedStation(cfg) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        if version is OcppVersion.V16:
            answer = await peer.call(
                cfg.id, "RemoteStartTransaction", {"idTag": "TAG-R", "connectorId": 1}
            )
        else:
            answer = await peer.call(
                cfg.id,
                "RequestStartTransaction",
                {
                    "idToken": {"idToken": "TAG-R", "type": "Central"},
                    "remoteStartId": 7,
                    "evseId": 1,
                },
            )
        assert answer["status"] == "Accepted"
        await st.wait_for(lambda s: (t := s.transaction(1)) is not None and t.started.is_set())
        tx = st.transaction(1)
        assert tx is not None
        assert tx.id is not None
        if version is OcppVersion.V16:
            stop = await peer.call(cfg.id, "RemoteStopTransaction", {"transactionId": int(tx.id)})
            refused = await peer.call(cfg.id, "RemoteStopTransaction", {"transactionId": 999})
        else:
            stop = await peer.call(cfg.id, "RequestStopTransaction", {"transactionId": tx.id})
            refused = await peer.call(cfg.id, "RequestStopTransaction", {"transactionId": "nope"})
        assert stop["status"] == "Accepted"
        assert refused["status"] == "Rejected"
        await st.wait_for(lambda s: s.transaction(1) is None and s.queued == 0)
    messages = [r.payload for r in tx_messages(peer, cfg.id, version)]
    if version is OcppVersion.V16:
        assert peer.recorder.of(cfg.id, "Authorize") == []  # AuthorizeRemoteTxRequests false
        assert peer.recorder.of(cfg.id, "StopTransaction")[0].payload["reason"] == "Remote"
    else:
        assert messages[0]["triggerReason"] == "RemoteStart"
        assert messages[0]["transactionInfo"]["remoteStartId"] == 7
        assert messages[-1]["triggerReason"] == "RemoteStop"
        assert messages[-1]["transactionInfo"]["stoppedReason"] == "Remote"


@pytest.mark.parametrize("version", VERSIONS)
async def test_start_refused_by_csms_is_deauthorized(peer: LibCsms, version: OcppVersion) -> None:
    """1.6 StopTransactionOnInvalidId / E05 StopTxOnInvalidId: a remote start (not authorized
    first) whose token the CSMS refuses in the start answer is stopped as DeAuthorized."""
    cfg = config(peer, version)
    async with SimulatedStation(cfg) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        if version is OcppVersion.V16:
            await peer.call(
                cfg.id, "RemoteStartTransaction", {"idTag": "BLOCKED", "connectorId": 1}
            )
        else:
            await peer.call(
                cfg.id,
                "RequestStartTransaction",
                {"idToken": {"idToken": "BLOCKED", "type": "Central"}, "remoteStartId": 1},
            )
        await st.wait_for(lambda s: len(s.sessions.history) == 1 and s.transaction(1) is None)
        await st.wait_for(lambda s: s.queued == 0)
        assert st.sessions.history[0].status == "Blocked"
    last = tx_messages(peer, cfg.id, version)[-1].payload
    if version is OcppVersion.V16:
        assert last["reason"] == "DeAuthorized"
    else:
        assert last["triggerReason"] == "Deauthorized"
        assert last["transactionInfo"]["stoppedReason"] == "DeAuthorized"


@pytest.mark.parametrize("version", VERSIONS)
async def test_offline_session_is_delivered_in_order(peer: LibCsms, version: OcppVersion) -> None:
    """A session run while the network is down reaches the CSMS afterwards, in order; 1.6
    messages queued after an offline StartTransaction carry the id the CSMS then assigned."""
    cfg = config(peer, version)
    async with SimulatedStation(cfg) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        # A token on the local list may charge offline (1.6 LocalAuthorizeOffline, C13).
        listed = await _send_local_list(peer, cfg.id, version, version_number=1, token="TAG-L")
        assert listed["status"] == "Accepted"
        await st.go_offline()
        tx = await st.start_transaction(1, "TAG-L")
        await st.sessions.send_meter(tx, "Sample.Periodic", "MeterValuePeriodic")
        await st.stop_transaction(1)
        assert st.queued >= 3
        assert tx.stopped
        st.go_online()
        await st.wait_for(lambda s: s.queued == 0 and s.connected)
    messages = tx_messages(peer, cfg.id, version)
    assert all(m.error is None for m in messages)
    if version is OcppVersion.V16:
        actions = [m.action for m in messages]
        assert actions[0] == "StartTransaction"
        assert actions[-1] == "StopTransaction"
        assigned = messages[0].result["transactionId"]  # type: ignore[index]
        assert all(m.payload["transactionId"] == assigned for m in messages[1:])
        assert tx.id == str(assigned)
    else:
        events = [m.payload for m in messages]
        assert [e["eventType"] for e in (events[0], events[-1])] == ["Started", "Ended"]
        assert [e["seqNo"] for e in events] == list(range(len(events)))
        assert all(e.get("offline") is True for e in events)  # E04: they happened offline


async def _send_local_list(
    peer: LibCsms, station: str, version: OcppVersion, *, version_number: int, token: str
) -> dict[str, Any]:
    if version is OcppVersion.V16:
        return await peer.call(
            station,
            "SendLocalList",
            {
                "listVersion": version_number,
                "updateType": "Full",
                "localAuthorizationList": [{"idTag": token, "idTagInfo": {"status": "Accepted"}}],
            },
        )
    return await peer.call(
        station,
        "SendLocalList",
        {
            "versionNumber": version_number,
            "updateType": "Full",
            "localAuthorizationList": [
                {
                    "idToken": {"idToken": token, "type": "ISO14443"},
                    "idTokenInfo": {"status": "Accepted"},
                }
            ],
        },
    )


@pytest.mark.parametrize("version", VERSIONS)
async def test_local_list_versions(peer: LibCsms, version: OcppVersion) -> None:
    cfg = config(peer, version)
    version_key = "listVersion" if version is OcppVersion.V16 else "versionNumber"
    async with SimulatedStation(cfg) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        assert (await peer.call(cfg.id, "GetLocalListVersion", {}))[version_key] == 0
        await _send_local_list(peer, cfg.id, version, version_number=3, token="TAG-L")
        assert (await peer.call(cfg.id, "GetLocalListVersion", {}))[version_key] == 3
        stale = await peer.call(
            cfg.id,
            "SendLocalList",
            {version_key: 3, "updateType": "Differential"},
        )
        assert stale["status"] == "VersionMismatch"
        removal = (
            {"idTag": "TAG-L"}
            if version is OcppVersion.V16
            else {"idToken": {"idToken": "TAG-L", "type": "ISO14443"}}
        )
        diff = await peer.call(
            cfg.id,
            "SendLocalList",
            {version_key: 4, "updateType": "Differential", "localAuthorizationList": [removal]},
        )
        assert diff["status"] == "Accepted"
        assert st.sessions.auth.entries == {}
        assert st.sessions.auth.version == 4


@pytest.mark.parametrize("version", VERSIONS)
async def test_reservation_holds_connector_for_its_token(
    peer: LibCsms, version: OcppVersion
) -> None:
    cfg = config(peer, version)
    async with SimulatedStation(cfg) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        expiry = utc_iso(st.clock.now() + timedelta(minutes=5))
        if version is OcppVersion.V16:
            payload: dict[str, Any] = {
                "connectorId": 1,
                "expiryDate": expiry,
                "idTag": "TAG-RES",
                "reservationId": 42,
            }
        else:
            payload = {
                "id": 42,
                "expiryDateTime": expiry,
                "idToken": {"idToken": "TAG-RES", "type": "ISO14443"},
                "evseId": 1,
            }
        assert (await peer.call(cfg.id, "ReserveNow", payload))["status"] == "Accepted"
        await st.wait_for(lambda s: s.status(1) == "Reserved" and s.unsent_statuses == 0)
        assert statuses(peer, cfg.id, 1)[-1] == "Reserved"
        with pytest.raises(NotAuthorizedError) as refused:
            await st.start_transaction(1, "SOMEONE-ELSE")
        assert refused.value.status == "Reserved"
        await st.unplug(1)
        tx = await st.start_transaction(1, "TAG-RES")
        assert tx.reservation_id == 42
        assert st.sessions.reservations.active == []
    start = tx_messages(peer, cfg.id, version)[0].payload
    assert start["reservationId"] == 42


@pytest.mark.parametrize("version", VERSIONS)
async def test_reservation_expires_and_cancel(peer: LibCsms, version: OcppVersion) -> None:
    cfg = config(peer, version)
    async with SimulatedStation(cfg) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        soon = utc_iso(st.clock.now() + timedelta(seconds=0.3))
        later = utc_iso(st.clock.now() + timedelta(minutes=5))
        if version is OcppVersion.V16:
            first: dict[str, Any] = {
                "connectorId": 1,
                "expiryDate": soon,
                "idTag": "A",
                "reservationId": 1,
            }
            second: dict[str, Any] = {
                "connectorId": 1,
                "expiryDate": later,
                "idTag": "B",
                "reservationId": 2,
            }
        else:
            token = {"idToken": "A", "type": "ISO14443"}
            first = {"id": 1, "expiryDateTime": soon, "idToken": token, "evseId": 1}
            second = {"id": 2, "expiryDateTime": later, "idToken": token, "evseId": 1}
        assert (await peer.call(cfg.id, "ReserveNow", first))["status"] == "Accepted"
        await st.wait_for(lambda s: s.sessions.reservations.expired == [1])
        await st.wait_for(lambda s: s.status(1) == "Available" and s.unsent_statuses == 0)
        assert (await peer.call(cfg.id, "ReserveNow", second))["status"] == "Accepted"
        cancel = await peer.call(cfg.id, "CancelReservation", {"reservationId": 2})
        unknown = await peer.call(cfg.id, "CancelReservation", {"reservationId": 99})
        assert cancel["status"] == "Accepted"
        assert unknown["status"] == "Rejected"
        await st.wait_for(lambda s: s.status(1) == "Available" and s.unsent_statuses == 0)
    assert statuses(peer, cfg.id, 1)[-4:] == ["Reserved", "Available", "Reserved", "Available"]
    if version is not OcppVersion.V16:
        update = await peer.recorder.wait_for(cfg.id, "ReservationStatusUpdate")
        assert update[0].payload == {"reservationId": 1, "reservationUpdateStatus": "Expired"}


@pytest.mark.parametrize("version", VERSIONS)
async def test_power_loss_mid_session_ends_it_after_reboot(
    peer: LibCsms, version: OcppVersion
) -> None:
    cfg = config(peer, version)
    async with SimulatedStation(cfg) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        await st.start_transaction(1, "TAG-1")
        await st.power_loss()
        await st.wait_for(lambda s: s.boot_attempts == 2 and s.registration == "Accepted")
        await st.wait_for(lambda s: s.queued == 0)
    sent = peer.recorder.of(cfg.id)
    boots = [i for i, r in enumerate(sent) if r.action == "BootNotification"]
    last = tx_messages(peer, cfg.id, version)[-1]
    assert sent.index(last) > boots[1]  # delivered after the new boot
    if version is OcppVersion.V16:
        assert last.payload["reason"] == "PowerLoss"
    else:
        assert last.payload["transactionInfo"]["stoppedReason"] == "PowerLoss"


@pytest.mark.parametrize("version", VERSIONS)
async def test_fault_is_reported_with_its_error_code(peer: LibCsms, version: OcppVersion) -> None:
    cfg = config(peer, version)
    async with SimulatedStation(cfg) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        await st.set_fault(1, "GroundFailure")
        assert st.status(1) == "Faulted"
        assert not st.can_start(1)
        await st.clear_fault(1)
    reports = [r.payload for r in peer.recorder.of(cfg.id, "StatusNotification")]
    faulted = [p for p in reports if (p.get("status") or p.get("connectorStatus")) == "Faulted"]
    assert len(faulted) == 1
    if version is OcppVersion.V16:
        assert faulted[0]["errorCode"] == "GroundFailure"
    assert (reports[-1].get("status") or reports[-1].get("connectorStatus")) == "Available"


@pytest.mark.parametrize("version", VERSIONS)
async def test_clock_aligned_meter_values(peer: LibCsms, version: OcppVersion) -> None:
    """1.6 ClockAlignedDataInterval / AlignedDataCtrlr.Interval: Sample.Clock values at the
    boundaries, in a transaction (1.6 with its id; 2.x as TransactionEvent MeterValueClock)
    and outside one (MeterValues)."""
    cfg = config(peer, version, meter_sample_interval=0, evses=(EvseConfig(), EvseConfig()))
    async with SimulatedStation(cfg) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        tx = await st.start_transaction(1, "TAG-1")
        if version is OcppVersion.V16:
            answer = await peer.call(
                cfg.id, "ChangeConfiguration", {"key": "ClockAlignedDataInterval", "value": "1"}
            )
        else:
            answer = await peer.call(
                cfg.id,
                "SetVariables",
                {
                    "setVariableData": [
                        {
                            "attributeValue": "1",
                            "component": {"name": "AlignedDataCtrlr"},
                            "variable": {"name": "Interval"},
                        }
                    ]
                },
            )
        assert "Accepted" in str(answer)
        idle = await peer.recorder.wait_for(cfg.id, "MeterValues", 1)
        if version is OcppVersion.V16:
            in_tx = await peer.recorder.wait_for(
                cfg.id, "MeterValues", 1, where=lambda r: "transactionId" in r.payload
            )
            assert in_tx[0].payload["transactionId"] == int(tx.id or 0)
        else:
            in_tx = await peer.recorder.wait_for(
                cfg.id,
                "TransactionEvent",
                1,
                where=lambda r: r.payload["triggerReason"] == "MeterValueClock",
            )
    assert idle[0].payload["meterValue"][0]["sampledValue"][0]["context"] == "Sample.Clock"
    clock = in_tx[0].payload["meterValue"][0]
    assert clock["sampledValue"][0]["context"] == "Sample.Clock"
    # Only MeterValuesAlignedData's measurand (the register) is in aligned values.
    assert {v["measurand"] for v in clock["sampledValue"]} == {"Energy.Active.Import.Register"}
