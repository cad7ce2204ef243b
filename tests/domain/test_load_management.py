"""The load manager over the real wire: raw 1.6 and 2.0.1 stations under a load group receive
TxDefaultProfile / TxProfile SetChargingProfile with the allocated limits when sessions start
and stop; small changes send nothing (hysteresis), decreases are sent, an external limit set
through the API is applied, EV charging needs (K15) get a TxProfile, failures are recorded."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from opencsms.app import Csms
from tests.domain.load_management_wire import DuplexStation, duplex, limit_of, lm_settings
from tests.wire import api_client, running_csms


def start_16(connector: int = 1, tag: str = "TAG-1") -> dict[str, Any]:
    return {
        "connectorId": connector,
        "idTag": tag,
        "meterStart": 0,
        "timestamp": "2026-01-01T10:00:00Z",
    }


def tx_201(event: str, seq: int, tx: str, evse: int = 1, **info: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "eventType": event,
        "timestamp": "2026-01-01T10:00:00Z",
        "triggerReason": "Authorized" if event == "Started" else "StopAuthorized",
        "seqNo": seq,
        "transactionInfo": {"transactionId": tx, **info},
        "evse": {"id": evse, "connectorId": 1},
    }
    if event == "Started":
        payload["idToken"] = {"idToken": "TAG-2", "type": "ISO14443"}
    return payload


def current_16(transaction_id: int, amps: float) -> dict[str, Any]:
    return {
        "connectorId": 1,
        "transactionId": transaction_id,
        "meterValue": [
            {
                "timestamp": "2026-01-01T10:01:00Z",
                "sampledValue": [
                    {"value": str(amps), "measurand": "Current.Import", "phase": p, "unit": "A"}
                    for p in ("L1", "L2", "L3")
                ],
            }
        ],
    }


async def settle(csms: Csms) -> None:
    """Wait until the load manager ran every triggered round."""
    async with asyncio.timeout(5):
        await csms.load_manager.settled()


async def site(csms: Csms, amps: float, *stations: str) -> None:
    async with api_client(csms) as api:
        made = await api.post("/api/v1/load-groups", json={"id": "site", "max_current_a": amps})
        assert made.status_code == 201, made.text
        for station_id in stations:
            put = await api.put(
                f"/api/v1/load-groups/site/members/{station_id}", json={"max_current_a": 32}
            )
            assert put.status_code == 200, put.text


def tx_limits(station: DuplexStation) -> list[float]:
    return [limit_of(p) for p in station.profiles("TxProfile")]


async def test_sessions_share_the_site_and_hysteresis_holds(tmp_path: Path) -> None:
    async with (
        running_csms(lm_settings(tmp_path)) as csms,
        duplex(csms, "LM-A", "ocpp1.6") as a,
        duplex(csms, "LM-B", "ocpp2.0.1") as b,
        api_client(csms) as api,
    ):
        await site(csms, 40, "LM-A", "LM-B")
        # Both stations get the TxDefault new sessions start under: room for a minimum.
        (default_a,) = await a.wait_profiles(1, "TxDefaultProfile")
        (default_b,) = await b.wait_profiles(1, "TxDefaultProfile")
        assert limit_of(default_a) == limit_of(default_b) == 6.0
        assert default_a["connectorId"] == 0
        assert default_b["evseId"] == 0

        started = await a.call("StartTransaction", start_16())
        tx_a = started["transactionId"]
        (first,) = await a.wait_profiles(1, "TxProfile")
        raw = first["csChargingProfiles"]
        assert first["connectorId"] == 1
        assert raw["transactionId"] == tx_a
        assert raw["chargingProfileKind"] == "Relative"
        assert limit_of(first) == 32.0  # alone: its rating

        await b.call("TransactionEvent", tx_201("Started", 0, "TX-B", chargingState="Charging"))
        await b.wait_profiles(1, "TxProfile")
        await a.wait_profiles(2, "TxProfile")
        assert tx_limits(a) == [32.0, 20.0]  # decreased
        (profile_b,) = b.profiles("TxProfile")
        assert profile_b["evseId"] == 1
        assert profile_b["chargingProfile"]["transactionId"] == "TX-B"
        assert limit_of(profile_b) == 20.0

        # A small change sends nothing: A draws about its limit.
        await settle(csms)
        rounds = csms.load_manager.rounds
        await a.call("MeterValues", current_16(tx_a, 19.6))
        async with asyncio.timeout(5):
            while csms.load_manager.rounds == rounds:  # noqa: ASYNC110 - no event announces it
                await asyncio.sleep(0.01)
        await settle(csms)
        assert tx_limits(a) == [32.0, 20.0]
        assert tx_limits(b) == [20.0]

        # An external signal through the API lowers the site: both decrease at once.
        ext = await api.put("/api/v1/load-groups/site/external-limit", json={"max_current_a": 24})
        assert ext.status_code == 200, ext.text
        await a.wait_profiles(3, "TxProfile")
        await b.wait_profiles(2, "TxProfile")
        assert tx_limits(a)[-1] == tx_limits(b)[-1] == 12.0

        # B stops: A gets the whole (signalled) site again.
        await b.call("TransactionEvent", tx_201("Ended", 1, "TX-B", stoppedReason="Local"))
        await a.wait_profiles(4, "TxProfile")
        assert tx_limits(a)[-1] == 24.0

        # Every round that sent something is shown, newest first, with the station's answers.
        await settle(csms)
        page = (await api.get("/api/v1/load-groups/site/decisions")).json()
        assert page["total"] >= 4
        newest = page["items"][0]
        assert newest["failed"] == 0
        sent = [s for s in newest["sessions"] if s["status"] == "Accepted"]
        assert sent
        assert sent[0]["station_id"] == "LM-A"
        assert sent[0]["limit_a"] == 24.0

        # The CSMS's record holds what the stations accepted.
        held = await csms.charging_profiles.held("LM-A")
        assert {(p.profile.purpose.value, p.profile.evse) for p in held} == {
            ("TxDefault", 0),
            ("Tx", 1),
        }
        allocation = (await api.get("/api/v1/load-groups/site/allocation")).json()
        assert [(s["station_id"], s["limit_a"], s["sent_a"]) for s in allocation["sessions"]] == [
            ("LM-A", 24.0, 24.0)
        ]


async def test_full_site_starts_new_sessions_at_zero(tmp_path: Path) -> None:
    """When the site has no room for another minimum, the TxDefault drops to 0 A so a new
    session adds nothing before its first allocation."""
    async with (
        running_csms(lm_settings(tmp_path)) as csms,
        duplex(csms, "LM-F1", "ocpp1.6") as one,
        duplex(csms, "LM-F2", "ocpp1.6") as two,
    ):
        await site(csms, 16, "LM-F1", "LM-F2")
        await one.wait_profiles(1, "TxDefaultProfile")
        await one.call("StartTransaction", start_16())
        await one.wait_profiles(1, "TxProfile")
        assert tx_limits(one) == [16.0]
        for station in (one, two):
            await station.wait_until(
                lambda s=station: (
                    [limit_of(p) for p in s.profiles("TxDefaultProfile")][-1:] == [0.0]
                )
            )


async def test_ev_charging_needs_get_a_tx_profile(tmp_path: Path) -> None:
    """K15: after NotifyEVChargingNeeds the CSMS sends the transaction's TxProfile, within the
    EV's own limits, even when the limit did not change."""
    async with (
        running_csms(lm_settings(tmp_path)) as csms,
        duplex(csms, "LM-N", "ocpp2.0.1") as station,
    ):
        await site(csms, 100, "LM-N")
        await station.call(
            "TransactionEvent", tx_201("Started", 0, "TX-N", chargingState="EVConnected")
        )
        (first,) = await station.wait_profiles(1, "TxProfile")
        assert limit_of(first) == 32.0
        needs = {
            "evseId": 1,
            "chargingNeeds": {
                "requestedEnergyTransfer": "AC_three_phase",
                "acChargingParameters": {
                    "energyAmount": 20000,
                    "evMinCurrent": 8,
                    "evMaxCurrent": 16,
                    "evMaxVoltage": 400,
                },
            },
        }
        answer = await station.call("NotifyEVChargingNeeds", needs)
        assert answer["status"] == "Accepted"
        profiles = await station.wait_profiles(2, "TxProfile")
        assert limit_of(profiles[-1]) == 16.0
        assert profiles[-1]["chargingProfile"]["transactionId"] == "TX-N"
        # Needs again, unchanged: the EV still gets its schedule (no hysteresis for K15).
        await station.call("NotifyEVChargingNeeds", needs)
        profiles = await station.wait_profiles(3, "TxProfile")
        assert limit_of(profiles[-1]) == 16.0


