"""The operator REST API: FastAPI application factory."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI

import opencsms
from opencsms.api.auth import require_token
from opencsms.api.commands import commands_router
from opencsms.api.id_tokens import id_tokens_router
from opencsms.api.local_lists import local_lists_router
from opencsms.api.reservations import reservations_router
from opencsms.api.stations import stations_router
from opencsms.api.transactions import transactions_router

if TYPE_CHECKING:
    from opencsms.app import Csms


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
    app.include_router(stations_router(csms), prefix="/api/v1", dependencies=[auth])
    app.include_router(id_tokens_router(csms), prefix="/api/v1", dependencies=[auth])
    app.include_router(transactions_router(csms), prefix="/api/v1", dependencies=[auth])
    app.include_router(local_lists_router(csms), prefix="/api/v1", dependencies=[auth])
    app.include_router(reservations_router(csms), prefix="/api/v1", dependencies=[auth])
    app.include_router(commands_router(csms), prefix="/api/v1", dependencies=[auth])

    @app.get("/api/v1/health", tags=["health"])
    async def health() -> dict[str, Any]:
        """Liveness: no authentication, no secrets."""
        return {"status": "ok", "stations_connected": len(csms.registry)}

    return app
