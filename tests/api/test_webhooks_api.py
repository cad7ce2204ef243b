"""Webhooks over the wire: a real HTTP receiver on loopback checks each body's HMAC signature,
refuses some attempts (retries with back-off), hangs (other subscriptions are not held up), and
the delivery log shows every attempt."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from opencsms.domain.webhook_model import WEBHOOK_EVENT_TYPES
from tests.polling import until
from tests.wire import api_client, raw_station, running_csms, settings_for

SECRET = "s3cret-for-the-receiver-0123456789"
FAST = {"webhook_retry_base": 0.1, "webhook_retry_max": 1.0, "webhook_max_attempts": 4}


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """An HTTP/1.1 endpoint answering with the next status of ``statuses`` (then 200);
    ``hang`` makes it never answer."""

    statuses: list[int] = field(default_factory=list)
    hang: bool = False
    requests: list[Received] = field(default_factory=list)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode().split("\r\n")[1:]
            headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines if x)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            async with self.arrived:
                self.requests.append(Received(headers, body, time.monotonic()))
                self.arrived.notify_all()
            if self.hang:
                await asyncio.Event().wait()
            code = self.statuses.pop(0) if self.statuses else 200
            writer.write(f"HTTP/1.1 {code} X\r\nContent-Length: 0\r\n\r\n".encode())
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def wait_for(self, count: int, wait: float = 10.0) -> list[Received]:
        async with asyncio.timeout(wait), self.arrived:
            await self.arrived.wait_for(lambda: len(self.requests) >= count)
        return self.requests

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rx = Receiver()
    server = await asyncio.start_server(rx.handle, "127.0.0.1", 0)
    rx.port = server.sockets[0].getsockname()[1]
    async with server:
        yield rx
        server.close()


@pytest.fixture
async def csms(tmp_path: Path) -> AsyncIterator[Csms]:
    async with running_csms(settings_for(tmp_path, **FAST)) as node:
        yield node


async def until_state(
    api: httpx.AsyncClient, hook_id: int, state: str, attempts: int | None = None
) -> dict[str, Any]:
    """The newest delivery of the webhook once it reached ``state`` (and, if given, that many
    recorded ``attempts``: a delivery is ``pending`` before its first attempt too, and an
    attempt's outcome is stored just after the receiver answered)."""
    async with asyncio.timeout(10):
        while True:
            page = (await api.get(f"/api/v1/webhooks/{hook_id}/deliveries")).json()["items"]
            if page and page[0]["state"] == state:
                detail = await api.get(f"/api/v1/webhooks/{hook_id}/deliveries/{page[0]['id']}")
                found: dict[str, Any] = detail.json()
                if attempts is None or found["attempts"] == attempts:
                    return found
            await asyncio.sleep(0.02)


def verify(secret: str, request: Received) -> dict[str, Any]:
    expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["x-opencsms-signature"], expected)
    body: dict[str, Any] = orjson.loads(request.body)
    return body


async def test_signed_deliveries_are_retried_with_back_off_and_logged(
    csms: Csms, receiver: Receiver
) -> None:
    receiver.statuses = [500, 503]
    await csms.stations.create(StationSpec(id="W1"))
    async with api_client(csms) as api:
        created = await api.post(
            "/api/v1/webhooks",
            json={"url": receiver.url, "secret": SECRET, "event_types": ["station.connected"]},
        )
        assert created.status_code == 201, created.text
        hook = created.json()
        assert hook["secret"] == SECRET
        assert "secret" not in (await api.get(f"/api/v1/webhooks/{hook['id']}")).json() or (
            (await api.get(f"/api/v1/webhooks/{hook['id']}")).json()["secret"] is None
        )
        async with raw_station(csms, "W1"):
            requests = await receiver.wait_for(3)
        log = await until_state(api, hook["id"], "delivered")
    bodies = [verify(SECRET, r) for r in requests]
    assert {r.headers["x-opencsms-event"] for r in requests} == {"station.connected"}
    assert len({r.headers["x-opencsms-delivery"] for r in requests}) == 1  # one delivery
    assert bodies[0]["type"] == "station.connected"
    assert bodies[0]["event"]["station_id"] == "W1"
    assert bodies[0]["event"]["data"] == {"ocpp_version": "1.6"}
    assert all(abs(b["timestamp"] - time.time()) < 60 for b in bodies)  # replay protection
    # back-off: the n-th retry waits base * 2**(n-1), of which half is jitter
    first_gap = requests[1].at - requests[0].at
    second_gap = requests[2].at - requests[1].at
    assert first_gap >= 0.05 * 0.9
    assert second_gap >= 0.1 * 0.9
    assert log["attempts"] == 3
    assert [a["status_code"] for a in log["attempt_log"]] == [500, 503, 200]
    assert log["attempt_log"][0]["error"] == "HTTP 500"
    assert log["delivered_at"] is not None


