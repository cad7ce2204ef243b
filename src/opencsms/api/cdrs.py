"""``/api/v1/cdrs``: charge detail records, one per finished session, never changed once issued;
listed, fetched, and exported as CSV or as OCPI 2.2.1 CDR objects (docs/tariffs.md)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

import orjson
from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from opencsms.api.responses import errors
from opencsms.api.tariffs import BreakdownOut, breakdown_out
from opencsms.billing import DAYS, ComponentType, Phase, Tariff
from opencsms.clock import utc_iso
from opencsms.domain.cdrs import Cdr

UNPROCESSABLE = 422
"""Starlette renamed its constant for 422 (…_ENTITY → …_CONTENT) and warns on the old name."""

if TYPE_CHECKING:
    from opencsms.app import Csms

__all__ = ["cdrs_router", "ocpi_cdr"]

_HOUR = Decimal(3600)
_FOUR = Decimal("0.0001")


class CdrOut(BaseModel):
    id: int = Field(description="The CDR's id: the id of its session (/transactions/{id})")
    station_id: str
    transaction_id: str = Field(description="The id the station uses")
    ocpp_version: str
    evse_id: int | None
    connector_id: int | None
    id_token: str | None
    id_token_type: str | None
    group_id: str | None
    started_at: datetime
    stopped_at: datetime
    stop_reason: str | None
    tariff_id: str | None = Field(description="null: no tariff applied (no cost)")
    tariff_version: int | None
    cost_revision: int = Field(description="The cost revision the CDR was issued from")
    currency: str | None
    energy_wh: Decimal
    net: Decimal | None
    tax: Decimal | None
    gross: Decimal | None
    breakdown: BreakdownOut | None
    issued_at: datetime


class CdrPage(BaseModel):
    items: list[CdrOut]
    total: int
    offset: int
    limit: int


def cdr_out(cdr: Cdr) -> CdrOut:
    return CdrOut(
        id=cdr.transaction_pk,
        station_id=cdr.station_id,
        transaction_id=cdr.transaction_id,
        ocpp_version=cdr.ocpp_version,
        evse_id=cdr.evse_id,
        connector_id=cdr.connector_id,
        id_token=cdr.id_token,
        id_token_type=cdr.id_token_type,
        group_id=cdr.group_id,
        started_at=cdr.started_at,
        stopped_at=cdr.stopped_at,
        stop_reason=cdr.stop_reason,
        tariff_id=cdr.tariff_id,
        tariff_version=cdr.tariff_version,
        cost_revision=cdr.cost_revision,
        currency=cdr.currency,
        energy_wh=cdr.energy_wh,
        net=cdr.net,
        tax=cdr.tax,
        gross=cdr.gross,
        breakdown=None if cdr.breakdown is None else breakdown_out(cdr.breakdown),
        issued_at=cdr.issued_at,
    )


CSV_FIELDS = (
    "id",
    "station_id",
    "transaction_id",
    "ocpp_version",
    "evse_id",
    "connector_id",
    "id_token",
    "group_id",
    "started_at",
    "stopped_at",
    "stop_reason",
    "tariff_id",
    "tariff_version",
    "cost_revision",
    "currency",
    "energy_wh",
    "charging_seconds",
    "parking_seconds",
    "energy",
    "time",
    "parking",
    "flat",
    "net",
    "tax",
    "gross",
    "issued_at",
)


def _csv_row(cdr: Cdr) -> list[str]:
    values: dict[str, Any] = cdr_out(cdr).model_dump(mode="json")
    b = cdr.breakdown
    for name in ("charging_seconds", "parking_seconds", "energy", "time", "parking", "flat"):
        values[name] = None if b is None else str(getattr(b, name))
    return ["" if values[f] is None else str(values[f]) for f in CSV_FIELDS]


# ----------------------------------------------------------------------------- OCPI


def _num(value: Decimal) -> float:
    """An OCPI number: at most 4 decimals."""
    return float(value.quantize(_FOUR))


def _money(value: Decimal) -> float:
    return float(value)


def _price(net: Decimal, rate: Decimal, currency_places: Decimal) -> dict[str, float]:
    return {
        "excl_vat": _money(net),
        "incl_vat": _money((net * (1 + rate)).quantize(currency_places)),
    }


def ocpi_tariff(
    tariff_id: str, tariff: Tariff, last_updated: datetime, owner: tuple[str, str]
) -> dict[str, Any]:
    """The tariff as an OCPI 2.2.1 Tariff object (TIME/PARKING_TIME priced per hour)."""
    vat = _num(tariff.tax_rate * 100)
    elements = []
    for element in tariff.elements:
        components = [
            {
                "type": c.type.value,
                "price": _num(
                    c.price
                    if c.type in (ComponentType.ENERGY, ComponentType.FLAT)
                    else c.price * 60
                ),
                "vat": vat,
                "step_size": c.step_size or 1,
            }
            for c in element.components
        ]
        item: dict[str, Any] = {"price_components": components}
        r = element.restrictions
        if not r.empty:
            restrictions: dict[str, Any] = {}
            for name in ("start_time", "end_time"):
                value = getattr(r, name)
                if value is not None:
                    restrictions[name] = value.strftime("%H:%M")
            for name in ("start_date", "end_date"):
                value = getattr(r, name)
                if value is not None:
                    restrictions[name] = value.isoformat()
            for name in ("min_kwh", "max_kwh"):
                value = getattr(r, name)
                if value is not None:
                    restrictions[name] = _num(value)
            for name in ("min_duration", "max_duration"):
                value = getattr(r, name)
                if value is not None:
                    restrictions[name] = value
            if r.day_of_week is not None:
                restrictions["day_of_week"] = [DAYS[d] for d in sorted(r.day_of_week)]
            item["restrictions"] = restrictions
        elements.append(item)
    out: dict[str, Any] = {
        "country_code": owner[0],
        "party_id": owner[1],
        "id": tariff_id,
        "currency": tariff.currency,
        "elements": elements,
        "last_updated": utc_iso(last_updated),
    }
    places = Decimal(1).scaleb(-2)
    if tariff.min_price is not None:
        out["min_price"] = _price(tariff.min_price, tariff.tax_rate, places)
    if tariff.max_price is not None:
        out["max_price"] = _price(tariff.max_price, tariff.tax_rate, places)
    if tariff.valid_from is not None:
        out["start_date_time"] = utc_iso(tariff.valid_from)
    if tariff.valid_to is not None:
        out["end_date_time"] = utc_iso(tariff.valid_to)
    return out


_TOKEN_TYPES = {"ISO14443": "RFID", "ISO15693": "RFID", "eMAID": "APP_USER", "Central": "OTHER"}


def ocpi_cdr(cdr: Cdr, tariff: Tariff | None, owner: tuple[str, str]) -> dict[str, Any]:
    """The CDR as an OCPI 2.2.1 CDR object (docs/tariffs.md says which fields are filled
    from what the CSMS knows, and which are placeholders)."""
    b = cdr.breakdown
    currency = cdr.currency or ""
    evse = cdr.evse_id if cdr.evse_id is not None else 0
    # 1.6 idTags carry no type; they are RFID cards in the field far more often than not.
    token_type = _TOKEN_TYPES.get(cdr.id_token_type or "ISO14443", "OTHER")
    periods = []
    if b is not None:
        for p in b.periods:
            dimensions = [{"type": "ENERGY", "volume": _num(p.energy_wh / 1000)}]
            kind = "TIME" if p.phase is Phase.CHARGING else "PARKING_TIME"
            dimensions.append({"type": kind, "volume": _num(p.seconds / _HOUR)})
            periods.append(
                {
                    "start_date_time": utc_iso(p.start),
                    "dimensions": dimensions,
                    "tariff_id": cdr.tariff_id,
                }
            )
    rate = b.tax_rate if b is not None else Decimal(0)
    places = Decimal(1).scaleb(-2)

    def cost(net: Decimal) -> dict[str, float]:
        return _price(net, rate, places)

    total_seconds = Decimal((cdr.stopped_at - cdr.started_at).total_seconds())
    out: dict[str, Any] = {
        "country_code": owner[0],
        "party_id": owner[1],
        "id": str(cdr.transaction_pk),
        "start_date_time": utc_iso(cdr.started_at),
        "end_date_time": utc_iso(cdr.stopped_at),
        "session_id": cdr.transaction_id,
        "cdr_token": {
            "country_code": owner[0],
            "party_id": owner[1],
            "uid": cdr.id_token or "",
            "type": token_type if cdr.id_token else "OTHER",
            "contract_id": cdr.id_token or "",
        },
        "auth_method": "AUTH_REQUEST",
        "cdr_location": {
            "id": cdr.station_id,
            "name": cdr.station_id,
            "address": "",
            "city": "",
            "country": "",
            "coordinates": {"latitude": "0.000000", "longitude": "0.000000"},
            "evse_uid": f"{cdr.station_id}-{evse}",
            "evse_id": f"{cdr.station_id}*{evse}",
            "connector_id": str(cdr.connector_id or 1),
            "connector_standard": "IEC_62196_T2",
            "connector_format": "SOCKET",
            "connector_power_type": "AC_3_PHASE",
        },
        "currency": currency,
        "tariffs": []
        if tariff is None or cdr.tariff_id is None
        else [ocpi_tariff(cdr.tariff_id, tariff, cdr.issued_at, owner)],
        "charging_periods": periods,
        "total_cost": {
            "excl_vat": _money(cdr.net or Decimal(0)),
            "incl_vat": _money(cdr.gross or Decimal(0)),
        },
        "total_energy": _num(cdr.energy_wh / 1000),
        "total_time": _num(total_seconds / _HOUR),
        "last_updated": utc_iso(cdr.issued_at),
    }
    if b is not None:
        out["total_fixed_cost"] = cost(b.flat)
        out["total_energy_cost"] = cost(b.energy)
        out["total_time_cost"] = cost(b.time)
        out["total_parking_time"] = _num(b.parking_seconds / _HOUR)
        out["total_parking_cost"] = cost(b.parking)
    return out


def cdrs_router(csms: Csms) -> APIRouter:
    """Build the router bound to one CSMS node."""
    router = APIRouter(prefix="/cdrs", tags=["cdrs"])

    def window(since: datetime | None, until: datetime | None) -> None:
        for value, name in ((since, "from"), (until, "to")):
            if value is not None and value.tzinfo is None:
                raise HTTPException(
                    UNPROCESSABLE,
                    f"'{name}' needs a UTC offset (e.g. 2026-01-01T00:00:00Z)",
                )
        if since is not None and until is not None and since >= until:
            raise HTTPException(UNPROCESSABLE, "'from' must be before 'to'")

    @router.get("", response_model=CdrPage, responses=errors({422: "Bad from/to window"}))
    async def list_cdrs(
        station_id: Annotated[str | None, Query()] = None,
        since: Annotated[
            datetime | None, Query(alias="from", description="Session end at or after")
        ] = None,
        until: Annotated[
            datetime | None, Query(alias="to", description="Session end before")
        ] = None,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> CdrPage:
        """CDRs, newest session end first."""
        window(since, until)
        repo = csms.storage.tariffs
        items = await repo.cdrs(
            station_id=station_id, since=since, until=until, offset=offset, limit=limit
        )
        total = await repo.count_cdrs(station_id=station_id, since=since, until=until)
        return CdrPage(items=[cdr_out(c) for c in items], total=total, offset=offset, limit=limit)

    @router.get(
        "/export",
        response_class=StreamingResponse,
        responses={
            **errors({422: "Bad from/to window or owner codes"}),
            200: {
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                },
                "description": "CSV, or a JSON array of OCPI 2.2.1 CDR objects",
            },
        },
    )
    async def export_cdrs(
        format: Annotated[Literal["csv", "ocpi"], Query()] = "csv",
        station_id: Annotated[str | None, Query()] = None,
        since: Annotated[datetime | None, Query(alias="from")] = None,
        until: Annotated[datetime | None, Query(alias="to")] = None,
        country_code: Annotated[
            str, Query(pattern="^[A-Z]{2}$", description="OCPI owner: ISO 3166 alpha-2")
        ] = "ZZ",
        party_id: Annotated[
            str, Query(pattern="^[A-Z0-9]{3}$", description="OCPI owner: party id")
        ] = "CSM",
    ) -> StreamingResponse:
        """Every matching CDR by id, streamed: CSV, or OCPI 2.2.1 CDR objects (only CDRs with a
        cost: OCPI has no CDR without a currency and a tariff)."""
        window(since, until)
        rows = csms.storage.tariffs.iterate_cdrs(station_id=station_id, since=since, until=until)
        if format == "ocpi":
            return StreamingResponse(
                _ocpi_lines(csms, rows, (country_code, party_id)), media_type="application/json"
            )
        return StreamingResponse(
            _csv_lines(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="cdrs.csv"'},
        )

    @router.get("/{cdr_id}", response_model=CdrOut, responses=errors({404: "Unknown CDR"}))
    async def get_cdr(cdr_id: int) -> CdrOut:
        """One CDR (its id is its session's id)."""
        cdr = await csms.storage.tariffs.cdr(cdr_id)
        if cdr is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"CDR {cdr_id} not found")
        return cdr_out(cdr)

    return router


async def _ocpi_lines(
    csms: Csms, rows: AsyncIterator[Cdr], owner: tuple[str, str]
) -> AsyncIterator[bytes]:
    yield b"["
    first = True
    async for cdr in rows:
        if cdr.gross is None or cdr.tariff_id is None or cdr.tariff_version is None:
            continue
        tariff = (await csms.tariffs.version(cdr.tariff_id, cdr.tariff_version)).tariff
        yield (b"" if first else b",") + orjson.dumps(ocpi_cdr(cdr, tariff, owner))
        first = False
    yield b"]"


async def _csv_lines(rows: AsyncIterator[Cdr]) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    async for cdr in rows:
        writer.writerow(_csv_row(cdr))
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
