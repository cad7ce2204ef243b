"""Fault injection against OpenCSMS: malformed frames, invalid payloads, duplicates, reordering,
clock skew. Each test checks the fault happened on the wire (the CSMS's audit log) and how the
CSMS answered."""

from __future__ import annotations

from datetime import datetime

import orjson
import pytest

from opencsms.app import Csms
from opencsms.domain.model import FrameRecord
from opencsms.domain.stations import StationSpec
from opencsms.errors import CallErrorResponse
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import SimulatedStation
from opencsms.simulator.authorization import AuthEntry
from tests.simulator.helpers import sim_config


def authorize_locally(st: SimulatedStation, token: str) -> None:
    """Let ``token`` charge whatever the CSMS thinks of it: these tests are about the faults."""
    assert st.device_model is not None
    st.sessions.auth.entries[token] = AuthEntry("Accepted")
    st.device_model.set("AuthCtrlr", "LocalPreAuthorize", "true")
    st.device_model.set("TxCtrlr", "StopTxOnInvalidId", "false")


async def frames_in(csms: Csms, station: str, action: str) -> list[FrameRecord]:
    frames = await csms.audit.page(station, None, 500)
    return [f for f in reversed(frames) if f.direction == "in" and f.action == action]


@pytest.mark.parametrize("version", [OcppVersion.V16, OcppVersion.V201])
async def test_malformed_frame_gets_a_callerror(csms: Csms, version: OcppVersion) -> None:
    await csms.stations.create(StationSpec(id="F1"))
    async with SimulatedStation(sim_config(csms, "F1", version)) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        await st.send_raw('[2, "bad-1", "Heartbeat", {}')  # not JSON: the bracket is missing
        await st.send_heartbeat()  # answered after the CALLERROR: the notice is in by now
    assert st.notices  # the CALLERROR answered no CALL of ours: the session noted it
    frames = await csms.audit.page("F1", None, 50)
    errors = [
        orjson.loads(f.payload) for f in frames if f.direction == "out" and f.message_type == 4
    ]
    expected = "FormationViolation" if version is OcppVersion.V16 else "RpcFrameworkError"
    assert any(e[2] in (expected, "FormatViolation") for e in errors)


@pytest.mark.parametrize("version", [OcppVersion.V16, OcppVersion.V201])
async def test_schema_invalid_payload_is_refused(csms: Csms, version: OcppVersion) -> None:
    await csms.stations.create(StationSpec(id="F2"))
    async with SimulatedStation(sim_config(csms, "F2", version)) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        with pytest.raises(CallErrorResponse) as refused:
            await st.call_unchecked("Heartbeat", {"unexpected": True})
    codes = {"FormationViolation", "FormatViolation", "OccurenceConstraintViolation"}
    codes |= {"OccurrenceConstraintViolation", "TypeConstraintViolation"}
    assert refused.value.error_code in codes


async def test_duplicate_transaction_messages_reach_the_csms_twice(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="F3"))
    async with SimulatedStation(sim_config(csms, "F3", OcppVersion.V201)) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        authorize_locally(st, "TAG-1")
        st.faults.duplicate_transaction_messages = True
        tx = await st.start_transaction(1, "TAG-1")
        await st.stop_transaction(1)
        await st.wait_for(lambda s: s.queued == 0)
    events = [orjson.loads(f.payload)[3] for f in await frames_in(csms, "F3", "TransactionEvent")]
    seq_nos = [e["seqNo"] for e in events if e["transactionInfo"]["transactionId"] == tx.id]
    assert seq_nos == [0, 0, 1, 1]


async def test_reversed_offline_events(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="F4"))
    cfg = sim_config(csms, "F4", OcppVersion.V201)
    async with SimulatedStation(cfg) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        authorize_locally(st, "TAG-OFF")
        await st.go_offline()
        tx = await st.start_transaction(1, "TAG-OFF")
        await st.sessions.send_meter(tx, "Sample.Periodic", "MeterValuePeriodic")
        await st.stop_transaction(1)
        st.faults.reverse_queued_events = True
        st.go_online()
        await st.wait_for(lambda s: s.queued == 0 and s.connected)
    events = [orjson.loads(f.payload)[3] for f in await frames_in(csms, "F4", "TransactionEvent")]
    assert [e["seqNo"] for e in events] == [2, 1, 0]
    assert [e["eventType"] for e in events] == ["Ended", "Updated", "Started"]


async def test_clock_skew_shifts_every_timestamp(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="F5"))
    async with SimulatedStation(sim_config(csms, "F5", OcppVersion.V16)) as st:
        await st.wait_for(lambda s: s.registration == "Accepted" and s.unsent_statuses == 0)
        st.set_clock_skew(-3600)
        await st.send_statuses([1])
    [*_, frame] = await frames_in(csms, "F5", "StatusNotification")
    sent = datetime.fromisoformat(orjson.loads(frame.payload)[3]["timestamp"])
    skew = (sent - frame.at).total_seconds()
    assert -3700 < skew < -3500
