"""The operator REST API: FastAPI application factory."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from fastapi import Depends, FastAPI
from pydantic import BaseModel, Field

import opencsms
from opencsms.api.auth import require_token
from opencsms.api.commands import commands_router
from opencsms.api.configuration import configuration_router
from opencsms.api.customer_information import customer_information_router
from opencsms.api.desired_config import desired_config_router
from opencsms.api.device_model import device_model_router
from opencsms.api.display_messages import display_messages_router
from opencsms.api.files import files_router, station_files_router
from opencsms.api.id_tokens import id_tokens_router
from opencsms.api.jobs import jobs_router
from opencsms.api.local_lists import local_lists_router
from opencsms.api.monitoring import monitoring_router
from opencsms.api.reservations import reservations_router
from opencsms.api.responses import UNAUTHORIZED
from opencsms.api.stations import stations_router
from opencsms.api.transactions import transactions_router

if TYPE_CHECKING:
    from opencsms.app import Csms


class HealthOut(BaseModel):
    status: Literal["ok"]
    stations_connected: int = Field(description="Stations connected to this node")


def create_app(csms: Csms) -> FastAPI:
    """Build the API of one CSMS node. Everything under /api/v1 except the OpenAPI document needs
    the
    admin bearer token."""
    app = FastAPI(
        title="OpenCSMS operator API",
        version=opencsms.__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    token = csms.settings.admin_token
    if not token:
        raise ValueError("the operator API needs an admin token (OPENCSMS_ADMIN_TOKEN)")
    auth: Any = Depends(require_token(token))
    # Behind the admin token, with its 401 in the OpenAPI document of every route.
    secured: dict[str, Any] = {
        "prefix": "/api/v1",
        "dependencies": [auth],
        "responses": UNAUTHORIZED,
    }
    app.include_router(stations_router(csms), **secured)
    app.include_router(id_tokens_router(csms), **secured)
    app.include_router(transactions_router(csms), **secured)
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
    # Stations cannot send the bearer token: the token in the URL is the capability.
    app.include_router(station_files_router(csms))

    @app.get("/api/v1/health", tags=["health"], response_model=HealthOut)
    async def health() -> HealthOut:
        """Liveness: no authentication, no secrets."""
        return HealthOut(status="ok", stations_connected=len(csms.registry))

    return app
