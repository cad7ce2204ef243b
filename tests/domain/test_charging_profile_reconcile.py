"""Automatic reconciliation of the profile record over the real wire (K09,
docs/charging-profiles.md): a 2.0.1 station is asked GetChargingProfiles after each Accepted
boot and after a reconnection without boot, and the record follows its report; a 1.6 station
(no GetChargingProfiles) gets the load manager's profiles again after a reboot."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from opencsms.app import Csms
from opencsms.ocpp.version import OcppVersion
from tests.api.test_charging_profiles_api import profile
from tests.domain.load_management_wire import Answer, DuplexStation, duplex, lm_settings
from tests.domain.test_load_management import site
from tests.wire import api_client, raw_station, running_csms


def asks(station: DuplexStation) -> list[dict[str, Any]]:
    return [p for action, p in station.received if action == "GetChargingProfiles"]


async def held_ids(csms: Csms, station_id: str) -> list[int]:
    return sorted(s.profile.id for s in await csms.charging_profiles.held(station_id))


BOOT_201 = {"reason": "PowerUp", "chargingStation": {"vendorName": "ACME", "model": "W2"}}


async def test_201_record_follows_the_station_after_boot(tmp_path: Path) -> None:
    statuses = iter(["NoProfiles", "Accepted"])
    answers: dict[str, Answer] = {"GetChargingProfiles": lambda _p: {"status": next(statuses)}}
    settings = lm_settings(tmp_path, charging_profile_reconcile_on_boot=True)
    async with (
        running_csms(settings) as csms,
        duplex(csms, "RC-201", "ocpp2.0.1", answers) as station,
        api_client(csms) as api,
    ):
        # The boot: an unfiltered request (K09), answered NoProfiles.
        await station.wait_until(lambda: len(asks(station)) == 1)
        assert asks(station)[0]["chargingProfile"] == {}
        body = {"evse_id": 0, "charging_profile": profile(OcppVersion.V201, 5, stack=2)}
        sent = await api.post("/api/v1/stations/RC-201/charging-profiles", json=body)
        assert sent.status_code == 200, sent.text
        assert await held_ids(csms, "RC-201") == [5]

        # A reboot: the station lost profile 5 and holds 7 (set locally); it reports that.
        assert (await station.call("BootNotification", BOOT_201))["status"] == "Accepted"
        await station.wait_until(lambda: len(asks(station)) == 2)
        request_id = asks(station)[1]["requestId"]
        report = {
            "requestId": request_id,
            "chargingLimitSource": "CSO",
            "evseId": 0,
            "chargingProfile": [profile(OcppVersion.V201, 7, stack=3)],
            "tbc": False,
        }
        assert await station.call("ReportChargingProfiles", report) == {}
        assert await held_ids(csms, "RC-201") == [7]
        # Each ask is in the command log as the CSMS's own.
        log = (await api.get("/api/v1/stations/RC-201/commands")).json()
        items = log["items"] if isinstance(log, dict) else log
        assert sum(1 for c in items if c["action"] == "GetChargingProfiles") == 2


async def test_201_reconnect_without_boot_is_reconciled_once(tmp_path: Path) -> None:
    settings = lm_settings(
        tmp_path,
        charging_profile_reconcile_on_boot=True,
        charging_profile_reconcile_debounce=0.5,
    )
    async with running_csms(settings) as csms:
        async with duplex(csms, "RC-R", "ocpp2.0.1") as first:
            await first.wait_until(lambda: len(asks(first)) == 1)
        async with raw_station(csms, "RC-R", "ocpp2.0.1") as raw:
            # No BootNotification on this connection: asked once, after the debounce.
            frame = await raw.recv(5)
            assert frame[2] == "GetChargingProfiles"
            await raw.send_raw(f'[3,"{frame[1]}",{{"status":"NoProfiles"}}]')
            async with asyncio.timeout(5):
                while ("RC-R", "NoProfiles") not in csms.profile_reconciler.done:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)  # no event announces the answer's handling
        # Once per connection: the boot of the first, the debounced reconnection of the second.
        assert list(csms.profile_reconciler.done) == [("RC-R", "Accepted"), ("RC-R", "NoProfiles")]


async def test_16_reboot_gets_the_load_managers_profiles_again(tmp_path: Path) -> None:
    settings = lm_settings(tmp_path, charging_profile_reconcile_on_boot=True)
    async with running_csms(settings) as csms, duplex(csms, "RC-16", "ocpp1.6") as station:
        await site(csms, 32, "RC-16")
        await station.wait_profiles(1, "TxDefaultProfile")
        boot = {"chargePointVendor": "ACME", "chargePointModel": "W1"}
        assert (await station.call("BootNotification", boot))["status"] == "Accepted"
        again = await station.wait_profiles(2, "TxDefaultProfile")
        assert again[-1]["connectorId"] == 0
        assert asks(station) == []  # 1.6 has no GetChargingProfiles


async def test_16_reboot_gets_the_recorded_profiles_again_and_refused_ones_leave(
    tmp_path: Path,
) -> None:
    refuse: set[int] = set()

    def set_profile(payload: dict[str, Any]) -> dict[str, Any]:
        refused = payload["csChargingProfiles"]["chargingProfileId"] in refuse
        return {"status": "Rejected" if refused else "Accepted"}

    settings = lm_settings(tmp_path, charging_profile_reconcile_on_boot=True)
    answers: dict[str, Answer] = {"SetChargingProfile": set_profile}
    async with (
        running_csms(settings) as csms,
        duplex(csms, "RS-16", "ocpp1.6", answers) as station,
        api_client(csms) as api,
    ):
        sent = {
            5: (0, profile(OcppVersion.V16, 5, stack=2, purpose="ChargePointMaxProfile")),
            6: (1, profile(OcppVersion.V16, 6, stack=1)),
        }
        for evse, body in sent.values():
            answer = await api.post(
                "/api/v1/stations/RS-16/charging-profiles",
                json={"evse_id": evse, "charging_profile": body},
            )
            assert answer.status_code == 200, answer.text
        assert await held_ids(csms, "RS-16") == [5, 6]
        boot = {"chargePointVendor": "ACME", "chargePointModel": "W1"}

        # A reboot may have lost them: each is sent again exactly as recorded.
        assert (await station.call("BootNotification", boot))["status"] == "Accepted"
        await station.wait_until(lambda: len(station.profiles()) == 4)
        resent = {p["csChargingProfiles"]["chargingProfileId"]: p for p in station.profiles()[2:]}
        for profile_id, (evse, body) in sent.items():
            assert resent[profile_id] == {"connectorId": evse, "csChargingProfiles": body}
        assert await held_ids(csms, "RS-16") == [5, 6]

        # The next reboot, the station refuses profile 6: the record no longer claims it.
        refuse.add(6)
        assert (await station.call("BootNotification", boot))["status"] == "Accepted"
        await station.wait_until(lambda: len(station.profiles()) == 6)
        for _ in range(100):
            if await held_ids(csms, "RS-16") == [5]:
                break
            await asyncio.sleep(0.02)
        assert await held_ids(csms, "RS-16") == [5]
        assert csms.profile_reconciler.done[-1] == ("RS-16", "5:Accepted, 6:Rejected")
