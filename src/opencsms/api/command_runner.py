"""The road every operator command takes, shared by the command endpoints and the other API
modules that send CALLs (local lists, jobs, configuration): validate the payload against the
action's schema (400, nothing sent), require a connection (409) whose registration allows the
action (409, 1.6 §4.2 / 2.0.1 B02), send, record in the command log, and map the outcome to HTTP
(200 answered, 502 CALLERROR or invalid CALLRESULT, 504 timeout). See docs/commands.md.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from opencsms.api.responses import errors
from opencsms.domain.commands import (
    CommandRecord,
    CommandRequest,
    CommandStatus,
    registration_refusal,
)
from opencsms.domain.model import Station
from opencsms.handlers.operator_commands import Built, UnsupportedCommand
from opencsms.ocpp.actions import CSMS_TO_STATION, STATION_TO_CSMS
from opencsms.ocpp.schemas import default_registry
from opencsms.ocpp.version import OcppVersion

if TYPE_CHECKING:
    from opencsms.app import Csms

__all__ = ["COMMAND_RESPONSES", "CommandErrorOut", "CommandOut", "CommandRunner", "command_out"]


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


class Violation(BaseModel):
    path: str = Field(description="JSON pointer into the payload")
    message: str


class CommandErrorOut(BaseModel):
    """A command that was refused, failed or went unanswered."""

    detail: str = Field(description="What went wrong, as a sentence")
    command: CommandOut | None = Field(
        default=None,
        description="The recorded command; absent when nothing was recorded (unknown station or "
        "action, a typed command to a station that never connected)",
    )
    error_code: str | None = Field(default=None, description="502 CALLERROR: its code")
    error_description: str | None = Field(default=None, description="502 CALLERROR: its text")
    violations: list[Violation] | None = Field(
        default=None, description="400 invalid payload: every schema violation"
    )


COMMAND_RESPONSES: dict[int | str, dict[str, Any]] = errors(
    {
        400: "The payload breaks the action's schema (nothing sent), the action is one the "
        "station sends, or the operation is not expressible in the station's version",
        404: "Unknown station, or an action the station's OCPP version does not have",
        409: "Not connected (or disconnected before answering), or its registration does not "
        "allow the action",
        502: "The station answered a CALLERROR or an invalid CALLRESULT",
        504: "No answer within call_timeout",
    },
    CommandErrorOut,
)
"""The error answers of an endpoint that sends a command (for its OpenAPI ``responses``)."""


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


class CommandRunner:
    """Sends recorded commands for the API of one CSMS node."""

    def __init__(self, csms: Csms) -> None:
        self._csms = csms
        self._schemas = default_registry()

    async def load(self, station_id: str) -> Station:
        """The stored station, or 404."""
        station = await self._csms.storage.stations.get(station_id)
        if station is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"station {station_id!r} not found")
        return station

    def version_of(self, station: Station) -> OcppVersion | None:
        """The live connection's version, else the last one (None: never connected)."""
        live = self._csms.link(station.id)
        if live is not None:
            return live.version
        return OcppVersion(station.ocpp_version) if station.ocpp_version else None

    async def run(
        self,
        station: Station,
        version: OcppVersion | None,
        action: str,
        payload: dict[str, Any],
        command_id: int | None = None,
    ) -> CommandOut | JSONResponse:
        """Validate, check the connection and registration, send, record, answer."""
        return await self.send(station.id, version, action, payload, command_id)

    async def send(
        self,
        station_id: str,
        version: OcppVersion | None,
        action: str,
        payload: dict[str, Any],
        command_id: int | None = None,
    ) -> CommandOut | JSONResponse:
        """:meth:`run` for a station known to exist (connected, or loaded by the caller): an
        endpoint that finds the station connected need not read it from the database first."""
        request = CommandRequest(station_id, version.value if version else None, action, payload)
        if version is not None:
            violations = self._schemas.validate_request(version, action, payload)
            if violations:
                listed = [Violation(path=v.path, message=v.message) for v in violations]
                text = "; ".join(v.message for v in violations)
                record = await self._csms.commands.refuse(request, CommandStatus.INVALID, text)
                return _error(
                    status.HTTP_400_BAD_REQUEST,
                    f"{action} payload is not valid for OCPP {version.value}: {text}",
                    record,
                    violations=[v.model_dump() for v in listed],
                )
        connection = self._csms.link(station_id)
        if connection is None or connection.version is not version:
            record = await self._csms.commands.refuse(
                request, CommandStatus.OFFLINE, "the station is not connected"
            )
            return _error(
                status.HTTP_409_CONFLICT, f"station {station_id!r} is not connected", record
            )
        refusal = registration_refusal(connection.state.registration, action)
        if refusal is not None:
            record = await self._csms.commands.refuse(request, CommandStatus.NOT_ALLOWED, refusal)
            return _error(status.HTTP_409_CONFLICT, f"station {station_id!r}: {refusal}", record)
        outcome = await self._csms.commands.send(
            request, self._csms.bound_call(connection), command_id=command_id
        )
        return _answer(outcome.record)

    def check_action(self, version: OcppVersion, action: str) -> None:
        """404/400 unless ``action`` is one the CSMS sends in ``version``."""
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
        self, station_id: str, build: Callable[[OcppVersion], Built], command_id: int | None = None
    ) -> CommandOut | JSONResponse:
        station = await self.load(station_id)
        version = self.version_of(station)
        if version is None:  # never connected: nothing to build the payload for
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"station {station_id!r} is not connected"
            )
        try:
            action, payload = build(version)
        except UnsupportedCommand as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
        return await self.run(station, version, action, payload, command_id)
