"""``/api/v1/tariffs``, ``/api/v1/tariff-assignments`` and ``/api/v1/transactions/{id}/cost``:
tariffs with versions, where they apply, and what a session costs (docs/tariffs.md).

Amounts are decimal strings in answers (``"0.30"``): money is never a float. Bodies may give
them as strings or JSON numbers; a number is read from its text, so ``0.1`` is exactly 0.1.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from opencsms.api.responses import INVALID_BODY, errors
from opencsms.billing import CostBreakdown, InvalidTariff, tariff_json
from opencsms.domain.cdrs import SessionCost
from opencsms.domain.tariffs import (
    Assignment,
    AssignmentScope,
    StoredTariff,
    TariffInUse,
    TariffVersion,
    evse_target,
)
from opencsms.errors import AlreadyExistsError, NotFoundError

UNPROCESSABLE = 422
"""Starlette renamed its constant for 422 (…_ENTITY → …_CONTENT) and warns on the old name."""

if TYPE_CHECKING:
    from opencsms.app import Csms

__all__ = ["BreakdownOut", "breakdown_out", "tariffs_router"]

Amount = Decimal | str | int | float
"""A decimal amount: a string (``"0.30"``) or a JSON number (read from its text)."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ComponentIn(_Body):
    type: Literal["ENERGY", "TIME", "PARKING_TIME", "FLAT"]
    price: Amount = Field(
        description="Net price: per kWh (ENERGY), per minute (TIME, PARKING_TIME), "
        "per session (FLAT)"
    )
    step_size: int = Field(0, description="OCPI step_size: Wh (ENERGY) or seconds (TIME)")


class RestrictionsIn(_Body):
    start_time: str | None = Field(None, description="HH:MM local, inclusive")
    end_time: str | None = Field(None, description="HH:MM local, exclusive; may wrap midnight")
    start_date: str | None = Field(None, description="YYYY-MM-DD local, inclusive")
    end_date: str | None = Field(None, description="YYYY-MM-DD local, exclusive")
    min_kwh: Amount | None = None
    max_kwh: Amount | None = None
    min_duration: int | None = Field(None, description="Seconds since the session started")
    max_duration: int | None = None
    day_of_week: list[str] | None = Field(None, description="MONDAY ... SUNDAY")


class ElementIn(_Body):
    components: list[ComponentIn]
    restrictions: RestrictionsIn | None = None


class TariffIn(_Body):
    """A tariff version (docs/tariffs.md). Time zone and tax rate default to the settings
    ``tariff_time_zone`` and ``tariff_tax_rate``."""

    name: str = ""
    currency: str = Field(description="ISO 4217, e.g. EUR")
    time_zone: str | None = Field(None, description="IANA zone of the restrictions")
    tax_rate: Amount | None = Field(None, description="VAT as a fraction: 0.21 for 21 %")
    min_price: Amount | None = Field(None, description="Net minimum of a session")
    max_price: Amount | None = Field(None, description="Net maximum of a session")
    idle_grace_minutes: int = Field(0, description="Idle minutes PARKING_TIME does not bill")
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    elements: list[ElementIn]


class TariffCreate(TariffIn):
    id: str = Field(description="1-36 letters, digits, '.', '_', '-'")


class TariffOut(BaseModel):
    id: str
    name: str
    version: int = Field(description="The current version")
    created_at: datetime
    updated_at: datetime
    tariff: dict[str, Any] = Field(description="The current version's body")


class VersionOut(BaseModel):
    tariff_id: str
    version: int
    created_at: datetime
    tariff: dict[str, Any]


class AssignmentIn(_Body):
    tariff_id: str


class AssignmentOut(BaseModel):
    scope: Literal["evse", "station", "group", "default"]
    target: str = Field(description="'' (default), station id, '<station>/<evse>' or group id")
    tariff_id: str
    updated_at: datetime


class PeriodOut(BaseModel):
    start: datetime
    end: datetime
    phase: Literal["charging", "grace", "parking"]
    energy_wh: Decimal
    seconds: Decimal
    energy_price: Decimal | None = Field(description="Per kWh")
    time_price: Decimal | None = Field(description="Per minute (TIME or PARKING_TIME)")
    energy_cost: Decimal = Field(description="Exact, before rounding")
    time_cost: Decimal = Field(description="Exact, before rounding")


