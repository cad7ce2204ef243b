"""Firmware and log jobs: the records and the pure rules that move a job from state to state
(docs/jobs.md).

A job is a command that starts something long on a station, followed through the station's status
notifications to its end:

* ``firmware``: 1.6 UpdateFirmware (§5.19) reported by FirmwareStatusNotification (§4.5); 1.6
  security whitepaper SignedUpdateFirmware reported by SignedFirmwareStatusNotification (L01);
  2.0.1 UpdateFirmware reported by FirmwareStatusNotification (L01).
* ``log``: 1.6 GetDiagnostics (§5.9) reported by DiagnosticsStatusNotification (§4.4); 1.6
  security whitepaper and 2.0.1 GetLog reported by LogStatusNotification (N01).

States (:class:`JobState`): ``Requested`` while the command is on its way; ``Accepted`` or
``Rejected`` by the station's answer; ``InProgress`` from the first progress status (Downloading,
Uploading...); then ``Succeeded`` (Installed / Uploaded), ``Failed`` (a failure end state such as
DownloadFailed, InvalidSignature, UploadFailure, or the command itself failed), ``Cancelled`` (the
station replaced it by a newer job: AcceptedCanceled, L01.FR.26 / N01.FR.11) or ``TimedOut`` (no
final status before the job's deadline, on the CSMS's clock).

The station has the last word: a report for a job that ended by the CSMS's guess — TimedOut, or
Failed because the command timed out (the station may have received it) — or by an upload
failure the station may retry after (2.0.1 errata on N01.FR.10: a station MAY report each failed
attempt and send Uploading again), moves it on (:func:`accepts_reports`). ``Idle`` is never an
outcome: a 1.6 station answers it while it waits for ``retrieveDate`` (§4.5 "not busy
downloading/installing"), a 2.0.1 one after Installed (L01.FR.28), so it only goes into the
history.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

__all__ = [
    "ACCEPTING_ANSWERS",
    "CANCEL_STATUSES",
    "FAILURE_STATUSES",
    "IDLE",
    "OPEN_STATES",
    "SUCCESS_STATUSES",
    "EventSource",
    "FirmwareSpec",
    "HostedFile",
    "Job",
    "JobAnswer",
    "JobEvent",
    "JobKind",
    "JobState",
    "LogSpec",
    "StationReport",
    "accepts_reports",
    "apply_answer",
    "apply_command_failure",
    "apply_report",
    "cancel",
    "deadline_for",
    "expire",
]


class JobKind(StrEnum):
    FIRMWARE = "firmware"
    LOG = "log"


class JobState(StrEnum):
    REQUESTED = "Requested"
    ACCEPTED = "Accepted"
    IN_PROGRESS = "InProgress"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    REJECTED = "Rejected"
    CANCELLED = "Cancelled"
    TIMED_OUT = "TimedOut"


OPEN_STATES = frozenset({JobState.REQUESTED, JobState.ACCEPTED, JobState.IN_PROGRESS})

IDLE = "Idle"
"""Not busy with any update/upload; only sent when triggered (1.6 §4.4/§4.5, L01/N01)."""

SUCCESS_STATUSES = frozenset({"Installed", "Uploaded"})
"""Successful end states (1.6 §7.25 / §7.24, whitepaper FirmwareStatusEnumType, N01.FR.09)."""

FAILURE_STATUSES = frozenset(
    {
        # firmware: 1.6 §7.25, whitepaper 6.6, 2.0.1 FirmwareStatusEnumType
        "DownloadFailed",
        "InstallationFailed",
        "InstallVerificationFailed",
        "InvalidSignature",
        # whitepaper edition 1 statuses some 1.6 stations still send
        "InvalidCertificate",
        "RevokedCertificate",
        # logs: 1.6 §7.24 DiagnosticsStatus, N01.FR.10 UploadLogStatusEnumType
        "UploadFailed",
        "UploadFailure",
        "BadMessage",
        "PermissionDenied",
        "NotSupportedOperation",
    }
)
"""Failure end states a station reports."""

CANCEL_STATUSES = frozenset({"AcceptedCanceled"})
"""2.0.1 UploadLogStatusEnumType AcceptedCanceled: this upload was cancelled for a newer one."""

ACCEPTING_ANSWERS = frozenset({"Accepted", "AcceptedCanceled"})
"""Answers that start the job (UpdateFirmwareStatusEnumType, LogStatusEnumType)."""


class EventSource(StrEnum):
    """Who a job event comes from."""

    CSMS = "csms"
    """The CSMS: the job was created, its command failed, it timed out or was cancelled."""
    ANSWER = "answer"
    """The station's answer to the job's command."""
    STATION = "station"
    """A status notification of the station."""
    UPLOAD = "upload"
    """The station uploaded a file for the job."""


@dataclass(frozen=True, slots=True)
class FirmwareSpec:
    """What to install, version-independent; the handlers turn it into the station's message."""

    location: str
    retrieve_at: datetime
    install_at: datetime | None = None
    retries: int | None = None
    retry_interval: int | None = None
    signing_certificate: str | None = None
    signature: str | None = None


