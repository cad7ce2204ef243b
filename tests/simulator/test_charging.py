"""Smart charging on the simulator over the real wire: profiles set, reported and cleared by a
real OpenCSMS, composite schedules, and EVSE power that follows the limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from opencsms.app import Csms
from opencsms.clock import utc_iso
from opencsms.domain.stations import StationSpec
from opencsms.errors import CallErrorResponse
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import EvseConfig, SimulatedStation
from tests.simulator.helpers import T0, ManualClock, sim_config

MIDNIGHT = "2025-01-01T00:00:00.000Z"  # before T0 (12:00): absolute profiles are in force


def profile_16(
    profile_id: int,
    purpose: str = "TxDefaultProfile",
    *,
    stack: int = 0,
    periods: tuple[tuple[int, float], ...] = ((0, 10.0),),
    unit: str = "A",
    **extra: Any,
) -> dict[str, Any]:
    schedule = {
        "chargingRateUnit": unit,
        "startSchedule": MIDNIGHT,
        "chargingSchedulePeriod": [{"startPeriod": s, "limit": v} for s, v in periods],
    }
    return {
        "chargingProfileId": profile_id,
        "stackLevel": stack,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Absolute",
        "chargingSchedule": schedule,
    } | extra


def profile_2(
    profile_id: int,
    purpose: str = "TxDefaultProfile",
    *,
    stack: int = 0,
    periods: tuple[tuple[int, float], ...] = ((0, 6_000.0),),
    unit: str = "W",
    start: str | None = MIDNIGHT,
    kind: str = "Absolute",
    duration: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A 2.x ChargingProfileType; ``extra`` are more profile fields (validFrom, transactionId)."""
    schedule: dict[str, Any] = {
        "id": profile_id,
        "chargingRateUnit": unit,
        "chargingSchedulePeriod": [{"startPeriod": s, "limit": v} for s, v in periods],
    }
    if start is not None:
        schedule["startSchedule"] = start
    if duration is not None:
        schedule["duration"] = duration
    return {
        "id": profile_id,
        "stackLevel": stack,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": kind,
        "chargingSchedule": [schedule],
    } | extra


async def status_of(csms: Csms, station: str, action: str, payload: dict[str, Any]) -> str:
    answer = await csms.call_station(station, action, payload)
    return str(answer["status"])


async def reason_of(csms: Csms, station: str, evse: int, profile: dict[str, Any]) -> str:
    """The reasonCode of a refused 2.x SetChargingProfile ("" when accepted)."""
    payload = {"evseId": evse, "chargingProfile": profile}
    answer = await csms.call_station(station, "SetChargingProfile", payload)
    if answer["status"] == "Accepted":
        return ""
    return str(answer["statusInfo"]["reasonCode"])


# ------------------------------------------------------------------------------ 1.6


