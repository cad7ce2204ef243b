"""OCPP 1.6 firmware management and diagnostics (§4.4, §4.5, §5.9, §5.19) and the security
whitepaper's secure firmware update (L01) and log retrieval (N01), for the jobs of
:mod:`opencsms.domain.jobs`.

Station → CSMS: FirmwareStatusNotification and DiagnosticsStatusNotification carry no request id
(the domain matches them to the station's newest UpdateFirmware / GetDiagnostics job);
SignedFirmwareStatusNotification and LogStatusNotification carry the ``requestId`` of the
SignedUpdateFirmware / GetLog that started the job (L01.FR.10, N01.FR.07), except an Idle one
(L01.FR.21, N01.FR.12). Each is stored before it is answered.

CSMS → station (built here, sent by the API through the command runner): UpdateFirmware, or
SignedUpdateFirmware when the operator gives a signature (L01.FR.11: the signing certificate must
come with it); GetDiagnostics, or GetLog when a log type is asked for.
"""

from __future__ import annotations

from typing import Any, cast

from opencsms.clock import utc_iso
from opencsms.domain.job_model import (
    ACCEPTING_ANSWERS,
    FirmwareSpec,
    JobAnswer,
    JobKind,
    LogSpec,
    StationReport,
)
from opencsms.handlers.operator_commands import Built, UnsupportedCommand
from opencsms.handlers.router import CallContext, Payload, reply
from opencsms.ocpp.types import v16

__all__ = [
    "diagnostics_status_notification",
    "firmware_command",
    "firmware_status_notification",
    "job_answer",
    "log_command",
    "log_status_notification",
    "signed_firmware_status_notification",
]


def _retries(payload: dict[str, Any], retries: int | None, interval: int | None) -> None:
    if retries is not None:
        payload["retries"] = retries
    if interval is not None:
        payload["retryInterval"] = interval


def firmware_command(spec: FirmwareSpec, job_id: int) -> Built:
    """SignedUpdateFirmware (whitepaper L01, ``requestId`` = the job id) when a signature or
    signing certificate is given, else UpdateFirmware (§5.19)."""
    if spec.signature is not None or spec.signing_certificate is not None:
        if spec.signature is None or spec.signing_certificate is None:
            raise UnsupportedCommand(
                "1.6 SignedUpdateFirmware needs both signing_certificate and signature "
                "(security whitepaper L01.FR.11)"
            )
        firmware: v16.FirmwareType = {
            "location": spec.location,
            "retrieveDateTime": utc_iso(spec.retrieve_at),
            "signingCertificate": spec.signing_certificate,
            "signature": spec.signature,
        }
        if spec.install_at is not None:
            firmware["installDateTime"] = utc_iso(spec.install_at)
        signed: dict[str, Any] = {"requestId": job_id, "firmware": firmware}
        _retries(signed, spec.retries, spec.retry_interval)
        return "SignedUpdateFirmware", signed
    if spec.install_at is not None:
        raise UnsupportedCommand(
            "1.6 UpdateFirmware has no install date: give signing_certificate and signature "
            "to send SignedUpdateFirmware (security whitepaper), which has one"
        )
    plain: dict[str, Any] = {"location": spec.location, "retrieveDate": utc_iso(spec.retrieve_at)}
    _retries(plain, spec.retries, spec.retry_interval)
    return "UpdateFirmware", plain


def log_command(spec: LogSpec, job_id: int) -> Built:
    """GetDiagnostics (§5.9) when no log type is asked for, else the whitepaper's GetLog (N01,
    ``requestId`` = the job id)."""
    if spec.log_type is None:
        diagnostics: dict[str, Any] = {"location": spec.location}
        _retries(diagnostics, spec.retries, spec.retry_interval)
        if spec.oldest is not None:
            diagnostics["startTime"] = utc_iso(spec.oldest)
        if spec.latest is not None:
            diagnostics["stopTime"] = utc_iso(spec.latest)
        return "GetDiagnostics", diagnostics
    log: v16.LogParametersType = {"remoteLocation": spec.location}
    if spec.oldest is not None:
        log["oldestTimestamp"] = utc_iso(spec.oldest)
    if spec.latest is not None:
        log["latestTimestamp"] = utc_iso(spec.latest)
    get_log: dict[str, Any] = {"log": log, "logType": spec.log_type, "requestId": job_id}
    _retries(get_log, spec.retries, spec.retry_interval)
    return "GetLog", get_log


def job_answer(action: str, response: dict[str, Any]) -> JobAnswer:
    """The station's answer to a job's command.

    UpdateFirmware.conf is empty (§6.48): sending it succeeded, so it is Accepted.
    GetDiagnostics.conf names the file it will upload; without a name there is nothing to upload
    (§5.9: "If no diagnostics file is available, then GetDiagnostics.conf SHALL NOT contain a
    file name"), so the job ends Rejected."""
    if action == "UpdateFirmware":
        return JobAnswer("Accepted", accepted=True)
    if action == "GetDiagnostics":
        file_name = response.get("fileName")
        if file_name is None:
            return JobAnswer(
                "Rejected",
                accepted=False,
                detail="the station has no diagnostics file (no fileName, 1.6 §5.9)",
            )
        return JobAnswer("Accepted", accepted=True, file_name=file_name)
    status = str(response["status"])
    return JobAnswer(
        status, accepted=status in ACCEPTING_ANSWERS, file_name=response.get("filename")
    )


async def _report(
    ctx: CallContext, kind: JobKind, action: str, status: str, request_id: int | None, plain: bool
) -> Payload:
    report = StationReport(ctx.station_id, kind, action, status, request_id, ctx.received_at)
    await ctx.services.jobs.station_report(report, plain_16=plain)
    return {}


async def firmware_status_notification(ctx: CallContext, payload: Payload) -> Payload:
    """§4.5: the progress of an UpdateFirmware; stored, then answered (empty)."""
    request = cast(v16.FirmwareStatusNotificationRequest, payload)
    await _report(
        ctx, JobKind.FIRMWARE, "FirmwareStatusNotification", request["status"], None, True
    )
    response: v16.FirmwareStatusNotificationResponse = {}
    return reply(response)


async def diagnostics_status_notification(ctx: CallContext, payload: Payload) -> Payload:
    """§4.4: the progress of a GetDiagnostics upload; stored, then answered (empty)."""
    request = cast(v16.DiagnosticsStatusNotificationRequest, payload)
    status = request["status"]
    await _report(ctx, JobKind.LOG, "DiagnosticsStatusNotification", status, None, True)
    response: v16.DiagnosticsStatusNotificationResponse = {}
    return reply(response)


async def signed_firmware_status_notification(ctx: CallContext, payload: Payload) -> Payload:
    """Whitepaper L01.FR.01/10: the progress of a SignedUpdateFirmware, by requestId."""
    request = cast(v16.SignedFirmwareStatusNotificationRequest, payload)
    action = "SignedFirmwareStatusNotification"
    await _report(ctx, JobKind.FIRMWARE, action, request["status"], request.get("requestId"), False)
    response: v16.SignedFirmwareStatusNotificationResponse = {}
    return reply(response)


async def log_status_notification(ctx: CallContext, payload: Payload) -> Payload:
    """Whitepaper N01.FR.07-10: the progress of a GetLog upload, by requestId."""
    request = cast(v16.LogStatusNotificationRequest, payload)
    action = "LogStatusNotification"
    await _report(ctx, JobKind.LOG, action, request["status"], request.get("requestId"), False)
    response: v16.LogStatusNotificationResponse = {}
    return reply(response)
