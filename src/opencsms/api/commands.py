"""``/api/v1/stations/{id}/calls/{Action}``, ``/commands/...`` and the command log
(docs/commands.md).

The generic endpoint sends any CSMS → station action of the station's OCPP version with the
operator's payload; the typed endpoints build the payload of an everyday operation in the station's
version. Both take the same road: the action must be one the CSMS sends in that version, the
payload must pass its JSON schema (400, nothing sent), the station must be connected (409) and its
registration must allow the action (409, 1.6 §4.2 / 2.0.1 B02), and every command — refused,
failed or answered — is recorded through :class:`~opencsms.domain.commands.CommandService`.

Outcome → HTTP: an answer is 200 with the command record (the station's ``response`` inside; a
``Rejected`` status is a normal answer); a CALLERROR is 502 with its code and description; an
invalid CALLRESULT is 502; no answer within ``call_timeout`` is 504. Error bodies keep ``detail``
a sentence and add the recorded ``command``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from opencsms.domain.commands import (
    CommandRecord,
    CommandRequest,
    CommandStatus,
    registration_refusal,
)
from opencsms.domain.model import Station
from opencsms.handlers import operator_commands as typed
from opencsms.handlers.operator_commands import Built, UnsupportedCommand
from opencsms.ocpp.actions import CSMS_TO_STATION, STATION_TO_CSMS
from opencsms.ocpp.schemas import default_registry
from opencsms.ocpp.version import OcppVersion

if TYPE_CHECKING:
    from opencsms.app import Csms

__all__ = ["CommandOut", "CommandPage", "commands_router"]


class CommandOut(BaseModel):
    """One command as recorded."""

    id: int
    station_id: str
    ocpp_version: str | None
    action: str
    payload: dict[str, Any] = Field(description="The OCPP payload as sent (or as refused)")
    requested_by: str = Field(description='Who asked: "api" for the operator API')
    user_id: str | None = Field(description="The operator, once the API knows users")
    requested_at: datetime
    status: str = Field(
        description="Answered, CallError, Timeout, Offline, Invalid, InvalidResponse, NotAllowed"
    )
    response: dict[str, Any] | None = Field(description="The station's CALLRESULT payload")
    error_code: str | None = Field(description="The CALLERROR's code")
    error_description: str | None
    duration_ms: float | None = Field(description="From sending to the outcome; null: not sent")


class CommandPage(BaseModel):
    items: list[CommandOut]
    next_before: int | None = Field(description="Pass as ?before= for the next, older page")


class Violation(BaseModel):
    path: str = Field(description="JSON pointer into the payload")
    message: str


def command_out(record: CommandRecord) -> CommandOut:
    """The API's view of a recorded command."""
    return CommandOut(
        id=record.id,
        station_id=record.station_id,
        ocpp_version=record.ocpp_version,
        action=record.action,
        payload=record.payload,
        requested_by=record.requested_by,
        user_id=record.user_id,
        requested_at=record.requested_at,
        status=record.status.value,
        response=record.response,
        error_code=record.error_code,
        error_description=record.error_description,
        duration_ms=record.duration_ms,
    )


def _error(code: int, detail: str, record: CommandRecord, **extra: Any) -> JSONResponse:
    content = {"detail": detail, **extra, "command": command_out(record).model_dump(mode="json")}
    return JSONResponse(content, status_code=code)


