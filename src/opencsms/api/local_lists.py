"""``/api/v1/stations/{id}/local-list`` and ``/clear-cache``: each station's Local Authorization
List as the CSMS keeps it, syncing it, asking its version, and clearing the authorization cache
(docs/local-lists.md)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict, Field

from opencsms.api.responses import STATION_CALL, UNKNOWN_STATION
from opencsms.api.station_calls import station_call_errors
from opencsms.domain.local_list_model import diff
from opencsms.domain.local_lists import ListStatus
from opencsms.domain.model import Station

if TYPE_CHECKING:
    from opencsms.app import Csms


class ListEntryOut(BaseModel):
    id_token: str
    current: bool = Field(description="The station holds the token's current info")


class ListChangeOut(BaseModel):
    id_token: str
    change: Literal["add", "update", "remove"]


class LocalListOut(BaseModel):
    station_id: str
    managed: bool = Field(description="The CSMS has sent this station a list (auto-sync applies)")
    ocpp_version: str | None
    version: int | None = Field(description="The list version the station last accepted")
    in_sync: bool = Field(description="The station holds exactly what the tokens say now")
    entries: int = Field(description="Entries the station holds")
    pending_changes: int = Field(description="Entries to add, update or remove to be in sync")
    station_version: int | None = Field(description="The version the station last reported")
    station_version_at: datetime | None
    max_items: int | None = Field(description="Entries per SendLocalList message")
    last_result: str | None = Field(
        description="Accepted, UpToDate, Failed, VersionMismatch, NotSupported or Error"
    )
    last_error: str | None
    last_attempt_at: datetime | None
    synced_at: datetime | None = Field(description="When the station last held the right list")
    items: list[ListEntryOut] | None = Field(
        default=None, description="With ?entries=true: the entries the station holds"
    )
    changes: list[ListChangeOut] | None = Field(
        default=None, description="With ?entries=true: what the next sync changes"
    )


class SyncIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["auto", "full"] = Field(
        default="auto",
        description="auto: Differential when the station's version is the one the CSMS sent, "
        "Full otherwise; full: always the whole list",
    )


class SyncOut(BaseModel):
    result: str = Field(description="Accepted, UpToDate, Failed, VersionMismatch, NotSupported")
    update_type: Literal["Full", "Differential"] | None
    messages: int = Field(description="SendLocalList messages sent")
    entries_sent: int
    local_list: LocalListOut


class ClearCacheOut(BaseModel):
    status: str = Field(description="The station's answer: Accepted or Rejected")


def _out(status_: ListStatus, *, with_entries: bool) -> LocalListOut:
    state = status_.state
    out = LocalListOut(
        station_id=state.station_id,
        managed=status_.managed,
        ocpp_version=state.ocpp_version,
        version=state.version,
        in_sync=status_.in_sync,
        entries=len(state.entries),
        pending_changes=status_.changes,
        station_version=state.station_version,
        station_version_at=state.station_version_at,
        max_items=state.max_items,
        last_result=state.last_result,
        last_error=state.last_error,
        last_attempt_at=state.last_attempt_at,
        synced_at=state.synced_at,
    )
    if with_entries:
        desired = status_.desired
        out.items = [
            ListEntryOut(
                id_token=held.id_token,
                current=key in desired and desired[key].held == held,
            )
            for key, held in sorted(state.entries.items())
        ]
        out.changes = [
            ListChangeOut(
                id_token=change.id_token,
                change="remove"
                if change.entry is None
                else ("update" if change.key in state.entries else "add"),
            )
            for change in diff(state.entries, desired)
        ]
    return out


def local_lists_router(csms: Csms) -> APIRouter:
    """Build the router bound to one CSMS node."""
    router = APIRouter(prefix="/stations", tags=["local lists"])

    async def load(station_id: str) -> Station:
        station = await csms.storage.stations.get(station_id)
        if station is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"station {station_id!r} not found")
        return station

    def version_of(station: Station) -> str | None:
        live = csms.link(station.id)
        return live.version.value if live is not None else station.ocpp_version

    @router.get("/{station_id}/local-list", response_model=LocalListOut, responses=UNKNOWN_STATION)
    async def get_local_list(
        station_id: str,
        entries: Annotated[bool, Query(description="Include the entries and changes")] = False,
    ) -> LocalListOut:
        """What the CSMS believes the station's list holds, and whether it is in sync."""
        station = await load(station_id)
        listed = await csms.local_lists.status(station_id, version_of(station))
        return _out(listed, with_entries=entries)

    @router.post(
        "/{station_id}/local-list/sync",
        response_model=SyncOut,
        responses=UNKNOWN_STATION | STATION_CALL,
    )
    async def sync_local_list(station_id: str, body: SyncIn | None = None) -> SyncOut:
        """Bring the station's list up to date now (SendLocalList, Full or Differential)."""
        station = await load(station_id)
        mode = body.mode if body is not None else "auto"
        with station_call_errors(station_id):
            commands = csms.station_commands(station_id)
            report = await csms.local_lists.sync(
                station_id, commands.local_auth, full=mode == "full"
            )
        listed = await csms.local_lists.status(station_id, version_of(station))
        return SyncOut(
            result=report.result,
            update_type=report.update_type,
            messages=report.messages,
            entries_sent=report.entries_sent,
            local_list=_out(listed, with_entries=False),
        )

    @router.get(
        "/{station_id}/local-list/version",
        response_model=LocalListOut,
        responses=UNKNOWN_STATION | STATION_CALL,
    )
    async def local_list_version(station_id: str) -> LocalListOut:
        """Ask the station its list version (GetLocalListVersion) and record the answer: a
        version other than the one it last accepted marks the list out of sync."""
        station = await load(station_id)
        with station_call_errors(station_id):
            commands = csms.station_commands(station_id)
            await csms.local_lists.check_version(station_id, commands.local_auth)
        listed = await csms.local_lists.status(station_id, version_of(station))
        return _out(listed, with_entries=False)

    @router.post(
        "/{station_id}/clear-cache",
        response_model=ClearCacheOut,
        responses=UNKNOWN_STATION | STATION_CALL,
    )
    async def clear_cache(station_id: str) -> ClearCacheOut:
        """Ask the station to empty its authorization cache (ClearCache)."""
        await load(station_id)
        with station_call_errors(station_id):
            answer = await csms.station_commands(station_id).local_auth.clear_cache()
        return ClearCacheOut(status=answer)

    return router
