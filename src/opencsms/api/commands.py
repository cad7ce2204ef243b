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

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from opencsms.api.command_runner import (
    COMMAND_RESPONSES,
    CommandOut,
    CommandRunner,
    command_out,
)
from opencsms.api.responses import UNKNOWN_STATION
from opencsms.handlers import operator_commands as typed
from opencsms.handlers.operator_commands import Built
from opencsms.ocpp.version import OcppVersion

if TYPE_CHECKING:
    from opencsms.app import Csms

__all__ = ["CommandOut", "CommandPage", "commands_router"]


class CommandPage(BaseModel):
    items: list[CommandOut]
    next_before: int | None = Field(description="Pass as ?before= for the next, older page")


def commands_router(csms: Csms) -> APIRouter:
    """Build the router bound to one CSMS node."""
    router = APIRouter(prefix="/stations", tags=["commands"])

    runner = CommandRunner(csms)
    load, run_typed = runner.load, runner.run_typed

    responses = COMMAND_RESPONSES

    @router.post("/{station_id}/calls/{action}", response_model=CommandOut, responses=responses)
    async def call_action(
        station_id: str,
        action: str,
        payload: Annotated[dict[str, Any], Body(description="The OCPP request payload")],
    ) -> CommandOut | JSONResponse:
        """Send any CSMS → station action of the station's OCPP version with ``payload``."""
        live = csms.link(station_id)
        if live is not None:  # connected, so known: no database read on the way
            runner.check_action(live.version, action)
            return await runner.send(station_id, live.version, action, payload)
        station = await load(station_id)
        version = runner.version_of(station)
        if version is not None:
            runner.check_action(version, action)
        return await runner.run(station, version, action, payload)

    @router.get("/{station_id}/commands", response_model=CommandPage, responses=UNKNOWN_STATION)
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