async def test_v16_profiles_set_the_limit_and_the_composite_schedule(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="SC16"))
    async with SimulatedStation(
        sim_config(csms, "SC16", OcppVersion.V16), clock=ManualClock()
    ) as st:
        keys = await csms.call_station(
            "SC16",
            "GetConfiguration",
            {"key": ["ChargeProfileMaxStackLevel", "SupportedFeatureProfiles"]},
        )
        values = {k["key"]: k["value"] for k in keys["configurationKey"]}
        assert values["ChargeProfileMaxStackLevel"] == "8"
        assert "SmartCharging" in values["SupportedFeatureProfiles"].split(",")
        await st.plug_in(1)
        assert st.meter(1).power_w == 11_000  # no profile: the EVSE's maximum

        set_default = {"connectorId": 1, "csChargingProfiles": profile_16(1)}
        assert await status_of(csms, "SC16", "SetChargingProfile", set_default) == "Accepted"
        assert st.meter(1).power_w == pytest.approx(6_900)  # 10 A · 230 V · 3 phases

        composite = await csms.call_station(
            "SC16",
            "GetCompositeSchedule",
            {"connectorId": 1, "duration": 3600, "chargingRateUnit": "W"},
        )
        assert composite == {
            "status": "Accepted",
            "connectorId": 1,
            "scheduleStart": "2025-01-01T12:00:00.000Z",
            "chargingSchedule": {
                "duration": 3600,
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6900.0, "numberPhases": 3}],
            },
        }

        # ChargePointMaxProfile (connector 0) lower than the TxDefault: the minimum applies.
        station_max = profile_16(2, "ChargePointMaxProfile", periods=((0, 6.0),))
        set_max = {"connectorId": 0, "csChargingProfiles": station_max}
        assert await status_of(csms, "SC16", "SetChargingProfile", set_max) == "Accepted"
        assert st.meter(1).power_w == pytest.approx(4_140)
        in_amps = await csms.call_station(
            "SC16", "GetCompositeSchedule", {"connectorId": 1, "duration": 60}
        )
        assert in_amps["chargingSchedule"]["chargingRateUnit"] == "A"  # the first allowed unit
        assert in_amps["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 6.0

        # A new profile with the same stackLevel and purpose replaces the installed one.
        replace = {"connectorId": 1, "csChargingProfiles": profile_16(3, periods=((0, 5.0),))}
        assert await status_of(csms, "SC16", "SetChargingProfile", replace) == "Accepted"
        assert sorted(p.id for p in st.charging.profiles) == [2, 3]
        assert st.meter(1).power_w == pytest.approx(3_450)

        clear = await status_of(csms, "SC16", "ClearChargingProfile", {"id": 3})
        assert clear == "Accepted"
        assert st.meter(1).power_w == pytest.approx(4_140)
        assert await status_of(csms, "SC16", "ClearChargingProfile", {"id": 3}) == "Unknown"
        by_criteria = {"connectorId": 0, "chargingProfilePurpose": "ChargePointMaxProfile"}
        assert await status_of(csms, "SC16", "ClearChargingProfile", by_criteria) == "Accepted"
        assert st.meter(1).power_w == 11_000

        unknown = {"connectorId": 5, "duration": 60}
        assert await status_of(csms, "SC16", "GetCompositeSchedule", unknown) == "Rejected"


async def test_v16_refusals(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="SR16"))
    async with SimulatedStation(
        sim_config(csms, "SR16", OcppVersion.V16), clock=ManualClock()
    ) as st:

        async def set_on(connector: int, profile: dict[str, Any]) -> str:
            payload = {"connectorId": connector, "csChargingProfiles": profile}
            return await status_of(csms, "SR16", "SetChargingProfile", payload)

        # §3.13.1: a TxProfile needs a transaction on its connector; none runs here.
        assert await set_on(1, profile_16(1, "TxProfile", transactionId=7)) == "Rejected"
        assert await set_on(1, profile_16(1, "TxProfile")) == "Rejected"
        assert await set_on(0, profile_16(1, "TxProfile")) == "Rejected"
        assert await set_on(1, profile_16(1, "ChargePointMaxProfile")) == "Rejected"
        assert await set_on(1, profile_16(1, stack=9)) == "Rejected"  # above the max stack level
        assert await set_on(1, profile_16(1, periods=((10, 8.0),))) == "Rejected"  # errata 3.45
        many = tuple((i * 60, 8.0) for i in range(25))  # ChargingScheduleMaxPeriods is 24
        assert await set_on(1, profile_16(1, periods=many)) == "Rejected"
        assert st.charging.profiles == []

        assert st.keys is not None
        st.keys.set("MaxChargingProfilesInstalled", "1")
        assert await set_on(1, profile_16(1)) == "Accepted"
        assert await set_on(1, profile_16(2, stack=1)) == "Rejected"  # no room
        assert await set_on(1, profile_16(2, periods=((0, 7.0),))) == "Accepted"  # replaces
        assert [p.id for p in st.charging.profiles] == [2]

        with pytest.raises(CallErrorResponse) as refused:  # errata 3.39
            await set_on(7, profile_16(3))
        assert refused.value.error_code == "PropertyConstraintViolation"


