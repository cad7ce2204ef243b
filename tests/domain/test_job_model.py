"""The job state machine (domain/job_model.py): answers, reports, deadlines, cancellation and
the rule that the station has the last word."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from opencsms.domain.job_model import (
    Job,
    JobAnswer,
    JobKind,
    JobState,
    accepts_reports,
    apply_answer,
    apply_command_failure,
    apply_report,
    cancel,
    deadline_for,
    expire,
)

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
LATER = T0 + timedelta(seconds=5)


def a_job(**changes: object) -> Job:
    job = Job(
        id=7,
        station_id="CP-1",
        kind=JobKind.FIRMWARE,
        action="UpdateFirmware",
        ocpp_version="2.0.1",
        location="http://csms/files/firmware/t/fw.bin",
        request_id=7,
        deadline=T0 + timedelta(hours=1),
        created_at=T0,
        updated_at=T0,
    )
    return replace(job, **changes)  # type: ignore[arg-type]


def test_an_accepting_answer_starts_the_job_a_refusal_ends_it() -> None:
    accepted = apply_answer(a_job(), JobAnswer("Accepted", accepted=True), LATER)
    assert (accepted.state, accepted.answer_status, accepted.finished_at) == (
        JobState.ACCEPTED,
        "Accepted",
        None,
    )
    refused = apply_answer(a_job(), JobAnswer("InvalidCertificate", accepted=False), LATER)
    assert refused.state is JobState.REJECTED
    assert refused.error == "the station answered InvalidCertificate"
    assert refused.finished_at == LATER
    assert not accepts_reports(refused)


def test_an_answer_after_the_first_report_does_not_move_the_job_back() -> None:
    """The station's Downloading may be handled before its CALLRESULT is."""
    downloading = apply_report(a_job(), "Downloading", T0)
    assert downloading is not None
    answered = apply_answer(downloading, JobAnswer("Accepted", accepted=True, file_name="x"), LATER)
    assert answered.state is JobState.IN_PROGRESS
    assert (answered.answer_status, answered.file_name) == ("Accepted", "x")


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("DownloadScheduled", JobState.IN_PROGRESS),
        ("SignatureVerified", JobState.IN_PROGRESS),
        ("Installed", JobState.SUCCEEDED),
        ("Uploaded", JobState.SUCCEEDED),
        ("DownloadFailed", JobState.FAILED),
        ("InvalidSignature", JobState.FAILED),
        ("InstallVerificationFailed", JobState.FAILED),
        ("UploadFailure", JobState.FAILED),
        ("PermissionDenied", JobState.FAILED),
        ("AcceptedCanceled", JobState.CANCELLED),
    ],
)
def test_reports_move_the_job(status: str, state: JobState) -> None:
    moved = apply_report(a_job(state=JobState.ACCEPTED), status, LATER)
    assert moved is not None
    assert (moved.state, moved.station_status) == (state, status)
    assert (moved.finished_at is None) == (state is JobState.IN_PROGRESS)


def test_idle_is_never_an_outcome() -> None:
    """1.6 answers Idle while waiting for retrieveDate, 2.0.1 after Installed (L01.FR.28)."""
    assert apply_report(a_job(state=JobState.ACCEPTED), "Idle", LATER) is None
    assert apply_report(a_job(state=JobState.IN_PROGRESS), "Idle", LATER) is None


def test_a_finished_job_takes_no_more_reports() -> None:
    installed = apply_report(a_job(state=JobState.IN_PROGRESS), "Installed", T0)
    assert installed is not None
    assert apply_report(installed, "Downloading", LATER) is None
    rejected = a_job(state=JobState.REJECTED)
    assert apply_report(rejected, "Downloading", LATER) is None
    cancelled = a_job(state=JobState.CANCELLED)
    assert apply_report(cancelled, "Installed", LATER) is None


def test_the_station_has_the_last_word_over_a_timeout() -> None:
    """TimedOut, or Failed because the command went unanswered: a report reopens the job and
    gives it a new deadline."""
    fresh = T0 + timedelta(hours=3)
    timed_out = a_job(state=JobState.TIMED_OUT, finished_at=T0, error="late")
    reopened = apply_report(timed_out, "Installing", LATER, deadline=fresh)
    assert reopened is not None
    assert (reopened.state, reopened.deadline, reopened.finished_at, reopened.error) == (
        JobState.IN_PROGRESS,
        fresh,
        None,
        None,
    )
    unanswered = apply_command_failure(a_job(), "Timeout", "no answer", T0)
    assert unanswered.state is JobState.FAILED
    installed = apply_report(unanswered, "Installed", LATER)
    assert installed is not None
    assert installed.state is JobState.SUCCEEDED
    # A CALLERROR is the station's own refusal: nothing reopens that.
    refused = apply_command_failure(a_job(), "CallError", "NotSupported", T0)
    assert apply_report(refused, "Downloading", LATER) is None


def test_a_failed_upload_attempt_may_be_followed_by_a_retry() -> None:
    """2.0.1 errata on N01.FR.10: a station MAY report each failed attempt, then Uploading.
    A firmware failure is an end state (whitepaper 6.6)."""
    failed = apply_report(a_job(kind=JobKind.LOG, state=JobState.IN_PROGRESS), "UploadFailure", T0)
    assert failed is not None
    assert failed.state is JobState.FAILED
    retry = apply_report(failed, "Uploading", LATER)
    assert retry is not None
    assert retry.state is JobState.IN_PROGRESS
    download_failed = apply_report(a_job(state=JobState.IN_PROGRESS), "DownloadFailed", T0)
    assert download_failed is not None
    assert not accepts_reports(download_failed)
    assert apply_report(download_failed, "Downloading", LATER) is None


def test_a_command_failure_after_reports_keeps_the_state() -> None:
    downloading = a_job(state=JobState.IN_PROGRESS)
    after = apply_command_failure(downloading, "Timeout", "no answer", LATER)
    assert (after.state, after.command_status) == (JobState.IN_PROGRESS, "Timeout")


def test_cancel_and_expire() -> None:
    running = a_job(state=JobState.IN_PROGRESS)
    cancelled = cancel(running, "replaced by job 8", LATER)
    assert cancelled is not None
    assert (cancelled.state, cancelled.error) == (JobState.CANCELLED, "replaced by job 8")
    assert cancel(a_job(state=JobState.SUCCEEDED), "x", LATER) is None

    assert expire(running, T0 + timedelta(minutes=59)) is None
    expired = expire(running, T0 + timedelta(hours=1))
    assert expired is not None
    assert expired.state is JobState.TIMED_OUT
    assert expire(a_job(state=JobState.SUCCEEDED), T0 + timedelta(days=1)) is None


def test_deadline_counts_from_the_retrieve_time_and_the_retries() -> None:
    assert deadline_for(T0, 600) == T0 + timedelta(seconds=600)
    later = T0 + timedelta(hours=2)
    assert deadline_for(T0, 600, starts_at=later) == later + timedelta(seconds=600)
    assert deadline_for(T0, 600, starts_at=T0 - timedelta(hours=1)) == T0 + timedelta(seconds=600)
    assert deadline_for(T0, 600, retries=3, retry_interval=60) == T0 + timedelta(seconds=780)