async def test_rejected_profile_is_recorded_and_retried(tmp_path: Path) -> None:
    answers = {"status": "Rejected"}

    def answer(payload: dict[str, Any]) -> dict[str, Any]:
        raw = payload["csChargingProfiles"]
        if raw["chargingProfilePurpose"] == "TxProfile":
            return dict(answers)
        return {"status": "Accepted"}

    async with (
        running_csms(lm_settings(tmp_path)) as csms,
        duplex(csms, "LM-R", "ocpp1.6", {"SetChargingProfile": answer}) as station,
        api_client(csms) as api,
    ):
        await site(csms, 32, "LM-R")
        await station.call("StartTransaction", start_16())
        await station.wait_profiles(1, "TxProfile")
        await settle(csms)
        page = (await api.get("/api/v1/load-groups/site/decisions")).json()
        rejected = [
            s
            for d in page["items"]
            for s in d["sessions"]
            if s["kind"] == "TxProfile" and s["status"] == "Rejected"
        ]
        assert rejected
        assert page["items"][0]["failed"] >= 1
        assert not [p for p in await csms.charging_profiles.held("LM-R") if p.profile.id > 91000]

        # The next round retries: the station accepts now and it is recorded.
        answers["status"] = "Accepted"
        retried = await api.post("/api/v1/load-groups/site/rebalance")
        assert retried.status_code == 200, retried.text
        assert [s["status"] for s in retried.json()[0]["sessions"] if s["kind"] == "TxProfile"] == [
            "Accepted"
        ]
        assert [p.profile.id for p in await csms.charging_profiles.held("LM-R")] == [
            91000,
            91001,
        ] or {p.profile.id for p in await csms.charging_profiles.held("LM-R")} == {91000, 91001}


