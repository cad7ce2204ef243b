"""2.0.1 external limits and ISO 15118 messages over the wire (K12, K13, K15, K17), from raw
frames: each is stored before it is answered, answered as the spec says, idempotent when
resent, refused by schema validation when malformed, and published as a fleet event."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opencsms.app import Csms
from opencsms.clock import utc_iso
from opencsms.domain.fleet_events import (
    ChargingLimitReported,
    EvChargingNeedsReported,
    EvChargingScheduleReported,
    FleetEvent,
)
from opencsms.domain.stations import StationSpec
from tests.handlers.builders import booted, tx_event
from tests.handlers.station_calls import responding
from tests.wire import RawStation, api_client, raw_station

V201 = "ocpp2.0.1"
V21 = "ocpp2.1"


def needs(evse: int = 1, **ac: Any) -> dict[str, Any]:
    """A NotifyEVChargingNeedsRequest for an AC three-phase EV (30 kWh, 6-32 A)."""
    params = {"energyAmount": 30000, "evMinCurrent": 6, "evMaxCurrent": 32, "evMaxVoltage": 230}
    return {
        "evseId": evse,
        "maxScheduleTuples": 12,
        "chargingNeeds": {
            "requestedEnergyTransfer": "AC_three_phase",
            "departureTime": "2030-01-01T18:00:00Z",
            "acChargingParameters": params | ac,
        },
    }


def schedule(limits: list[tuple[int, float]], unit: str = "A", **extra: Any) -> dict[str, Any]:
    return {
        "id": 1,
        "chargingRateUnit": unit,
        "chargingSchedulePeriod": [{"startPeriod": s, "limit": v} for s, v in limits],
    } | extra


async def next_event(subscription: Any) -> FleetEvent:
    event: FleetEvent = await asyncio.wait_for(subscription.get(), 5)
    return event


async def start_transaction(cs: RawStation, tx: str = "TX-1", evse: int = 1) -> None:
    started = tx_event("Started", 0, tx=tx, evse=evse, state="EVConnected")
    assert await cs.result("TransactionEvent", started) == {}


async def set_tx_profile(csms: Csms, cs: RawStation, station_id: str, limit: float) -> None:
    """Set a TxProfile of ``limit`` A for TX-1 on EVSE 1 through the API (the station accepts)."""
    begin = utc_iso(datetime.now(UTC) - timedelta(seconds=10))
    body = {
        "evse_id": 1,
        "charging_profile": {
            "id": 50,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Absolute",
            "transactionId": "TX-1",
            "chargingSchedule": [schedule([(0, limit)], startSchedule=begin)],
        },
    }
    async with (
        responding(cs, {"SetChargingProfile": {"status": "Accepted"}}),
        api_client(csms) as api,
    ):
        answer = await api.post(f"/api/v1/stations/{station_id}/charging-profiles", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["recorded"] is True


async def test_charging_limit_stored_replaced_cleared_and_published(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CL1"))
    events = csms.events.subscribe(lambda e: isinstance(e, ChargingLimitReported))
    started = utc_iso(datetime.now(UTC) - timedelta(minutes=10))
    report = {
        "evseId": 1,
        "chargingLimit": {"chargingLimitSource": "EMS", "isGridCritical": True},
        "chargingSchedule": [
            # in force now: 10 min in, the 300 s period (16 A) applies
            schedule([(0, 20.0), (300, 16.0), (3600, 8.0)], startSchedule=started),
            schedule([(0, 11000.0)], unit="W", id=2),
            # not started yet: ignored
            schedule([(0, 2.0)], id=3, startSchedule="2099-01-01T00:00:00Z"),
        ],
    }
    async with raw_station(csms, "CL1", V201) as cs:
        await booted(cs, V201)
        assert await cs.result("NotifyChargingLimit", report) == {}
        (limit,) = await csms.ev_charging.external_limits("CL1")  # stored before answered
        assert (limit.source, limit.evse_id, limit.grid_critical) == ("EMS", 1, True)
        assert (limit.limit_a, limit.limit_w, limit.cleared) == (16.0, 11000.0, False)
        published = await next_event(events)
        assert isinstance(published, ChargingLimitReported)
        assert published.limit == limit

        # A resend changes nothing; a new report of the same source replaces the limit.
        assert await cs.result("NotifyChargingLimit", report) == {}
        assert len(await csms.ev_charging.limit_history("CL1")) == 1
        newer = {"evseId": 1, "chargingLimit": {"chargingLimitSource": "EMS"}}
        assert await cs.result("NotifyChargingLimit", newer) == {}
        station_wide = {"chargingLimit": {"chargingLimitSource": "SO"}}
        assert await cs.result("NotifyChargingLimit", station_wide) == {}
        current = await csms.ev_charging.external_limits("CL1")
        assert [(x.evse_id, x.source, x.limit_a) for x in current] == [
            (0, "SO", None),
            (1, "EMS", None),
        ]

        cleared = {"chargingLimitSource": "EMS", "evseId": 1}
        assert await cs.result("ClearedChargingLimit", cleared) == {}
        assert [x.source for x in await csms.ev_charging.external_limits("CL1")] == ["SO"]
        assert await cs.result("ClearedChargingLimit", cleared) == {}  # resend: harmless
        history = await csms.ev_charging.limit_history("CL1")
        assert sorted(h.state for h in history) == ["cleared", "current", "replaced"]
    kinds = [(await next_event(events)) for _ in range(4)]
    assert [
        (e.limit.source, e.limit.cleared) for e in kinds if isinstance(e, ChargingLimitReported)
    ] == [
        ("EMS", False),
        ("SO", False),
        ("EMS", True),
        ("EMS", True),
    ]


async def test_needs_rejected_without_transaction_accepted_with_one(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="EV1"))
    events = csms.events.subscribe(lambda e: isinstance(e, EvChargingNeedsReported))
    async with raw_station(csms, "EV1", V201) as cs:
        await booted(cs, V201)
        rejected = await cs.result("NotifyEVChargingNeeds", needs())
        assert rejected["status"] == "Rejected"
        assert rejected["statusInfo"]["reasonCode"] == "TxNotFound"
        assert await csms.ev_charging.latest_needs("EV1", 1) is None
        (stored,) = await csms.ev_charging.stored_needs("EV1")
        assert stored.status == "Rejected"

        await start_transaction(cs)
        accepted = await cs.result("NotifyEVChargingNeeds", needs())
        assert accepted == {"status": "Accepted"}
        got = await csms.ev_charging.latest_needs("EV1", 1)  # stored before answered
        assert got is not None
        assert (got.transaction_id, got.requested_energy_transfer, got.phases) == (
            "TX-1",
            "AC_three_phase",
            3,
        )
        assert (got.energy_amount_wh, got.ac_min_current_a, got.ac_max_current_a) == (
            30000.0,
            6.0,
            32.0,
        )
        assert got.departure_time == datetime(2030, 1, 1, 18, tzinfo=UTC)
        assert got.max_schedule_tuples == 12
        published = await next_event(events)
        assert isinstance(published, EvChargingNeedsReported)
        assert published.needs == got

        # A resend answers the same and leaves one record per EVSE.
        assert await cs.result("NotifyEVChargingNeeds", needs()) == {"status": "Accepted"}
        assert len(await csms.ev_charging.stored_needs("EV1")) == 1
        dc = {
            "evseId": 1,
            "chargingNeeds": {
                "requestedEnergyTransfer": "DC",
                "dcChargingParameters": {
                    "evMaxCurrent": 200,
                    "evMaxVoltage": 800,
                    "evMaxPower": 150000,
                    "energyAmount": 40000,
                    "stateOfCharge": 35,
                },
            },
        }
        assert await cs.result("NotifyEVChargingNeeds", dc) == {"status": "Accepted"}
        latest = await csms.ev_charging.latest_needs("EV1", 1)
        assert latest is not None
        assert (latest.dc_max_power_w, latest.energy_amount_wh, latest.state_of_charge) == (
            150000.0,
            40000.0,
            35,
        )


async def test_ev_schedule_checked_against_the_tx_profile(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="EV2"))
    events = csms.events.subscribe(lambda e: isinstance(e, EvChargingScheduleReported))
    base = utc_iso(datetime.now(UTC))
    async with raw_station(csms, "EV2", V201) as cs:
        await booted(cs, V201)
        await start_transaction(cs)
        assert await cs.result("NotifyEVChargingNeeds", needs()) == {"status": "Accepted"}
        await set_tx_profile(csms, cs, "EV2", 16.0)

        within = {
            "timeBase": base,
            "evseId": 1,
            "chargingSchedule": schedule([(0, 16.0), (600, 10.0)]),
        }
        assert await cs.result("NotifyEVChargingSchedule", within) == {"status": "Accepted"}
        event = await next_event(events)
        assert isinstance(event, EvChargingScheduleReported)
        assert (event.schedule.within_limits, event.schedule.transaction_id) == (True, "TX-1")

        later = utc_iso(datetime.now(UTC) + timedelta(seconds=1))
        watts = schedule([(0, 11040.0)], unit="W")  # 16 A x 3 x 230 V: just within
        assert await cs.result(
            "NotifyEVChargingSchedule", {"timeBase": later, "evseId": 1, "chargingSchedule": watts}
        ) == {"status": "Accepted"}
        await next_event(events)

        too_much = utc_iso(datetime.now(UTC) + timedelta(seconds=2))
        exceeding = {
            "timeBase": too_much,
            "evseId": 1,
            "chargingSchedule": schedule([(0, 16.0), (900, 20.0)]),
        }
        answer = await cs.result("NotifyEVChargingSchedule", exceeding)
        assert answer["status"] == "Rejected"
        assert answer["statusInfo"]["reasonCode"] == "ValueTooHigh"
        assert "900 s" in answer["statusInfo"]["additionalInfo"]
        event = await next_event(events)
        assert isinstance(event, EvChargingScheduleReported)
        assert event.schedule.within_limits is False

        # Resent: the same answer, still one record per time base.
        again = await cs.result("NotifyEVChargingSchedule", exceeding)
        assert again["status"] == "Rejected"
        stored = await csms.ev_charging.ev_schedules("EV2")
        assert [s.within_limits for s in stored] == [False, True, True]
        assert stored[0].schedule == exceeding["chargingSchedule"]


async def test_ev_schedule_without_tx_profile_is_accepted(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="EV3"))
    async with raw_station(csms, "EV3", V201) as cs:
        await booted(cs, V201)
        body = {
            "timeBase": "2030-01-01T10:00:00Z",
            "evseId": 2,
            "chargingSchedule": schedule([(0, 63.0)]),
        }
        assert await cs.result("NotifyEVChargingSchedule", body) == {"status": "Accepted"}
        (stored,) = await csms.ev_charging.ev_schedules("EV3")
        assert (stored.evse_id, stored.transaction_id, stored.within_limits) == (2, None, True)


@pytest.mark.parametrize(
    ("action", "payload", "code"),
    [
        ("NotifyChargingLimit", {"evseId": 1}, "OccurrenceConstraintViolation"),
        (
            "NotifyChargingLimit",
            {"chargingLimit": {"chargingLimitSource": "Grid"}},
            "PropertyConstraintViolation",
        ),
        ("ClearedChargingLimit", {"chargingLimitSource": 5}, "TypeConstraintViolation"),
        ("NotifyEVChargingNeeds", {"evseId": 1}, "OccurrenceConstraintViolation"),
        (
            "NotifyEVChargingNeeds",
            {"evseId": 1, "chargingNeeds": {"requestedEnergyTransfer": "Teleport"}},
            "PropertyConstraintViolation",
        ),
        (
            "NotifyEVChargingSchedule",
            {"evseId": 1, "timeBase": "2030-01-01T10:00:00Z", "chargingSchedule": {"id": 1}},
            "OccurrenceConstraintViolation",
        ),
    ],
)
async def test_malformed_payloads_get_the_schema_error(
    csms: Csms, action: str, payload: dict[str, Any], code: str
) -> None:
    await csms.stations.create(StationSpec(id="BAD"))
    async with raw_station(csms, "BAD", V201) as cs:
        await booted(cs, V201)
        frame = await cs.call(action, payload)
        assert frame[0] == 4, frame
        assert frame[2] == code, frame
    assert await csms.ev_charging.external_limits("BAD") == []
    assert await csms.ev_charging.stored_needs("BAD") == []


async def test_ocpp21_station_shares_the_handlers(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="V21"))
    async with raw_station(csms, "V21", V21) as cs:
        await booted(cs, V21)
        await start_transaction(cs)
        decimal = needs(evMaxCurrent=31.5) | {"timestamp": "2030-01-01T10:00:00Z"}
        assert await cs.result("NotifyEVChargingNeeds", decimal) == {"status": "Accepted"}
        got = await csms.ev_charging.latest_needs("V21", 1)
        assert got is not None
        assert got.ac_max_current_a == 31.5
        local = {"chargingLimit": {"chargingLimitSource": "LocalEMS", "isLocalGeneration": True}}
        assert await cs.result("NotifyChargingLimit", local) == {}
        assert [x.source for x in await csms.ev_charging.external_limits("V21")] == ["LocalEMS"]


async def test_api_lists_limits_needs_and_schedules(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="API1"))
    async with raw_station(csms, "API1", V201) as cs:
        await booted(cs, V201)
        await start_transaction(cs)
        await cs.result("NotifyEVChargingNeeds", needs())
        await cs.result(
            "NotifyChargingLimit",
            {
                "evseId": 1,
                "chargingLimit": {"chargingLimitSource": "SO", "isGridCritical": False},
                "chargingSchedule": [schedule([(0, 10.0)])],
            },
        )
        await cs.result("ClearedChargingLimit", {"chargingLimitSource": "SO", "evseId": 1})
        await cs.result("NotifyChargingLimit", {"chargingLimit": {"chargingLimitSource": "CSO"}})
        body = {
            "timeBase": "2030-01-01T10:00:00Z",
            "evseId": 1,
            "chargingSchedule": schedule([(0, 8.0)]),
        }
        await cs.result("NotifyEVChargingSchedule", body)
    async with api_client(csms) as api:
        base = "/api/v1/stations/API1"
        limits = await api.get(f"{base}/charging-limits")
        assert limits.status_code == 200, limits.text
        assert [(x["source"], x["evse_id"], x["state"]) for x in limits.json()] == [
            ("CSO", 0, "current")
        ]
        history = (await api.get(f"{base}/charging-limits", params={"all": "true"})).json()
        assert [(x["source"], x["state"]) for x in history] == [
            ("CSO", "current"),
            ("SO", "cleared"),
        ]
        assert history[1]["limit_a"] == 10.0
        assert history[1]["ended_at"] is not None
        assert history[1]["schedules"][0]["chargingSchedulePeriod"][0]["limit"] == 10.0

        listed = await api.get(f"{base}/ev-charging-needs")
        assert listed.status_code == 200, listed.text
        (item,) = listed.json()
        assert (item["evse_id"], item["status"], item["transaction_id"]) == (1, "Accepted", "TX-1")
        assert item["energy_amount_wh"] == 30000.0
        assert item["phases"] == 3
        assert item["payload"]["maxScheduleTuples"] == 12

        schedules = await api.get(f"{base}/ev-charging-schedules")
        assert schedules.status_code == 200, schedules.text
        (entry,) = schedules.json()
        assert (entry["evse_id"], entry["within_limits"], entry["status"]) == (1, True, "Accepted")
        assert entry["schedule"]["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 8.0}]

        for path in ("charging-limits", "ev-charging-needs", "ev-charging-schedules"):
            missing = await api.get(f"/api/v1/stations/NOPE/{path}")
            assert missing.status_code == 404, path
            assert "NOPE" in missing.json()["detail"]