@dataclass(frozen=True, slots=True)
class LogSpec:
    """Which log to upload where. ``log_type`` None on 1.6 means GetDiagnostics."""

    location: str
    log_type: str | None = None
    oldest: datetime | None = None
    latest: datetime | None = None
    retries: int | None = None
    retry_interval: int | None = None


@dataclass(frozen=True, slots=True)
class JobAnswer:
    """The station's answer to a job's command, in domain terms (handlers/*/firmware.py)."""

    status: str
    accepted: bool
    file_name: str | None = None
    detail: str | None = None

    @property
    def cancels_previous(self) -> bool:
        """AcceptedCanceled: the station dropped its running job for this one (L01.FR.26,
        N01.FR.11)."""
        return self.status == "AcceptedCanceled"


@dataclass(frozen=True, slots=True)
class StationReport:
    """One status notification of a station (FirmwareStatusNotification & co)."""

    station_id: str
    kind: JobKind
    action: str
    status: str
    request_id: int | None
    received_at: datetime
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Job:
    """One firmware or log job. ``id`` is allocated by the CSMS and is the OCPP ``requestId``
    where the message has one (``request_id`` is then equal to it, else None).

    ``token`` is the capability in the station-facing ``/files`` URLs of the job;
    ``answer_status`` the station's answer to the command, ``station_status`` the last status it
    reported; ``command_status`` how the command ended (the command log's status).
    """

    id: int
    station_id: str
    kind: JobKind
    action: str
    ocpp_version: str
    location: str
    state: JobState = JobState.REQUESTED
    request_id: int | None = None
    token: str | None = None
    image_id: int | None = None
    log_type: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    command_id: int | None = None
    command_status: str | None = None
    answer_status: str | None = None
    station_status: str | None = None
    file_name: str | None = None
    error: str | None = None
    deadline: datetime | None = None
    created_at: datetime = field(kw_only=True)
    updated_at: datetime = field(kw_only=True)
    finished_at: datetime | None = field(default=None, kw_only=True)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


@dataclass(frozen=True, slots=True)
class JobEvent:
    """One line of a job's history, or a station's status report that matched no job
    (``job_id`` None)."""

    station_id: str
    kind: JobKind
    source: EventSource
    status: str
    at: datetime
    job_id: int | None = None
    action: str | None = None
    request_id: int | None = None
    state: JobState | None = None
    detail: str | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class HostedFile:
    """A file the CSMS hosts: a firmware image an operator uploaded (``kind`` firmware) or a
    log a station uploaded for a job (``kind`` log). The bytes are stored by their SHA-256."""

    id: int
    kind: JobKind
    name: str
    size: int
    sha256: str
    created_at: datetime
    station_id: str | None = None
    job_id: int | None = None
    content_type: str | None = None


