"""Jobs, job events and hosted files on SQLite and PostgreSQL: the repositories' contract, the
job service's matching rules (requestId, the newest plain 1.6 job, unmatched reports kept as
history), and files whose bytes live in the content-addressed blob store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from opencsms.domain.files import FileInUseError, FileService, InvalidFileNameError
from opencsms.domain.job_model import (
    EventSource,
    Job,
    JobAnswer,
    JobKind,
    JobState,
    StationReport,
)
from opencsms.domain.jobs import JobDraft, JobService
from opencsms.errors import NotFoundError
from opencsms.storage import Storage
from opencsms.storage.blobs import BlobStore
from tests.storage.conftest import T0, FixedClock


def service(storage: Storage, clock: FixedClock) -> JobService:
    tokens = iter(f"token-{n}" for n in range(1, 1000))
    return JobService(
        storage, clock, firmware_timeout=3600, log_timeout=600, token_factory=lambda: next(tokens)
    )


def draft(action: str, *, with_request_id: bool) -> Callable[[int, str], JobDraft]:
    def build(job_id: int, token: str) -> JobDraft:
        return JobDraft(
            action,
            f"http://csms/files/upload/{token}/",
            job_id if with_request_id else None,
            params={"asked": True},
        )

    return build


async def start(
    jobs: JobService, station: str, kind: JobKind, action: str, *, request_id: bool = True
) -> Job:
    return await jobs.create(station, kind, "2.0.1", draft(action, with_request_id=request_id))


def report(
    station: str, kind: JobKind, status: str, request_id: int | None, action: str = "X"
) -> StationReport:
    return StationReport(station, kind, action, status, request_id, T0)


async def test_jobs_are_numbered_stored_and_queried(storage: Storage, clock: FixedClock) -> None:
    jobs = service(storage, clock)
    first = await start(jobs, "CP-1", JobKind.FIRMWARE, "UpdateFirmware")
    second = await start(jobs, "CP-1", JobKind.LOG, "GetLog")
    other = await start(jobs, "CP-2", JobKind.LOG, "GetLog")
    assert [first.id, second.id, other.id] == [1, 2, 3]
    stored = await jobs.get(1)
    assert stored == first
    assert stored.params == {"asked": True}
    assert stored.deadline == T0.replace(hour=13)  # firmware_timeout after creation
    assert (stored.token, stored.request_id, stored.state) == ("token-1", 1, JobState.REQUESTED)
    assert await jobs.by_token("token-2") == second
    assert await jobs.by_token("nope") is None
    repo = storage.jobs
    assert [j.id for j in await repo.list(station_id="CP-1")] == [2, 1]
    assert [j.id for j in await repo.list(kind="log")] == [3, 2]
    assert await repo.count(station_id="CP-1", state="Requested") == 2
    with pytest.raises(NotFoundError):
        await jobs.get(99)
    history = await jobs.history(1)
    assert [(e.source, e.status, e.state) for e in history] == [
        (EventSource.CSMS, "Requested", JobState.REQUESTED)
    ]


async def test_reports_follow_the_request_id(storage: Storage, clock: FixedClock) -> None:
    jobs = service(storage, clock)
    job = await start(jobs, "CP-1", JobKind.FIRMWARE, "UpdateFirmware")
    job = await jobs.command_answered(job, 41, JobAnswer("Accepted", accepted=True))
    assert (job.state, job.command_id, job.command_status) == (JobState.ACCEPTED, 41, "Answered")
    for status in ("Downloading", "Downloaded", "SignatureVerified", "Installing"):
        moved = await jobs.station_report(report("CP-1", JobKind.FIRMWARE, status, job.id))
        assert moved is not None
        assert moved.state is JobState.IN_PROGRESS
    # A requestId of another station, another kind or no job: history only.
    assert await jobs.station_report(report("CP-2", JobKind.FIRMWARE, "Installed", job.id)) is None
    assert await jobs.station_report(report("CP-1", JobKind.LOG, "Uploaded", job.id)) is None
    assert await jobs.station_report(report("CP-1", JobKind.FIRMWARE, "Installed", 999)) is None
    done = await jobs.station_report(report("CP-1", JobKind.FIRMWARE, "Installed", job.id))
    assert done is not None
    assert done.state is JobState.SUCCEEDED
    # The same final report again (a resend) adds nothing.
    await jobs.station_report(report("CP-1", JobKind.FIRMWARE, "Installed", job.id))
    history = await jobs.history(job.id)
    assert [e.status for e in history] == [
        "Requested",
        "Accepted",
        "Downloading",
        "Downloaded",
        "SignatureVerified",
        "Installing",
        "Installed",
    ]
    assert history[-1].state is JobState.SUCCEEDED
    unmatched = await storage.jobs.station_events("CP-1", sources=[EventSource.STATION])
    assert [(e.status, e.job_id, e.request_id) for e in unmatched][:2] == [
        ("Installed", job.id, job.id),
        ("Installed", None, 999),
    ]
    assert [e.status for e in await storage.jobs.station_events("CP-2")] == ["Installed"]


async def test_plain_16_reports_go_to_the_newest_job_without_request_id(
    storage: Storage, clock: FixedClock
) -> None:
    """1.6 FirmwareStatusNotification has no requestId; accepting a new UpdateFirmware cancels
    the older one (a 1.6 station runs one update at a time)."""
    jobs = service(storage, clock)
    old = await start(jobs, "CP-1", JobKind.FIRMWARE, "UpdateFirmware", request_id=False)
    old = await jobs.command_answered(old, 1, JobAnswer("Accepted", accepted=True))
    await jobs.station_report(report("CP-1", JobKind.FIRMWARE, "Downloading", None), plain_16=True)
    signed = await start(jobs, "CP-1", JobKind.FIRMWARE, "SignedUpdateFirmware")
    new = await start(jobs, "CP-1", JobKind.FIRMWARE, "UpdateFirmware", request_id=False)
    new = await jobs.command_answered(new, 2, JobAnswer("Accepted", accepted=True))
    old_now = await jobs.get(old.id)
    assert (old_now.state, old_now.error) == (JobState.CANCELLED, f"replaced by job {new.id}")
    assert (await jobs.get(signed.id)).state is JobState.REQUESTED  # another message set
    # Idle (a trigger while waiting for retrieveDate) is kept but moves nothing.
    idle = await jobs.station_report(report("CP-1", JobKind.FIRMWARE, "Idle", None), plain_16=True)
    assert idle is not None
    assert idle.id == new.id
    assert idle.state is JobState.ACCEPTED
    moved = await jobs.station_report(
        report("CP-1", JobKind.FIRMWARE, "Installed", None), plain_16=True
    )
    assert moved is not None
    assert (moved.id, moved.state) == (new.id, JobState.SUCCEEDED)
    # 1.6 §5.19 (manual reboot) sends Installed twice: the resend is not a new event.
    await jobs.station_report(report("CP-1", JobKind.FIRMWARE, "Installed", None), plain_16=True)
    assert [e.status for e in await jobs.history(new.id)] == [
        "Requested",
        "Accepted",
        "Idle",
        "Installed",
    ]
    # A later plain report with nothing open: the station's history only.
    after = await jobs.station_report(
        report("CP-1", JobKind.FIRMWARE, "Downloading", None), plain_16=True
    )
    assert after is None
    # 2.0.1's Idle without requestId never matches a plain job.
    assert await jobs.station_report(report("CP-1", JobKind.FIRMWARE, "Idle", None)) is None


async def test_accepted_canceled_cancels_the_running_job(
    storage: Storage, clock: FixedClock
) -> None:
    """L01.FR.26 / TC_L_10_CSMS: AcceptedCanceled; TC_L_11_CSMS: Rejected, the old one goes on."""
    jobs = service(storage, clock)
    first = await start(jobs, "CP-1", JobKind.FIRMWARE, "UpdateFirmware")
    await jobs.command_answered(first, 1, JobAnswer("Accepted", accepted=True))
    refused = await start(jobs, "CP-1", JobKind.FIRMWARE, "UpdateFirmware")
    refused = await jobs.command_answered(refused, 2, JobAnswer("Rejected", accepted=False))
    assert refused.state is JobState.REJECTED
    assert (await jobs.get(first.id)).state is JobState.ACCEPTED
    second = await start(jobs, "CP-1", JobKind.FIRMWARE, "UpdateFirmware")
    second = await jobs.command_answered(second, 3, JobAnswer("AcceptedCanceled", accepted=True))
    assert second.state is JobState.ACCEPTED
    old = await jobs.get(first.id)
    assert (old.state, old.error) == (JobState.CANCELLED, f"replaced by job {second.id}")
    assert [e.status for e in await jobs.history(old.id)][-1] == "Cancelled"
    # A report for the cancelled job only lands in the history.
    late = await jobs.station_report(report("CP-1", JobKind.FIRMWARE, "Downloading", old.id))
    assert late is not None
    assert late.state is JobState.CANCELLED


async def test_deadlines_time_jobs_out_and_late_reports_reopen_them(
    storage: Storage, clock: FixedClock
) -> None:
    jobs = service(storage, clock)
    log = await start(jobs, "CP-1", JobKind.LOG, "GetLog")
    firmware = await start(jobs, "CP-1", JobKind.FIRMWARE, "UpdateFirmware")
    await jobs.command_answered(log, 1, JobAnswer("Accepted", accepted=True))
    clock.advance(600)
    await jobs.expire_due()
    timed_out = await jobs.get(log.id)
    assert (timed_out.state, timed_out.finished_at) == (JobState.TIMED_OUT, clock.now())
    assert (await jobs.get(firmware.id)).state is JobState.REQUESTED
    assert [j.id for j in await storage.jobs.due(clock.now())] == []
    clock.advance(10)
    late = await jobs.station_report(
        StationReport(
            "CP-1", JobKind.LOG, "LogStatusNotification", "Uploading", log.id, clock.now()
        )
    )
    assert late is not None
    assert late.state is JobState.IN_PROGRESS
    assert late.deadline is not None
    assert (late.deadline - clock.now()).total_seconds() == 600  # a new log_timeout


async def test_command_failures_fail_the_job(storage: Storage, clock: FixedClock) -> None:
    jobs = service(storage, clock)
    job = await start(jobs, "CP-1", JobKind.LOG, "GetLog")
    failed = await jobs.command_failed(job, 12, "Offline", "the station is not connected")
    assert (failed.state, failed.command_id, failed.command_status, failed.error) == (
        JobState.FAILED,
        12,
        "Offline",
        "the station is not connected",
    )
    assert [(e.source, e.status) for e in await jobs.history(job.id)] == [
        (EventSource.CSMS, "Requested"),
        (EventSource.CSMS, "Offline"),
    ]


async def test_wait_until_returns_on_the_change(storage: Storage, clock: FixedClock) -> None:
    jobs = service(storage, clock)
    job = await start(jobs, "CP-1", JobKind.LOG, "GetLog")
    assert (await jobs.wait_until(job.id, lambda j: not j.is_open, 0.05)).is_open

    async def finish() -> None:
        await jobs.station_report(report("CP-1", JobKind.LOG, "Uploaded", job.id))

    async with asyncio.TaskGroup() as tasks:
        waiting = tasks.create_task(jobs.wait_until(job.id, lambda j: not j.is_open, 5))
        tasks.create_task(finish())
    assert waiting.result().state is JobState.SUCCEEDED


# ---------------------------------------------------------------------------------- files


def files(storage: Storage, clock: FixedClock, root: Path) -> FileService:
    return FileService(storage, clock, BlobStore(root))


def body(tmp: Path, content: bytes) -> Path:
    path = tmp / f"body-{len(list(tmp.iterdir()))}"
    path.write_bytes(content)
    return path


async def test_files_are_stored_by_content_and_listed(
    storage: Storage, clock: FixedClock, tmp_path: Path
) -> None:
    store = files(storage, clock, tmp_path / "files")
    inbox = tmp_path / "in"
    inbox.mkdir()
    image = await store.add(JobKind.FIRMWARE, "fw-1.0.bin", body(inbox, b"\x00FIRMWARE\xff"))
    copy = await store.add(JobKind.FIRMWARE, "fw-copy.bin", body(inbox, b"\x00FIRMWARE\xff"))
    framed = body(inbox, b"--head--PAYLOAD--tail--")
    log = await store.add(
        JobKind.LOG, "cp.log", framed, offset=8, length=7, station_id="CP-1", job_id=5
    )
    assert (image.id, copy.id, log.id) == (1, 2, 3)
    assert image.sha256 == copy.sha256
    assert image.size == 10
    assert store.path(image).read_bytes() == b"\x00FIRMWARE\xff"
    assert store.path(log).read_bytes() == b"PAYLOAD"
    assert (log.station_id, log.job_id, log.size) == ("CP-1", 5, 7)
    assert not framed.exists() or framed.read_bytes().startswith(b"--head")
    items, total = await store.list(kind=JobKind.FIRMWARE)
    assert ([f.id for f in items], total) == ([2, 1], 2)
    assert [f.id for f in (await store.list(station_id="CP-1"))[0]] == [3]
    assert [f.id for f in (await store.list(job_id=5))[0]] == [3]
    with pytest.raises(NotFoundError):
        await store.get(3, JobKind.FIRMWARE)
    with pytest.raises(InvalidFileNameError):
        await store.add(JobKind.LOG, "../etc/passwd", body(inbox, b"x"))

    # Shared content outlives one of its records; the last one takes it along.
    await store.delete(image.id)
    assert store.path(copy).read_bytes() == b"\x00FIRMWARE\xff"
    await store.delete(copy.id)
    with pytest.raises(NotFoundError):
        store.path(copy)
    with pytest.raises(NotFoundError):
        await store.delete(copy.id)


async def test_an_upload_of_the_same_name_replaces_the_jobs_file(
    storage: Storage, clock: FixedClock, tmp_path: Path
) -> None:
    """PUT semantics: a station retrying its upload does not make a second file."""
    store = files(storage, clock, tmp_path / "files")
    inbox = tmp_path / "in"
    inbox.mkdir()
    first = await store.add(JobKind.LOG, "cp.log", body(inbox, b"partial"), job_id=9)
    old_path = store.path(first)
    clock.advance(1)
    second = await store.add(JobKind.LOG, "cp.log", body(inbox, b"complete log"), job_id=9)
    assert second.id == first.id
    assert (second.size, second.created_at) == (12, clock.now())
    assert store.path(second).read_bytes() == b"complete log"
    assert not old_path.exists()  # nothing else held the partial content
    assert (await store.list(job_id=9))[1] == 1
    assert await storage.files.references(second.sha256) == 1
    other = await store.add(JobKind.LOG, "cp.log", body(inbox, b"complete log"), job_id=10)
    assert other.id != second.id


async def test_an_image_in_use_cannot_be_deleted(
    storage: Storage, clock: FixedClock, tmp_path: Path
) -> None:
    store = files(storage, clock, tmp_path / "files")
    inbox = tmp_path / "in"
    inbox.mkdir()
    image = await store.add(JobKind.FIRMWARE, "fw.bin", body(inbox, b"image"))
    jobs = service(storage, clock)

    def build(job_id: int, token: str) -> JobDraft:
        return JobDraft("UpdateFirmware", "http://x/fw.bin", job_id, image_id=image.id)

    job = await jobs.create("CP-1", JobKind.FIRMWARE, "2.0.1", build)
    assert [j.id for j in await storage.jobs.open_with_image(image.id)] == [job.id]
    with pytest.raises(FileInUseError):
        await store.delete(image.id)
    await jobs.station_report(report("CP-1", JobKind.FIRMWARE, "DownloadFailed", job.id))
    await store.delete(image.id)
    assert (await store.list())[1] == 0
