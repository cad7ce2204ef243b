"""``GET /metrics``: Prometheus text exposition of the node (docs/metrics.md).

No authentication unless ``metrics_require_token`` is set (then the admin bearer token, like the
rest of the API). Counters come from the hot path (opencsms/metrics.py); gauges are computed
here, at scrape time, from the node's live state.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from opencsms.api.auth import require_token
from opencsms.metrics import render

if TYPE_CHECKING:
    from opencsms.app import Csms

__all__ = ["metrics_router"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def metrics_router(csms: Csms) -> APIRouter:
    router = APIRouter(tags=["metrics"])
    check = require_token(
        lambda: csms.settings.admin_token, lambda: getattr(csms, "api_backoff", None)
    )

    @router.get("/metrics", response_class=PlainTextResponse)
    async def metrics(request: Request) -> PlainTextResponse:
        """The node's metrics in Prometheus text format 0.0.4."""
        if csms.settings.metrics_require_token:
            await check(request)
        alerts = Counter((a.type.value, a.severity.value) for a in csms.alerts.open_alerts())
        text = render(
            csms.metrics,
            connections=Counter(c.version.value for c in csms.registry),
            active_sessions=csms.fleet.active_sessions,
            power_w=csms.fleet.power_w,
            energy_wh_total=csms.fleet.energy_total_wh,
            energy_today_wh=csms.fleet.energy_today_wh,
            alerts_open=alerts,
            webhook_attempts=csms.webhooks.counts,
            stream_clients=csms.feed.listeners,
        )
        return PlainTextResponse(text, media_type=CONTENT_TYPE)

    return router
