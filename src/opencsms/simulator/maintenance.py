"""Firmware updates, diagnostics and log uploads on a simulated station.

:class:`Maintenance` (``station.maintenance``) owns the firmware state machine
(:mod:`.firmware`) and the uploads:

* 1.6 GetDiagnostics (§5.9, §4.4): answer the file name, then DiagnosticsStatusNotification
  Uploading → Uploaded / UploadFailed.
* 1.6 security whitepaper and 2.x GetLog (N01): Accepted (AcceptedCanceled when it replaces a
  running upload, N01.FR.11) with the file name, then LogStatusNotification Uploading →
  Uploaded / UploadFailure (PermissionDenied for HTTP 401/403, NotSupportedOperation for a
  scheme other than HTTP(S); N01.FR.10 asks for the most precise status), each with the
  request's requestId (N01.FR.07).

The uploaded file is a text log generated from the station's real state: a header (identity,
firmware, protocol, counters) and one line per event in time order — every CALL received from
the CSMS, firmware and upload progress, errors, security events. A SecurityLog holds the
security events only (N01.FR.03). ``startTime``/``stopTime`` (1.6) and
``oldestTimestamp``/``latestTimestamp`` (N01) select the lines. It is sent with an HTTP PUT
(:mod:`.file_transfer`), ``1 + retries`` times at most, ``retryInterval`` apart.

Uploads, like firmware updates, run as tasks of the station (``spawn_background``), started
once the answer is on the wire: they go on while the CSMS is unreachable; only their status
reports are lost then (they are not queued, see :func:`.firmware.send_status`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import orjson

from opencsms.clock import utc_iso
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import file_transfer, firmware
from opencsms.simulator.config_keys import ConfigKey, Variable
from opencsms.simulator.connection import AfterAnswer, HandlerFn, Payload, Reply
from opencsms.simulator.firmware import Firmware, Flavour, parse_time, send_status

if TYPE_CHECKING:
    from opencsms.simulator.station import SimulatedStation

__all__ = ["ROUTES_2", "ROUTES_16", "LogRequest", "Maintenance"]

log = logging.getLogger("opencsms.simulator")

_EVENTS_KEPT = 1000
_PAYLOAD_CHARS = 500  # a received payload is cut here in the log file
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True, slots=True)
class LogRequest:
    """One upload the CSMS asked for (GetDiagnostics, or GetLog when ``request_id`` is set)."""

    location: str
    file_name: str
    log_type: str = "DiagnosticsLog"
    oldest: datetime | None = None
    latest: datetime | None = None
    retries: int = 0
    retry_interval: float | None = None
    request_id: int | None = None

    @property
    def is_get_log(self) -> bool:
        """GetLog (LogStatusNotification) rather than 1.6 GetDiagnostics."""
        return self.request_id is not None


@dataclass(slots=True)
class _Upload:
    request: LogRequest
    task: asyncio.Task[object] | None = None
    cancelled: bool = False
    done: bool = False

    def cancel(self) -> None:
        self.cancelled = True
        if self.task is not None and not self.done:
            self.task.cancel()


class Maintenance:
    """Firmware and diagnostics state of one station; see the module docstring."""

    def __init__(self, station: SimulatedStation) -> None:
        self.station = station
        self.events: deque[tuple[datetime, str]] = deque(maxlen=_EVENTS_KEPT)
        """What the station did (firmware and upload progress, errors), for the log file."""
        self.firmware = Firmware(station, self.note)
        self.diagnostics_status: str | None = None
        """The last DiagnosticsStatusNotification status sent (1.6)."""
        self.log_status: str | None = None
        """The last LogStatusNotification status sent."""
        self.uploaded: list[str] = []
        """URLs of the files uploaded, in order."""
        self.default_retry_interval = 30.0
        """Seconds between upload attempts when the request gives retries but no interval."""
        self.transfer_timeout = 60.0
        """Seconds an upload may take."""
        self._diagnostics: _Upload | None = None
        self._log: _Upload | None = None
        protocols = ",".join(file_transfer.SUPPORTED_PROTOCOLS)
        if station.keys is not None:
            station.keys.add_profile("FirmwareManagement")  # 1.6 §3.4 / §9.4
            station.keys.add("SupportedFileTransferProtocols", ConfigKey(protocols, readonly=True))
        if station.device_model is not None:
            station.device_model.add(
                "OCPPCommCtrlr", "FileTransferProtocols", Variable(protocols, "ReadOnly")
            )

    def note(self, text: str) -> None:
        """Record an event for the diagnostics log (and the Python log)."""
        self.events.append((self.station.clock.now(), text))
        log.info("%s: %s", self.station.config.id, text)

    @property
    def uploading(self) -> bool:
        """Whether a GetDiagnostics or GetLog upload is running."""
        return any(job is not None and not job.done for job in (self._diagnostics, self._log))

    # ---------------------------------------------------------------------- uploads

    def file_name(self, log_type: str) -> str:
        """``<station>_<logType>_<UTC time>.log`` (station id made file-name safe)."""
        stamp = self.station.clock.now().strftime("%Y%m%dT%H%M%SZ")
        return f"{_UNSAFE.sub('_', self.station.config.id)}_{log_type}_{stamp}.log"[:255]

    def start_upload(self, request: LogRequest) -> tuple[bool, AfterAnswer]:
        """Start ``request`` after the answer: (whether a running upload of the same kind was
        cancelled for it, the upload to run)."""
        running = self._log if request.is_get_log else self._diagnostics
        replaced = running is not None and not running.done
        if running is not None and replaced:
            running.cancel()
            self.note(f"upload of {running.request.file_name} cancelled")
        job = _Upload(request)
        if request.is_get_log:
            self._log = job
        else:
            self._diagnostics = job

        async def begin() -> None:  # a task of the station: it goes on while offline
            self.station.spawn_background(lambda: self._run_upload(job))

        return replaced, begin

    async def _run_upload(self, job: _Upload) -> None:
        if job.cancelled:
            return
        job.task = asyncio.current_task()
        try:
            await self._upload(job)
        finally:
            job.done = True

    async def _upload(self, job: _Upload) -> None:
        request = job.request
        failed = "UploadFailure" if request.is_get_log else "UploadFailed"
        try:
            file_transfer.check_scheme(request.location)  # before Uploading: nothing starts
            await self._report(job, "Uploading")
            content = self.render_log(request.log_type, request.oldest, request.latest)
            url = await self._put(request, content.encode("utf-8"))
        except file_transfer.UnsupportedProtocolError as exc:
            self.note(f"upload of {request.file_name} impossible: {exc}")
            unsupported = "NotSupportedOperation" if request.is_get_log else failed
            await self._report(job, unsupported, final=True)
            return
        except file_transfer.TransferError as exc:
            denied = exc.status_code in (401, 403) and request.is_get_log
            await self._report(job, "PermissionDenied" if denied else failed, final=True)
            return
        self.uploaded.append(url)
        self.note(f"uploaded {request.file_name} to {url}")
        await self._report(job, "Uploaded", final=True)

    async def _put(self, request: LogRequest, content: bytes) -> str:
        """PUT ``content``, trying ``1 + retries`` times ``retryInterval`` apart."""
        interval = request.retry_interval
        pause = max(float(interval if interval is not None else self.default_retry_interval), 0)
        for attempt in range(request.retries + 1):
            try:
                return await file_transfer.upload(
                    request.location, request.file_name, content, self.transfer_timeout
                )
            except file_transfer.TransferError as exc:
                self.note(f"upload attempt {attempt + 1} failed: {exc}")
                if attempt == request.retries:
                    raise
            await asyncio.sleep(pause)
        raise AssertionError("unreachable")  # the loop returns or raises

    async def _report(self, job: _Upload, status: str, *, final: bool = False) -> None:
        """Send an upload status; ``final`` ends the upload first, so a TriggerMessage that
        arrives while this is on the wire already gets Idle."""
        request = job.request
        job.done = job.done or final
        payload: Payload = {"status": status}
        if request.is_get_log:
            self.log_status = status
            action = "LogStatusNotification"
            payload["requestId"] = request.request_id
        else:
            self.diagnostics_status = status
            action = "DiagnosticsStatusNotification"
        await self.station.notify_changed()
        await send_status(self.station, action, payload)

    def render_log(
        self, log_type: str, oldest: datetime | None = None, latest: datetime | None = None
    ) -> str:
        """The log file: a header, then one ``<UTC time> <event>`` line per event in
        [``oldest``, ``latest``], in time order (see the module docstring)."""
        station, config = self.station, self.station.config
        now = station.clock.now()
        lines = [
            f"# OpenCSMS simulated charging station {config.id}: {log_type}",
            f"# vendor={config.vendor} model={config.model} serial={config.serial_number}"
            f" firmware={station.firmware_version} ocpp={station.version.value}",
            f"# generated={utc_iso(now)}"
            f" oldest={utc_iso(oldest) if oldest else '-'}"
            f" latest={utc_iso(latest) if latest else '-'}",
            f"# registration={station.registration} boots={station.boot_attempts}"
            f" connections={station.connections} heartbeats={station.heartbeats_sent}",
        ]
        entries: list[tuple[datetime, str]] = [
            (event.at, f"security {event.type} {event.tech_info or ''}".rstrip())
            for event in station.certificates.security_log
        ]
        if log_type != "SecurityLog":
            entries += [
                (call.at, f"received {call.action} {_dump(call.payload)}")
                for call in station.received
            ]
            entries += list(self.events)
        entries.sort(key=lambda entry: entry[0])
        lines += [
            f"{utc_iso(at)} {text}"
            for at, text in entries
            if (oldest is None or at >= oldest) and (latest is None or at <= latest)
        ]
        return "\n".join(lines) + "\n"

    # ---------------------------------------------------------------------- trigger

    def trigger(self, requested: str) -> AfterAnswer | None:
        """The follow-up for TriggerMessage ``requested`` if it is ours, else ``None``.

        FirmwareStatusNotification (1.6 §4.5 / L01.FR.28-29, see :meth:`Firmware.trigger`),
        DiagnosticsStatusNotification (1.6 §4.4: Idle unless uploading), LogStatusNotification
        (N01.FR.12: Uploading with the requestId while uploading, else Idle without one).
        """
        station = self.station
        if requested == "FirmwareStatusNotification":
            if station.version is not OcppVersion.V16:
                return self.firmware.trigger(Flavour.V2)
            extended = _answering(station, "ExtendedTriggerMessage")
            return self.firmware.trigger(Flavour.SIGNED_16 if extended else Flavour.PLAIN_16)
        if requested == "DiagnosticsStatusNotification":
            running = self._diagnostics is not None and not self._diagnostics.done
            status = "Uploading" if running else "Idle"
            return lambda: send_status(station, "DiagnosticsStatusNotification", {"status": status})
        if requested == "LogStatusNotification":
            job = self._log
            payload: Payload = {"status": "Idle"}
            if job is not None and not job.done:
                payload = {"status": "Uploading", "requestId": job.request.request_id}
            return lambda: send_status(station, "LogStatusNotification", payload)
        return None


def _answering(station: SimulatedStation, action: str) -> bool:
    """Whether the CALL being answered is ``action``. ``trigger()`` gets only the requested
    message, but 1.6 TriggerMessage and ExtendedTriggerMessage FirmwareStatusNotification ask
    for different messages; the station records a CALL before handling it and handles one at
    a time, so the last received CALL is the one being answered."""
    return bool(station.received) and station.received[-1].action == action


def _dump(payload: Payload) -> str:
    text = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode()
    return text if len(text) <= _PAYLOAD_CHARS else text[: _PAYLOAD_CHARS - 1] + "…"


# ---------------------------------------------------------------------------- handlers


def get_diagnostics(station: SimulatedStation, payload: Payload) -> Reply:
    """1.6 §5.9: answer the file name (there is always something to report), then upload."""
    maintenance = station.maintenance
    request = LogRequest(
        payload["location"],
        maintenance.file_name("DiagnosticsLog"),
        oldest=parse_time(payload.get("startTime")),
        latest=parse_time(payload.get("stopTime")),
        retries=max(payload.get("retries", 0), 0),
        retry_interval=payload.get("retryInterval"),
    )
    _replaced, run = maintenance.start_upload(request)
    return Reply({"fileName": request.file_name}, after=run)


def get_log(station: SimulatedStation, payload: Payload) -> Reply:
    """1.6 whitepaper / 2.x GetLog (N01.FR.01-02, N01.FR.11)."""
    maintenance = station.maintenance
    params = payload["log"]
    log_type = "SecurityLog" if payload["logType"] == "SecurityLog" else "DiagnosticsLog"
    request = LogRequest(
        params["remoteLocation"],
        maintenance.file_name(log_type),
        log_type,
        parse_time(params.get("oldestTimestamp")),
        parse_time(params.get("latestTimestamp")),
        max(payload.get("retries", 0), 0),
        payload.get("retryInterval"),
        payload["requestId"],
    )
    replaced, run = maintenance.start_upload(request)
    status = "AcceptedCanceled" if replaced else "Accepted"
    return Reply({"status": status, "filename": request.file_name}, after=run)


ROUTES_16: dict[str, HandlerFn] = firmware.ROUTES_16 | {
    "GetDiagnostics": get_diagnostics,
    "GetLog": get_log,
}
ROUTES_2: dict[str, HandlerFn] = firmware.ROUTES_2 | {"GetLog": get_log}
