"""``/api/v1/transactions``: charging sessions, their meter series, and exports."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

import orjson
from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from opencsms.api.responses import errors
from opencsms.domain.metering import samples_of, session_energy
from opencsms.domain.model import MeterValueRecord
from opencsms.domain.transaction_model import Transaction

if TYPE_CHECKING:
    from opencsms.app import Csms

StatusName = Literal["Active", "Completed", "Orphaned"]


class TransactionOut(BaseModel):
    """A charging session. Meter readings and energy are in Wh."""

    id: int = Field(description="The CSMS's number; for 1.6 also the station's transactionId")
    station_id: str
    ocpp_version: str
    transaction_id: str = Field(description="The id the station uses")
    evse_id: int | None = Field(description="1.6: the connectorId")
    connector_id: int | None
    id_token: str | None
    id_token_type: str | None
    group_id: str | None
    auth_status: str | None = Field(description="Authorization answered for the starting token")
    stop_id_token: str | None
    status: StatusName
    started_at: datetime | None = Field(description="Station time")
    stopped_at: datetime | None = Field(description="Station time")
    stop_reason: str | None
    stop_source: str | None = Field(description="station, or csms when inferred (lost session)")
    meter_start_wh: float | None
    meter_stop_wh: float | None
    energy_wh: float | None = Field(description="Register end − begin; null while unknown")
    charging_state: str | None
    trigger_reason: str | None
    remote_start_id: int | None
    reservation_id: int | None
    last_seq_no: int | None
    offline: bool
    created_at: datetime
    updated_at: datetime


class TransactionPage(BaseModel):
    items: list[TransactionOut]
    total: int
    offset: int
    limit: int


class SeriesPoint(BaseModel):
    timestamp: datetime
    value: float
    unit: str
    phase: str | None
    location: str
    context: str | None


class MeterValueOut(BaseModel):
    timestamp: datetime
    evse_id: int
    context: str | None
    sampled_value: list[dict[str, Any]] = Field(description="As the station sent it (verbatim)")


class EventOut(BaseModel):
    seq_no: int
    event_type: str
    trigger_reason: str
    timestamp: datetime
    offline: bool
    received_at: datetime


class TransactionDetail(TransactionOut):
    series: dict[str, list[SeriesPoint]] = Field(
        description="Per measurand (Energy.Active.Import.Register, Power.Active.Import, SoC...),"
        " values in base units (Wh, W, %)"
    )
    meter_values: list[MeterValueOut]
    events: list[EventOut] = Field(description="2.0.1 TransactionEvents in seqNo order")


def transaction_out(tx: Transaction) -> TransactionOut:
    return TransactionOut(
        id=tx.id,
        station_id=tx.station_id,
        ocpp_version=tx.ocpp_version,
        transaction_id=tx.transaction_id,
        evse_id=tx.evse_id,
        connector_id=tx.connector_id,
        id_token=tx.id_token,
        id_token_type=tx.id_token_type,
        group_id=tx.group_id,
        auth_status=tx.auth_status,
        stop_id_token=tx.stop_id_token,
        status=tx.status.value,
        started_at=tx.started_at,
        stopped_at=tx.stopped_at,
        stop_reason=tx.stop_reason,
        stop_source=tx.stop_source.value if tx.stop_source is not None else None,
        meter_start_wh=tx.meter_start_wh,
        meter_stop_wh=tx.meter_stop_wh,
        energy_wh=tx.energy_wh,
        charging_state=tx.charging_state,
        trigger_reason=tx.trigger_reason,
        remote_start_id=tx.remote_start_id,
        reservation_id=tx.reservation_id,
        last_seq_no=tx.last_seq_no,
        offline=tx.offline,
        created_at=tx.created_at,
        updated_at=tx.updated_at,
    )


def _series(records: list[MeterValueRecord], measurand: str | None) -> dict[str, list[SeriesPoint]]:
    series: dict[str, list[SeriesPoint]] = defaultdict(list)
    for record in records:
        for sample in samples_of(record):
            if measurand is not None and sample.measurand != measurand:
                continue
            series[sample.measurand].append(
                SeriesPoint(
                    timestamp=sample.timestamp,
                    value=sample.value,
                    unit=sample.unit,
                    phase=sample.phase,
                    location=sample.location,
                    context=sample.context,
                )
            )
    return dict(series)


CSV_FIELDS = tuple(TransactionOut.model_fields)


def transactions_router(csms: Csms) -> APIRouter:
    """Build the router bound to one CSMS node."""
    router = APIRouter(prefix="/transactions", tags=["transactions"])

    @router.get("", response_model=TransactionPage)
    async def list_transactions(
        station_id: Annotated[str | None, Query()] = None,
        status_: Annotated[StatusName | None, Query(alias="status")] = None,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> TransactionPage:
        """Sessions, newest first, optionally of one station and/or in one status."""
        rows = await csms.storage.transactions.list(
            station_id=station_id, status=status_, offset=offset, limit=limit, newest_first=True
        )
        total = await csms.storage.transactions.count(station_id=station_id, status=status_)
        return TransactionPage(
            items=[transaction_out(tx) for tx in rows], total=total, offset=offset, limit=limit
        )

    @router.get(
        "/export",
        response_class=StreamingResponse,
        responses={
            200: {
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/json": {
                        "schema": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/TransactionOut"},
                        }
                    },
                },
                "description": "every matching session, oldest first",
            }
        },
    )
    async def export_transactions(
        format: Annotated[Literal["csv", "json"], Query()] = "csv",
        station_id: Annotated[str | None, Query()] = None,
        status_: Annotated[StatusName | None, Query(alias="status")] = None,
    ) -> StreamingResponse:
        """Every matching session as CSV (the list's fields as columns) or a JSON array,
        streamed page by page."""
        rows = csms.storage.transactions.iterate(station_id=station_id, status=status_)
        if format == "json":
            return StreamingResponse(_json_lines(rows), media_type="application/json")
        return StreamingResponse(
            _csv_lines(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="transactions.csv"'},
        )

    @router.get(
        "/{transaction_pk}",
        response_model=TransactionDetail,
        responses=errors({404: "Unknown transaction"}),
    )
    async def get_transaction(
        transaction_pk: int,
        measurand: Annotated[str | None, Query(description="Only this measurand's series")] = None,
    ) -> TransactionDetail:
        """One session with its meter values (verbatim), series per measurand and events."""
        tx = await csms.storage.transactions.get(transaction_pk)
        if tx is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"transaction {transaction_pk} not found"
            )
        records = await csms.storage.meter.for_transaction(tx.station_id, tx.transaction_id)
        out = transaction_out(tx)
        if tx.open:  # energy so far, from the registers read until now
            start, _latest, energy = session_energy(records, meter_start_wh=tx.meter_start_wh)
            out.meter_stop_wh, out.energy_wh = None, energy
            out.meter_start_wh = start
        events = []
        if tx.ocpp_version != "1.6":
            events = [
                EventOut(
                    seq_no=e.seq_no,
                    event_type=e.event_type,
                    trigger_reason=e.trigger_reason,
                    timestamp=e.timestamp,
                    offline=e.offline,
                    received_at=e.received_at,
                )
                for e in await csms.storage.transactions.events_for(
                    tx.station_id, tx.transaction_id
                )
            ]
        return TransactionDetail(
            **out.model_dump(),
            series=_series(records, measurand),
            meter_values=[
                MeterValueOut(
                    timestamp=r.timestamp,
                    evse_id=r.evse_id,
                    context=r.context,
                    sampled_value=orjson.loads(r.samples_json),
                )
                for r in records
            ],
            events=events,
        )

    return router


async def _json_lines(rows: AsyncIterator[Transaction]) -> AsyncIterator[bytes]:
    yield b"["
    first = True
    async for tx in rows:
        yield (b"" if first else b",") + transaction_out(tx).model_dump_json().encode()
        first = False
    yield b"]"


async def _csv_lines(rows: AsyncIterator[Transaction]) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    async for tx in rows:
        values = transaction_out(tx).model_dump(mode="json")
        writer.writerow(["" if values[f] is None else values[f] for f in CSV_FIELDS])
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
