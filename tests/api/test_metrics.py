"""``/metrics`` over the wire: the Prometheus exposition changes as stations connect, send
CALLs, start sessions and raise alerts; the token is required only when configured."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from tests.handlers.builders import add_token, booted, start_16
from tests.wire import ADMIN_TOKEN, raw_station, running_csms, settings_for


def value(text: str, sample: str) -> float:
    """The value of one sample line, e.g. ``opencsms_connections{version="1.6"}``."""
    match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
    return float(match[1]) if match else 0.0


async def scrape(csms: Csms, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(headers=headers) as http:
        return await http.get(f"http://127.0.0.1:{csms.ports.http}/metrics")


async def scrape_until(csms: Csms, sample: str, expected: float) -> str:
    """Scrape until ``sample`` has the value (gauges follow fleet events, a moment later)."""
    async with asyncio.timeout(10):
        while True:
            text = (await scrape(csms)).text
            if value(text, sample) == expected:
                return text
            await asyncio.sleep(0.02)


async def test_metrics_follow_connections_messages_sessions_and_alerts(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="P1"))
    await csms.stations.create(StationSpec(id="P2"))
    await add_token(csms, "TAG-M")
    before = (await scrape(csms)).text
    assert value(before, 'opencsms_connections{version="1.6"}') == 0
    async with raw_station(csms, "P1") as cp, raw_station(csms, "P2", "ocpp2.0.1") as cs:
        await booted(cp, "ocpp1.6")
        await booted(cs, "ocpp2.0.1")
        await cp.result("Heartbeat", {})
        await cp.result("Heartbeat", {})
        bad = await cp.call("StatusNotification", {"connectorId": 1})  # schema violation
        assert bad[0] == 4
        await cp.result(
            "StatusNotification",
            {"connectorId": 1, "errorCode": "GroundFailure", "status": "Faulted"},
        )
        await cp.result("StartTransaction", start_16(meter=0))
        response = await scrape(csms)
        during = await scrape_until(csms, "opencsms_active_sessions", 1)
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert value(during, 'opencsms_connections{version="1.6"}') == 1
    assert value(during, 'opencsms_connections{version="2.0.1"}') == 1
    heartbeat = 'opencsms_messages_total{action="Heartbeat",direction="in",result="ok"}'
    assert value(during, heartbeat) == 2
    boots = 'opencsms_message_duration_seconds_count{action="BootNotification"}'
    assert value(during, boots) == 2
    inf = 'opencsms_message_duration_seconds_bucket{action="Heartbeat",le="+Inf"}'
    assert value(during, inf) == 2
    assert "# TYPE opencsms_message_duration_seconds histogram" in during
    # the invalid CALL never reached a handler: it is not counted as handled
    assert 'action="StatusNotification",direction="in",result="ok"' in during
    faulted = 'opencsms_alerts_open{type="connector_faulted",severity="major"}'
    assert value(await scrape_until(csms, faulted, 1), faulted) == 1
    offline = 'opencsms_alerts_open{type="station_offline",severity="major"}'
    after = await scrape_until(csms, offline, 2)
    assert value(after, 'opencsms_connections{version="1.6"}') == 0


async def test_metrics_can_require_the_token(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path, metrics_require_token=True)) as csms:
        refused = await scrape(csms)
        allowed = await scrape(csms, Authorization=f"Bearer {ADMIN_TOKEN}")
    assert refused.status_code == 401
    assert allowed.status_code == 200
    assert "opencsms_active_sessions 0" in allowed.text
