"""``/api/v1/stations/{id}/display-messages``: the messages a 2.0.1 station shows its drivers —
set, list, clear and ask the station for its list (functional block O; docs/monitoring.md).

Commands go through :class:`~opencsms.api.command_runner.CommandRunner`; the station's answers
and NotifyDisplayMessages reports are kept by
:class:`~opencsms.domain.display_messages.DisplayMessageService`. A 1.6 station has no display
messages: 400.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from opencsms.api.command_runner import COMMAND_RESPONSES, CommandOut, CommandRunner
from opencsms.api.monitoring import nothing_sent, require_2x
from opencsms.api.monitoring_models import ComponentIn, ComponentOut, component_out
from opencsms.api.responses import INVALID_BODY, UNKNOWN_STATION, errors
from opencsms.domain.display_messages import (
    DisplayMessage,
    DisplayQuery,
    MessageContent,
    StoredMessage,
)
from opencsms.domain.report_requests import ReportRequest, wait_for
from opencsms.handlers.operator_commands import UnsupportedCommand
from opencsms.handlers.v201 import display as messages
from opencsms.handlers.v201.monitoring import status_of

if TYPE_CHECKING:
    from opencsms.app import Csms

__all__ = ["display_messages_router"]

Priority = Literal["AlwaysFront", "InFront", "NormalCycle"]
State = Literal["Charging", "Faulted", "Idle", "Unavailable", "Suspended", "Discharging"]
MAX_WAIT_SECONDS = 30.0


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContentIn(_Body):
    """2.0.1 MessageContentType."""

    format: Literal["ASCII", "HTML", "URI", "UTF8", "QRCODE"] = Field(
        description="QRCODE is 2.1 only"
    )
    content: str = Field(min_length=1, max_length=512)
    language: str | None = Field(default=None, max_length=8, description="RFC 5646 tag")

    def domain(self) -> MessageContent:
        return MessageContent(self.format, self.content, self.language)


class DisplayMessageIn(_Body):
    """A message to show (2.0.1 MessageInfoType, O01/O02); an id the station holds replaces
    its message (O06)."""

    id: int | None = Field(
        default=None, ge=0, description="Absent: the next id after the highest the CSMS knows"
    )
    priority: Priority
    message: ContentIn
    state: State | None = Field(default=None, description="Show only in this station state")
    start_at: AwareDatetime | None = None
    end_at: AwareDatetime | None = None
    transaction_id: str | None = Field(
        default=None, max_length=36, description="Show during this transaction only (O02)"
    )
    display: ComponentIn | None = Field(default=None, description="Which display (component)")
    extra: list[ContentIn] = Field(
        default=[], max_length=4, description="More contents of this message (2.1 only)"
    )


class DisplayReportIn(_Body):
    """GetDisplayMessages: all messages (no filter, O03) or those matching every filter (O04)."""

    ids: list[int] = Field(default=[], description="Any of these ids")
    priority: Priority | None = None
    state: State | None = None
    wait: float = Field(
        default=0.0,
        ge=0.0,
        le=MAX_WAIT_SECONDS,
        description="Seconds to wait for the whole report before answering (0: answer at once)",
    )


class ContentOut(BaseModel):
    format: str
    content: str
    language: str | None


class DisplayMessageOut(BaseModel):
    id: int
    priority: str
    message: ContentOut
    state: str | None
    start_at: datetime | None
    end_at: datetime | None
    transaction_id: str | None
    display: ComponentOut | None
    extra: list[ContentOut]
    on_station: bool = Field(description="The station holds it (false: it refused it)")
    last_set_status: str | None = Field(
        description="The answer to the last SetDisplayMessage of this id (null: only reported)"
    )
    source: str = Field(description="csms: set through this API; report: learned from a report")
    report_id: int | None = Field(description="The last report that listed it")
    expired: bool = Field(description="end_at has passed (the station drops it)")
    created_at: datetime
    updated_at: datetime


class DisplayMessagesOut(BaseModel):
    items: list[DisplayMessageOut]


class SetMessageOut(BaseModel):
    status: str = Field(
        description="Accepted, NotSupportedMessageFormat, Rejected, NotSupportedPriority, "
        "NotSupportedState or UnknownTransaction"
    )
    message: DisplayMessageOut
    command: CommandOut


class ClearMessageOut(BaseModel):
    status: str = Field(description="Accepted or Unknown")
    removed: bool = Field(description="Removed from the record")
    command: CommandOut


class DisplayReportOut(BaseModel):
    request_id: int = Field(description="The GetDisplayMessages requestId (= the command id)")
    status: str | None = Field(description="Accepted or Unknown; null: no answer")
    full: bool = Field(description="No filter: the complete report is the station's list")
    requested_at: datetime | None
    complete: bool
    completed_at: datetime | None
    messages: list[DisplayMessageOut] = Field(description="Messages this report listed")
    command: CommandOut | None = None


def _content_out(content: MessageContent) -> ContentOut:
    return ContentOut(format=content.format, content=content.content, language=content.language)


def message_out(stored: StoredMessage, now: datetime) -> DisplayMessageOut:
    m = stored.message
    display = m.display
    return DisplayMessageOut(
        id=m.id,
        priority=m.priority,
        message=_content_out(m.message),
        state=m.state,
        start_at=m.start_at,
        end_at=m.end_at,
        transaction_id=m.transaction_id,
        display=None if display is None else component_out(display),
        extra=[_content_out(e) for e in m.extra],
        on_station=stored.on_station,
        last_set_status=stored.last_set_status,
        source=str(stored.source),
        report_id=stored.report_id,
        expired=stored.expired(now),
        created_at=stored.created_at,
        updated_at=stored.updated_at,
    )


def display_messages_router(csms: Csms) -> APIRouter:
    """Build the router bound to one CSMS node."""
    router = APIRouter(prefix="/stations", tags=["display messages"])
    runner = CommandRunner(csms)

    async def report_out(
        report: ReportRequest, command: CommandOut | None = None
    ) -> DisplayReportOut:
        now = csms.display_messages.clock.now()
        listed = [
            message_out(m, now)
            for m in await csms.display_messages.messages(report.station_id)
            if m.report_id == report.request_id
        ]
        return DisplayReportOut(
            request_id=report.request_id,
            status=report.status,
            full=report.full,
            requested_at=report.requested_at,
            complete=report.completed_at is not None,
            completed_at=report.completed_at,
            messages=listed,
            command=command,
        )

    @router.get(
        "/{station_id}/display-messages",
        response_model=DisplayMessagesOut,
        responses=UNKNOWN_STATION,
    )
    async def list_messages(station_id: str) -> DisplayMessagesOut:
        """The station's display messages as the CSMS knows them, by id (refused ones with
        ``on_station`` false)."""
        await runner.load(station_id)
        now = csms.display_messages.clock.now()
        return DisplayMessagesOut(
            items=[message_out(m, now) for m in await csms.display_messages.messages(station_id)]
        )

    @router.post(
        "/{station_id}/display-messages",
        response_model=SetMessageOut,
        responses=COMMAND_RESPONSES | INVALID_BODY,
    )
    async def set_message(station_id: str, body: DisplayMessageIn) -> SetMessageOut | JSONResponse:
        """Show a message (SetDisplayMessage, O01; for one transaction O02; an id the station
        holds is replaced, O06). The answer is stored with the message: a refused new message
        is kept with ``on_station`` false, a refused replacement leaves the old message."""
        station, version = await require_2x(runner, station_id)
        message_id = body.id
        if message_id is None:
            message_id = 1 + max(
                (m.message.id for m in await csms.display_messages.messages(station_id)), default=0
            )
        message = DisplayMessage(
            id=message_id,
            priority=body.priority,
            message=body.message.domain(),
            state=body.state,
            start_at=body.start_at,
            end_at=body.end_at,
            transaction_id=body.transaction_id,
            display=body.display.ref() if body.display is not None else None,
            extra=tuple(e.domain() for e in body.extra),
        )
        try:
            payload = messages.set_display_message_request(version, message)
        except UnsupportedCommand as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
        outcome = await runner.run(station, version, "SetDisplayMessage", payload)
        if isinstance(outcome, JSONResponse):
            return outcome
        assert outcome.response is not None
        answer = status_of(outcome.response)
        stored = await csms.display_messages.record_set(station_id, message, answer)
        return SetMessageOut(
            status=answer,
            message=message_out(stored, csms.display_messages.clock.now()),
            command=outcome,
        )

    @router.delete(
        "/{station_id}/display-messages/{message_id}",
        response_model=ClearMessageOut,
        responses=COMMAND_RESPONSES,
    )
    async def clear_message(station_id: str, message_id: int) -> ClearMessageOut | JSONResponse:
        """Remove a message (ClearDisplayMessage, O05). Accepted removes it from the record,
        and so does Unknown (the station has no such message)."""
        station, version = await require_2x(runner, station_id)
        payload = messages.clear_display_message_request(message_id)
        outcome = await runner.run(station, version, "ClearDisplayMessage", payload)
        if isinstance(outcome, JSONResponse):
            return outcome
        assert outcome.response is not None
        answer = status_of(outcome.response)
        removed = await csms.display_messages.record_cleared(station_id, message_id, answer)
        return ClearMessageOut(status=answer, removed=removed, command=outcome)

    @router.post(
        "/{station_id}/display-messages/report",
        response_model=DisplayReportOut,
        responses=COMMAND_RESPONSES | INVALID_BODY,
    )
    async def request_report(
        station_id: str, body: DisplayReportIn
    ) -> DisplayReportOut | JSONResponse:
        """Ask the station for its messages (GetDisplayMessages, O03/O04); they arrive in
        NotifyDisplayMessages. The complete report is the station's list for its filter:
        messages it no longer holds leave the record. ``wait`` > 0 answers once the report is
        complete (or the time is up)."""
        station, version = await require_2x(runner, station_id)
        query = DisplayQuery(tuple(body.ids), body.priority, body.state)
        request_id = await csms.commands.allocate_id()
        payload = messages.get_display_messages_request(request_id, query)
        await csms.display_messages.report_requested(station_id, request_id, query)
        with csms.display_messages.watch(station_id, request_id) as done:
            outcome = await runner.run(
                station, version, "GetDisplayMessages", payload, command_id=request_id
            )
            if isinstance(outcome, JSONResponse):
                if nothing_sent(outcome):
                    await csms.display_messages.report_withdrawn(station_id, request_id)
                return outcome
            assert outcome.response is not None
            answer = status_of(outcome.response)
            await csms.display_messages.report_answered(station_id, request_id, answer)
            if answer == "Accepted":
                await wait_for(done, body.wait)
        report = await csms.display_messages.report(station_id, request_id)
        assert report is not None
        return await report_out(report, outcome)

    @router.get(
        "/{station_id}/display-messages/reports/{request_id}",
        response_model=DisplayReportOut,
        responses=errors({404: "Unknown station or report"}),
    )
    async def get_report(station_id: str, request_id: int) -> DisplayReportOut:
        """One GetDisplayMessages report: the answer, whether it is complete, what it listed."""
        await runner.load(station_id)
        report = await csms.display_messages.report(station_id, request_id)
        if report is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"station {station_id!r} has no report {request_id}"
            )
        return await report_out(report)

    return router
