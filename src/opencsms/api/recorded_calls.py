"""Operations of several CALLs through the command runner: :class:`RecordedCalls` lends the
road every command takes (:class:`~opencsms.api.command_runner.CommandRunner`: validated, refused
with 409 when the station is not connected or its registration forbids it, recorded in the
command log) to the domain services, whose operations may send several CALLs (configuration,
device model, desired configuration; docs/configuration-management.md). A CALL that fails ends
the operation with the runner's answer (502, 504, 409, 400), to which :func:`failed_response`
adds the ``commands`` sent before it.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import HTTPException, status
from fastapi.responses import JSONResponse

from opencsms.api.command_runner import CommandOut, CommandRunner
from opencsms.domain.model import Station
from opencsms.ocpp.version import OcppVersion

__all__ = ["CommandFailed", "RecordedCalls", "failed_response", "station_calls"]


class CommandFailed(Exception):
    """A CALL of an operation ended without an answer to use (the runner's HTTP error)."""

    def __init__(self, response: JSONResponse, commands: list[CommandOut]) -> None:
        super().__init__("command failed")
        self.response = response
        self.commands = commands


class RecordedCalls:
    """A station call (``action, payload → response``) that goes through the command runner
    and keeps the record of every CALL it sent."""

    def __init__(self, runner: CommandRunner, station: Station, version: OcppVersion) -> None:
        self._runner = runner
        self._station = station
        self.version = version
        self.commands: list[CommandOut] = []
        self.next_id: int | None = None
        """The id the next CALL is recorded under (one the payload carries, e.g. a requestId);
        ``None``: a fresh one."""

    async def __call__(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        command_id, self.next_id = self.next_id, None
        out = await self._runner.run(self._station, self.version, action, payload, command_id)
        if isinstance(out, JSONResponse):
            raise CommandFailed(out, list(self.commands))
        self.commands.append(out)
        return out.response or {}


def failed_response(exc: CommandFailed) -> JSONResponse:
    """The runner's error answer, with the commands the operation sent before it."""
    body = orjson.loads(bytes(exc.response.body))
    body["commands"] = [c.model_dump(mode="json") for c in exc.commands]
    return JSONResponse(body, status_code=exc.response.status_code)


async def station_calls(
    runner: CommandRunner, station_id: str, *, v16: bool | None = None
) -> RecordedCalls:
    """Recorded calls to the station (404 unknown, 409 never connected, 400 when its version is
    not the one the endpoint is for: ``v16`` True for 1.6 only, False for 2.0.1 and 2.1)."""
    station = await runner.load(station_id)
    version = runner.version_of(station)
    if version is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"station {station_id!r} is not connected")
    if v16 is True and version is not OcppVersion.V16:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"station {station_id!r} speaks OCPP {version.value}: its configuration is its "
            "device model (/device-model, /variables)",
        )
    if v16 is False and version is OcppVersion.V16:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"station {station_id!r} speaks OCPP 1.6: its configuration is its keys "
            "(/configuration)",
        )
    return RecordedCalls(runner, station, version)
