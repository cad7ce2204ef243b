"""``GET /api/v1/events/stream``: the live event stream for dashboards, as Server-Sent Events
(WHATWG HTML "Server-sent events"; docs/alerts.md "Live event stream").

Each event is ``id: <n>`` / ``event: <type>`` / ``data: <JSON>`` (the JSON is the event's
``{"id", "type", "at", "station_id", "data"}``). ``?types=a,b`` and ``?station=`` filter. An
idle stream gets a ``: keep-alive`` comment every ``event_stream_keepalive`` seconds so proxies
keep it open. A client more than ``event_stream_queue`` events behind gets ``event: overflow`` and
the stream ends: it never slows the stations down. A reconnecting client sends ``Last-Event-ID``
(EventSource does it by itself) and gets the events it missed that the node still holds.

Authentication: the admin bearer token in the ``Authorization`` header, or — because a
browser's ``EventSource`` cannot set headers — in ``?token=``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated

import orjson
from fastapi import APIRouter, Header, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse

from opencsms.api.auth import require_token
from opencsms.api.responses import INVALID_BODY, UNAUTHORIZED
from opencsms.domain.event_feed import STREAM_EVENT_TYPES, FeedListener

if TYPE_CHECKING:
    from opencsms.app import Csms

__all__ = ["events_stream_router"]

RETRY_MS = 3000
"""How long EventSource waits before reconnecting (sent as ``retry:``)."""


def _types(raw: str | None) -> frozenset[str] | None:
    if not raw:
        return None
    wanted = frozenset(t.strip() for t in raw.split(",") if t.strip())
    unknown = sorted(wanted - STREAM_EVENT_TYPES)
    if unknown:
        allowed = ", ".join(sorted(STREAM_EVENT_TYPES))
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"unknown event types {unknown}; known: {allowed}",
        )
    return wanted


async def _frames(listener: FeedListener, keepalive: float) -> AsyncIterator[bytes]:
    try:
        yield f"retry: {RETRY_MS}\n: connected\n\n".encode()
        while True:
            try:
                async with asyncio.timeout(keepalive):
                    event = await listener.get()
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            if event is None:
                if listener.overflowed:
                    note = orjson.dumps({"reason": "the client fell behind; reconnect"})
                    yield b"event: overflow\ndata: " + note + b"\n\n"
                return
            data = orjson.dumps(event.as_json())
            yield f"id: {event.id}\nevent: {event.type}\ndata: ".encode() + data + b"\n\n"
    finally:
        listener.close()


def events_stream_router(csms: Csms) -> APIRouter:
    router = APIRouter(prefix="/api/v1/events", tags=["events"])
    header_check = require_token(
        lambda: csms.settings.admin_token, lambda: getattr(csms, "api_backoff", None)
    )

    @router.get(
        "/stream",
        response_class=StreamingResponse,
        responses=UNAUTHORIZED | INVALID_BODY | {200: {"content": {"text/event-stream": {}}}},
    )
    async def stream(
        request: Request,
        types: Annotated[
            str | None, Query(description="Comma-separated event types; all when omitted")
        ] = None,
        station: Annotated[str | None, Query(max_length=48)] = None,
        token: Annotated[
            str | None, Query(description="The admin token, for clients that cannot set headers")
        ] = None,
        last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    ) -> StreamingResponse:
        """Fleet events as they happen (docs/alerts.md lists the types and their data)."""
        if token is not None and not request.headers.get("Authorization"):
            # the same check (and back-off) as the header, on the query's token
            headers = [*request.scope["headers"], (b"authorization", f"Bearer {token}".encode())]
            request = Request({**request.scope, "headers": headers})
        await header_check(request)
        wanted = _types(types)
        after = int(last_event_id) if last_event_id and last_event_id.isdigit() else None
        listener = csms.feed.listen(
            types=wanted,
            station_id=station,
            size=csms.settings.event_stream_queue,
            after=after,
        )
        return StreamingResponse(
            _frames(listener, csms.settings.event_stream_keepalive),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return router