# ------------------------------------------------------------------------------ 2.0.1


async def test_v201_profiles_composite_and_shared_station_limit(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="SC2"))
    evses = (EvseConfig(max_power_w=11_000), EvseConfig(max_power_w=11_000))
    config = sim_config(csms, "SC2", OcppVersion.V201, evses=evses)
    async with SimulatedStation(config, clock=ManualClock()) as st:
        await st.plug_in(1)
        await st.plug_in(2)
        # TxDefault on EVSE 0 applies to every EVSE: 6 kW then 8 kW from 13:00.
        default = profile_2(1, periods=((0, 6_000.0), (13 * 3600, 8_000.0)))
        assert await reason_of(csms, "SC2", 0, default) == ""
        assert (st.meter(1).power_w, st.meter(2).power_w) == (6_000, 6_000)

        composite = await csms.call_station(
            "SC2", "GetCompositeSchedule", {"evseId": 1, "duration": 7200, "chargingRateUnit": "W"}
        )
        assert composite["status"] == "Accepted"
        schedule = composite["schedule"]
        assert (schedule["evseId"], schedule["duration"], schedule["chargingRateUnit"]) == (
            1,
            7200,
            "W",
        )
        assert schedule["scheduleStart"] == "2025-01-01T12:00:00.000Z"
        assert [(p["startPeriod"], p["limit"]) for p in schedule["chargingSchedulePeriod"]] == [
            (0, 6_000.0),
            (3600, 8_000.0),
        ]

        # A station-wide maximum of 10 kW is shared by the two charging EVSEs (1.6 §3.13.3).
        station_max = profile_2(2, "ChargingStationMaxProfile", periods=((0, 10_000.0),))
        assert await reason_of(csms, "SC2", 0, station_max) == ""
        assert st.meter(1).power_w + st.meter(2).power_w == pytest.approx(10_000)
        assert st.meter(1).power_w == pytest.approx(5_000)
        whole = await csms.call_station(
            "SC2", "GetCompositeSchedule", {"evseId": 0, "duration": 60, "chargingRateUnit": "W"}
        )
        assert whole["schedule"]["chargingSchedulePeriod"][0]["limit"] == 10_000.0
        amps = await csms.call_station("SC2", "GetCompositeSchedule", {"evseId": 1, "duration": 60})
        assert amps["schedule"]["chargingRateUnit"] == "A"
        assert amps["schedule"]["chargingSchedulePeriod"][0]["limit"] == 8.6  # 6 kW / 690 V
        bad = await csms.call_station("SC2", "GetCompositeSchedule", {"evseId": 3, "duration": 60})
        assert (bad["status"], bad["statusInfo"]["reasonCode"]) == ("Rejected", "UnknownEvse")

        entries = await csms.call_station(
            "SC2",
            "GetVariables",
            {
                "getVariableData": [
                    {"component": {"name": "SmartChargingCtrlr"}, "variable": {"name": "Entries"}}
                ]
            },
        )
        assert entries["getVariableResult"][0]["attributeValue"] == "2"

        criteria = {
            "chargingProfileCriteria": {"evseId": 0, "chargingProfilePurpose": "TxDefaultProfile"}
        }
        assert await status_of(csms, "SC2", "ClearChargingProfile", criteria) == "Accepted"
        assert await status_of(csms, "SC2", "ClearChargingProfile", criteria) == "Unknown"
        assert (
            await status_of(csms, "SC2", "ClearChargingProfile", {"chargingProfileId": 2})
            == "Accepted"
        )
        assert (st.meter(1).power_w, st.meter(2).power_w) == (11_000, 11_000)


