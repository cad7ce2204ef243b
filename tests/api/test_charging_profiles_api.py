"""Charging profiles over real HTTP and real OCPP-J: checked before sending, recorded only on
Accepted, cleared, previewed by the CSMS's own composite schedule (equal to the station's), and
(2.0.1) reconciled with GetChargingProfiles / ReportChargingProfiles."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from opencsms.app import Csms
from opencsms.clock import utc_iso
from opencsms.domain.stations import StationSpec
from opencsms.handlers.charging_profiles import profile_from_2
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import SimulatedStation
from tests.handlers.builders import booted
from tests.handlers.station_calls import NO_ANSWER, responding
from tests.simulator.helpers import sim_config
from tests.wire import api_client, raw_station, running_csms, settings_for

VERSIONS = [OcppVersion.V16, OcppVersion.V201]


def profile(
    version: OcppVersion,
    profile_id: int,
    *,
    stack: int = 0,
    purpose: str = "TxDefaultProfile",
    periods: tuple[tuple[int, float], ...] = ((0, 12.0), (3600, 8.0)),
    start: datetime | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An Absolute profile in amperes of ``version``'s spelling, started 10 s ago."""
    begin = start or datetime.now(UTC) - timedelta(seconds=10)
    schedule: dict[str, Any] = {
        "chargingRateUnit": "A",
        "startSchedule": utc_iso(begin),
        "chargingSchedulePeriod": [{"startPeriod": s, "limit": v} for s, v in periods],
    }
    common = {
        "stackLevel": stack,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Absolute",
    }
    if version is OcppVersion.V16:
        return {"chargingProfileId": profile_id, **common, "chargingSchedule": schedule} | extra
    return {"id": profile_id, **common, "chargingSchedule": [schedule | {"id": 1}]} | extra


async def held(api: httpx.AsyncClient, station_id: str) -> list[int]:
    response = await api.get(f"/api/v1/stations/{station_id}/charging-profiles")
    assert response.status_code == 200, response.text
    return [p["profile_id"] for p in response.json()]


async def last_command(api: httpx.AsyncClient, station_id: str) -> dict[str, Any]:
    response = await api.get(f"/api/v1/stations/{station_id}/commands", params={"limit": 1})
    assert response.status_code == 200, response.text
    item: dict[str, Any] = response.json()["items"][0]
    return item


