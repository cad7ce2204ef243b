"""``/api/v1/stations``: provisioning, live state and the audit log of each station."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status

from opencsms.api.models import (
    BootOut,
    ConnectorOut,
    DeviationOut,
    EvseOut,
    MessageOut,
    MessagePage,
    StationCreate,
    StationOut,
    StationPage,
    StationPatch,
    StationSummary,
)
from opencsms.api.responses import INVALID_BODY, UNKNOWN_STATION, errors
from opencsms.domain.model import ConnectorStatus, RegistrationStatus, Station, Strictness
from opencsms.domain.stations import InvalidStationError, StationSpec
from opencsms.errors import AlreadyExistsError, NotFoundError

if TYPE_CHECKING:
    from opencsms.app import Csms


def stations_router(csms: Csms) -> APIRouter:
    """Build the router bound to one CSMS node."""
    router = APIRouter(prefix="/stations", tags=["stations"])

    async def load(station_id: str) -> Station:
        station = await csms.storage.stations.get(station_id)
        if station is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"station {station_id!r} not found")
        return station

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        response_model=StationOut,
        responses=errors({409: "A station with this id exists"}) | INVALID_BODY,
    )
    async def create_station(body: StationCreate) -> StationOut:
        """Provision a station."""
        try:
            station = await csms.stations.create(
                StationSpec(
                    id=body.id,
                    password=body.password,
                    registration=RegistrationStatus(body.registration),
                    strictness=Strictness(body.strictness),
                    heartbeat_interval=body.heartbeat_interval,
                )
            )
        except AlreadyExistsError:
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"station {body.id!r} already exists"
            ) from None
        except InvalidStationError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
        return _detail(csms, station, [])

    @router.get("", response_model=StationPage)
    async def list_stations(
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> StationPage:
        """All provisioned stations with their live state."""
        stations = await csms.storage.stations.list(offset=offset, limit=limit)
        total = await csms.storage.stations.count()
        items = [_summary(csms, s) for s in stations]
        return StationPage(items=items, total=total, offset=offset, limit=limit)

    @router.get("/{station_id}", response_model=StationOut, responses=UNKNOWN_STATION)
    async def get_station(station_id: str) -> StationOut:
        """One station: registration, boot data, connection and every EVSE/connector status."""
        station = await load(station_id)
        statuses = await csms.storage.status.for_station(station_id)
        return _detail(csms, station, statuses)

    @router.patch(
        "/{station_id}", response_model=StationOut, responses=UNKNOWN_STATION | INVALID_BODY
    )
    async def patch_station(station_id: str, body: StationPatch) -> StationOut:
        """Change registration, strictness, heartbeat interval or password."""
        changes: dict[str, Any] = {k: getattr(body, k) for k in body.model_fields_set}
        for key in ("registration", "strictness", "heartbeat_interval"):
            if key in changes and changes[key] is None:
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{key} cannot be null")
        if "registration" in changes:
            changes["registration"] = RegistrationStatus(changes["registration"])
        if "strictness" in changes:
            changes["strictness"] = Strictness(changes["strictness"])
        try:
            station = await csms.stations.update(station_id, changes)
        except NotFoundError:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"station {station_id!r} not found"
            ) from None
        except InvalidStationError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
        if "registration" in changes:
            csms.registration_changed(station_id, station.registration)
        statuses = await csms.storage.status.for_station(station_id)
        return _detail(csms, station, statuses)

    @router.delete(
        "/{station_id}", status_code=status.HTTP_204_NO_CONTENT, responses=UNKNOWN_STATION
    )
    async def delete_station(station_id: str) -> Response:
        """Remove a station; its live connection, if any, is closed."""
        if not await csms.stations.delete(station_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"station {station_id!r} not found")
        await csms.security.forget(station_id)  # a re-created station starts with no profile
        connection = csms.link(station_id)
        if connection is not None:
            await connection.close(1000, "station removed by the operator")
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.get("/{station_id}/messages", response_model=MessagePage, responses=UNKNOWN_STATION)
    async def station_messages(
        station_id: str,
        before: Annotated[int | None, Query(description="Only messages older than this id")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> MessagePage:
        """The audit log of every frame in and out, newest first, keyset-paged."""
        await load(station_id)
        records = await csms.audit.page(station_id, before, limit)
        items = [
            MessageOut(
                id=r.id or 0,
                at=r.at,
                direction=r.direction,
                message_type=r.message_type,
                action=r.action,
                message_id=r.message_id,
                frame=r.payload,
            )
            for r in records
        ]
        next_before = items[-1].id if len(items) == limit else None
        return MessagePage(items=items, next_before=next_before)

    @router.get(
        "/{station_id}/deviations", response_model=list[DeviationOut], responses=UNKNOWN_STATION
    )
    async def station_deviations(station_id: str) -> list[DeviationOut]:
        """What a tolerant-mode station got wrong, aggregated by message, kind and field."""
        await load(station_id)
        return [
            DeviationOut(
                action=d.action,
                kind=d.kind,
                path=d.path,
                detail=d.detail,
                first_seen=d.first_seen,
                last_seen=d.last_seen,
                count=d.count,
            )
            for d in await csms.storage.deviations.for_station(station_id)
        ]

    return router


def _summary(csms: Csms, station: Station) -> StationSummary:
    return StationSummary(**_summary_fields(csms, station))


def _summary_fields(csms: Csms, station: Station) -> dict[str, Any]:
    live = csms.link(station.id)
    boot = station.boot
    return {
        "id": station.id,
        "connected": live is not None,
        "ocpp_version": live.version.value if live is not None else station.ocpp_version,
        "last_seen": live.state.last_message_at if live is not None else station.last_seen_at,
        "registration": station.registration.value,
        "strictness": station.strictness.value,
        "heartbeat_interval": station.heartbeat_interval,
        "has_password": station.password_hash is not None,
        "boot": BootOut(
            vendor=boot.vendor,
            model=boot.model,
            serial_number=boot.serial_number,
            charge_box_serial_number=boot.charge_box_serial_number,
            firmware_version=boot.firmware_version,
            iccid=boot.iccid,
            imsi=boot.imsi,
            meter_type=boot.meter_type,
            meter_serial_number=boot.meter_serial_number,
            reason=boot.reason,
        )
        if boot is not None
        else None,
        "booted_at": station.booted_at,
    }


def _detail(csms: Csms, station: Station, statuses: list[ConnectorStatus]) -> StationOut:
    live = csms.link(station.id)
    by_evse: dict[int, list[ConnectorOut]] = defaultdict(list)
    for s in sorted(statuses, key=lambda s: (s.evse_id, s.connector_id)):
        by_evse[s.evse_id].append(
            ConnectorOut(
                connector_id=s.connector_id,
                status=s.status,
                error_code=s.error_code,
                info=s.info,
                vendor_id=s.vendor_id,
                vendor_error_code=s.vendor_error_code,
                reported_at=s.reported_at,
                received_at=s.received_at,
            )
        )
    return StationOut(
        **_summary_fields(csms, station),
        connected_since=live.state.connected_at if live is not None else None,
        remote_address=live.state.remote_address if live is not None else None,
        last_connected_at=station.last_connected_at,
        last_disconnected_at=station.last_disconnected_at,
        created_at=station.created_at,
        updated_at=station.updated_at,
        evses=[EvseOut(evse_id=e, connectors=c) for e, c in sorted(by_evse.items())],
    )
