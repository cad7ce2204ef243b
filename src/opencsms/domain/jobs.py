"""Firmware and log jobs: create them, follow the station's answers and status notifications,
time them out (docs/jobs.md). The records and transition rules are in
:mod:`opencsms.domain.job_model`.

Which job a status notification is about:

* with a ``requestId`` (2.0.1 L01.FR.20 / N01.FR.07, 1.6 whitepaper L01.FR.10 / N01.FR.07): the
  job of that id, if it is the station's and of the notification's kind;
* without one — 1.6 FirmwareStatusNotification (§4.5) and DiagnosticsStatusNotification (§4.4)
  never carry one — the station's newest job started by UpdateFirmware / GetDiagnostics. A 1.6
  station runs one update and one diagnostics upload at a time, so accepting a new
  UpdateFirmware / GetDiagnostics cancels the older open one of the same kind;
* a report that matches no job (an Idle answer to a trigger, a job started by another system) is
  kept as the station's status history all the same.

A station may be given a new job while one of the same kind is open: the station decides. 2.0.1
and the 1.6 whitepaper let it answer AcceptedCanceled (the older job is then Cancelled, L01.FR.26
/ N01.FR.11) or Rejected (the older one goes on, TC_L_11_CSMS).

Every report is stored (job and history in one commit) before the handler answers it. Changes to
one station's jobs are serialised by a lock per station: the operator's request (the answer to
the command) and the station's notifications race otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from opencsms.clock import Clock
from opencsms.domain.fleet_events import FleetEvents, JobChanged
from opencsms.domain.job_model import (
    EventSource,
    HostedFile,
    Job,
    JobAnswer,
    JobEvent,
    JobKind,
    StationReport,
    accepts_reports,
    apply_answer,
    apply_command_failure,
    apply_report,
    cancel,
    deadline_for,
    expire,
)
from opencsms.errors import NotFoundError
from opencsms.storage.store import Storage

__all__ = ["JobDraft", "JobService", "new_token"]

_REREAD_SECONDS = 1.0


def new_token() -> str:
    """An unguessable capability for a job's ``/files`` URLs (192 random bits)."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True, slots=True)
class JobDraft:
    """What the API knows of a job once its command is built for the station's version."""

    action: str
    location: str
    request_id: int | None
    image_id: int | None = None
    log_type: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    starts_at: datetime | None = None
    """A firmware's retrieve/install time: the deadline counts from there."""
    retries: int | None = None
    retry_interval: int | None = None