class BreakdownOut(BaseModel):
    currency: str
    tax_rate: Decimal
    energy_wh: Decimal
    charging_seconds: Decimal
    parking_seconds: Decimal = Field(description="Idle after charging ended, grace included")
    billed_parking_seconds: Decimal
    charging_ended_at: datetime
    energy: Decimal
    time: Decimal
    parking: Decimal
    flat: Decimal
    subtotal: Decimal
    net: Decimal
    tax: Decimal
    gross: Decimal
    min_price_applied: bool
    max_price_applied: bool
    periods: list[PeriodOut]


class CostOut(BaseModel):
    transaction_id: int = Field(description="The CSMS's id of the session")
    final: bool = Field(description="False: a running session's cost so far")
    revision: int | None = Field(description="Stored cost revision (null while running)")
    computed_at: datetime
    tariff_id: str | None
    tariff_version: int | None
    breakdown: BreakdownOut | None = Field(description="null: no tariff applies")


def breakdown_out(b: CostBreakdown) -> BreakdownOut:
    return BreakdownOut(
        currency=b.currency,
        tax_rate=b.tax_rate,
        energy_wh=b.energy_wh,
        charging_seconds=b.charging_seconds,
        parking_seconds=b.parking_seconds,
        billed_parking_seconds=b.billed_parking_seconds,
        charging_ended_at=b.charging_ended_at,
        energy=b.energy,
        time=b.time,
        parking=b.parking,
        flat=b.flat,
        subtotal=b.subtotal,
        net=b.net,
        tax=b.tax,
        gross=b.gross,
        min_price_applied=b.min_price_applied,
        max_price_applied=b.max_price_applied,
        periods=[
            PeriodOut(
                start=p.start,
                end=p.end,
                phase=p.phase.value,
                energy_wh=p.energy_wh,
                seconds=p.seconds,
                energy_price=p.energy_price,
                time_price=p.time_price,
                energy_cost=p.energy_cost,
                time_cost=p.time_cost,
            )
            for p in b.periods
        ],
    )


def _tariff_out(stored: StoredTariff, current: TariffVersion) -> TariffOut:
    return TariffOut(
        id=stored.id,
        name=stored.name,
        version=current.version,
        created_at=stored.created_at,
        updated_at=stored.updated_at,
        tariff=tariff_json(current.tariff),
    )


def _version_out(v: TariffVersion) -> VersionOut:
    return VersionOut(
        tariff_id=v.tariff_id,
        version=v.version,
        created_at=v.created_at,
        tariff=tariff_json(v.tariff),
    )


class AssignmentPeriodOut(BaseModel):
    scope: str
    target: str
    tariff_id: str
    valid_from: datetime
    valid_to: datetime | None = Field(description="null: in force now")


def _assignment_out(a: Assignment) -> AssignmentOut:
    return AssignmentOut(
        scope=a.scope.value, target=a.target, tariff_id=a.tariff_id, updated_at=a.updated_at
    )


def _body(model: TariffIn) -> dict[str, Any]:
    data = model.model_dump(mode="json", exclude={"id"}, exclude_none=True)
    for element in data["elements"]:
        if element.get("restrictions") == {}:
            element.pop("restrictions")
    return data


def _invalid(exc: InvalidTariff) -> HTTPException:
    return HTTPException(UNPROCESSABLE, str(exc))


def _not_found(exc: NotFoundError) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))


UNKNOWN_TARIFF = errors({404: "Unknown tariff"})