async def test_a_delivery_fails_after_max_attempts_and_can_be_redelivered(
    csms: Csms, receiver: Receiver
) -> None:
    receiver.statuses = [500, 500, 500, 500]
    async with api_client(csms) as api:
        hook = (await api.post("/api/v1/webhooks", json={"url": receiver.url})).json()
        secret = hook["secret"]  # made by the CSMS, shown once
        pinged = await api.post(f"/api/v1/webhooks/{hook['id']}/ping")
        assert pinged.status_code == 202
        failed = await until_state(api, hook["id"], "failed")
        assert failed["attempts"] == 4
        assert failed["next_attempt_at"] is None
        again = await api.post(f"/api/v1/webhooks/{hook['id']}/deliveries/{failed['id']}/redeliver")
        assert again.status_code == 202
        delivered = await until_state(api, hook["id"], "delivered")
    assert delivered["id"] == failed["id"]
    assert [a["attempt"] for a in delivered["attempt_log"]] == [1, 2, 3, 4, 5]
    assert verify(secret, receiver.requests[-1])["type"] == "webhook.ping"


async def test_a_hanging_receiver_does_not_hold_up_other_webhooks(
    tmp_path: Path, receiver: Receiver
) -> None:
    hanging = Receiver(hang=True)
    server = await asyncio.start_server(hanging.handle, "127.0.0.1", 0)
    hanging.port = server.sockets[0].getsockname()[1]
    settings = settings_for(tmp_path, webhook_timeout=2.0, webhook_max_attempts=1)
    async with server, running_csms(settings) as csms, api_client(csms) as api:
        await csms.stations.create(StationSpec(id="W2"))
        slow = (await api.post("/api/v1/webhooks", json={"url": hanging.url})).json()
        fast = (await api.post("/api/v1/webhooks", json={"url": receiver.url})).json()
        only_alerts = await api.post(
            "/api/v1/webhooks", json={"url": receiver.url, "event_types": ["alert.raised"]}
        )
        assert only_alerts.status_code == 201
        async with raw_station(csms, "W2"):
            await hanging.wait_for(1)
            started = time.monotonic()
            # the fast receiver gets station.connected while the slow one still hangs
            got = await receiver.wait_for(1)
            assert time.monotonic() - started < 2.0
        assert got[0].headers["x-opencsms-event"] == "station.connected"
        timed_out = await until_state(api, slow["id"], "failed")
        assert "no answer within" in timed_out["last_error"] or "Timeout" in (
            timed_out["last_error"] or ""
        )
        delivered = (await api.get(f"/api/v1/webhooks/{fast['id']}/deliveries")).json()
        filtered = await api.get(f"/api/v1/webhooks/{only_alerts.json()['id']}/deliveries")
        server.close()
    assert "station.connected" in {d["event_type"] for d in delivered["items"]}
    # the alert-only subscription got no station events
    assert {d["event_type"] for d in filtered.json()["items"]} <= {"alert.raised"}


async def test_pending_retries_survive_a_restart(tmp_path: Path, receiver: Receiver) -> None:
    receiver.statuses = [500]
    settings = settings_for(tmp_path, webhook_retry_base=0.5, webhook_max_attempts=3)
    async with running_csms(settings) as first, api_client(first) as api:
        hook = (await api.post("/api/v1/webhooks", json={"url": receiver.url})).json()
        await api.post(f"/api/v1/webhooks/{hook['id']}/ping")
        await receiver.wait_for(1)
        pending = await until_state(api, hook["id"], "pending", attempts=1)
        assert pending["last_status_code"] == 500
    async with running_csms(settings) as second, api_client(second) as api:
        delivered = await until_state(api, hook["id"], "delivered")
    assert delivered["attempts"] == 2


async def test_an_attempt_cut_short_by_a_stop_is_made_again_at_the_next_start(
    tmp_path: Path, receiver: Receiver
) -> None:
    """Stopping the node cancels an attempt the receiver has not answered: the node gives its
    claim on the attempt back, so the next start makes it at once rather than after the claim's
    lease (twice ``webhook_timeout``, a minute here)."""
    receiver.hang = True
    settings = settings_for(tmp_path, webhook_timeout=30.0)
    async with running_csms(settings) as first, api_client(first) as api:
        hook = (await api.post("/api/v1/webhooks", json={"url": receiver.url})).json()
        await api.post(f"/api/v1/webhooks/{hook['id']}/ping")
        await receiver.wait_for(1)  # in flight, never answered
    receiver.hang = False
    async with running_csms(settings) as second, api_client(second) as api:
        delivered = await until_state(api, hook["id"], "delivered")
    assert len(receiver.requests) == 2
    assert delivered["attempts"] == 1  # the cut-short attempt was never made: no outcome