@pytest.mark.parametrize("version", VERSIONS)
async def test_set_check_compare_and_clear(csms: Csms, version: OcppVersion) -> None:
    station_id = f"SC-{version.name}"
    base = f"/api/v1/stations/{station_id}"
    await csms.stations.create(StationSpec(id=station_id))
    async with (
        SimulatedStation(sim_config(csms, station_id, version)) as st,
        api_client(csms) as api,
    ):
        await st.wait_for(lambda s: s.registration == "Accepted")
        set_one = await api.post(
            f"{base}/charging-profiles",
            json={"evse_id": 1, "charging_profile": profile(version, 7, stack=2)},
        )
        assert set_one.status_code == 200, set_one.text
        assert set_one.json()["status"] == "Accepted"
        assert set_one.json()["recorded"] is True
        assert [p.id for p in st.charging.profiles] == [7]
        assert await held(api, station_id) == [7]

        # A bad shape is refused before sending: nothing reaches the station.
        bad = await api.post(
            f"{base}/charging-profiles",
            json={"evse_id": 1, "charging_profile": profile(version, 8, periods=((5, 6.0),))},
        )
        assert bad.status_code == 400
        assert "first period must start at 0" in bad.json()["detail"]
        assert (await last_command(api, station_id))["status"] == "Invalid"

        # Same purpose, stack level and EVSE, overlapping validity, another id: a conflict.
        clash = await api.post(
            f"{base}/charging-profiles",
            json={"evse_id": 1, "charging_profile": profile(version, 9, stack=2)},
        )
        assert clash.status_code == 400
        assert "conflicts with profile 7" in clash.json()["detail"]
        external = await api.post(
            f"{base}/charging-profiles",
            json={"evse_id": 1, "charging_profile": profile(version, 9, stack=3)} | {"evse_id": 0},
        )
        assert external.status_code == 200, external.text  # station-wide TxDefault is fine
        assert [p.id for p in st.charging.profiles] == [7, 9]

        # The CSMS's composite equals the station's for the same window.
        asked = await api.post(
            f"{base}/composite-schedule/station", json={"evse_id": 1, "duration": 7200, "unit": "A"}
        )
        assert asked.status_code == 200, asked.text
        answer = asked.json()["response"]
        theirs = answer["chargingSchedule"] if version is OcppVersion.V16 else answer["schedule"]
        mine = await api.get(
            f"{base}/composite-schedule",
            params={
                "evse_id": 1,
                "duration": 7200,
                "unit": "A",
                "start": answer.get("scheduleStart") or theirs["scheduleStart"],
            },
        )
        assert mine.status_code == 200, mine.text
        station_periods = [(p["startPeriod"], p["limit"]) for p in theirs["chargingSchedulePeriod"]]
        csms_periods = [(p["start_period"], p["limit"]) for p in mine.json()["periods"]]
        assert csms_periods == station_periods
        assert [limit for _, limit in csms_periods] == [12.0, 8.0]  # below the rating

        gone = await api.delete(f"{base}/charging-profiles/7")
        assert gone.status_code == 200, gone.text
        assert gone.json()["removed"] == [7]
        cleared = await api.post(f"{base}/charging-profiles/clear", json={"evse_id": 0})
        assert cleared.json()["removed"] == [9]
        assert st.charging.profiles == []
        assert await held(api, station_id) == []


async def test_reconcile_replaces_a_drifted_record(csms: Csms) -> None:
    """2.0.1 K09: the complete report of an unfiltered GetChargingProfiles is the record."""
    station_id = "SC-RECONCILE"
    base = f"/api/v1/stations/{station_id}"
    await csms.stations.create(StationSpec(id=station_id))
    v201 = OcppVersion.V201
    async with SimulatedStation(sim_config(csms, station_id, v201)) as st, api_client(csms) as api:
        await st.wait_for(lambda s: s.registration == "Accepted")
        for pid, evse in ((1, 1), (2, 0), (3, 1)):
            body = {"evse_id": evse, "charging_profile": profile(v201, pid, stack=pid)}
            assert (await api.post(f"{base}/charging-profiles", json=body)).status_code == 200
        # Drift: the CSMS believes in a profile 99 the station never had, and the station
        # lost profile 3 (e.g. a reset).
        ghost = profile(v201, 99, stack=5)
        await csms.charging_profiles.accepted(station_id, "2.0.1", profile_from_2(1, ghost), ghost)
        st.charging.installed = [i for i in st.charging.installed if i.profile.id != 3]
        assert await held(api, station_id) == [1, 2, 3, 99]

        asked = await api.post(f"{base}/charging-profiles/reconcile")
        assert asked.status_code == 200, asked.text
        assert asked.json()["response"]["status"] == "Accepted"
        # Two parts (EVSE 0, EVSE 1); each acknowledged only once stored.
        await st.wait_for(lambda s: len(s.charging.reports) == 2)
        assert [r.error for r in st.charging.reports] == [None, None]
        assert [r.payload["tbc"] for r in st.charging.reports] == [True, False]
        assert sorted(await held(api, station_id)) == [1, 2]
        listed = (await api.get(f"{base}/charging-profiles")).json()
        assert {p["report_id"] for p in listed} == {asked.json()["payload"]["requestId"]}

        st.charging.installed = []
        emptied = await api.post(f"{base}/charging-profiles/reconcile")
        assert emptied.json()["response"]["status"] == "NoProfiles"
        assert await held(api, station_id) == []


