"""``/api/v1/stations/{id}/meter-values``: a station's meter values as stored, those taken outside
a transaction included (2.0.1 J01 clock-aligned and triggered MeterValues, evseId 0 for the grid
connection; 1.6 §4.7 MeterValues without a transactionId). A session's own values are also in
``GET /api/v1/transactions/{id}``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field

from opencsms.api.responses import INVALID_BODY, UNKNOWN_STATION

if TYPE_CHECKING:
    from opencsms.app import Csms

__all__ = ["StationMeterValueOut", "meter_values_router"]


class StationMeterValueOut(BaseModel):
    """One ``meterValue`` element as the station sent it."""

    timestamp: datetime = Field(description="Station time of the sample set")
    evse_id: int = Field(description="2.0.1: 0 is the grid connection; 1.6: the connectorId")
    connector_id: int
    transaction_id: str | None = Field(description="The station's transaction id; null: none")
    context: str | None = Field(description="The first sampled value's context")
    sampled_value: list[dict[str, Any]] = Field(
        description="As the station sent it (verbatim, signed meter data included)"
    )
    received_at: datetime


def meter_values_router(csms: Csms) -> APIRouter:
    """Build the router bound to one CSMS node."""
    router = APIRouter(prefix="/stations", tags=["transactions"])

    @router.get(
        "/{station_id}/meter-values",
        response_model=list[StationMeterValueOut],
        responses=UNKNOWN_STATION | INVALID_BODY,
    )
    async def station_meter_values(
        station_id: str, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> list[StationMeterValueOut]:
        """The station's most recent meter values, newest station timestamp first, in or out of
        a transaction (J01, J02; signed values kept with their signature data, J01.FR.21)."""
        if await csms.storage.stations.get(station_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"station {station_id} not found")
        return [
            StationMeterValueOut(
                timestamp=r.timestamp,
                evse_id=r.evse_id,
                connector_id=r.connector_id,
                transaction_id=r.transaction_id,
                context=r.context,
                sampled_value=orjson.loads(r.samples_json),
                received_at=r.received_at,
            )
            for r in await csms.storage.meter.for_station(station_id, limit)
        ]

    return router