async def test_bad_subscriptions_are_refused_precisely(csms: Csms) -> None:
    async with api_client(csms) as api:
        no_scheme = await api.post("/api/v1/webhooks", json={"url": "example.com/hook"})
        unknown = await api.post(
            "/api/v1/webhooks", json={"url": "http://x.test/", "event_types": ["nope"]}
        )
        short_secret = await api.post(
            "/api/v1/webhooks", json={"url": "http://x.test/", "secret": "short"}
        )
        missing = await api.get("/api/v1/webhooks/4242/deliveries")
        hook = (await api.post("/api/v1/webhooks", json={"url": "http://x.test/"})).json()
        disabled = await api.patch(f"/api/v1/webhooks/{hook['id']}", json={"enabled": False})
        gone = await api.delete(f"/api/v1/webhooks/{hook['id']}")
        listed = await api.get("/api/v1/webhooks")
        unauthenticated = await api_client(csms, token=None).get("/api/v1/webhooks")
    assert no_scheme.status_code == 422
    assert "absolute http" in no_scheme.json()["detail"]
    assert unknown.status_code == 422
    assert "unknown event types ['nope']" in unknown.json()["detail"]
    assert short_secret.status_code == 422
    assert missing.status_code == 404
    assert disabled.json()["enabled"] is False
    assert gone.status_code == 204
    assert listed.json() == []
    assert unauthenticated.status_code == 401


async def test_a_store_outage_during_intake_is_retried_and_nothing_is_lost(
    tmp_path: Path, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    """The store refuses the deliveries (their table is gone, as in an outage): the intake logs
    once, retries the same event with back-off instead of dying or spinning, and delivers it
    once the store is back; the events behind it follow in order."""
    async with running_csms(settings_for(tmp_path, **FAST)) as csms:
        await csms.stations.create(StationSpec(id="W7"))
        async with api_client(csms) as api:
            created = await api.post(
                "/api/v1/webhooks",
                json={"url": receiver.url, "secret": SECRET, "event_types": ["station.connected"]},
            )
            assert created.status_code == 201, created.text
        database = tmp_path / "csms.db"
        with sqlite3.connect(database) as db:
            db.execute("ALTER TABLE webhook_deliveries RENAME TO webhook_deliveries_away")
        async with raw_station(csms, "W7"):
            pass
        async with raw_station(csms, "W7"):
            pass
        # the first event failed to be stored, more than once; the second waits behind it
        await until(lambda: csms.webhooks.intake_failures >= 2, wait=10)
        assert csms.webhooks.intake_backlog >= 1
        assert receiver.requests == []
        with sqlite3.connect(database) as db:
            db.execute("ALTER TABLE webhook_deliveries_away RENAME TO webhook_deliveries")
        requests = await receiver.wait_for(2)
    bodies = [verify(SECRET, r) for r in requests]
    assert [b["type"] for b in bodies] == ["station.connected", "station.connected"]
    assert bodies[0]["event"]["id"] < bodies[1]["event"]["id"]
    failures = [r for r in caplog.records if "could not store the deliveries" in r.getMessage()]
    assert len(failures) == 1  # one log per outage, not one per retry
    assert any(
        "after" in r.getMessage() and "failed tries" in r.getMessage() for r in caplog.records
    )
    assert csms.webhooks.intake_overflows == 0


async def test_without_subscriptions_the_intake_queues_nothing(
    csms: Csms, receiver: Receiver
) -> None:
    """The intake listens only to what enabled subscriptions want: a node without webhooks keeps
    no backlog of feed events (so it can never fall behind)."""
    await csms.stations.create(StationSpec(id="W8"))
    await until(lambda: csms.webhooks.intake_types is not None, wait=10)
    assert csms.webhooks.intake_types == frozenset()
    with csms.feed.listening() as probe:
        async with raw_station(csms, "W8"):
            assert (await probe.get()) is not None  # the event went through the feed
    assert csms.webhooks.intake_backlog == 0
    async with api_client(csms) as api:
        created = await api.post(
            "/api/v1/webhooks", json={"url": receiver.url, "event_types": ["alert.raised"]}
        )
        assert created.status_code == 201, created.text
        assert csms.webhooks.intake_types == frozenset({"alert.raised"})
        await api.post("/api/v1/webhooks", json={"url": receiver.url, "event_types": []})
        assert csms.webhooks.intake_types == WEBHOOK_EVENT_TYPES  # [] means every type
        await api.delete(f"/api/v1/webhooks/{created.json()['id']}")
