"""``/metrics`` over the wire: the Prometheus exposition changes as stations connect, send
CALLs, start sessions and raise alerts; the token is required only when configured."""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path

import httpx
import orjson

from opencsms.app import Csms
from opencsms.domain.model import RegistrationStatus
from opencsms.domain.stations import StationSpec
from opencsms.errors import CallFailedError
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


async def test_every_incoming_call_and_reply_is_counted_with_its_outcome(csms: Csms) -> None:
    """Refusals before any handler (frame, schema, unknown action, registration gate) are counted
    with the CALLERROR code sent; replies to the CSMS's own calls with their outcome."""
    await csms.stations.create(StationSpec(id="Q1"))
    await csms.stations.create(StationSpec(id="Q2", registration=RegistrationStatus.PENDING))
    async with raw_station(csms, "Q2") as pending:
        gated = await pending.call("Heartbeat", {})  # the registration gate refuses (B02.FR.09)
    async with raw_station(csms, "Q1") as cp:
        await booted(cp, "ocpp1.6")
        bad_schema = await cp.call("StatusNotification", {"connectorId": 1})
        unknown = await cp.call("MakeCoffee-1234", {})
        await cp.send_raw('[2, "x1", "Heartbeat", 5]')  # payload not an object
        not_object = await cp.recv()
        ok = await cp.call("Heartbeat", {})
        # the CSMS's own calls: a CALLERROR reply, an invalid reply, a good reply
        replies = [
            lambda mid: [4, mid, "NotSupported", "no cache here", {}],
            lambda mid: [3, mid, {"status": "Maybe"}],
            lambda mid: [3, mid, {"status": "Accepted"}],
        ]
        for reply in replies:
            call = asyncio.create_task(csms.call_station("Q1", "ClearCache", {}))
            frame = await cp.recv()
            await cp.send_raw(orjson.dumps(reply(frame[1])).decode())
            with contextlib.suppress(CallFailedError):
                await call
    assert [gated[0], bad_schema[0], unknown[0], not_object[0], ok[0]] == [4, 4, 4, 4, 3]
    text = (await scrape(csms)).text

    def count(action: str, direction: str, result: str) -> float:
        labels = f'action="{action}",direction="{direction}",result="{result}"'
        return value(text, f"opencsms_messages_total{{{labels}}}")

    assert count("Heartbeat", "in", gated[2]) == 1
    assert gated[2] == "SecurityError"
    assert count("Heartbeat", "in", "ok") == 1
    assert count("StatusNotification", "in", bad_schema[2]) == 1
    assert bad_schema[2] == "OccurenceConstraintViolation"
    # the peer's free text never becomes a label
    assert count("unknown", "in", "NotImplemented") == 1
    assert "MakeCoffee" not in text
    assert count("unknown", "in", not_object[2]) == 1
    assert count("ClearCache", "out", "NotSupported") == 1
    assert count("ClearCache", "out", "invalid") == 1
    assert count("ClearCache", "out", "ok") == 1
    total_in = sum(
        float(v)
        for v in re.findall(
            r'^opencsms_messages_total\{[^}]*direction="in"[^}]*\} (\S+)$', text, re.M
        )
    )
    assert total_in == 6  # every CALL the station sent: Heartbeat x2, Boot, Status, unknown x2