def deadline_for(
    now: datetime,
    timeout: float,
    *,
    starts_at: datetime | None = None,
    retries: int | None = None,
    retry_interval: int | None = None,
) -> datetime:
    """When a job started ``now`` is TimedOut: ``timeout`` seconds after it may start (a
    firmware's retrieve/install time, if later), plus the time its retries may wait."""
    start = max(now, starts_at) if starts_at is not None else now
    waits = max(retries or 0, 0) * max(retry_interval or 0, 0)
    return start + timedelta(seconds=timeout + waits)


def accepts_reports(job: Job) -> bool:
    """Whether a status report may still move ``job`` (see the module docstring)."""
    if job.is_open or job.state is JobState.TIMED_OUT:
        return True
    if job.state is JobState.FAILED:
        if job.command_status == "Timeout":
            return True
        # 2.0.1 errata on N01.FR.10: an upload failure may be reported per attempt. Firmware
        # failures are end states (whitepaper 6.6 "Failure end state", L01): the station retried
        # the download itself before reporting.
        return job.kind is JobKind.LOG and job.station_status in FAILURE_STATUSES
    return False


def _finish(job: Job, state: JobState, at: datetime, error: str | None, **changes: Any) -> Job:
    return replace(job, state=state, error=error, finished_at=at, updated_at=at, **changes)


def apply_answer(job: Job, answer: JobAnswer, at: datetime) -> Job:
    """The station answered the command. Only a Requested job changes state: a station whose
    first status notification overtook its answer has moved the job on already."""
    changes: dict[str, Any] = {"answer_status": answer.status, "updated_at": at}
    if answer.file_name is not None:
        changes["file_name"] = answer.file_name
    if job.state is not JobState.REQUESTED:
        return replace(job, **changes)
    if answer.accepted:
        return replace(job, state=JobState.ACCEPTED, **changes)
    error = answer.detail or f"the station answered {answer.status}"
    return replace(job, state=JobState.REJECTED, error=error, finished_at=at, **changes)


def apply_command_failure(job: Job, command_status: str, description: str, at: datetime) -> Job:
    """The command was not answered (``command_status`` as in the command log). A job the
    station already reports on keeps its state: it got the command."""
    if job.state is not JobState.REQUESTED:
        return replace(job, command_status=command_status, updated_at=at)
    return _finish(job, JobState.FAILED, at, description, command_status=command_status)


def apply_report(
    job: Job, status: str, at: datetime, *, deadline: datetime | None = None
) -> Job | None:
    """The station reported ``status`` for ``job``; None when the job does not change (it no
    longer takes reports, or the status is Idle). ``deadline`` replaces the job's deadline when
    the report reopens a job that had ended (a late station is given time again)."""
    if not accepts_reports(job) or status == IDLE:
        return None
    if status in SUCCESS_STATUSES:
        return _finish(job, JobState.SUCCEEDED, at, None, station_status=status)
    if status in FAILURE_STATUSES:
        return _finish(
            job, JobState.FAILED, at, f"the station reported {status}", station_status=status
        )
    if status in CANCEL_STATUSES:
        return _finish(
            job, JobState.CANCELLED, at, "the station cancelled it", station_status=status
        )
    reopened = not job.is_open
    return replace(
        job,
        state=JobState.IN_PROGRESS,
        station_status=status,
        error=None,
        finished_at=None,
        updated_at=at,
        deadline=deadline if reopened and deadline is not None else job.deadline,
    )


def cancel(job: Job, reason: str, at: datetime) -> Job | None:
    """The station replaced ``job`` by a newer one; None when it had ended for good already."""
    if not accepts_reports(job):
        return None
    return _finish(job, JobState.CANCELLED, at, reason)


def expire(job: Job, at: datetime) -> Job | None:
    """``job`` at ``at``: TimedOut if it is open past its deadline, else None."""
    if not job.is_open or job.deadline is None or job.deadline > at:
        return None
    return _finish(job, JobState.TIMED_OUT, at, "no final status before the job's deadline")