class JobService:
    """Creates and follows firmware and log jobs (one instance per node)."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        *,
        firmware_timeout: float,
        log_timeout: float,
        token_factory: Callable[[], str] = new_token,
        events: FleetEvents | None = None,
    ) -> None:
        self._events = events or FleetEvents()
        self._storage = storage
        self._clock = clock
        self._timeouts = {JobKind.FIRMWARE: firmware_timeout, JobKind.LOG: log_timeout}
        self._new_token = token_factory
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._changes = 0
        self._changed = asyncio.Condition()

    def _lock(self, station_id: str) -> asyncio.Lock:
        lock = self._locks.get(station_id)
        if lock is None:
            lock = self._locks[station_id] = asyncio.Lock()
        return lock

    async def _save(self, jobs: list[Job], events: list[JobEvent]) -> None:
        await self._storage.jobs.save(jobs, events)
        for job in jobs:  # after storage: alerts and the live stream react to it
            self._events.publish(JobChanged(job))
        async with self._changed:
            self._changes += 1
            self._changed.notify_all()

    # ------------------------------------------------------------------ operator side

    async def create(
        self,
        station_id: str,
        kind: JobKind,
        ocpp_version: str,
        build: Callable[[int, str], JobDraft],
    ) -> Job:
        """Store a Requested job; ``build(job_id, token)`` says what its command is (the id is
        the command's requestId, the token goes into its ``/files`` URL)."""
        now = self._clock.now()
        timeout = self._timeouts[kind]

        def make(job_id: int) -> tuple[Job, JobEvent]:
            token = self._new_token()
            draft = build(job_id, token)
            deadline = deadline_for(
                now,
                timeout,
                starts_at=draft.starts_at,
                retries=draft.retries,
                retry_interval=draft.retry_interval,
            )
            job = Job(
                id=job_id,
                station_id=station_id,
                kind=kind,
                action=draft.action,
                ocpp_version=ocpp_version,
                location=draft.location,
                request_id=draft.request_id,
                token=token,
                image_id=draft.image_id,
                log_type=draft.log_type,
                params=draft.params,
                deadline=deadline,
                created_at=now,
                updated_at=now,
            )
            return job, self._event(job, EventSource.CSMS, "Requested", now, draft.action)

        return await self._storage.jobs.create(make)

    async def command_answered(self, job: Job, command_id: int, answer: JobAnswer) -> Job:
        """The station answered the job's command (the command log holds it as ``command_id``).

        An accepting answer cancels what it replaces: for AcceptedCanceled the station's other
        open jobs of the kind that carry a requestId; for a 1.6 UpdateFirmware/GetDiagnostics
        (no requestId) the older ones without (see the module docstring)."""
        now = self._clock.now()
        async with self._lock(job.station_id):
            current = await self._current(job)
            updated = replace(
                apply_answer(current, answer, now), command_id=command_id, command_status="Answered"
            )
            events = [
                self._event(
                    updated,
                    EventSource.ANSWER,
                    answer.status,
                    now,
                    job.action,
                    detail=answer.detail,
                )
            ]
            changed = [updated]
            if answer.accepted and (answer.cancels_previous or job.request_id is None):
                for other in await self._storage.jobs.of_station(
                    job.station_id, job.kind, with_request_id=job.request_id is not None
                ):
                    if other.id >= job.id:
                        continue  # only what the station ran before this one
                    reason = f"replaced by job {job.id}"
                    cancelled = cancel(other, reason, now)
                    if cancelled is not None:
                        changed.append(cancelled)
                        events.append(
                            self._event(
                                cancelled, EventSource.CSMS, "Cancelled", now, detail=reason
                            )
                        )
            await self._save(changed, events)
        return updated

    async def command_failed(
        self, job: Job, command_id: int | None, command_status: str, description: str
    ) -> Job:
        """The job's command was refused or not answered (``command_status`` as the command
        log has it: Timeout, CallError, Offline, Invalid, InvalidResponse, NotAllowed)."""
        now = self._clock.now()
        async with self._lock(job.station_id):
            current = await self._current(job)
            updated = replace(
                apply_command_failure(current, command_status, description, now),
                command_id=command_id,
            )
            event = self._event(
                updated, EventSource.CSMS, command_status, now, job.action, detail=description
            )
            await self._save([updated], [event])
        return updated

    # ------------------------------------------------------------------- station side

    async def station_report(self, report: StationReport, *, plain_16: bool = False) -> Job | None:
        """Store a status notification and move the job it is about; returns that job (None
        when none matched). ``plain_16``: a 1.6 FirmwareStatusNotification or
        DiagnosticsStatusNotification, matched to the newest job without a requestId."""
        async with self._lock(report.station_id):
            job = await self._match(report, plain_16)
            event = JobEvent(
                station_id=report.station_id,
                kind=report.kind,
                source=EventSource.STATION,
                status=report.status,
                at=report.received_at,
                job_id=None if job is None else job.id,
                action=report.action,
                request_id=report.request_id,
                detail=report.detail,
            )
            if job is None:
                await self._save([], [event])
                return None
            if not accepts_reports(job) and job.station_status == report.status:
                return job  # a resend of the report that ended it (1.6 §5.19 sends Installed twice)
            revived = deadline_for(report.received_at, self._timeouts[job.kind])
            updated = apply_report(job, report.status, report.received_at, deadline=revived)
            if updated is None:
                await self._save([], [replace(event, state=job.state)])
                return job
            await self._save([updated], [replace(event, state=updated.state)])
            return updated

    async def _match(self, report: StationReport, plain_16: bool) -> Job | None:
        if report.request_id is not None:
            job = await self._storage.jobs.get(report.request_id)
            if (
                job is None
                or job.station_id != report.station_id
                or job.kind is not report.kind
                or job.request_id is None
            ):
                return None
            return job
        if not plain_16:
            return None  # a 2.0.1 / whitepaper Idle without requestId (L01.FR.21, N01.FR.12)
        newest = await self._storage.jobs.of_station(
            report.station_id, report.kind, with_request_id=False, limit=1
        )
        if not newest:
            return None
        job = newest[0]
        if accepts_reports(job) or job.station_status == report.status:
            return job
        return None

    async def file_received(self, job: Job, hosted: HostedFile) -> None:
        """Note in the job's history that the station uploaded ``hosted`` for it."""
        now = self._clock.now()
        detail = f"{hosted.name}: {hosted.size} bytes, sha256 {hosted.sha256}"
        async with self._lock(job.station_id):
            current = await self._current(job)
            event = self._event(current, EventSource.UPLOAD, "FileReceived", now, detail=detail)
            await self._save([], [event])

    async def expire_due(self) -> None:
        """Time out the open jobs past their deadline (the CSMS's background check)."""
        now = self._clock.now()
        for job in await self._storage.jobs.due(now):
            async with self._lock(job.station_id):
                updated = expire(await self._current(job), now)
                if updated is not None:
                    event = self._event(updated, EventSource.CSMS, "TimedOut", now)
                    await self._save([updated], [event])

    # ---------------------------------------------------------------------- queries

    async def get(self, job_id: int) -> Job:
        job = await self._storage.jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"job {job_id} not found")
        return job

    async def by_token(self, token: str) -> Job | None:
        return await self._storage.jobs.by_token(token)

    async def history(self, job_id: int) -> list[JobEvent]:
        return await self._storage.jobs.events(job_id)

    async def wait_until(
        self, job_id: int, predicate: Callable[[Job], bool], seconds: float
    ) -> Job:
        """The job once ``predicate`` holds for it, or as it is after ``seconds``. Woken by the
        changes this node makes, and re-read every second for those another node makes."""
        try:
            async with asyncio.timeout(seconds):
                while True:
                    seen = self._changes
                    job = await self.get(job_id)
                    if predicate(job):
                        return job
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(_REREAD_SECONDS):
                            await self._next_change(seen)
        except TimeoutError:
            return await self.get(job_id)

    async def _next_change(self, seen: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self._changes != seen)

    # ---------------------------------------------------------------------- helpers

    async def _current(self, job: Job) -> Job:
        return await self._storage.jobs.get(job.id) or job

    @staticmethod
    def _event(
        job: Job,
        source: EventSource,
        status: str,
        at: datetime,
        action: str | None = None,
        *,
        detail: str | None = None,
    ) -> JobEvent:
        return JobEvent(
            station_id=job.station_id,
            kind=job.kind,
            source=source,
            status=status,
            at=at,
            job_id=job.id,
            action=action,
            request_id=job.request_id,
            state=job.state,
            detail=detail,
        )