def tariffs_router(csms: Csms) -> APIRouter:
    """Build the router bound to one CSMS node."""
    router = APIRouter(tags=["tariffs"])

    async def out(stored: StoredTariff) -> TariffOut:
        return _tariff_out(stored, await csms.tariffs.version(stored.id, stored.current_version))

    @router.get("/tariffs", response_model=list[TariffOut])
    async def list_tariffs() -> list[TariffOut]:
        """Every tariff (not deleted) with its current version."""
        return [await out(t) for t in await csms.tariffs.all()]

    @router.post(
        "/tariffs",
        response_model=TariffOut,
        status_code=status.HTTP_201_CREATED,
        responses=INVALID_BODY | errors({409: "A tariff with this id exists"}),
    )
    async def create_tariff(body: TariffCreate) -> TariffOut:
        """Create a tariff (version 1)."""
        try:
            await csms.tariffs.create(body.id, _body(body))
        except InvalidTariff as exc:
            raise _invalid(exc) from None
        except AlreadyExistsError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        return await out(await csms.tariffs.get(body.id))

    @router.get("/tariffs/{tariff_id}", response_model=TariffOut, responses=UNKNOWN_TARIFF)
    async def get_tariff(tariff_id: str) -> TariffOut:
        """One tariff with its current version."""
        try:
            return await out(await csms.tariffs.get(tariff_id))
        except NotFoundError as exc:
            raise _not_found(exc) from None

    @router.put(
        "/tariffs/{tariff_id}",
        response_model=TariffOut,
        responses=INVALID_BODY | UNKNOWN_TARIFF | errors({409: "A concurrent edit won"}),
    )
    async def update_tariff(tariff_id: str, body: TariffIn) -> TariffOut:
        """Edit a tariff: stores the body as its next version (earlier versions, and the CDRs
        priced with them, stay as they are)."""
        try:
            await csms.tariffs.update(tariff_id, _body(body))
            return await out(await csms.tariffs.get(tariff_id))
        except InvalidTariff as exc:
            raise _invalid(exc) from None
        except NotFoundError as exc:
            raise _not_found(exc) from None
        except AlreadyExistsError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None

    @router.delete(
        "/tariffs/{tariff_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        responses=UNKNOWN_TARIFF | errors({409: "The tariff is still assigned"}),
    )
    async def delete_tariff(tariff_id: str) -> Response:
        """Delete (archive) a tariff; its versions stay for the CDRs that name them."""
        try:
            await csms.tariffs.archive(tariff_id)
        except NotFoundError as exc:
            raise _not_found(exc) from None
        except TariffInUse as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.get(
        "/tariffs/{tariff_id}/versions", response_model=list[VersionOut], responses=UNKNOWN_TARIFF
    )
    async def list_versions(tariff_id: str) -> list[VersionOut]:
        """Every version, oldest first."""
        try:
            return [_version_out(v) for v in await csms.tariffs.versions(tariff_id)]
        except NotFoundError as exc:
            raise _not_found(exc) from None

    @router.get(
        "/tariffs/{tariff_id}/versions/{version}",
        response_model=VersionOut,
        responses=errors({404: "Unknown tariff or version"}),
    )
    async def get_version(tariff_id: str, version: int) -> VersionOut:
        """One version of a tariff (versions never change)."""
        try:
            return _version_out(await csms.tariffs.version(tariff_id, version))
        except NotFoundError as exc:
            raise _not_found(exc) from None

    # ----------------------------------------------------------------- assignments

    @router.get("/tariff-assignments", response_model=list[AssignmentOut])
    async def list_assignments() -> list[AssignmentOut]:
        """Every assignment: EVSE, station, token group and default."""
        return [_assignment_out(a) for a in await csms.tariffs.assignments()]

    @router.get(
        "/tariff-assignments/history",
        response_model=list[AssignmentPeriodOut],
        responses=errors({422: "Unknown scope"}),
    )
    async def assignment_history(
        scope: AssignmentScope, target: Annotated[str, Query()] = ""
    ) -> list[AssignmentPeriodOut]:
        """Which tariff the place had when, oldest first (``valid_to`` null: in force now).
        ``target``: the station id, ``<station>/<evse id>``, the group id, or empty (default)."""
        return [
            AssignmentPeriodOut(
                scope=a.scope.value,
                target=a.target,
                tariff_id=a.tariff_id,
                valid_from=a.updated_at,
                valid_to=until,
            )
            for a, until in await csms.tariffs.history(scope, target)
        ]

    async def assign(scope: AssignmentScope, target: str, body: AssignmentIn) -> AssignmentOut:
        try:
            return _assignment_out(await csms.tariffs.assign(scope, target, body.tariff_id))
        except NotFoundError as exc:
            raise _not_found(exc) from None

    async def unassign(scope: AssignmentScope, target: str) -> Response:
        try:
            await csms.tariffs.unassign(scope, target)
        except NotFoundError as exc:
            raise _not_found(exc) from None
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    async def known_station(station_id: str) -> None:
        if await csms.storage.stations.get(station_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"station {station_id} not found")

    assigned = errors({404: "Unknown tariff (or station)"})
    gone = errors({404: "Nothing assigned there"})
    no_content = status.HTTP_204_NO_CONTENT

    @router.put("/tariff-assignments/default", response_model=AssignmentOut, responses=assigned)
    async def assign_default(body: AssignmentIn) -> AssignmentOut:
        """The tariff of sessions no other assignment covers."""
        return await assign(AssignmentScope.DEFAULT, "", body)

    @router.delete("/tariff-assignments/default", status_code=no_content, responses=gone)
    async def unassign_default() -> Response:
        """Remove the default tariff."""
        return await unassign(AssignmentScope.DEFAULT, "")

    @router.put(
        "/tariff-assignments/stations/{station_id}",
        response_model=AssignmentOut,
        responses=assigned,
    )
    async def assign_station(station_id: str, body: AssignmentIn) -> AssignmentOut:
        """A station's tariff (its EVSEs without their own)."""
        await known_station(station_id)
        return await assign(AssignmentScope.STATION, station_id, body)

    @router.delete(
        "/tariff-assignments/stations/{station_id}", status_code=no_content, responses=gone
    )
    async def unassign_station(station_id: str) -> Response:
        """Remove the station's tariff."""
        return await unassign(AssignmentScope.STATION, station_id)

    @router.put(
        "/tariff-assignments/stations/{station_id}/evses/{evse_id}",
        response_model=AssignmentOut,
        responses=assigned,
    )
    async def assign_evse(station_id: str, evse_id: int, body: AssignmentIn) -> AssignmentOut:
        """An EVSE's tariff (1.6: the connectorId)."""
        if evse_id < 1:
            raise HTTPException(UNPROCESSABLE, "evse_id starts at 1")
        await known_station(station_id)
        return await assign(AssignmentScope.EVSE, evse_target(station_id, evse_id), body)

    @router.delete(
        "/tariff-assignments/stations/{station_id}/evses/{evse_id}",
        status_code=no_content,
        responses=gone,
    )
    async def unassign_evse(station_id: str, evse_id: int) -> Response:
        """Remove the EVSE's tariff."""
        return await unassign(AssignmentScope.EVSE, evse_target(station_id, evse_id))

    @router.put(
        "/tariff-assignments/groups/{group_id}", response_model=AssignmentOut, responses=assigned
    )
    async def assign_group(group_id: str, body: AssignmentIn) -> AssignmentOut:
        """The tariff of sessions started by tokens of this group (id token group_id)."""
        return await assign(AssignmentScope.GROUP, group_id, body)

    @router.delete("/tariff-assignments/groups/{group_id}", status_code=no_content, responses=gone)
    async def unassign_group(group_id: str) -> Response:
        """Remove the token group's tariff."""
        return await unassign(AssignmentScope.GROUP, group_id)

    # ------------------------------------------------------------------------ cost

    @router.get(
        "/transactions/{transaction_pk}/cost",
        response_model=CostOut,
        tags=["transactions"],
        responses=errors({404: "Unknown transaction", 409: "An orphaned session has no cost"}),
    )
    async def transaction_cost(
        transaction_pk: int,
        recompute: Annotated[
            bool, Query(description="Finished session: store a new cost revision now")
        ] = False,
    ) -> CostOut:
        """A running session's cost so far, or a finished one's latest cost revision (its CDR
        never changes, even when a recompute gives another amount)."""
        tx = await csms.storage.transactions.get(transaction_pk)
        if tx is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"transaction {transaction_pk} not found"
            )
        if tx.status.value == "Orphaned":
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"transaction {transaction_pk} is orphaned: no cost"
            )
        cost: SessionCost = (
            await csms.costs.live(tx)
            if tx.open
            else await csms.costs.stored(tx, recompute=recompute)
        )
        return CostOut(
            transaction_id=tx.id,
            final=not tx.open,
            revision=cost.revision,
            computed_at=cost.computed_at,
            tariff_id=None if cost.tariff is None else cost.tariff.tariff_id,
            tariff_version=None if cost.tariff is None else cost.tariff.version,
            breakdown=None if cost.breakdown is None else breakdown_out(cost.breakdown),
        )

    return router
