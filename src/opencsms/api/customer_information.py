"""``/api/v1/stations/{id}/customer-information``: ask a 2.0.1 station what it holds about one
customer and/or have it cleared (CustomerInformation → NotifyCustomerInformation, N09/N10;
docs/monitoring.md). The request goes through
:class:`~opencsms.api.command_runner.CommandRunner`; the parts the station sends are stored and
assembled by :class:`~opencsms.domain.customer_information.CustomerInformationService`. A 1.6
station has no such message: 400.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from opencsms.api.command_runner import COMMAND_RESPONSES, CommandOut, CommandRunner
from opencsms.api.monitoring import nothing_sent, require_2x
from opencsms.api.responses import INVALID_BODY, UNKNOWN_STATION, errors
from opencsms.domain.customer_information import (
    CertificateRef,
    CustomerInformation,
    CustomerQuery,
    InvalidCustomerQuery,
)
from opencsms.domain.report_requests import wait_for
from opencsms.handlers.v201.customer import customer_information_request
from opencsms.handlers.v201.monitoring import status_of

if TYPE_CHECKING:
    from opencsms.app import Csms

__all__ = ["customer_information_router"]

MAX_WAIT_SECONDS = 30.0


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CertificateIn(_Body):
    """A customer certificate by its hash data (2.0.1 CertificateHashDataType)."""

    hash_algorithm: Literal["SHA256", "SHA384", "SHA512"]
    issuer_name_hash: str = Field(min_length=1, max_length=128)
    issuer_key_hash: str = Field(min_length=1, max_length=128)
    serial_number: str = Field(min_length=1, max_length=40)


class CustomerInformationIn(_Body):
    """Report and/or clear the data of one customer, named by exactly one of ``id_token``,
    ``customer_certificate`` or ``customer_identifier`` (N09.FR.04)."""

    report: bool = Field(default=True, description="Send the data the station holds (N09)")
    clear: bool = Field(default=False, description="Clear the data the station holds (N10)")
    id_token: str | None = Field(default=None, min_length=1, max_length=36)
    id_token_type: str | None = Field(
        default=None, description="Default: the stored token's type, else ISO14443"
    )
    customer_identifier: str | None = Field(default=None, min_length=1, max_length=64)
    customer_certificate: CertificateIn | None = None
    wait: float = Field(
        default=0.0,
        ge=0.0,
        le=MAX_WAIT_SECONDS,
        description="Seconds to wait for the whole report before answering (0: answer at once)",
    )


class CustomerInformationOut(BaseModel):
    request_id: int = Field(description="The requestId (= the command id)")
    status: str | None = Field(description="Accepted, Rejected or Invalid; null: no answer")
    request: dict[str, Any] | None = Field(description="What was asked; null: unsolicited")
    requested_at: datetime | None
    complete: bool = Field(description="Every part arrived (or nothing follows the answer)")
    completed_at: datetime | None
    parts: int = Field(description="NotifyCustomerInformation parts received")
    missing: list[int] = Field(description="seqNo values not received below the highest")
    data: str | None = Field(description="The parts' data joined in seqNo order")
    generated_at: datetime | None = Field(description="When the station generated the data")
    command: CommandOut | None = None


class CustomerInformationPage(BaseModel):
    items: list[CustomerInformationOut]


def _out(info: CustomerInformation, command: CommandOut | None = None) -> CustomerInformationOut:
    request = info.request
    return CustomerInformationOut(
        request_id=request.request_id,
        status=request.status,
        request=request.parameters,
        requested_at=request.requested_at,
        complete=info.complete,
        completed_at=request.completed_at,
        parts=info.parts,
        missing=info.missing,
        data=info.data,
        generated_at=info.generated_at,
        command=command,
    )


def customer_information_router(csms: Csms) -> APIRouter:
    """Build the router bound to one CSMS node."""
    router = APIRouter(prefix="/stations", tags=["customer information"])
    runner = CommandRunner(csms)

    @router.post(
        "/{station_id}/customer-information",
        response_model=CustomerInformationOut,
        responses=COMMAND_RESPONSES | INVALID_BODY,
    )
    async def request_information(
        station_id: str, body: CustomerInformationIn
    ) -> CustomerInformationOut | JSONResponse:
        """Ask for a customer's data and/or have it cleared (CustomerInformation, N09/N10). The
        data arrives in NotifyCustomerInformation parts, assembled under the returned
        ``request_id``. ``wait`` > 0 answers once every part arrived (or the time is up)."""
        station, version = await require_2x(runner, station_id)
        token_type = body.id_token_type
        if body.id_token is not None and token_type is None:
            known = await csms.storage.id_tokens.get(body.id_token)
            token_type = known.type if known is not None and known.type else None
        certificate = body.customer_certificate
        query = CustomerQuery(
            report=body.report,
            clear=body.clear,
            id_token=body.id_token,
            id_token_type=token_type,
            customer_identifier=body.customer_identifier,
            customer_certificate=None
            if certificate is None
            else CertificateRef(
                certificate.hash_algorithm,
                certificate.issuer_name_hash,
                certificate.issuer_key_hash,
                certificate.serial_number,
            ),
        )
        try:
            query.check()
        except InvalidCustomerQuery as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
        request_id = await csms.commands.allocate_id()
        payload = customer_information_request(request_id, query)
        await csms.customer_information.requested(station_id, request_id, query)
        with csms.customer_information.watch(station_id, request_id) as done:
            outcome = await runner.run(
                station, version, "CustomerInformation", payload, command_id=request_id
            )
            if isinstance(outcome, JSONResponse):
                if nothing_sent(outcome):
                    await csms.customer_information.withdrawn(station_id, request_id)
                return outcome
            assert outcome.response is not None
            answer = status_of(outcome.response)
            await csms.customer_information.answered(station_id, request_id, answer)
            if answer == "Accepted":
                await wait_for(done, body.wait)
        info = await csms.customer_information.get(station_id, request_id)
        assert info is not None
        return _out(info, outcome)

    @router.get(
        "/{station_id}/customer-information",
        response_model=CustomerInformationPage,
        responses=UNKNOWN_STATION,
    )
    async def list_information(
        station_id: str, limit: Annotated[int, Query(ge=1, le=200)] = 50
    ) -> CustomerInformationPage:
        """The station's customer information requests, newest first, with their data."""
        await runner.load(station_id)
        return CustomerInformationPage(
            items=[
                _out(info) for info in await csms.customer_information.requests(station_id, limit)
            ]
        )

    @router.get(
        "/{station_id}/customer-information/{request_id}",
        response_model=CustomerInformationOut,
        responses=errors({404: "Unknown station or request"}),
    )
    async def get_information(station_id: str, request_id: int) -> CustomerInformationOut:
        """One request: the station's answer and the data assembled from its parts."""
        await runner.load(station_id)
        info = await csms.customer_information.get(station_id, request_id)
        if info is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"station {station_id!r} has no request {request_id}"
            )
        return _out(info)

    return router