def _answer(record: CommandRecord) -> CommandOut | JSONResponse:
    """The HTTP answer for a command that was sent (or refused by the session)."""
    where = f"station {record.station_id!r}"
    match record.status:
        case CommandStatus.ANSWERED:
            return command_out(record)
        case CommandStatus.CALL_ERROR:
            described = f": {record.error_description}" if record.error_description else ""
            return _error(
                status.HTTP_502_BAD_GATEWAY,
                f"{where} answered {record.action} with CALLERROR {record.error_code}{described}",
                record,
                error_code=record.error_code,
                error_description=record.error_description,
            )
        case CommandStatus.TIMEOUT:
            return _error(
                status.HTTP_504_GATEWAY_TIMEOUT,
                f"{where} did not answer {record.action} in time",
                record,
            )
        case CommandStatus.INVALID_RESPONSE:
            return _error(
                status.HTTP_502_BAD_GATEWAY,
                f"{where} answered {record.action} with an invalid CALLRESULT: "
                f"{record.error_description}",
                record,
            )
        case CommandStatus.INVALID:
            return _error(status.HTTP_400_BAD_REQUEST, f"{record.error_description}", record)
        case _:  # Offline (the connection closed before the answer) or NotAllowed
            return _error(status.HTTP_409_CONFLICT, f"{where}: {record.error_description}", record)


