"""OCPP 2.0.1 block L (FirmwareManagement: L01 Secure Firmware Update) and N01 (Retrieve Log
Information), for the jobs of :mod:`opencsms.domain.jobs` (2.1 keeps these shapes and adds an
optional ``statusInfo``, read when present).

Station → CSMS: FirmwareStatusNotification and LogStatusNotification carry the ``requestId`` of
the UpdateFirmware / GetLog that started the job (L01.FR.20, N01.FR.07), except an Idle one sent
for a TriggerMessage when nothing runs. Each is stored before it is answered.

CSMS → station (built here, sent by the API through the command runner): UpdateFirmware with
the job id as ``requestId`` and the operator's ``signingCertificate`` / ``signature`` passed
through (L01.FR.11 asks the CSMS to include the certificate; TC_L_01_CSMS checks both);
GetLog with the CSMS's upload URL as ``remoteLocation`` by default.
"""

from __future__ import annotations

from typing import Any

from opencsms.clock import utc_iso
from opencsms.domain.job_model import (
    ACCEPTING_ANSWERS,
    FirmwareSpec,
    JobAnswer,
    JobKind,
    LogSpec,
    StationReport,
)
from opencsms.handlers.operator_commands import Built
from opencsms.handlers.router import CallContext, Payload, reply
from opencsms.ocpp.types import v201

__all__ = [
    "firmware_command",
    "firmware_status_notification",
    "job_answer",
    "log_command",
    "log_status_notification",
]

DEFAULT_LOG_TYPE = "DiagnosticsLog"


def _retries(payload: dict[str, Any], retries: int | None, interval: int | None) -> None:
    if retries is not None:
        payload["retries"] = retries
    if interval is not None:
        payload["retryInterval"] = interval


def firmware_command(spec: FirmwareSpec, job_id: int) -> Built:
    """L01 UpdateFirmwareRequest, ``requestId`` = the job id."""
    firmware: v201.FirmwareType = {
        "location": spec.location,
        "retrieveDateTime": utc_iso(spec.retrieve_at),
    }
    if spec.install_at is not None:
        firmware["installDateTime"] = utc_iso(spec.install_at)
    if spec.signing_certificate is not None:
        firmware["signingCertificate"] = spec.signing_certificate
    if spec.signature is not None:
        firmware["signature"] = spec.signature
    payload: dict[str, Any] = {"requestId": job_id, "firmware": firmware}
    _retries(payload, spec.retries, spec.retry_interval)
    return "UpdateFirmware", payload


def log_command(spec: LogSpec, job_id: int) -> Built:
    """N01 GetLogRequest, ``requestId`` = the job id; DiagnosticsLog unless told otherwise."""
    log: v201.LogParametersType = {"remoteLocation": spec.location}
    if spec.oldest is not None:
        log["oldestTimestamp"] = utc_iso(spec.oldest)
    if spec.latest is not None:
        log["latestTimestamp"] = utc_iso(spec.latest)
    payload: dict[str, Any] = {
        "log": log,
        "logType": spec.log_type or DEFAULT_LOG_TYPE,
        "requestId": job_id,
    }
    _retries(payload, spec.retries, spec.retry_interval)
    return "GetLog", payload


def _status_info(payload: dict[str, Any]) -> str | None:
    info = payload.get("statusInfo")
    if not isinstance(info, dict):
        return None
    extra = info.get("additionalInfo")
    return f"{info.get('reasonCode')}: {extra}" if extra else str(info.get("reasonCode"))


def job_answer(action: str, response: dict[str, Any]) -> JobAnswer:
    """UpdateFirmwareResponse (Accepted, Rejected, AcceptedCanceled, InvalidCertificate,
    RevokedCertificate) or GetLogResponse (Accepted, Rejected, AcceptedCanceled; ``filename``)."""
    status = str(response["status"])
    return JobAnswer(
        status,
        accepted=status in ACCEPTING_ANSWERS,
        file_name=response.get("filename"),
        detail=_status_info(response),
    )


async def _report(ctx: CallContext, kind: JobKind, action: str, payload: Payload) -> None:
    report = StationReport(
        ctx.station_id,
        kind,
        action,
        payload["status"],
        payload.get("requestId"),
        ctx.received_at,
        _status_info(payload),
    )
    await ctx.services.jobs.station_report(report)


async def firmware_status_notification(ctx: CallContext, payload: Payload) -> Payload:
    """L01.FR.01: a new state of the firmware update ``requestId``; stored, then answered."""
    await _report(ctx, JobKind.FIRMWARE, "FirmwareStatusNotification", payload)
    response: v201.FirmwareStatusNotificationResponse = {}
    return reply(response)


async def log_status_notification(ctx: CallContext, payload: Payload) -> Payload:
    """N01.FR.07-10: the progress of the log upload ``requestId``; stored, then answered."""
    await _report(ctx, JobKind.LOG, "LogStatusNotification", payload)
    response: v201.LogStatusNotificationResponse = {}
    return reply(response)
