"""The dashboard in a real browser against a real CSMS and a real simulated station.

An operator logs in with the token, watches a station appear (connected, its connector
Available) without reloading, opens it, starts a session from the command form, opens the
session and sees its power curve grow as the station's meter values arrive every second; then
stops it from the page. Every wait is on what the page shows (Playwright's expect), none on time.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from opencsms.domain.stations import StationSpec
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import SimulatedStation
from tests.dashboard.browser import chromium
from tests.simulator.helpers import sim_config
from tests.wire import ADMIN_TOKEN, api_client, running_csms, settings_for

if TYPE_CHECKING:
    from playwright.async_api import Download, Page

pytestmark = pytest.mark.timeout(120)

STATION = "DASH-1"
TOKEN = "DRIVER-DASH"
WAIT_MS = 15_000


async def add_default_tariff(api: httpx.AsyncClient) -> None:
    tariff = {
        "id": "AC-STANDARD",
        "name": "AC standard",
        "currency": "EUR",
        "tax_rate": "0.21",
        "elements": [{"components": [{"type": "ENERGY", "price": "0.30"}]}],
    }
    created = await api.post("/api/v1/tariffs", json=tariff)
    assert created.status_code == 201, created.text
    assigned = await api.put(
        "/api/v1/tariff-assignments/default", json={"tariff_id": "AC-STANDARD"}
    )
    assert assigned.status_code == 200, assigned.text


async def test_operator_starts_a_session_and_watches_its_power_curve(tmp_path: Path) -> None:
    from playwright.async_api import expect

    async with running_csms(settings_for(tmp_path)) as csms, chromium() as browser:
        await csms.stations.create(StationSpec(id=STATION))
        async with api_client(csms) as api:
            created = await api.post(
                "/api/v1/id-tokens", json={"id_token": TOKEN, "type": "ISO14443"}
            )
            assert created.status_code == 201, created.text
            await add_default_tariff(api)
        page = await browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        base = f"http://127.0.0.1:{csms.ports.http}/dashboard/"

        # A wrong token is refused on the login page; the right one opens the fleet.
        await page.goto(base)
        await page.get_by_label("Operator token").fill("not-the-token")
        await page.get_by_test_id("login-submit").click()
        await expect(page.get_by_test_id("login-error")).to_contain_text("refused")
        await page.get_by_label("Operator token").fill(ADMIN_TOKEN)
        await page.get_by_test_id("login-submit").click()
        # The page follows the CSMS's event stream (not the polling fallback).
        await expect(page.get_by_test_id("live-status")).to_have_attribute("data-mode", "stream")
        row = page.get_by_test_id(f"station-row-{STATION}")
        await expect(row.get_by_test_id("station-connection")).to_have_text("disconnected")

        config = sim_config(csms, STATION, OcppVersion.V201, meter_sample_interval=1)
        async with SimulatedStation(config) as station:
            # The station connects and reports its connector: the row changes without reload.
            await expect(row.get_by_test_id("station-connection")).to_have_text(
                "connected", timeout=WAIT_MS
            )
            await expect(row.get_by_test_id("connector-1-1")).to_contain_text(
                "Available", timeout=WAIT_MS
            )
            await row.get_by_test_id("station-link").click()
            await expect(page).to_have_url(re.compile(f"#/stations/{STATION}$"))

            # Start a session with the command form; the station's answer is shown.
            await page.get_by_label("Id token").fill(TOKEN)
            await page.get_by_test_id("start-evse").select_option("1")
            await page.get_by_test_id("start-submit").click()
            result = page.get_by_test_id("command-result")
            await expect(result.get_by_test_id("command-status")).to_have_text(
                "Answered", timeout=WAIT_MS
            )
            await expect(result.get_by_test_id("command-answer")).to_have_text("Accepted")
            await expect(page.get_by_test_id("connector-status-1-1")).to_have_text(
                re.compile("Occupied|Charging"), timeout=WAIT_MS
            )

            # Open the session: its power curve gains points while the page stays open.
            await page.get_by_test_id("evse-session-1").click(timeout=WAIT_MS)
            await expect(page.get_by_test_id("session-status")).to_have_text("Active")
            line = page.get_by_test_id("power-line")
            await expect(line).to_have_attribute(
                "data-count", re.compile(r"^[1-9]"), timeout=WAIT_MS
            )
            first = int(await line.get_attribute("data-count") or 0)
            first_points = await line.get_attribute("points")
            await page.wait_for_function(
                "n => Number(document.querySelector('[data-testid=power-line]')"
                "?.dataset.count) >= n + 2",
                arg=first,
                timeout=WAIT_MS,
            )
            assert await line.get_attribute("points") != first_points
            await expect(page.get_by_test_id("session-power")).to_have_text(re.compile(r"kW$"))
            assert station.transaction(1) is not None
            # Priced by the default tariff as it runs.
            await expect(page.get_by_test_id("session-cost-total")).to_have_text(
                re.compile(r"^\d+\.\d\d EUR$"), timeout=WAIT_MS
            )

            # Stop it from the page: the station ends the transaction, the page says so.
            await page.get_by_test_id("session-stop").click()
            await expect(page.get_by_test_id("stop-result")).to_contain_text(
                "Accepted", timeout=WAIT_MS
            )
            await expect(page.get_by_test_id("session-status")).to_have_text(
                "Completed", timeout=WAIT_MS
            )
            await operate_the_station_forms(page)
            await read_the_cdr_and_export_it(page)
        assert errors == [], errors


async def operate_the_station_forms(page: Page) -> None:
    """Trigger, unlock, any action (and its refusal of bad JSON), then reset, each answered by
    the simulated 2.0.1 station and shown on the page."""
    from playwright.async_api import expect

    await page.goto(page.url.split("#")[0] + f"#/stations/{STATION}")
    await expect(page.get_by_test_id("commands")).to_be_visible()
    result = page.get_by_test_id("command-result")

    async def answered(submit: str, answer: str) -> None:
        await page.get_by_test_id(submit).click()
        await expect(result.get_by_test_id("command-status")).to_have_text(
            "Answered", timeout=WAIT_MS
        )
        await expect(result.get_by_test_id("command-answer")).to_have_text(answer)

    await page.get_by_test_id("trigger-message").select_option("Heartbeat")
    await answered("trigger-submit", "Accepted")
    await expect(result).to_contain_text("TriggerMessage")
    await page.get_by_test_id("unlock-evse").fill("1")
    await answered("unlock-submit", "Unlocked")
    await expect(result).to_contain_text("UnlockConnector")
    await page.get_by_test_id("generic-action").fill("ClearCache")
    await page.get_by_test_id("generic-payload").fill("{not json")
    await page.get_by_test_id("generic-submit").click()
    await expect(result.get_by_test_id("command-error")).to_contain_text("not JSON")
    await page.get_by_test_id("generic-payload").fill("{}")
    await answered("generic-submit", "Accepted")
    await expect(result).to_contain_text("ClearCache")
    # last: the station reboots after accepting
    await page.get_by_test_id("reset-type").select_option("on_idle")
    await answered("reset-submit", "Accepted")
    await expect(result).to_contain_text("Reset")


async def downloaded(download: Download) -> str:
    """The text of a file the page downloaded."""
    path = await download.path()
    return await asyncio.to_thread(path.read_text)


async def read_the_cdr_and_export_it(page: Page) -> None:
    """The stopped session's CDR is listed, its cost breakdown shown, and both exports download
    with the token (fetched, then saved from a blob)."""
    from playwright.async_api import expect

    await page.get_by_test_id("nav-cdrs").click()
    await page.get_by_test_id("cdr-filter-station").fill(STATION)
    await page.get_by_test_id("cdr-filter-apply").click()
    cdrs = page.get_by_test_id("cdrs-table")
    await expect(cdrs).to_contain_text(STATION, timeout=WAIT_MS)
    await expect(cdrs).to_contain_text("AC-STANDARD v1")
    async with page.expect_download() as csv_download:
        await page.get_by_test_id("cdr-export-csv").click()
    lines = (await downloaded(await csv_download.value)).splitlines()
    assert len(lines) == 2, lines  # the header and this session
    assert STATION in lines[1]
    await expect(page.get_by_test_id("cdr-export-status")).to_contain_text("cdrs.csv")
    async with page.expect_download() as ocpi_download:
        await page.get_by_test_id("cdr-export-ocpi").click()
    ocpi = json.loads(await downloaded(await ocpi_download.value))
    assert [c["cdr_token"]["uid"] for c in ocpi] == [TOKEN]

    await cdrs.locator("[data-testid^=cdr-link-]").first.click()
    await expect(page.get_by_test_id("cdr-total")).to_have_text(re.compile(r"^\d+\.\d\d EUR$"))
    await expect(page.get_by_test_id("cdr-cost")).to_contain_text("AC-STANDARD version 1")
    await expect(page.get_by_test_id("cdr-cost")).to_contain_text("Tax (21.0 %)")


async def test_operator_acknowledges_and_resolves_an_alert_and_reads_tariffs(
    tmp_path: Path,
) -> None:
    """A connector fault raises an alert that appears on the open alerts page without reload;
    the operator acknowledges then resolves it there. The tariffs page lists the tariff."""
    from playwright.async_api import expect

    async with running_csms(settings_for(tmp_path)) as csms, chromium() as browser:
        await csms.stations.create(StationSpec(id=STATION))
        async with api_client(csms) as api:
            await add_default_tariff(api)
        page = await browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"http://127.0.0.1:{csms.ports.http}/dashboard/#/tariffs")
        await page.get_by_label("Operator token").fill(ADMIN_TOKEN)
        await page.get_by_test_id("login-submit").click()
        tariff = page.get_by_test_id("tariff-AC-STANDARD")
        await expect(tariff).to_contain_text("0.30 EUR per kWh")
        await expect(page.get_by_test_id("assignments-table")).to_contain_text("every station")

        await page.get_by_test_id("nav-alerts").click()
        await expect(page.get_by_test_id("alerts-list")).to_contain_text("No alert.")
        config = sim_config(csms, STATION, OcppVersion.V201)
        async with SimulatedStation(config) as station:
            await station.wait_for(lambda s: s.registration == "Accepted")
            await station.set_fault(1, "OtherError")
            table = page.get_by_test_id("alerts-table")
            await expect(table).to_contain_text("connector_faulted", timeout=WAIT_MS)
            acknowledge = table.locator("[data-testid^=alert-ack-]")
            await acknowledge.click()
            await expect(page.get_by_test_id("alert-result")).to_contain_text("acknowledged")
            await expect(table).to_contain_text("acknowledged")
            await expect(acknowledge).to_have_count(0)
            await table.locator("[data-testid^=alert-resolve-]").click()
            await expect(page.get_by_test_id("alert-result")).to_contain_text("resolved")
            await expect(page.get_by_test_id("alerts-list")).to_contain_text("No alert.")
            await page.get_by_test_id("alert-status").select_option("resolved")
            await expect(page.get_by_test_id("alerts-table")).to_contain_text("connector_faulted")

            # Load management: the site tree with its limits, then a session's allocation.
            async with api_client(csms) as api:
                for group in (
                    {"id": "SITE", "name": "Depot", "max_current_a": 100},
                    {"id": "ROW-A", "parent_id": "SITE", "max_current_a": 32},
                ):
                    created = await api.post("/api/v1/load-groups", json=group)
                    assert created.status_code == 201, created.text
                member = await api.put(
                    f"/api/v1/load-groups/ROW-A/members/{STATION}", json={"max_current_a": 32}
                )
                assert member.status_code == 200, member.text
                token = await api.post(
                    "/api/v1/id-tokens", json={"id_token": TOKEN, "type": "ISO14443"}
                )
                assert token.status_code == 201, token.text
            await station.clear_fault(1)
            await page.get_by_test_id("nav-load").click()
            await expect(page.get_by_test_id("load-group-SITE")).to_contain_text(
                "100.0 A per phase"
            )
            await expect(page.get_by_test_id("load-group-ROW-A")).to_contain_text(
                f"32.0 A per phase · 1 member ({STATION})"
            )
            await expect(page.get_by_test_id("load-no-sessions")).to_be_visible()
            await station.sessions.start(1, TOKEN)
            sessions = page.get_by_test_id("load-sessions-table")
            await expect(sessions).to_contain_text(STATION, timeout=WAIT_MS)
            await expect(sessions).to_contain_text("ROW-A")
            await expect(page.get_by_test_id("load-decisions-table")).to_contain_text(
                "TxProfile", timeout=WAIT_MS
            )
        assert errors == [], errors
