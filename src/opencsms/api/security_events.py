"""``/api/v1/stations/{id}/security-events`` and ``/api/v1/security-events``: the security
events stations reported with SecurityEventNotification (1.6 security whitepaper §4, 2.0.1
A04), newest station timestamp first, keyset-paged (docs/security-events.md).

A page's ``next_before`` is an opaque cursor (the last event's timestamp, station and type):
pass it as ``?before=`` for the next, older page; it stays valid while events arrive.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import orjson
from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field

from opencsms.api.command_runner import CommandRunner
from opencsms.api.responses import INVALID_BODY, UNKNOWN_STATION
from opencsms.domain.security_events import SecurityEvent

if TYPE_CHECKING:
    from opencsms.app import Csms

__all__ = ["security_events_router"]

_Cursor = tuple[datetime, str, str]


class SecurityEventOut(BaseModel):
    station_id: str
    type: str = Field(description="The event type, e.g. FirmwareUpdated, ResetOrReboot")
    timestamp: datetime = Field(description="When it happened, by the station's clock")
    tech_info: str | None = Field(description="The station's technical details, if any")
    critical: bool = Field(
        description="Marked critical by OCPP 2.0.1 part 2 appendix 1 (same list as the 1.6 "
        "security whitepaper)"
    )
    received_at: datetime = Field(description="When the CSMS received it")
    source: str = Field(
        "station",
        description='"station" (SecurityEventNotification) or "csms": logged by the CSMS '
        "itself when it refused a connection for a security reason (tech_info starts with "
        '"[CSMS] ")',
    )


class SecurityEventPage(BaseModel):
    items: list[SecurityEventOut]
    next_before: str | None = Field(
        description="Pass as ?before= for the next, older page; null on the last page"
    )


def _out(event: SecurityEvent) -> SecurityEventOut:
    return SecurityEventOut(
        station_id=event.station_id,
        type=event.type,
        timestamp=event.timestamp,
        tech_info=event.tech_info,
        critical=event.critical,
        received_at=event.received_at,
        source=event.source,
    )


def _encode(event: SecurityEvent) -> str:
    # Full precision: a cursor rounded to milliseconds could skip or repeat events.
    raw = orjson.dumps([event.timestamp.isoformat(), event.station_id, event.type])
    return base64.urlsafe_b64encode(raw).decode()


def _decode(cursor: str | None) -> _Cursor | None:
    if cursor is None:
        return None
    try:
        at, station, kind = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None or not isinstance(station, str) or not isinstance(kind, str):
            raise ValueError(cursor)
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "before is not a cursor this API returned (use a page's next_before)",
        ) from exc
    return moment, station, kind


def _page(events: list[SecurityEvent], limit: int) -> SecurityEventPage:
    more = len(events) > limit
    shown = events[:limit]
    return SecurityEventPage(
        items=[_out(e) for e in shown], next_before=_encode(shown[-1]) if more else None
    )


Limit = Annotated[int, Query(ge=1, le=1000, description="Events per page")]
Before = Annotated[str | None, Query(description="A page's next_before: older events only")]
Critical = Annotated[
    bool | None, Query(description="true: critical events only; false: the others")
]


def security_events_router(csms: Csms) -> APIRouter:
    """Build the router bound to one CSMS node."""
    router = APIRouter(tags=["security events"])
    runner = CommandRunner(csms)

    @router.get(
        "/stations/{station_id}/security-events",
        response_model=SecurityEventPage,
        responses=UNKNOWN_STATION | INVALID_BODY,
    )
    async def station_security_events(
        station_id: str, limit: Limit = 100, before: Before = None, critical: Critical = None
    ) -> SecurityEventPage:
        """The station's security events, newest station timestamp first."""
        after = _decode(before)
        await runner.load(station_id)
        events = await csms.security_events.list(
            station_id=station_id, critical=critical, after=after, limit=limit + 1
        )
        return _page(events, limit)

    @router.get(
        "/security-events",
        response_model=SecurityEventPage,
        responses=INVALID_BODY,
    )
    async def fleet_security_events(
        limit: Limit = 100, before: Before = None, critical: Critical = None
    ) -> SecurityEventPage:
        """Every station's security events, newest station timestamp first (ties: by station
        id, then type); ``critical=true`` for the ones to act on."""
        after = _decode(before)
        events = await csms.security_events.list(critical=critical, after=after, limit=limit + 1)
        return _page(events, limit)

    return router
