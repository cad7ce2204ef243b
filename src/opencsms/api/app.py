"""The operator REST API: one FastAPI application per process, bound to a node per request.

Building the application is not cheap (FastAPI makes a pydantic adapter for every field of its
~90 routes: about a third of a second), and a test process starts hundreds of nodes. So the
routers are built once, against :data:`current_node` — a stand-in that resolves, on every
attribute access, to the node whose server received the request — and :func:`create_app` gives
each node a thin ASGI callable that sets that node for the requests it serves. A router factory
must therefore read the node's attributes inside its endpoints, never while it is being built.
"""

from __future__ import annotations

import functools
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Literal, cast

from fastapi import Depends, FastAPI
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Receive, Scope, Send

import opencsms
from opencsms.api.alerts import alerts_router
from opencsms.api.auth import require_token
from opencsms.api.cdrs import cdrs_router
from opencsms.api.certificates import certificates_router
from opencsms.api.charging_profiles import charging_profiles_router
from opencsms.api.commands import commands_router
from opencsms.api.configuration import configuration_router
from opencsms.api.customer_information import customer_information_router
from opencsms.api.dashboard import dashboard_router
from opencsms.api.desired_config import desired_config_router
from opencsms.api.device_model import device_model_router
from opencsms.api.display_messages import display_messages_router
from opencsms.api.ev_charging import ev_charging_router
from opencsms.api.events_stream import events_stream_router
from opencsms.api.files import files_router, station_files_router
from opencsms.api.fleet import fleet_router
from opencsms.api.id_tokens import id_tokens_router
from opencsms.api.jobs import jobs_router
from opencsms.api.load_management import load_management_router
from opencsms.api.local_lists import local_lists_router
from opencsms.api.meter_values import meter_values_router
from opencsms.api.metrics import metrics_router
from opencsms.api.monitoring import monitoring_router
from opencsms.api.reservations import reservations_router
from opencsms.api.responses import UNAUTHORIZED
from opencsms.api.security import security_router
from opencsms.api.security_events import security_events_router
from opencsms.api.stations import stations_router
from opencsms.api.tariffs import tariffs_router
from opencsms.api.transactions import transactions_router
from opencsms.api.webhooks import webhooks_router

if TYPE_CHECKING:
    from opencsms.app import Csms


class HealthOut(BaseModel):
    status: Literal["ok"]
    stations_connected: int = Field(description="Stations connected to this node")


_serving: ContextVar[Csms] = ContextVar("opencsms_api_node")


class _CurrentNode:
    """Stands for the node serving the current request (see the module docstring)."""

    def __getattr__(self, name: str) -> Any:
        try:
            node = _serving.get()
        except LookupError:
            raise RuntimeError(
                f"csms.{name} read outside a request: a router factory must read the node's "
                "attributes inside its endpoints"
            ) from None
        return getattr(node, name)


current_node = cast("Csms", _CurrentNode())


def create_app(csms: Csms) -> ASGIApp:
    """The API of one CSMS node. Everything under /api/v1 except the OpenAPI document and the
    health check needs the admin bearer token."""
    if not csms.settings.admin_token:
        raise ValueError("the operator API needs an admin token (OPENCSMS_ADMIN_TOKEN)")
    app = api_application()

    async def serve_for_node(scope: Scope, receive: Receive, send: Send) -> None:
        bound = _serving.set(csms)
        try:
            await app(scope, receive, send)
        finally:
            _serving.reset(bound)

    return serve_for_node


@functools.cache
def api_application() -> FastAPI:
    """The process's FastAPI application (routes, OpenAPI document), built on first use."""
    csms = current_node
    app = FastAPI(
        title="OpenCSMS operator API",
        version=opencsms.__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    auth: Any = Depends(require_token(lambda: csms.settings.admin_token, lambda: csms.api_backoff))
    # Behind the admin token, with its 401 in the OpenAPI document of every route.
    secured: dict[str, Any] = {
        "prefix": "/api/v1",
        "dependencies": [auth],
        "responses": UNAUTHORIZED,
    }
    app.include_router(stations_router(csms), **secured)
    app.include_router(id_tokens_router(csms), **secured)
    app.include_router(transactions_router(csms), **secured)
    app.include_router(meter_values_router(csms), **secured)
    app.include_router(local_lists_router(csms), **secured)
    app.include_router(reservations_router(csms), **secured)
    app.include_router(commands_router(csms), **secured)
    app.include_router(configuration_router(csms), **secured)
    app.include_router(desired_config_router(csms), **secured)
    app.include_router(device_model_router(csms), **secured)
    app.include_router(monitoring_router(csms), **secured)
    app.include_router(display_messages_router(csms), **secured)
    app.include_router(customer_information_router(csms), **secured)
    app.include_router(jobs_router(csms), **secured)
    app.include_router(files_router(csms), **secured)
    app.include_router(security_events_router(csms), **secured)
    app.include_router(certificates_router(csms), **secured)
    app.include_router(security_router(csms), **secured)
    app.include_router(charging_profiles_router(csms), **secured)
    app.include_router(tariffs_router(csms), **secured)
    app.include_router(cdrs_router(csms), **secured)
    app.include_router(load_management_router(csms), **secured)
    app.include_router(ev_charging_router(csms), **secured)
    app.include_router(alerts_router(csms), **secured)
    app.include_router(webhooks_router(csms), **secured)
    app.include_router(fleet_router(csms), **secured)
    # Bearer header or ?token= (EventSource cannot set headers); /metrics: token by setting.
    app.include_router(events_stream_router(csms))
    app.include_router(metrics_router(csms))
    # Stations cannot send the bearer token: the token in the URL is the capability.
    app.include_router(station_files_router(csms))
    # The dashboard's pages hold no data: they ask the operator for the token (docs/dashboard.md).
    app.include_router(dashboard_router())

    @app.get("/api/v1/health", tags=["health"], response_model=HealthOut)
    async def health() -> HealthOut:
        """Liveness: no authentication, no secrets."""
        return HealthOut(status="ok", stations_connected=len(csms.registry))

    return app