async def test_offline_station_is_recorded_as_failed(tmp_path: Path) -> None:
    async with running_csms(lm_settings(tmp_path)) as csms, api_client(csms) as api:
        async with duplex(csms, "LM-O", "ocpp1.6") as station:
            await site(csms, 32, "LM-O")
            await station.call("StartTransaction", start_16())
            await station.wait_profiles(1, "TxProfile")
        # The station is gone; the site's limit drops: the decrease cannot be delivered.
        async with asyncio.timeout(5):
            while csms.registry.get("LM-O") is not None:  # noqa: ASYNC110 - no event for it
                await asyncio.sleep(0.01)
        await api.patch("/api/v1/load-groups/site", json={"max_current_a": 10})
        await settle(csms)
        newest = (await api.get("/api/v1/load-groups/site/decisions")).json()["items"][0]
        failed = [s for s in newest["sessions"] if s["kind"] == "TxProfile"]
        assert [(s["status"], s["limit_a"], s["detail"]) for s in failed] == [
            ("Failed", 10.0, "station not connected")
        ]


@pytest.mark.parametrize("subprotocol", ["ocpp1.6", "ocpp2.0.1"])
async def test_station_external_limit_caps_its_sessions(tmp_path: Path, subprotocol: str) -> None:
    """A ChargingLimitReported (2.0.1 K12 NotifyChargingLimit) caps the station under its
    group; a 1.6 station has none and keeps its rating."""
    async with (
        running_csms(lm_settings(tmp_path)) as csms,
        duplex(csms, "LM-X", subprotocol) as station,
    ):
        await site(csms, 100, "LM-X")
        if subprotocol == "ocpp1.6":
            await station.call("StartTransaction", start_16())
            (profile,) = await station.wait_profiles(1, "TxProfile")
            assert limit_of(profile) == 32.0
            return
        await station.call(
            "TransactionEvent", tx_201("Started", 0, "TX-X", chargingState="Charging")
        )
        await station.wait_profiles(1, "TxProfile")
        limit = {
            "chargingLimit": {"chargingLimitSource": "EMS", "isGridCritical": False},
            "evseId": 0,
            "chargingSchedule": [
                {
                    "id": 1,
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10}],
                }
            ],
        }
        await station.call("NotifyChargingLimit", limit)
        profiles = await station.wait_profiles(2, "TxProfile")
        assert limit_of(profiles[-1]) == 10.0
