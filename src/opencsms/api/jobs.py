"""``/api/v1/stations/{id}/jobs/...`` and ``/api/v1/jobs/{id}``: firmware and log jobs
(docs/jobs.md).

Starting a job builds the station's command in its OCPP version (1.6 UpdateFirmware or
SignedUpdateFirmware, GetDiagnostics or GetLog; 2.0.1 UpdateFirmware, GetLog) with the job id
as ``requestId`` and, by default, this CSMS's own ``/files`` URL as the location, then sends it
through the :class:`~opencsms.api.command_runner.CommandRunner` like any operator command (schema
check 400, not connected 409, registration 409, CALLERROR 502, no answer 504, all recorded in
the command log). The job is stored before the command goes out (the station's first status
notification may arrive before its answer is processed) and follows the command's outcome: a
refused or failed command fails the job, and the error answer carries the job too.

202: the station accepted, the job runs — follow it with ``GET /api/v1/jobs/{id}`` (``?wait=``
long-polls until it ends). 200: it ended at once (the station rejected it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

import orjson
from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from opencsms.api.command_runner import CommandErrorOut, CommandOut, CommandRunner
from opencsms.api.files import FileOut, file_out, files_base_url, firmware_url, upload_url
from opencsms.api.responses import errors
from opencsms.domain.job_model import (
    EventSource,
    FirmwareSpec,
    HostedFile,
    Job,
    JobAnswer,
    JobEvent,
    JobKind,
    LogSpec,
)
from opencsms.domain.jobs import JobDraft
from opencsms.errors import NotFoundError
from opencsms.handlers.operator_commands import Built, UnsupportedCommand
from opencsms.handlers.v16 import firmware as v16_firmware
from opencsms.handlers.v201 import firmware as v201_firmware
from opencsms.ocpp.version import OcppVersion

if TYPE_CHECKING:
    from opencsms.app import Csms

__all__ = ["FirmwareJobIn", "JobDetail", "JobOut", "LogJobIn", "jobs_router"]

JobStateName = Literal[
    "Requested",
    "Accepted",
    "InProgress",
    "Succeeded",
    "Failed",
    "Rejected",
    "Cancelled",
    "TimedOut",
]
MAX_WAIT_SECONDS = 60.0


class FirmwareJobIn(BaseModel):
    """A firmware update: an uploaded image (``image_id``) or an image on another server
    (``location``)."""

    model_config = ConfigDict(extra="forbid")

    image_id: int | None = Field(default=None, description="A firmware image uploaded here")
    location: str | None = Field(
        default=None, min_length=1, description="The image's URL on another server"
    )
    retrieve_date: AwareDatetime | None = Field(
        default=None, description="Download from this time on (default: now)"
    )
    install_date: AwareDatetime | None = Field(
        default=None, description="Install at this time (2.0.1; 1.6 only with a signature)"
    )
    retries: int | None = Field(default=None, ge=0, description="Download attempts after the first")
    retry_interval: int | None = Field(default=None, ge=0, description="Seconds between attempts")
    signing_certificate: str | None = Field(
        default=None, description="PEM firmware signing certificate (2.0.1, 1.6 security)"
    )
    signature: str | None = Field(
        default=None,
        description="Base64 signature of the image; on 1.6 it makes the command "
        "SignedUpdateFirmware",
    )

    @model_validator(mode="after")
    def _one_source(self) -> FirmwareJobIn:
        if (self.image_id is None) == (self.location is None):
            raise ValueError("give exactly one of image_id and location")
        return self


class LogJobIn(BaseModel):
    """A log upload to this CSMS (or to ``location``)."""

    model_config = ConfigDict(extra="forbid")

    log_type: Literal["DiagnosticsLog", "SecurityLog"] | None = Field(
        default=None,
        description="2.0.1: default DiagnosticsLog. 1.6: absent sends GetDiagnostics, given "
        "sends the security whitepaper's GetLog",
    )
    oldest: AwareDatetime | None = Field(default=None, description="Oldest entry wanted")
    latest: AwareDatetime | None = Field(default=None, description="Latest entry wanted")
    retries: int | None = Field(default=None, ge=0, description="Upload attempts after the first")
    retry_interval: int | None = Field(default=None, ge=0, description="Seconds between attempts")
    location: str | None = Field(
        default=None,
        min_length=1,
        description="Upload somewhere else (default: this CSMS's upload URL for the job)",
    )


class JobEventOut(BaseModel):
    id: int | None
    job_id: int | None = Field(description="null: a station report that matched no job")
    source: Literal["csms", "answer", "station", "upload"]
    action: str | None = Field(description="The OCPP message, for station reports and answers")
    status: str
    request_id: int | None
    state: JobStateName | None = Field(description="The job's state after the event")
    detail: str | None
    at: datetime


class JobOut(BaseModel):
    id: int = Field(description="Also the requestId sent to the station, where it has one")
    station_id: str
    kind: Literal["firmware", "log"]
    action: str = Field(description="The OCPP command that started it")
    ocpp_version: str
    request_id: int | None
    state: JobStateName
    station_status: str | None = Field(description="The last status the station reported")
    answer_status: str | None = Field(description="The station's answer to the command")
    command_id: int | None = Field(description="The command in the station's command log")
    command_status: str | None
    location: str = Field(description="The URL given to the station")
    image_id: int | None
    log_type: str | None
    file_name: str | None = Field(description="The log file name the station announced")
    params: dict[str, Any] = Field(description="What the operator asked for")
    error: str | None
    deadline: datetime | None = Field(description="TimedOut if still open then")
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class JobDetail(JobOut):
    events: list[JobEventOut] = Field(description="The job's history, oldest first")
    files: list[FileOut] = Field(description="Logs uploaded for it, or the firmware image")


class JobErrorOut(CommandErrorOut):
    """A job whose command was refused, failed or went unanswered."""

    job: JobDetail | None = Field(
        default=None, description="The job, Failed; absent when none was created"
    )


class JobPage(BaseModel):
    items: list[JobOut]
    total: int
    offset: int
    limit: int


class JobEventPage(BaseModel):
    items: list[JobEventOut]
    next_before: int | None = Field(description="Pass as ?before= for the next, older page")


@dataclass(frozen=True, slots=True)
class _JobCommands:
    firmware: Callable[[FirmwareSpec, int], Built]
    log: Callable[[LogSpec, int], Built]
    answer: Callable[[str, dict[str, Any]], JobAnswer]


_V16 = _JobCommands(
    v16_firmware.firmware_command, v16_firmware.log_command, v16_firmware.job_answer
)
_V2 = _JobCommands(
    v201_firmware.firmware_command, v201_firmware.log_command, v201_firmware.job_answer
)


def _commands(version: OcppVersion) -> _JobCommands:
    """2.1 keeps the 2.0.1 shapes of UpdateFirmware and GetLog."""
    return _V16 if version is OcppVersion.V16 else _V2


def _event_out(event: JobEvent) -> JobEventOut:
    return JobEventOut(
        id=event.id,
        job_id=event.job_id,
        source=event.source.value,
        action=event.action,
        status=event.status,
        request_id=event.request_id,
        state=None if event.state is None else event.state.value,
        detail=event.detail,
        at=event.at,
    )


def _job_out(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "station_id": job.station_id,
        "kind": job.kind.value,
        "action": job.action,
        "ocpp_version": job.ocpp_version,
        "request_id": job.request_id,
        "state": job.state.value,
        "station_status": job.station_status,
        "answer_status": job.answer_status,
        "command_id": job.command_id,
        "command_status": job.command_status,
        "location": job.location,
        "image_id": job.image_id,
        "log_type": job.log_type,
        "file_name": job.file_name,
        "params": job.params,
        "error": job.error,
        "deadline": job.deadline,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "finished_at": job.finished_at,
    }


def jobs_router(csms: Csms) -> APIRouter:
    """Build the router bound to one CSMS node."""
    router = APIRouter(tags=["jobs"])
    runner = CommandRunner(csms)
    started: dict[int | str, dict[str, Any]] = {
        200: {"model": JobDetail, "description": "The station rejected it: the job has ended"},
        **errors(
            {
                400: "The values cannot be said in the station's OCPP version, or the command "
                "breaks the action's schema (the job is then Failed)",
                404: "Unknown station, or unknown firmware image",
                409: "Not connected, or its registration does not allow the command",
                502: "The station answered a CALLERROR or an invalid CALLRESULT",
                504: "No answer within call_timeout (the job is Failed until the station "
                "reports on it)",
            },
            JobErrorOut,
        ),
    }

    async def detail(job: Job) -> JobDetail:
        events = await csms.jobs.history(job.id)
        hosted: list[HostedFile]
        if job.kind is JobKind.LOG:
            hosted, _ = await csms.files.list(job_id=job.id, limit=1000)
        else:
            hosted = []
            if job.image_id is not None:
                try:
                    hosted = [await csms.files.get(job.image_id)]
                except NotFoundError:
                    hosted = []  # deleted after the job ended
        return JobDetail(
            **_job_out(job),
            events=[_event_out(e) for e in events],
            files=[file_out(f) for f in hosted],
        )

    async def start(
        station_id: str,
        kind: JobKind,
        draft_of: Callable[[_JobCommands, int, str], tuple[Built, JobDraft]],
    ) -> JSONResponse:
        station = await runner.load(station_id)
        version = runner.version_of(station)
        if version is None:
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"station {station_id!r} is not connected"
            )
        commands = _commands(version)
        try:
            draft_of(commands, 0, "check")  # 400 before anything is stored or sent
        except UnsupportedCommand as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
        built: list[Built] = []

        def build(job_id: int, token: str) -> JobDraft:
            command, draft = draft_of(commands, job_id, token)
            built[:] = [command]
            return draft

        job = await csms.jobs.create(station_id, kind, version.value, build)
        action, payload = built[0]
        command_id = await csms.commands.allocate_id()
        outcome = await runner.run(station, version, action, payload, command_id)
        if isinstance(outcome, CommandOut):
            answer = commands.answer(action, outcome.response or {})
            job = await csms.jobs.command_answered(job, outcome.id, answer)
            code = status.HTTP_202_ACCEPTED if job.is_open else status.HTTP_200_OK
            return JSONResponse((await detail(job)).model_dump(mode="json"), status_code=code)
        content = orjson.loads(bytes(outcome.body))
        command = content.get("command") or {}
        job = await csms.jobs.command_failed(
            job, command.get("id"), str(command.get("status", "Failed")), str(content["detail"])
        )
        content["job"] = (await detail(job)).model_dump(mode="json")
        return JSONResponse(content, status_code=outcome.status_code)

    @router.post(
        "/stations/{station_id}/jobs/firmware",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=JobDetail,
        responses=started,
    )
    async def start_firmware_job(station_id: str, body: FirmwareJobIn) -> JSONResponse:
        """Update the station's firmware (1.6 UpdateFirmware / SignedUpdateFirmware, 2.0.1
        UpdateFirmware L01) from an uploaded image or another server."""
        image: HostedFile | None = None
        if body.image_id is not None:
            try:
                image = await csms.files.get(body.image_id, JobKind.FIRMWARE)
            except NotFoundError as exc:
                raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
        retrieve_at = body.retrieve_date or csms.clock.now()
        base = files_base_url(csms)
        params = body.model_dump(mode="json", exclude_none=True)

        def draft_of(commands: _JobCommands, job_id: int, token: str) -> tuple[Built, JobDraft]:
            location = body.location or firmware_url(base, token, image.name if image else "")
            spec = FirmwareSpec(
                location,
                retrieve_at,
                body.install_date,
                body.retries,
                body.retry_interval,
                body.signing_certificate,
                body.signature,
            )
            action, payload = commands.firmware(spec, job_id)
            starts = max(retrieve_at, body.install_date) if body.install_date else retrieve_at
            draft = JobDraft(
                action,
                location,
                payload.get("requestId"),
                image_id=body.image_id,
                params=params,
                starts_at=starts,
                retries=body.retries,
                retry_interval=body.retry_interval,
            )
            return (action, payload), draft

        return await start(station_id, JobKind.FIRMWARE, draft_of)

    @router.post(
        "/stations/{station_id}/jobs/log",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=JobDetail,
        responses=started,
    )
    async def start_log_job(station_id: str, body: LogJobIn) -> JSONResponse:
        """Have the station upload a log (1.6 GetDiagnostics / GetLog, 2.0.1 GetLog N01), by
        default to this CSMS, where it is stored and listed under /files."""
        base = files_base_url(csms)
        params = body.model_dump(mode="json", exclude_none=True)

        def draft_of(commands: _JobCommands, job_id: int, token: str) -> tuple[Built, JobDraft]:
            location = body.location or upload_url(base, token)
            spec = LogSpec(
                location, body.log_type, body.oldest, body.latest, body.retries, body.retry_interval
            )
            action, payload = commands.log(spec, job_id)
            log_type = payload.get("logType")
            draft = JobDraft(
                action,
                location,
                payload.get("requestId"),
                log_type=log_type,
                params=params,
                retries=body.retries,
                retry_interval=body.retry_interval,
            )
            return (action, payload), draft

        return await start(station_id, JobKind.LOG, draft_of)

    @router.get(
        "/stations/{station_id}/jobs",
        response_model=JobPage,
        responses=errors({404: "Unknown station"}),
    )
    async def list_jobs(
        station_id: str,
        kind: Annotated[Literal["firmware", "log"] | None, Query()] = None,
        state: Annotated[JobStateName | None, Query()] = None,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> JobPage:
        """The station's jobs, newest first."""
        await runner.load(station_id)
        repo = csms.storage.jobs
        items = await repo.list(
            station_id=station_id, kind=kind, state=state, offset=offset, limit=limit
        )
        total = await repo.count(station_id=station_id, kind=kind, state=state)
        return JobPage(
            items=[JobOut(**_job_out(j)) for j in items], total=total, offset=offset, limit=limit
        )

    @router.get(
        "/stations/{station_id}/jobs/events",
        response_model=JobEventPage,
        responses=errors({404: "Unknown station"}),
    )
    async def list_job_events(
        station_id: str,
        kind: Annotated[Literal["firmware", "log"] | None, Query()] = None,
        reports_only: Annotated[
            bool, Query(description="Only the station's status notifications")
        ] = False,
        before: Annotated[int | None, Query(description="Only events older than this id")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> JobEventPage:
        """The station's firmware and log status history, newest first: every status it
        reported (also those that matched no job) and what happened to its jobs."""
        await runner.load(station_id)
        events = await csms.storage.jobs.station_events(
            station_id,
            kind=kind,
            sources=[EventSource.STATION] if reports_only else None,
            before=before,
            limit=limit,
        )
        items = [_event_out(e) for e in events]
        return JobEventPage(items=items, next_before=items[-1].id if len(items) == limit else None)

    @router.get(
        "/jobs/{job_id}",
        response_model=JobDetail,
        responses=errors({404: "Unknown job"}),
    )
    async def get_job(
        job_id: int,
        wait: Annotated[
            float,
            Query(
                ge=0,
                le=MAX_WAIT_SECONDS,
                description="Wait up to this many seconds for the job to end",
            ),
        ] = 0,
    ) -> JobDetail:
        """One job with its history and files."""
        try:
            job = await csms.jobs.get(job_id)
            if wait > 0 and job.is_open:
                job = await csms.jobs.wait_until(job_id, lambda j: not j.is_open, wait)
        except NotFoundError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
        return await detail(job)

    return router