async def test_v201_get_charging_profiles_reports_them(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="GP2"))
    async with SimulatedStation(
        sim_config(csms, "GP2", OcppVersion.V201), clock=ManualClock()
    ) as st:
        station_max = profile_2(5, "ChargingStationMaxProfile", periods=((0, 9_000.0),))
        evse_default = profile_2(6, stack=1)
        assert await reason_of(csms, "GP2", 0, station_max) == ""
        assert await reason_of(csms, "GP2", 1, evse_default) == ""

        nothing = {"requestId": 41, "chargingProfile": {"chargingProfilePurpose": "TxProfile"}}
        assert await status_of(csms, "GP2", "GetChargingProfiles", nothing) == "NoProfiles"
        everything = {"requestId": 42, "chargingProfile": {"chargingLimitSource": ["CSO"]}}
        assert await status_of(csms, "GP2", "GetChargingProfiles", everything) == "Accepted"
        await st.wait_for(lambda s: len(s.charging.reports) == 2)
        sent = [r.payload for r in st.charging.reports]
        assert [(p["requestId"], p["evseId"], p["tbc"]) for p in sent] == [
            (42, 0, True),
            (42, 1, False),
        ]
        assert sent[0]["chargingProfile"] == [station_max]  # reported as installed
        assert sent[1]["chargingProfile"] == [evse_default]
        # OpenCSMS stores reported profiles (handlers/v201/smart_charging.py) and acknowledges.
        assert [r.error for r in st.charging.reports] == [None, None]
        assert sorted(s.profile.id for s in await csms.charging_profiles.held("GP2")) == [5, 6]
        frames = await csms.audit.page("GP2", None, 50)
        reports_in = [
            orjson.loads(f.payload)
            for f in frames
            if f.action == "ReportChargingProfiles" and f.direction == "in" and f.message_type == 2
        ]
        assert sorted(r[3]["evseId"] for r in reports_in) == [0, 1]

        by_id = {"requestId": 43, "evseId": 1, "chargingProfile": {"chargingProfileId": [5, 6]}}
        assert await status_of(csms, "GP2", "GetChargingProfiles", by_id) == "Accepted"
        await st.wait_for(lambda s: len(s.charging.reports) == 3)
        last = st.charging.reports[-1].payload
        assert (last["requestId"], last["evseId"], last["tbc"]) == (43, 1, False)
        assert [p["id"] for p in last["chargingProfile"]] == [6]


async def test_v201_refusals_carry_reason_codes(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="SR2"))
    async with SimulatedStation(
        sim_config(csms, "SR2", OcppVersion.V201), clock=ManualClock()
    ) as st:
        tx = "TxProfile"
        assert (
            await reason_of(csms, "SR2", 1, profile_2(1, tx, transactionId="T-1")) == "TxNotFound"
        )
        assert await reason_of(csms, "SR2", 1, profile_2(1, tx)) == "MissingParam"  # K01.FR.03
        assert (
            await reason_of(csms, "SR2", 0, profile_2(1, tx, transactionId="T-1")) == "InvalidValue"
        )
        station_max = "ChargingStationMaxProfile"
        assert await reason_of(csms, "SR2", 1, profile_2(1, station_max)) == "InvalidValue"
        relative = profile_2(1, station_max, kind="Relative", start=None)
        assert await reason_of(csms, "SR2", 0, relative) == "InvalidValue"  # K01.FR.38
        external = profile_2(1, "ChargingStationExternalConstraints")
        assert await reason_of(csms, "SR2", 0, external) == "InvalidValue"  # K01.FR.22
        assert await reason_of(csms, "SR2", 2, profile_2(1)) == "UnknownEvse"  # K01.FR.28
        assert await reason_of(csms, "SR2", 1, profile_2(1, start=None)) == "InvalidSchedule"
        assert await reason_of(csms, "SR2", 1, profile_2(1, stack=9)) == "InvalidStackLevel"

        assert await reason_of(csms, "SR2", 1, profile_2(1)) == ""
        assert await reason_of(csms, "SR2", 1, profile_2(2)) == "DuplicateProfile"  # K01.FR.06
        assert await reason_of(csms, "SR2", 0, profile_2(3)) == "DuplicateProfile"  # K01.FR.52
        later = profile_2(2, validFrom="2025-02-01T00:00:00.000Z")
        earlier = profile_2(1, validTo="2025-02-01T00:00:00.000Z")
        assert await reason_of(csms, "SR2", 1, earlier) == ""  # same id: replaced (K01.FR.05)
        assert await reason_of(csms, "SR2", 1, later) == ""  # no overlap any more
        assert sorted(p.id for p in st.charging.profiles) == [1, 2]

        disable = {
            "component": {"name": "SmartChargingCtrlr"},
            "variable": {"name": "Enabled"},
            "attributeValue": "false",
        }
        await csms.call_station("SR2", "SetVariables", {"setVariableData": [disable]})
        assert await reason_of(csms, "SR2", 1, profile_2(4, stack=2)) == "NotEnabled"