async def test_rejected_offline_and_timeout(tmp_path: Path) -> None:
    """A station's Rejected records nothing; not connected is 409, silence 504; 1.6 has no
    reconcile (400)."""
    async with running_csms(settings_for(tmp_path, call_timeout=0.3)) as csms:
        await csms.stations.create(StationSpec(id="RAW"))
        base = "/api/v1/stations/RAW"
        tx_profile = profile(
            OcppVersion.V201, 3, purpose="TxProfile", transactionId="tx-unknown-to-station"
        )
        answers = {"SetChargingProfile": {"status": "Rejected"}, "ClearChargingProfile": NO_ANSWER}
        async with raw_station(csms, "RAW", "ocpp2.0.1") as cp:
            await booted(cp, "ocpp2.0.1")
            async with responding(cp, answers) as station, api_client(csms) as api:
                refused = await api.post(
                    f"{base}/charging-profiles", json={"evse_id": 1, "charging_profile": tx_profile}
                )
                no_tx = await api.post(
                    f"{base}/charging-profiles",
                    json={
                        "evse_id": 1,
                        "charging_profile": profile(OcppVersion.V201, 4, purpose="TxProfile"),
                    },
                )
                silent = await api.delete(f"{base}/charging-profiles/3")
                after = await held(api, "RAW")
        assert refused.status_code == 200, refused.text
        assert (refused.json()["status"], refused.json()["recorded"]) == ("Rejected", False)
        assert no_tx.status_code == 400
        assert "transactionId" in no_tx.json()["detail"]
        assert len(station.payloads("SetChargingProfile")) == 1
        assert silent.status_code == 504
        assert after == []

        async with api_client(csms) as api:
            offline = await api.post(
                f"{base}/charging-profiles",
                json={"evse_id": 1, "charging_profile": profile(OcppVersion.V201, 5)},
            )
        assert offline.status_code == 409
        assert "not connected" in offline.json()["detail"]

        await csms.stations.create(StationSpec(id="OLD"))
        async with raw_station(csms, "OLD", "ocpp1.6") as cp16:
            await booted(cp16, "ocpp1.6")
            async with api_client(csms) as api:
                no_reconcile = await api.post("/api/v1/stations/OLD/charging-profiles/reconcile")
        assert no_reconcile.status_code == 400
        assert "1.6" in no_reconcile.json()["detail"]


async def test_v16_same_slot_is_replaced_in_the_record_too(csms: Csms) -> None:
    """1.6 §3.13.2: a profile in the slot of another (validity not overlapping, so not a
    conflict) replaces it on the station, and in the record."""
    station_id = "SC-SLOT"
    base = f"/api/v1/stations/{station_id}"
    await csms.stations.create(StationSpec(id=station_id))
    v16 = OcppVersion.V16
    now = datetime.now(UTC).replace(microsecond=0)
    first = profile(v16, 1, stack=1, validTo=utc_iso(now + timedelta(hours=1)))
    later = profile(v16, 2, stack=1, validFrom=utc_iso(now + timedelta(hours=1)))
    async with SimulatedStation(sim_config(csms, station_id, v16)) as st, api_client(csms) as api:
        await st.wait_for(lambda s: s.registration == "Accepted")
        for body in (first, later):
            sent = await api.post(
                f"{base}/charging-profiles", json={"evse_id": 1, "charging_profile": body}
            )
            assert sent.json()["status"] == "Accepted", sent.text
        assert [p.id for p in st.charging.profiles] == [2]
        assert await held(api, station_id) == [2]


