"""Operator commands to stations: send one, time it, and keep a record of it (docs/commands.md).

Every command an operator sends through the API — the generic ``calls/{Action}`` endpoint, the
typed ``commands/...`` endpoints, and the local list, cache and reservation endpoints — goes
through :class:`CommandService`, which records who asked, when, what was sent, what came back and
how long it took. The record is written through the group-commit writer *after* the answer (or
the failure), so the station's call is never held up by the database, and the caller awaits that
commit, so a command whose answer the operator saw is in the log.

The log is kept for ``retention_days`` (setting ``command_retention_days``, 0 = forever):
:meth:`CommandService.purge` deletes older records, run hourly by the node.

Which commands a station may receive depends on its registration (1.6 §4.2, 2.0.1 B02/B03); that
rule is here too (:func:`registration_refusal`).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from opencsms.clock import Clock
from opencsms.domain.model import RegistrationStatus
from opencsms.errors import (
    CallErrorResponse,
    CallFailedError,
    CallTimeoutError,
    ConnectionClosedError,
    InvalidResponseError,
    OpenCsmsError,
    PayloadValidationError,
    StorageError,
)

if TYPE_CHECKING:
    from opencsms.storage.store import Storage

__all__ = [
    "PENDING_FORBIDDEN",
    "CommandOutcome",
    "CommandRecord",
    "CommandRequest",
    "CommandService",
    "CommandStatus",
    "StationCall",
    "registration_refusal",
]

log = logging.getLogger(__name__)

StationCall = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
"""Sends one CALL (action, payload) to a station and returns its CALLRESULT payload."""

PENDING_FORBIDDEN = frozenset(
    {
        "RemoteStartTransaction",
        "RemoteStopTransaction",
        "RequestStartTransaction",
        "RequestStopTransaction",
    }
)
"""Actions the CSMS must not send to a Pending station.

1.6 §4.2: "While in pending state, the following Central System initiated messages are not
allowed: RemoteStartTransaction.req and RemoteStopTransaction.req"; everything else the CSMS "MAY
send [...] to retrieve information from the Charge Point or change its configuration". 2.0.1 B02
carries the same rule over to RequestStart/RequestStopTransaction; the Pending
test case TC_B_02_CS has the CSMS send SetVariables, GetVariables and GetBaseReport, and a Pending
station is released with TriggerMessage BootNotification (TC_B_31_CSMS)."""


def registration_refusal(registration: str, action: str) -> str | None:
    """Why ``action`` must not be sent to a station whose registration is ``registration``, or
    ``None`` when it may be.

    Rejected: nothing (1.6 §4.2 "the Central System SHOULD NOT initiate any", and the station
    "SHALL NOT respond"; 2.0.1 B03). Pending: anything but :data:`PENDING_FORBIDDEN`.
    """
    if registration == RegistrationStatus.ACCEPTED.value:
        return None
    if registration == RegistrationStatus.PENDING.value:
        if action in PENDING_FORBIDDEN:
            return f"{action} is not allowed while the station is Pending (1.6 §4.2, B02)"
        return None
    return f"the station's registration is {registration}: the CSMS sends it nothing"


class CommandStatus(enum.StrEnum):
    """How a command ended."""

    ANSWERED = "Answered"
    """The station answered a valid CALLRESULT (whatever its status field says)."""
    CALL_ERROR = "CallError"
    """The station answered a CALLERROR (``error_code``, ``error_description``)."""
    TIMEOUT = "Timeout"
    """No answer within ``call_timeout``."""
    OFFLINE = "Offline"
    """Not connected, or the connection closed before the answer."""
    INVALID = "Invalid"
    """The payload broke the action's schema: nothing was sent."""
    INVALID_RESPONSE = "InvalidResponse"
    """The station's CALLRESULT broke the response schema."""
    NOT_ALLOWED = "NotAllowed"
    """The station's registration does not allow the action: nothing was sent."""


@dataclass(frozen=True, slots=True)
class CommandRequest:
    """What an operator asks: ``action`` with ``payload`` to ``station_id``.

    ``requested_by`` names the channel ("api"); ``user_id`` the operator, once the API has users.
    """

    station_id: str
    ocpp_version: str | None
    action: str
    payload: dict[str, Any]
    requested_by: str = "api"
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class CommandRecord:
    """One command as the log keeps it."""

    id: int
    station_id: str
    ocpp_version: str | None
    action: str
    payload: dict[str, Any]
    requested_by: str
    user_id: str | None
    requested_at: datetime
    status: CommandStatus
    response: dict[str, Any] | None = None
    error_code: str | None = None
    error_description: str | None = None
    duration_ms: float | None = None
    """Milliseconds from sending to the answer or failure; ``None`` when nothing was sent."""


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """A recorded command and, when it failed, the error (for callers that raise it)."""

    record: CommandRecord
    error: OpenCsmsError | None = None

    def result(self) -> dict[str, Any]:
        """The station's CALLRESULT payload; raises the failure otherwise."""
        if self.error is not None:
            raise self.error
        assert self.record.response is not None
        return self.record.response


