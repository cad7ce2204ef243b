"""``/api/v1/fleet/summary``, ``/api/v1/fleet/live`` and
``/api/v1/stations/{id}/status-history``: the live state of the fleet, read from memory
(domain/fleet_state.py; docs/metrics.md "Live fleet state"), and a station's status reports."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field

from opencsms.api.responses import INVALID_BODY, UNKNOWN_STATION
from opencsms.domain.fleet_state import StationLive

if TYPE_CHECKING:
    from opencsms.app import Csms

__all__ = ["fleet_router"]


class FleetSummary(BaseModel):
    stations: int = Field(description="Stations the CSMS knows")
    connected: int
    connected_by_version: dict[str, int] = Field(description="OCPP version → connected stations")
    connectors_by_status: dict[str, int] = Field(description="Status → connectors")
    active_sessions: int
    power_w: float = Field(description="Current power of the active sessions (latest meter values)")
    energy_today_wh: float = Field(
        description="Sessions ended today (UTC) plus the active sessions' energy so far"
    )
    open_alerts: int
    open_alerts_by_severity: dict[str, int]


class ConnectorLiveOut(BaseModel):
    evse_id: int
    connector_id: int
    status: str
    error_code: str | None
    since: datetime = Field(description="When the connector entered this status")


class SessionLiveOut(BaseModel):
    id: int = Field(description="The CSMS's transaction id (/api/v1/transactions/{id})")
    transaction_id: str
    evse_id: int | None
    connector_id: int | None
    id_token: str | None
    started_at: datetime | None
    energy_wh: float
    power_w: float | None
    updated_at: datetime | None


class StationLiveOut(BaseModel):
    id: str
    connected: bool
    ocpp_version: str | None
    boot_status: str | None = Field(description="The last BootNotification answer this node gave")
    last_seen: datetime | None
    last_connected_at: datetime | None
    last_disconnected_at: datetime | None
    power_w: float
    connectors: list[ConnectorLiveOut]
    sessions: list[SessionLiveOut]


class StatusReportOut(BaseModel):
    evse_id: int
    connector_id: int
    status: str
    error_code: str | None
    info: str | None
    vendor_error_code: str | None
    reported_at: datetime | None
    received_at: datetime


def _live(csms: Csms, s: StationLive) -> StationLiveOut:
    return StationLiveOut(
        id=s.id,
        connected=s.connected,
        ocpp_version=s.ocpp_version,
        boot_status=s.boot_status,
        last_seen=csms.fleet.last_seen(s),
        last_connected_at=s.last_connected_at,
        last_disconnected_at=s.last_disconnected_at,
        power_w=s.power_w,
        connectors=[
            ConnectorLiveOut(
                evse_id=c.evse_id,
                connector_id=c.connector_id,
                status=c.status,
                error_code=c.error_code,
                since=c.since,
            )
            for _, c in sorted(s.connectors.items())
        ],
        sessions=[
            SessionLiveOut(
                id=x.id,
                transaction_id=x.transaction_id,
                evse_id=x.evse_id,
                connector_id=x.connector_id,
                id_token=x.id_token,
                started_at=x.started_at,
                energy_wh=x.energy_wh,
                power_w=x.power_w,
                updated_at=x.updated_at,
            )
            for x in s.sessions.values()
        ],
    )


def fleet_router(csms: Csms) -> APIRouter:
    router = APIRouter(tags=["fleet"])

    @router.get("/fleet/summary", response_model=FleetSummary)
    async def fleet_summary() -> FleetSummary:
        """Counts for a dashboard's header, from memory."""
        fleet = csms.fleet
        # The whole cluster's connections: this node's and those the other nodes hold.
        links = [*csms.registry, *(csms.cluster.remote if csms.cluster is not None else ())]
        by_version = Counter(c.version.value for c in links)
        by_status = Counter(
            c.status
            for s in fleet.stations.values()
            for (evse, _), c in s.connectors.items()
            if evse > 0  # EVSE 0 is the station itself
        )
        alerts = csms.alerts.open_alerts()
        return FleetSummary(
            stations=len(fleet.stations),
            connected=len(links),
            connected_by_version=dict(by_version),
            connectors_by_status=dict(by_status),
            active_sessions=fleet.active_sessions,
            power_w=fleet.power_w,
            energy_today_wh=fleet.energy_today_wh,
            open_alerts=len(alerts),
            open_alerts_by_severity=dict(Counter(a.severity.value for a in alerts)),
        )

    @router.get("/fleet/live", response_model=list[StationLiveOut], responses=INVALID_BODY)
    async def fleet_live(
        station: Annotated[str | None, Query(max_length=48, description="One station")] = None,
        connected: Annotated[bool | None, Query(description="Only (dis)connected ones")] = None,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    ) -> list[StationLiveOut]:
        """Per station: connection, last seen, connector status, active sessions with their
        current power. Ordered by station id."""
        stations = csms.fleet.stations
        if station is not None:
            chosen = [stations[station]] if station in stations else []
        else:
            chosen = [stations[k] for k in sorted(stations)]
        if connected is not None:
            chosen = [s for s in chosen if s.connected is connected]
        return [_live(csms, s) for s in chosen[offset : offset + limit]]

    @router.get(
        "/stations/{station_id}/status-history",
        response_model=list[StatusReportOut],
        responses=UNKNOWN_STATION | INVALID_BODY,
    )
    async def status_history(
        station_id: str, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> list[StatusReportOut]:
        """The station's status reports, newest received first (1.6 §4.9, 2.0.1 G01)."""
        if await csms.storage.stations.get(station_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"station {station_id} not found")
        return [
            StatusReportOut(
                evse_id=r.evse_id,
                connector_id=r.connector_id,
                status=r.status,
                error_code=r.error_code,
                info=r.info,
                vendor_error_code=r.vendor_error_code,
                reported_at=r.reported_at,
                received_at=r.received_at,
            )
            for r in await csms.storage.status.history(station_id, limit)
        ]

    return router
