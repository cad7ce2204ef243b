"""``/api/v1/alerts``: alerts raised by the CSMS (docs/alerts.md), newest first, filtered; an
operator acknowledges (seen, stays open) or resolves (closes) one."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field

from opencsms.api.responses import INVALID_BODY, errors
from opencsms.domain.alert_model import Alert, AlertSeverity, AlertStatus, AlertType
from opencsms.errors import NotFoundError

if TYPE_CHECKING:
    from opencsms.app import Csms

__all__ = ["AlertOut", "alerts_router"]

_UNKNOWN_ALERT = errors({404: "Unknown alert"})


class AlertOut(BaseModel):
    id: int
    type: AlertType = Field(description="What went wrong (docs/alerts.md lists the types)")
    station_id: str
    key: str = Field(
        description="What within the station: e.g. evse:1/connector:1, job:firmware, "
        "security:<type>, monitor:<component>/<variable>, transaction:<id>; empty when the "
        "station has at most one alert of the type"
    )
    severity: AlertSeverity
    status: AlertStatus
    summary: str
    details: dict[str, Any] = Field(description="The latest occurrence's specifics")
    count: int = Field(description="Occurrences while open")
    first_seen: datetime
    last_seen: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolution: str | None = Field(description="Why it closed: the condition, or manual: <who>")


class AlertPage(BaseModel):
    items: list[AlertOut]
    next_before: int | None = Field(
        description="Pass as ?before= for the next, older page; null on the last page"
    )


class AlertActionIn(BaseModel):
    by: str = Field("api", min_length=1, max_length=100, description="Who acts (free text)")
    note: str | None = Field(None, max_length=1000, description="Why (kept in the resolution)")


def alert_out(alert: Alert) -> AlertOut:
    return AlertOut(
        id=alert.id,
        type=alert.type,
        station_id=alert.station_id,
        key=alert.key,
        severity=alert.severity,
        status=alert.status,
        summary=alert.summary,
        details=alert.details,
        count=alert.count,
        first_seen=alert.first_seen,
        last_seen=alert.last_seen,
        acknowledged_at=alert.acknowledged_at,
        acknowledged_by=alert.acknowledged_by,
        resolved_at=alert.resolved_at,
        resolution=alert.resolution,
    )


def _not_found(exc: NotFoundError) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))


def alerts_router(csms: Csms) -> APIRouter:
    router = APIRouter(prefix="/alerts", tags=["alerts"])

    @router.get("", response_model=AlertPage, responses=INVALID_BODY)
    async def list_alerts(
        status_: Annotated[
            AlertStatus | None, Query(alias="status", description="open or resolved")
        ] = None,
        type_: Annotated[AlertType | None, Query(alias="type")] = None,
        station: Annotated[str | None, Query(max_length=48)] = None,
        severity: AlertSeverity | None = None,
        before: Annotated[int | None, Query(ge=1, description="A page's next_before")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> AlertPage:
        """Alerts, newest first."""
        found = await csms.alerts.list(
            status=None if status_ is None else status_.value,
            type=None if type_ is None else type_.value,
            station_id=station,
            severity=None if severity is None else severity.value,
            before=before,
            limit=limit,
        )
        items = [alert_out(a) for a in found]
        return AlertPage(items=items, next_before=items[-1].id if len(items) == limit else None)

    @router.get("/{alert_id}", response_model=AlertOut, responses=_UNKNOWN_ALERT)
    async def get_alert(alert_id: int) -> AlertOut:
        """One alert, open or resolved."""
        try:
            return alert_out(await csms.alerts.get(alert_id))
        except NotFoundError as exc:
            raise _not_found(exc) from None

    @router.post(
        "/{alert_id}/acknowledge",
        response_model=AlertOut,
        responses=_UNKNOWN_ALERT | INVALID_BODY,
    )
    async def acknowledge_alert(alert_id: int, body: AlertActionIn | None = None) -> AlertOut:
        """Mark the alert seen; it stays open until its condition clears or it is resolved."""
        action = body or AlertActionIn(by="api", note=None)
        try:
            return alert_out(await csms.alerts.acknowledge(alert_id, action.by))
        except NotFoundError as exc:
            raise _not_found(exc) from None

    @router.post(
        "/{alert_id}/resolve", response_model=AlertOut, responses=_UNKNOWN_ALERT | INVALID_BODY
    )
    async def resolve_alert(alert_id: int, body: AlertActionIn | None = None) -> AlertOut:
        """Close the alert by hand (the way security-event and failed-job alerts are closed).
        A later occurrence opens a new alert."""
        action = body or AlertActionIn(by="api", note=None)
        try:
            return alert_out(await csms.alerts.resolve(alert_id, action.by, action.note))
        except NotFoundError as exc:
            raise _not_found(exc) from None

    return router