def _failure(exc: OpenCsmsError) -> tuple[CommandStatus, str | None, str]:
    """Status, error code and description of a failed command."""
    if isinstance(exc, CallErrorResponse):
        return CommandStatus.CALL_ERROR, exc.error_code, exc.description
    if isinstance(exc, CallTimeoutError):
        return CommandStatus.TIMEOUT, None, str(exc)
    if isinstance(exc, ConnectionClosedError):
        return CommandStatus.OFFLINE, None, str(exc)
    if isinstance(exc, InvalidResponseError):
        return CommandStatus.INVALID_RESPONSE, None, "; ".join(v.message for v in exc.violations)
    if isinstance(exc, PayloadValidationError):
        return CommandStatus.INVALID, None, "; ".join(v.message for v in exc.violations)
    return CommandStatus.CALL_ERROR, None, str(exc)


class CommandService:
    """Sends operator commands and keeps the command log."""

    def __init__(self, storage: Storage, clock: Clock, *, retention_days: int = 0) -> None:
        """``retention_days``: how long records are kept; 0 keeps them forever."""
        self._storage = storage
        self._clock = clock
        self._retention = timedelta(days=retention_days) if retention_days > 0 else None

    async def allocate_id(self) -> int:
        """A fresh command id, for a payload that carries it (2.0.1 ``remoteStartId``)."""
        return await self._storage.commands.allocate()

    async def send(
        self, request: CommandRequest, call: StationCall, *, command_id: int | None = None
    ) -> CommandOutcome:
        """Send ``request`` through ``call``, then record the outcome.

        Call failures (:class:`~opencsms.errors.CallFailedError`, and a payload the session
        refuses) do not raise: they are recorded and returned in :attr:`CommandOutcome.error`.
        """
        requested_at = self._clock.now()
        started = self._clock.monotonic()
        if command_id is None:
            command_id = await self.allocate_id()
        try:
            response = await call(request.action, request.payload)
        except (CallFailedError, PayloadValidationError) as exc:
            status, code, description = _failure(exc)
            duration = None if status is CommandStatus.INVALID else self._ms_since(started)
            record = self._record(request, command_id, requested_at, status, duration)
            record = replace(record, error_code=code, error_description=description)
            return CommandOutcome(await self._store(record), exc)
        record = self._record(
            request, command_id, requested_at, CommandStatus.ANSWERED, self._ms_since(started)
        )
        return CommandOutcome(await self._store(replace(record, response=response)))

    async def refuse(
        self, request: CommandRequest, status: CommandStatus, description: str
    ) -> CommandRecord:
        """Record a command that was not sent (``Offline``, ``Invalid`` or ``NotAllowed``)."""
        record = self._record(
            request, await self.allocate_id(), self._clock.now(), status, duration=None
        )
        return await self._store(replace(record, error_description=description))

    async def purge(self) -> int:
        """Delete the records requested more than ``retention_days`` ago; how many."""
        if self._retention is None:
            return 0
        return await self._storage.commands.purge_older_than(self._clock.now() - self._retention)

    async def page(self, station_id: str, before: int | None, limit: int) -> list[CommandRecord]:
        """The station's commands, newest request first, older than command ``before``."""
        return await self._storage.commands.page(station_id, before, limit)

    def _record(
        self,
        request: CommandRequest,
        command_id: int,
        requested_at: datetime,
        status: CommandStatus,
        duration: float | None,
    ) -> CommandRecord:
        return CommandRecord(
            id=command_id,
            station_id=request.station_id,
            ocpp_version=request.ocpp_version,
            action=request.action,
            payload=request.payload,
            requested_by=request.requested_by,
            user_id=request.user_id,
            requested_at=requested_at,
            status=status,
            duration_ms=duration,
        )

    def _ms_since(self, started: float) -> float:
        return round((self._clock.monotonic() - started) * 1000.0, 3)

    async def _store(self, record: CommandRecord) -> CommandRecord:
        # The station has acted on the command already: a failing database must not hide its
        # answer from the operator. The failure is logged with the command.
        try:
            return await self._storage.commands.add(record)
        except StorageError:
            log.exception(
                "station %s: could not record command %s (%s)",
                record.station_id,
                record.action,
                record.status,
            )
            return record
