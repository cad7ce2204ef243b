"""OCPP 1.6 OCTT test case document, Central System section, module "Smart Charging":
TC_056_CSMS, TC_057_CSMS, TC_059_CSMS, TC_066_CSMS and TC_067_CSMS (§3.13, SetChargingProfile
§5.16, ClearChargingProfile §5.5, GetCompositeSchedule §5.7, RemoteStartTransaction §5.11).

The "Manual Action" is the charging-profile API (docs/charging-profiles.md): the operator writes
the profile the test case describes, the CSMS checks it and sends it, and its record of what the
charge point holds, read back through the API, follows the charge point's answers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conformance.octt import Call, Station
from tests.conformance.sut import CONFIGURED, Sut
from tests.conformance.v16.states import (
    PROTOCOL,
    Tx,
    authorized,
    booted,
    charging,
    check,
    manual_action,
    start_transaction,
    status,
)

STACK_LEVEL = 1  # <Configured stackLevel>
RATE_UNIT = "A"  # <Configured chargingRateUnit>
DURATION = 3600  # <Configured duration>
CONNECTOR = CONFIGURED.connector_id


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _absolute(profile_id: int, purpose: str, **extra: Any) -> dict[str, Any]:
    """An Absolute profile with validFrom, validTo and startSchedule (TC_056 step 1)."""
    start = datetime.now(UTC).replace(microsecond=0)
    return {
        "chargingProfileId": profile_id,
        "stackLevel": STACK_LEVEL,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Absolute",
        "validFrom": _iso(start - timedelta(minutes=1)),
        "validTo": _iso(start + timedelta(days=1)),
        "chargingSchedule": {
            "duration": DURATION,
            "startSchedule": _iso(start),
            "chargingRateUnit": RATE_UNIT,
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6.0, "numberPhases": 3}],
        },
        **extra,
    }


def _relative_tx(profile_id: int, **extra: Any) -> dict[str, Any]:
    """A Relative TxProfile (no startSchedule)."""
    return {
        "chargingProfileId": profile_id,
        "stackLevel": STACK_LEVEL,
        "chargingProfilePurpose": "TxProfile",
        "chargingProfileKind": "Relative",
        "chargingSchedule": {
            "duration": DURATION,
            "chargingRateUnit": RATE_UNIT,
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10.0}],
        },
        **extra,
    }


async def _set_profile(
    sut: Sut, station: Station, connector_id: int, profile: dict[str, Any]
) -> tuple[Call, dict[str, Any]]:
    """Manual Action: set a profile; 1. SetChargingProfile.req / 2. conf Accepted."""
    body = {"evse_id": connector_id, "charging_profile": profile}
    setting = manual_action(sut.api.post(f"/stations/{station.station_id}/charging-profiles", body))
    call = await station.expect("SetChargingProfile")
    check(
        call.payload["connectorId"] == connector_id,
        f"SetChargingProfile.req connectorId {call.payload['connectorId']}, want {connector_id}",
    )
    await station.respond(call, {"status": "Accepted"})
    result: dict[str, Any] = await setting
    assert result["status"] == "Accepted", result
    assert result["recorded"], result
    return call, result


async def _recorded(sut: Sut, station_id: str) -> set[int]:
    record = await sut.api.get(f"/stations/{station_id}/charging-profiles")
    items = record["items"] if isinstance(record, dict) else record
    return {item["profile_id"] for item in items}


def _check_absolute(profile: dict[str, Any]) -> None:
    schedule = profile["chargingSchedule"]
    for field in ("validFrom", "validTo"):
        check(field in profile, f"an Absolute profile needs {field}: {profile}")
    check("startSchedule" in schedule, f"an Absolute schedule needs startSchedule: {profile}")
    check("duration" in schedule, f"an Absolute schedule needs a duration: {profile}")


def _check_tx_profile(profile: dict[str, Any]) -> None:
    """TC_057 / TC_059 step 1: a TxProfile without recurrencyKind; Absolute with validFrom,
    validTo, startSchedule and duration, or Relative without startSchedule."""
    check(profile["chargingProfilePurpose"] == "TxProfile", f"purpose: {profile}")
    check("recurrencyKind" not in profile, f"recurrencyKind should be omitted: {profile}")
    kind = profile["chargingProfileKind"]
    check(kind in ("Absolute", "Relative"), f"chargingProfileKind {kind}")
    if kind == "Absolute":
        _check_absolute(profile)
    else:
        check(
            "startSchedule" not in profile["chargingSchedule"],
            f"a Relative schedule has no startSchedule: {profile}",
        )


async def test_TC_056_CSMS(sut: Sut) -> None:
    """Central Smart Charging - TxDefaultProfile."""
    await sut.provision("CP056")
    async with sut.station("CP056", PROTOCOL) as station:
        await booted(station)
        call, _ = await _set_profile(sut, station, CONNECTOR, _absolute(56, "TxDefaultProfile"))
    profile = call.payload["csChargingProfiles"]
    # Step 1 validations.
    check(profile["stackLevel"] == STACK_LEVEL, f"stackLevel {profile['stackLevel']}")
    check(profile["chargingProfilePurpose"] == "TxDefaultProfile", f"purpose {profile}")
    check(profile["chargingProfileKind"] == "Absolute", f"kind {profile}")
    _check_absolute(profile)
    check("transactionId" not in profile, f"transactionId should be omitted: {profile}")
    check("recurrencyKind" not in profile, f"recurrencyKind should be omitted: {profile}")
    schedule = profile["chargingSchedule"]
    check(schedule["chargingRateUnit"] == RATE_UNIT, f"chargingRateUnit {schedule}")
    check(schedule["duration"] == DURATION, f"duration {schedule}")
    period = schedule["chargingSchedulePeriod"][0]
    check(period["startPeriod"] == 0 and period["limit"] in (6.0, 6000.0), f"period {period}")
    check(period.get("numberPhases", 3) == 3, f"numberPhases {period}")
    assert await _recorded(sut, "CP056") == {56}


async def test_TC_057_CSMS(sut: Sut) -> None:
    """Central Smart Charging - TxProfile (during a transaction)."""
    await sut.provision("CP057")
    await sut.add_token(CONFIGURED.valid_id_token)
    async with sut.station("CP057", PROTOCOL) as station:
        await booted(station)
        # Reusable State Charging.
        tx = Tx()
        await authorized(station, tx)
        await charging(station, tx)
        call, _ = await _set_profile(
            sut, station, CONNECTOR, _relative_tx(57, transactionId=tx.id())
        )
    profile = call.payload["csChargingProfiles"]
    # Step 1: TxProfile for the <Generated transactionId>.
    check(profile.get("transactionId") == tx.id(), f"transactionId: {profile}")
    _check_tx_profile(profile)
    assert await _recorded(sut, "CP057") == {57}


async def test_TC_059_CSMS(sut: Sut) -> None:
    """Remote Start Transaction with Charging Profile."""
    await sut.provision("CP059")
    await sut.add_token(CONFIGURED.valid_id_token)
    async with sut.station("CP059", PROTOCOL) as station:
        await booted(station)
        # Manual Action: the CPO starts a transaction with a TxProfile.
        body = {
            "evse_id": CONNECTOR,
            "id_token": CONFIGURED.valid_id_token,
            "charging_profile": _relative_tx(59),
        }
        starting = manual_action(sut.api.post("/stations/CP059/commands/remote-start", body))
        call = await station.expect("RemoteStartTransaction")  # 1.
        await station.respond(call, {"status": "Accepted"})  # 2.
        await starting
        check(call.payload["idTag"] == CONFIGURED.valid_id_token, f"idTag {call.payload}")
        check(call.payload.get("connectorId") == CONNECTOR, f"connectorId {call.payload}")
        profile = call.payload.get("chargingProfile")
        check(profile is not None, f"RemoteStartTransaction.req without chargingProfile: {call}")
        assert profile is not None
        _check_tx_profile(profile)
        check("transactionId" not in profile, f"transactionId should be omitted: {profile}")
        first = profile["chargingSchedule"]["chargingSchedulePeriod"][0]
        check(first["startPeriod"] == 0, f"the first startPeriod should be 0: {profile}")
        tx = Tx()
        await authorized(station, tx)  # 3./4.
        # [The charging cable is plugged in.]
        await status(station, "Preparing")  # 5./6.
        response = await start_transaction(station, tx)  # 7./8.
        got = response["idTagInfo"]["status"]
        check(got == "Accepted", f"StartTransaction.conf idTagInfo.status {got}")
        await status(station, "Charging")  # 9./10.
    transactions = await sut.api.get("/transactions", params={"station_id": "CP059"})
    assert [t["status"] for t in transactions["items"]] == ["Active"], transactions


async def test_TC_066_CSMS(sut: Sut) -> None:
    """Get Composite Schedule."""
    await sut.provision("CP066")
    async with sut.station("CP066", PROTOCOL) as station:
        await booted(station)
        body = {"evse_id": CONNECTOR, "duration": DURATION, "unit": RATE_UNIT}
        asking = manual_action(sut.api.post("/stations/CP066/composite-schedule/station", body))
        call = await station.expect("GetCompositeSchedule")  # 1.
        check(
            call.payload
            == {"connectorId": CONNECTOR, "duration": DURATION, "chargingRateUnit": RATE_UNIT},
            f"GetCompositeSchedule.req {call.payload}",
        )
        start = _iso(datetime.now(UTC).replace(microsecond=0))
        schedule = {
            "duration": DURATION,
            "startSchedule": start,
            "chargingRateUnit": RATE_UNIT,
            "chargingSchedulePeriod": [
                {"startPeriod": 0, "limit": 16.0},
                {"startPeriod": 1800, "limit": 8.0},
            ],
        }
        answer = {
            "status": "Accepted",
            "connectorId": CONNECTOR,
            "scheduleStart": start,
            "chargingSchedule": schedule,
        }
        await station.respond(call, answer)  # 2.
        result = await asking
    # The Central System has retrieved the composite schedule.
    assert result["response"] == answer, result


async def _clear(sut: Sut, station: Station, request: Any, expected: dict[str, Any]) -> Any:
    clearing = manual_action(request)
    call = await station.expect("ClearChargingProfile")
    check(call.payload == expected, f"ClearChargingProfile.req {call.payload}, want {expected}")
    await station.respond(call, {"status": "Accepted"})
    return await clearing


async def test_TC_067_CSMS(sut: Sut) -> None:
    """Clear Charging Profile: by id, by criteria, then all."""
    await sut.provision("CP067")
    await sut.add_token(CONFIGURED.valid_id_token)
    async with sut.station("CP067", PROTOCOL) as station:
        await booted(station)
        tx = Tx()
        await authorized(station, tx)
        await charging(station, tx)  # Reusable State Charging
        # Manual Action: set three different charging profiles (steps 1-2, three times).
        await _set_profile(sut, station, 0, _absolute(671, "ChargePointMaxProfile"))
        await _set_profile(sut, station, CONNECTOR, _absolute(672, "TxDefaultProfile"))
        await _set_profile(sut, station, CONNECTOR, _relative_tx(673, transactionId=tx.id()))
        assert await _recorded(sut, "CP067") == {671, 672, 673}
        # Manual Action: clear a charging profile based on id (3./4.).
        await _clear(
            sut, station, sut.api.delete("/stations/CP067/charging-profiles/671"), {"id": 671}
        )
        assert await _recorded(sut, "CP067") == {672, 673}
        # Manual Action: clear based on criteria (5./6.).
        criteria = {"evse_id": CONNECTOR, "purpose": "TxDefaultProfile", "stack_level": STACK_LEVEL}
        await _clear(
            sut,
            station,
            sut.api.post("/stations/CP067/charging-profiles/clear", criteria),
            {
                "connectorId": CONNECTOR,
                "chargingProfilePurpose": "TxDefaultProfile",
                "stackLevel": STACK_LEVEL,
            },
        )
        assert await _recorded(sut, "CP067") == {673}
        # Manual Action: clear all remaining profiles (7./8.): every field omitted.
        await _clear(sut, station, sut.api.post("/stations/CP067/charging-profiles/clear", {}), {})
    assert await _recorded(sut, "CP067") == set()