# ------------------------------------------------------------------------------ time


async def test_limit_follows_the_station_clock(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="MC2"))
    clock = ManualClock()
    async with SimulatedStation(sim_config(csms, "MC2", OcppVersion.V201), clock=clock) as st:
        await st.plug_in(1)
        noon = utc_iso(T0)
        stepped = profile_2(1, periods=((0, 4_000.0), (600, 8_000.0)), start=noon, duration=1200)
        assert await reason_of(csms, "MC2", 1, stepped) == ""
        assert st.meter(1).power_w == 4_000
        clock.advance(600)
        st.charging.apply()  # what the session code does before every meter sample
        assert st.meter(1).power_w == 8_000
        clock.advance(600)  # the schedule's duration is over: back to the EVSE's maximum
        st.charging.apply()
        assert st.meter(1).power_w == 11_000
        # Energy was booked at the limit in force: 4 kW and 8 kW for 10 minutes each.
        assert st.meter(1).sample(clock.monotonic()).energy_wh == pytest.approx(2_000)


async def test_limit_changes_at_the_period_boundary_by_itself(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="RT2"))
    async with SimulatedStation(sim_config(csms, "RT2", OcppVersion.V201)) as st:
        await st.plug_in(1)
        start = st.clock.now().replace(microsecond=0)
        # The second period starts 1-2 s from now; nothing but the schedule changes the limit.
        stepped = profile_2(1, periods=((0, 3_000.0), (2, 5_000.0)), start=utc_iso(start))
        assert await reason_of(csms, "RT2", 1, stepped) == ""
        assert st.meter(1).power_w == 3_000
        await st.wait_for(lambda s: s.meter(1).power_w == 5_000, timeout=5)
        assert datetime.now(UTC) >= start + timedelta(seconds=2)


# ------------------------------------------------------------------------------ 2.1


async def test_v21_shares_the_rules_and_refuses_what_it_adds(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="S21"))
    config = sim_config(csms, "S21", OcppVersion.V21)
    async with SimulatedStation(config, clock=ManualClock()) as st:
        await st.plug_in(1)
        assert await reason_of(csms, "S21", 1, profile_2(1)) == ""
        assert st.meter(1).power_w == 6_000
        composite = await csms.call_station(
            "S21", "GetCompositeSchedule", {"evseId": 1, "duration": 60}
        )
        assert composite["schedule"]["chargingSchedulePeriod"][0]["limit"] == 8.6  # 6 kW in A
        priority = profile_2(2, "PriorityCharging", stack=3)
        assert await reason_of(csms, "S21", 1, priority) == "UnsupportedPurpose"
        dynamic = profile_2(3, kind="Dynamic", stack=4)
        assert await reason_of(csms, "S21", 1, dynamic) == "UnsupportedKind"
        everything = {"requestId": 7, "chargingProfile": {}}
        assert await status_of(csms, "S21", "GetChargingProfiles", everything) == "Accepted"
        await st.wait_for(lambda s: len(s.charging.reports) == 1)
        assert st.charging.reports[0].payload["chargingProfile"] == [profile_2(1)]
        assert await status_of(csms, "S21", "ClearChargingProfile", {}) == "Accepted"  # all
        assert st.charging.profiles == []
        assert st.meter(1).power_w == 11_000
