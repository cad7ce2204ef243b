"""The load manager's robustness over the wire: a silent station never holds up a round (other
stations' limits change within seconds; its targets are skipped while their send is in flight
and re-evaluated when it lands); an EV schedule above the TxProfile is renegotiated (K16)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from tests.domain.load_management_wire import duplex, limit_of, lm_settings
from tests.domain.test_load_management import site, start_16, tx_201, tx_limits
from tests.wire import api_client, running_csms


def silent(payload: dict[str, Any]) -> dict[str, Any] | None:
    """A station that takes SetChargingProfile and never answers it."""
    return None


async def test_a_silent_station_does_not_hold_up_another_stations_change(tmp_path: Path) -> None:
    settings = lm_settings(tmp_path, call_timeout=4.0)
    async with (
        running_csms(settings) as csms,
        duplex(csms, "LM-A", "ocpp1.6") as answering,
        duplex(csms, "LM-S", "ocpp1.6", {"SetChargingProfile": silent}) as mute,
        api_client(csms) as api,
    ):
        await site(csms, 64, "LM-A", "LM-S")
        await answering.call("StartTransaction", start_16(tag="TAG-A"))
        await answering.wait_until(lambda: tx_limits(answering) == [32.0])
        await mute.call("StartTransaction", start_16(tag="TAG-S"))
        # The silent station got its TxDefault and holds it unanswered (one CALL at a time).
        await mute.wait_until(lambda: len(mute.profiles()) >= 1)
        sent_to_mute = len(mute.profiles())

        # The site is lowered: the answering station's decrease lands within seconds although
        # the silent station's CALL is still outstanding (call timeout 4 s).
        began = time.monotonic()
        lowered = await api.patch("/api/v1/load-groups/site", json={"max_current_a": 20})
        assert lowered.status_code == 200, lowered.text
        await answering.wait_until(lambda: tx_limits(answering)[-1] == 10.0, wait=3.0)
        reacted = time.monotonic() - began
        assert reacted < 2.0, reacted
        assert len(mute.profiles()) == sent_to_mute  # nothing queued behind the silent CALL

        # Its TxDefault times out (4 s), then its queued TxProfile (8 s): the batch lands, is
        # recorded, and the targets skipped meanwhile are re-evaluated without another trigger:
        # the station is sent a third profile.
        await mute.wait_until(lambda: len(mute.profiles()) >= sent_to_mute + 2, wait=15.0)
        page = (await api.get("/api/v1/load-groups/site/decisions")).json()
        statuses = {s["status"] for d in page["items"] for s in d["sessions"]}
        assert "Failed" in statuses  # the timed-out send, recorded when it landed
        assert all(limit_of(p) <= 20 for p in answering.profiles()[-1:])


async def test_planned_group_loads_are_rounded_for_reading(tmp_path: Path) -> None:
    """20 A over three sessions: the API shows the planned loads to 0.1 A and whole watts."""
    async with (
        running_csms(lm_settings(tmp_path)) as csms,
        duplex(csms, "LM-R1", "ocpp1.6") as one,
        duplex(csms, "LM-R2", "ocpp1.6") as two,
        duplex(csms, "LM-R3", "ocpp1.6") as three,
        api_client(csms) as api,
    ):
        await site(csms, 64, "LM-R1", "LM-R2", "LM-R3")
        patched = await api.patch("/api/v1/load-groups/site", json={"max_current_a": 20})
        assert patched.status_code == 200, patched.text
        for number, station in enumerate((one, two, three), start=1):
            await station.call("StartTransaction", start_16(tag=f"TAG-R{number}"))
        await settle_all(csms)
        body = (await api.get("/api/v1/load-groups/site/allocation")).json()
        (group,) = body["groups"]
        # Three limits of 6.6 A (rounded down to the wire's 0.1 A): 19.8 A, 13,662 W, no noise.
        assert [s["limit_a"] for s in body["sessions"]] == [6.6, 6.6, 6.6]
        assert group["current_a"] == [19.8, 19.8, 19.8]
        assert group["power_w"] == 13_662.0


async def test_rounds_skip_a_target_whose_send_is_in_flight(tmp_path: Path) -> None:
    """Two triggers while a station sits on a CALL: the later round records ``InFlight`` for
    that station instead of queueing a second SetChargingProfile behind the first."""
    settings = lm_settings(tmp_path, call_timeout=30.0)
    async with (
        running_csms(settings) as csms,
        duplex(csms, "LM-S2", "ocpp1.6", {"SetChargingProfile": silent}) as mute,
    ):
        # The session runs before the station joins: the joining round sends both profiles
        # (the TxProfile queued behind the unanswered TxDefault), so both are in flight.
        await mute.call("StartTransaction", start_16(tag="TAG-S2"))
        await site(csms, 64, "LM-S2")
        await mute.wait_until(lambda: len(mute.profiles()) >= 1)
        async with asyncio.timeout(5):
            decisions = await csms.load_manager.rebalance("operator rebalance")
        # Nothing new was sent: every target is in flight, and the round says so.
        (decision,) = decisions
        assert {e.status for e in decision.entries} == {"InFlight"}
        assert {e.kind for e in decision.entries} == {"TxDefault", "TxProfile"}
        assert len(mute.profiles()) == 1


async def test_ev_schedule_above_the_tx_profile_is_renegotiated(tmp_path: Path) -> None:
    """K15.FR.12/13, K16: the EV's schedule exceeds its TxProfile, is Rejected, and the CSMS sends
    the session's TxProfile again (same transaction, the limit planned now), which makes the
    station renegotiate; a schedule within the profile sends nothing; at most three times."""
    async with (
        running_csms(lm_settings(tmp_path)) as csms,
        duplex(csms, "LM-K16", "ocpp2.0.1") as station,
    ):
        await site(csms, 100, "LM-K16")
        await station.call(
            "TransactionEvent", tx_201("Started", 0, "TX-K16", chargingState="EVConnected")
        )
        await station.wait_until(lambda: tx_limits(station) == [32.0])
        await settle_all(csms)

        def ev_schedule(second: int, amps: float) -> dict[str, Any]:
            return {
                "timeBase": f"2026-01-01T10:00:{second:02d}Z",
                "evseId": 1,
                "chargingSchedule": {
                    "id": 1,
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": amps}],
                },
            }

        within = await station.call("NotifyEVChargingSchedule", ev_schedule(1, 30.0))
        assert within["status"] == "Accepted"
        await settle_all(csms)
        assert tx_limits(station) == [32.0]  # nothing to renegotiate

        for attempt in range(1, 4):
            above = await station.call("NotifyEVChargingSchedule", ev_schedule(1 + attempt, 40.0))
            assert above["status"] == "Rejected"
            await station.wait_until(lambda n=attempt: len(tx_limits(station)) == 1 + n)
            resent = station.profiles("TxProfile")[-1]["chargingProfile"]
            assert resent["transactionId"] == "TX-K16"
            assert limit_of(station.profiles("TxProfile")[-1]) == 32.0
        # A fourth schedule above the profile: answered Rejected, not renegotiated again.
        above = await station.call("NotifyEVChargingSchedule", ev_schedule(9, 40.0))
        assert above["status"] == "Rejected"
        # Events are read in order: once the needs that follow got their TxProfile (K15), the
        # fourth schedule was handled too, and it added none.
        needs = {
            "evseId": 1,
            "chargingNeeds": {
                "requestedEnergyTransfer": "AC_three_phase",
                "acChargingParameters": {
                    "energyAmount": 20000,
                    "evMinCurrent": 6,
                    "evMaxCurrent": 32,
                    "evMaxVoltage": 400,
                },
            },
        }
        assert (await station.call("NotifyEVChargingNeeds", needs))["status"] == "Accepted"
        await station.wait_until(lambda: len(tx_limits(station)) >= 5)
        await settle_all(csms)
        assert len(tx_limits(station)) == 5


async def settle_all(csms: Any) -> None:
    """Wait until the load manager ran every triggered round and every send landed."""
    async with asyncio.timeout(5):
        await csms.load_manager.settled()
