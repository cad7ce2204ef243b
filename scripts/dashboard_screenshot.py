"""Screenshots of the dashboard with the demo fleet running, for README.md and docs/dashboard.md.

Starts a CSMS on loopback ports with a fresh database and the ``--demo`` fleet, adds one more
simulated wallbox whose EV is nearly full (so its power curve tapers within a minute), logs in
with a real Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright), starts a session on
the wallbox from the station page like an operator would, and saves::

    docs/img/dashboard.png          the fleet overview
    docs/img/dashboard-station.png  the wallbox's station page
    docs/img/dashboard-session.png  the session with its power and energy chart
    docs/img/dashboard-load.png     load management: the site's groups, allocation, decisions
    docs/img/dashboard-cdrs.png     the charge detail records (after the wallbox's session ends)
    docs/img/dashboard-cdr.png      one CDR with its cost breakdown

Run: ``.venv/bin/python scripts/dashboard_screenshot.py [--out docs/img] [--seconds 50]``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

import httpx
from playwright.async_api import Page, async_playwright, expect

from opencsms.app import Csms
from opencsms.config import Settings
from opencsms.demo import run_demo_fleet
from opencsms.domain.stations import StationSpec
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import SimulatedStation, StationConfig
from opencsms.simulator.config import EvseConfig
from opencsms.simulator.ev import EvModel

TOKEN = "screenshot-admin-token"
WALLBOX = "WALLBOX-7"
DRIVER = "DEMO-TOKEN-1"  # provisioned by the demo
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


async def shoot(out: Path, seconds: float, chromium: str) -> None:
    database = Path(tempfile.mkdtemp(prefix="opencsms-shot-")) / "demo.db"
    settings = Settings(
        host="127.0.0.1", ocpp_port=0, http_port=0, db=f"sqlite:///{database}", admin_token=TOKEN
    )
    async with Csms(settings) as csms, asyncio.TaskGroup() as tasks:
        fleet = tasks.create_task(run_demo_fleet(csms))
        await csms.stations.create(StationSpec(id=WALLBOX))
        await price_every_session(csms)
        await manage_the_site(csms)
        wallbox = StationConfig(
            id=WALLBOX,
            version=OcppVersion.V201,
            csms_url=f"ws://127.0.0.1:{csms.ports.ocpp}/ocpp",
            vendor="OpenCSMS",
            model="Wallbox 11",
            serial_number="WB-0007",
            evses=(EvseConfig(max_power_w=11_000),),
            meter_sample_interval=2,
        )
        async with SimulatedStation(wallbox) as station, async_playwright() as playwright:
            await station.wait_for(lambda s: s.registration == "Accepted")
            # A small, nearly full battery: full power for a while, then the CV taper.
            await station.plug_in(1, EvModel(battery_wh=2_500, soc=77, max_power_w=11_000))
            browser = await playwright.chromium.launch(executable_path=chromium, args=ARGS)
            page = await browser.new_page(viewport={"width": 1440, "height": 900})
            base = f"http://127.0.0.1:{csms.ports.http}/dashboard/"
            await page.goto(base)
            await page.get_by_label("Operator token").fill(TOKEN)
            await page.get_by_test_id("login-submit").click()
            await expect(page.get_by_test_id("fleet-totals")).to_be_visible()
            await page.goto(f"{base}#/stations/{WALLBOX}")
            await page.get_by_label("Id token").fill(DRIVER)
            await page.get_by_test_id("start-submit").click()
            await expect(page.get_by_test_id("command-answer")).to_have_text("Accepted")
            await page.get_by_test_id("evse-session-1").click(timeout=15_000)
            session_url = page.url
            await asyncio.sleep(seconds)  # let the session (and the demo's) run: a curve to show
            await page.goto(f"{base}#/fleet")
            await charging(page)
            await page.screenshot(path=out / "dashboard.png")
            await page.goto(f"{base}#/stations/{WALLBOX}")
            await expect(page.get_by_test_id("message-log")).to_be_visible()
            await page.screenshot(path=out / "dashboard-station.png", full_page=True)
            await page.goto(session_url)
            await expect(page.get_by_test_id("power-line")).to_be_attached()
            await page.screenshot(path=out / "dashboard-session.png", full_page=True)
            await page.goto(f"{base}#/load")
            await expect(page.get_by_test_id("load-sessions-table")).to_contain_text(WALLBOX)
            await page.screenshot(path=out / "dashboard-load.png", full_page=True)
            await station.sessions.stop(1, "Local")
            await page.goto(f"{base}#/cdrs")
            cdrs = page.get_by_test_id("cdrs-table")
            await expect(cdrs).to_contain_text(WALLBOX, timeout=15_000)
            await page.screenshot(path=out / "dashboard-cdrs.png", full_page=True)
            await cdrs.get_by_role("row").filter(has_text=WALLBOX).get_by_role("link").first.click()
            await expect(page.get_by_test_id("cdr-total")).to_be_visible()
            await page.screenshot(path=out / "dashboard-cdr.png", full_page=True)
            await browser.close()
        fleet.cancel()


async def price_every_session(csms: Csms) -> None:
    """A default tariff, so the session page shows its cost."""
    tariff = {
        "id": "AC-STANDARD",
        "name": "AC standard",
        "currency": "EUR",
        "tax_rate": "0.21",
        "elements": [{"components": [{"type": "ENERGY", "price": "0.30"}]}],
    }
    base = f"http://127.0.0.1:{csms.ports.http}/api/v1"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=base, headers=headers) as api:
        (await api.post("/tariffs", json=tariff)).raise_for_status()
        assign = {"tariff_id": "AC-STANDARD"}
        (await api.put("/tariff-assignments/default", json=assign)).raise_for_status()


async def manage_the_site(csms: Csms) -> None:
    """A site of 63 A with the wallbox and two demo stations in a 32 A row (load page)."""
    base = f"http://127.0.0.1:{csms.ports.http}/api/v1"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=base, headers=headers) as api:
        site = {"id": "DEPOT", "name": "Depot", "max_current_a": 63}
        (await api.post("/load-groups", json=site)).raise_for_status()
        row = {"id": "ROW-A", "name": "Row A", "parent_id": "DEPOT", "max_current_a": 32}
        (await api.post("/load-groups", json=row)).raise_for_status()
        for station_id in (WALLBOX, "DEMO-201-0001", "DEMO-201-0002"):
            member = {"max_current_a": 32}
            path = f"/load-groups/ROW-A/members/{station_id}"
            response = await api.put(path, json=member)
            if response.status_code != 404:  # a demo station the demo has not created yet
                response.raise_for_status()


async def charging(page: Page) -> None:
    """Wait until the overview shows sessions running (the demo's drivers arrive in seconds)."""
    await page.wait_for_function(
        "() => Number(document.querySelector('[data-testid=total-charging] .total-value')"
        "?.textContent) >= 2",
        timeout=60_000,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    parser.add_argument("--seconds", type=float, default=50.0, help="How long the session runs")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    asyncio.run(shoot(args.out, args.seconds, args.chromium))
    for name in (
        "dashboard.png",
        "dashboard-station.png",
        "dashboard-session.png",
        "dashboard-load.png",
        "dashboard-cdrs.png",
        "dashboard-cdr.png",
    ):
        print(args.out / name)


if __name__ == "__main__":
    main()