def commands_router(csms: Csms) -> APIRouter:
    """Build the router bound to one CSMS node."""
    router = APIRouter(prefix="/stations", tags=["commands"])
    schemas = default_registry()

    async def load(station_id: str) -> Station:
        station = await csms.storage.stations.get(station_id)
        if station is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"station {station_id!r} not found")
        return station

    def version_of(station: Station) -> OcppVersion | None:
        live = csms.registry.get(station.id)
        if live is not None:
            return live.version
        return OcppVersion(station.ocpp_version) if station.ocpp_version else None

    async def run(
        station: Station,
        version: OcppVersion | None,
        action: str,
        payload: dict[str, Any],
        command_id: int | None = None,
    ) -> CommandOut | JSONResponse:
        """Validate, check the connection and registration, send, record, answer."""
        request = CommandRequest(station.id, version.value if version else None, action, payload)
        if version is not None:
            violations = schemas.validate_request(version, action, payload)
            if violations:
                listed = [Violation(path=v.path, message=v.message) for v in violations]
                text = "; ".join(v.message for v in violations)
                record = await csms.commands.refuse(request, CommandStatus.INVALID, text)
                return _error(
                    status.HTTP_400_BAD_REQUEST,
                    f"{action} payload is not valid for OCPP {version.value}: {text}",
                    record,
                    violations=[v.model_dump() for v in listed],
                )
        connection = csms.registry.get(station.id)
        if connection is None or connection.version is not version:
            record = await csms.commands.refuse(
                request, CommandStatus.OFFLINE, "the station is not connected"
            )
            return _error(
                status.HTTP_409_CONFLICT, f"station {station.id!r} is not connected", record
            )
        refusal = registration_refusal(connection.state.registration, action)
        if refusal is not None:
            record = await csms.commands.refuse(request, CommandStatus.NOT_ALLOWED, refusal)
            return _error(status.HTTP_409_CONFLICT, f"station {station.id!r}: {refusal}", record)
        outcome = await csms.commands.send(
            request, csms.bound_call(connection), command_id=command_id
        )
        return _answer(outcome.record)

    def check_action(version: OcppVersion, action: str) -> None:
        if action in CSMS_TO_STATION[version]:
            return
        if action in STATION_TO_CSMS[version]:
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST,
                f"{action} is sent by a station to the CSMS in OCPP {version.value}, "
                "not by the CSMS",
            )
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"OCPP {version.value} has no action {action!r}"
        )

    async def run_typed(
        station_id: str, build: Callable[[OcppVersion], Built], command_id: int | None = None
    ) -> CommandOut | JSONResponse:
        station = await load(station_id)
        version = version_of(station)
        if version is None:  # never connected: nothing to build the payload for
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"station {station_id!r} is not connected"
            )
        try:
            action, payload = build(version)
        except UnsupportedCommand as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
        return await run(station, version, action, payload, command_id)

    responses: dict[int | str, dict[str, Any]] = {
        400: {"description": "Invalid payload, or not expressible in the station's version"},
        409: {"description": "Not connected, or its registration does not allow the action"},
        502: {"description": "The station answered a CALLERROR or an invalid CALLRESULT"},
        504: {"description": "No answer within call_timeout"},
    }

    @router.post("/{station_id}/calls/{action}", response_model=CommandOut, responses=responses)
    async def call_action(
        station_id: str,
        action: str,
        payload: Annotated[dict[str, Any], Body(description="The OCPP request payload")],
    ) -> CommandOut | JSONResponse:
        """Send any CSMS → station action of the station's OCPP version with ``payload``."""
        station = await load(station_id)
        version = version_of(station)
        if version is not None:
            check_action(version, action)
        return await run(station, version, action, payload)

    @router.get("/{station_id}/commands", response_model=CommandPage)
    async def list_commands(
        station_id: str,
        before: Annotated[int | None, Query(description="Only commands older than this id")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> CommandPage:
        """The commands sent to the station, newest request first, keyset-paged."""
        await load(station_id)
        records = await csms.commands.page(station_id, before, limit)
        items = [command_out(r) for r in records]
        return CommandPage(items=items, next_before=items[-1].id if len(items) == limit else None)

    @router.post(
        "/{station_id}/commands/remote-start", response_model=CommandOut, responses=responses
    )
    async def remote_start(station_id: str, body: typed.RemoteStartIn) -> CommandOut | JSONResponse:
        """Start a session remotely (1.6 RemoteStartTransaction, 2.0.1 RequestStartTransaction
        with the command's id as ``remoteStartId``)."""
        token_type = body.token_type
        if token_type is None:
            known = await csms.storage.id_tokens.get(body.id_token)
            token_type = known.type if known is not None and known.type else "ISO14443"
        command_id = await csms.commands.allocate_id()

        def build(version: OcppVersion) -> Built:
            return typed.remote_start(
                version, body, remote_start_id=command_id, token_type=token_type
            )

        return await run_typed(station_id, build, command_id)

    @router.post(
        "/{station_id}/commands/remote-stop", response_model=CommandOut, responses=responses
    )
    async def remote_stop(station_id: str, body: typed.RemoteStopIn) -> CommandOut | JSONResponse:
        """Stop a session remotely (1.6 RemoteStopTransaction, 2.0.1 RequestStopTransaction)."""
        return await run_typed(station_id, lambda v: typed.remote_stop(v, body))

    @router.post("/{station_id}/commands/reset", response_model=CommandOut, responses=responses)
    async def reset(station_id: str, body: typed.ResetIn) -> CommandOut | JSONResponse:
        """Reset the station: 1.6 soft/hard; 2.0.1 immediate/on_idle, optionally one EVSE."""
        return await run_typed(station_id, lambda v: typed.reset(v, body))

    @router.post(
        "/{station_id}/commands/availability", response_model=CommandOut, responses=responses
    )
    async def availability(
        station_id: str, body: typed.AvailabilityIn
    ) -> CommandOut | JSONResponse:
        """Make the station, an EVSE or a connector operative or inoperative."""
        return await run_typed(station_id, lambda v: typed.availability(v, body))

    @router.post("/{station_id}/commands/unlock", response_model=CommandOut, responses=responses)
    async def unlock(station_id: str, body: typed.UnlockIn) -> CommandOut | JSONResponse:
        """Unlock a connector."""
        return await run_typed(station_id, lambda v: typed.unlock(v, body))

    @router.post("/{station_id}/commands/trigger", response_model=CommandOut, responses=responses)
    async def trigger(station_id: str, body: typed.TriggerIn) -> CommandOut | JSONResponse:
        """Ask the station to send a message now (TriggerMessage)."""
        return await run_typed(station_id, lambda v: typed.trigger(v, body))

    @router.post(
        "/{station_id}/commands/data-transfer", response_model=CommandOut, responses=responses
    )
    async def data_transfer(
        station_id: str, body: typed.DataTransferIn
    ) -> CommandOut | JSONResponse:
        """Send a vendor-specific DataTransfer."""
        return await run_typed(station_id, lambda v: typed.data_transfer(v, body))

    return router