async def test_tx_profile_of_a_running_transaction_in_both_composites(csms: Csms) -> None:
    """The CSMS applies a TxProfile to the transaction it knows runs on the EVSE, as the
    station does (K01.FR.03, 1.6 §3.13.1)."""
    station_id = "SC-TX"
    base = f"/api/v1/stations/{station_id}"
    v201 = OcppVersion.V201
    await csms.stations.create(StationSpec(id=station_id))
    await csms.tokens.create({"id_token": "DRIVER-1"})
    async with SimulatedStation(sim_config(csms, station_id, v201)) as st, api_client(csms) as api:
        await st.wait_for(lambda s: s.registration == "Accepted")
        started = await api.post(
            f"{base}/commands/remote-start", json={"evse_id": 1, "id_token": "DRIVER-1"}
        )
        assert started.status_code == 200, started.text
        await st.wait_for(lambda s: (t := s.transaction(1)) is not None and t.id is not None)
        tx = st.transaction(1)
        assert tx is not None
        async with asyncio.timeout(5):
            await tx.started.wait()  # answered: the CSMS stored it first
        open_txs = await csms.storage.transactions.open_for_station(station_id)
        assert [t.transaction_id for t in open_txs] == [tx.id]

        default = profile(v201, 1, periods=((0, 14.0),))
        only_tx = profile(
            v201, 2, purpose="TxProfile", periods=((0, 9.0), (600, 7.0)), transactionId=tx.id
        )
        for body in (default, only_tx):
            sent = await api.post(
                f"{base}/charging-profiles", json={"evse_id": 1, "charging_profile": body}
            )
            assert sent.json()["status"] == "Accepted", sent.text
        asked = await api.post(
            f"{base}/composite-schedule/station", json={"evse_id": 1, "duration": 1800, "unit": "A"}
        )
        theirs = asked.json()["response"]["schedule"]
        mine = await api.get(
            f"{base}/composite-schedule",
            params={"evse_id": 1, "duration": 1800, "start": theirs["scheduleStart"]},
        )
    station_periods = [(p["startPeriod"], p["limit"]) for p in theirs["chargingSchedulePeriod"]]
    csms_periods = [(p["start_period"], p["limit"]) for p in mine.json()["periods"]]
    assert csms_periods == station_periods
    assert [limit for _, limit in csms_periods] == [9.0, 7.0]


async def test_composite_preview_includes_the_stations_external_limits(csms: Csms) -> None:
    """K08 / K12 / K13: the CSMS's composite counts the external limits the station reported
    (each source limits at once: the minimum), and forgets one once it is cleared."""
    station_id = "SC-EXT"
    base = f"/api/v1/stations/{station_id}"
    await csms.stations.create(StationSpec(id=station_id))
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5)

    def limit(source: str, periods: list[tuple[int, float]], evse: int | None) -> dict[str, Any]:
        schedule = {
            "id": 1,
            "startSchedule": utc_iso(start),
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": s, "limit": v} for s, v in periods],
        }
        report: dict[str, Any] = {
            "chargingLimit": {"chargingLimitSource": source},
            "chargingSchedule": [schedule],
        }
        return report | ({} if evse is None else {"evseId": evse})

    async def preview() -> list[tuple[int, float | None]]:
        got = await api.get(
            f"{base}/composite-schedule",
            params={"evse_id": 1, "duration": 1800, "start": utc_iso(start)},
        )
        assert got.status_code == 200, got.text
        return [(p["start_period"], p["limit"]) for p in got.json()["periods"]]

    async with raw_station(csms, station_id, "ocpp2.0.1") as cs, api_client(csms) as api:
        await booted(cs, "ocpp2.0.1")
        assert await preview() == [(0, None)]  # nothing limits EVSE 1 (rating unknown)
        ems = limit("EMS", [(0, 10.0)], evse=1)
        assert await cs.result("NotifyChargingLimit", ems) == {}
        grid = limit("SO", [(0, 20.0), (600, 8.0)], evse=None)
        assert await cs.result("NotifyChargingLimit", grid) == {}
        assert await preview() == [(0, 10.0), (600, 8.0)]
        cleared = {"chargingLimitSource": "EMS", "evseId": 1}
        assert await cs.result("ClearedChargingLimit", cleared) == {}
        assert await preview() == [(0, 20.0), (600, 8.0)]
