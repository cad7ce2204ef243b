"""Firmware updates on a simulated station (owned by :class:`~.maintenance.Maintenance`).

Three flavours share one state machine:

* 1.6 UpdateFirmware (§5.19, §4.5): Downloading → Downloaded → Installing → reboot → Installed,
  or DownloadFailed / InstallationFailed; FirmwareStatusNotification without requestId.
* 1.6 security whitepaper SignedUpdateFirmware (L01) and 2.0.1/2.1 UpdateFirmware (L01):
  [DownloadScheduled] → Downloading → Downloaded → SignatureVerified (or InvalidSignature) →
  [InstallScheduled] → Installing → InstallRebooting → reboot → Installed; every notification
  carries the request's requestId (L01.FR.10/21); 1.6 sends SignedFirmwareStatusNotification.

Downloading really GETs the location (:mod:`.file_transfer`); the signature is checked over the
downloaded bytes with the signing certificate (L01.FR.04). "Installing" means: the image is not
empty (an empty file → InstallationFailed), the station takes the new version (derived from the
file name, or :attr:`Firmware.next_version`) and reboots with reason ``FirmwareUpdate``.

An update runs as a task of the station, not of the connection: like a real charger it goes on
while the CSMS is unreachable (its status reports are then lost, which the spec allows), and
it survives its own reboot. Installed follows the reboot, once the new BootNotification was
accepted (1.6 §5.19 figure 41, automatic reboot; 2.0.1 TC_L_01_CS steps 13-19: the
FirmwareUpdated security event first, then Installed).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from opencsms.errors import CallFailedError, NotSupportedError
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import file_transfer, pki
from opencsms.simulator.connection import AfterAnswer, HandlerFn, Payload, Reply

if TYPE_CHECKING:
    from opencsms.simulator.station import SimulatedStation

__all__ = [
    "ROUTES_2",
    "ROUTES_16",
    "Firmware",
    "FirmwareRequest",
    "Flavour",
    "parse_time",
    "send_status",
    "version_from_location",
]

log = logging.getLogger("opencsms.simulator")

# 1.6 §7.25 FirmwareStatus: the statuses a plain UpdateFirmware may report.
_PLAIN_STATUSES = frozenset(
    (
        "Downloaded",
        "DownloadFailed",
        "Downloading",
        "Idle",
        "InstallationFailed",
        "Installing",
        "Installed",
    )
)


class Flavour(enum.Enum):
    """Which request started an update; decides the messages and statuses used."""

    PLAIN_16 = "UpdateFirmware (1.6)"
    SIGNED_16 = "SignedUpdateFirmware (1.6 security whitepaper)"
    V2 = "UpdateFirmware (2.x)"


@dataclass(frozen=True, slots=True)
class FirmwareRequest:
    """What the CSMS asked for, version-independent."""

    flavour: Flavour
    location: str
    retrieve_at: datetime | None
    install_at: datetime | None = None
    retries: int = 0
    retry_interval: float | None = None
    request_id: int | None = None
    signing_certificate: str | None = None
    signature: str | None = None

    @classmethod
    def from_signed(cls, flavour: Flavour, payload: Payload) -> FirmwareRequest:
        """From a 1.6 SignedUpdateFirmware or 2.x UpdateFirmware payload (same shape)."""
        firmware = payload["firmware"]
        return cls(
            flavour,
            firmware["location"],
            parse_time(firmware["retrieveDateTime"]),
            parse_time(firmware.get("installDateTime")),
            max(payload.get("retries", 0), 0),
            payload.get("retryInterval"),
            payload["requestId"],
            firmware.get("signingCertificate"),
            firmware.get("signature"),
        )


@dataclass(slots=True)
class _Job:
    request: FirmwareRequest
    task: asyncio.Task[object] | None = None
    cancelled: bool = False
    installing: bool = False
    done: bool = False

    def cancel(self) -> None:
        self.cancelled = True
        if self.task is not None and not self.done:
            self.task.cancel()


def parse_time(text: str | None) -> datetime | None:
    """An OCPP dateTime as aware UTC; ``None`` for none or an unreadable one (then: now)."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


_DOTTED = re.compile(r"\d+(?:\.\d+)+(?:[-+][0-9A-Za-z.]+)?")
_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip", ".bin", ".img", ".swu", ".hex", ".fw")


def version_from_location(location: str) -> str:
    """The firmware version a file name announces: ``…/simcharger-2.3.1.bin`` → ``2.3.1``;
    without a dotted number, the file name without its extension (at most 50 characters, the
    size of BootNotification firmwareVersion)."""
    name = PurePosixPath(unquote(urlsplit(location).path)).name
    for suffix in _SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    match = _DOTTED.search(name)
    return (match.group(0) if match else name or "unknown")[:50]


async def send_status(station: SimulatedStation, action: str, payload: Payload) -> None:
    """Send a status notification now. Not queued: 1.6 §4.4/§4.5 and N01/L01 do not ask for
    queueing, and an old progress report is worth little; when offline or refused it is logged
    and the work goes on (the CSMS can ask again with TriggerMessage)."""
    try:
        await station.call(action, payload)
    except CallFailedError as exc:
        log.info("%s: %s %s not delivered: %s", station.config.id, action, payload, exc)


class Firmware:
    """Firmware update state of one station; see the module docstring."""

    def __init__(self, station: SimulatedStation, note: Callable[[str], None]) -> None:
        self.station = station
        self._note = note
        self.status: str | None = None
        """The last status reported (``None``: no update since power-up)."""
        self.request_id: int | None = None
        """requestId of the update that reported :attr:`status`."""
        self.signed_only = station.version is not OcppVersion.V16
        """Accept only signed firmware. 2.x default: yes (certification requires the signed
        variant, errata 2023-12 §6.1.27; TC_L_18_CS). 1.6 default: no — when set, plain
        UpdateFirmware gets CALLERROR NotSupported (whitepaper L01.FR.20)."""
        self.next_version: str | None = None
        """The version the next installed firmware reports; ``None``: from the file name."""
        self.default_retry_interval = 30.0
        """Seconds between download attempts when the request gives retries but no interval."""
        self.transfer_timeout = 60.0
        """Seconds a download may take."""
        self.image: bytes | None = None
        """The last installed firmware image."""
        self._job: _Job | None = None
        self._parked: list[int] = []

    @property
    def busy(self) -> bool:
        """Whether an update is running (from acceptance until Installed or a failure)."""
        return self._job is not None and not self._job.done

    # --------------------------------------------------------------------- requests

    def certificate_problem(self, request: FirmwareRequest) -> str | None:
        """L01.FR.23-24: why the signing certificate is unacceptable, or ``None``.

        Missing (when only signed firmware is accepted), unreadable, outside its validity, or
        not issued by an installed ManufacturerRootCertificate when there is one
        (L01.FR.12; a station without one trusts any valid certificate)."""
        if request.signing_certificate is None:
            return "no signing certificate" if self.signed_only else None
        try:
            cert = pki.load_chain(request.signing_certificate)[0]
        except ValueError as exc:
            return str(exc)
        if not pki.valid_at(cert, self.station.clock.now()):
            return "signing certificate not valid now"
        roots = self.station.certificates.roots("ManufacturerRootCertificate")
        if roots and not any(cert == root or pki.issued_by(cert, root) for root in roots):
            return "signing certificate not issued by an installed manufacturer root"
        return None

    def start(self, request: FirmwareRequest) -> tuple[str, AfterAnswer | None]:
        """Accept ``request``: (answer status, the update to run after answering).

        A running update is cancelled (``AcceptedCanceled``, L01.FR.26) unless it is already
        installing (``Rejected``, L01.FR.27)."""
        status = "Accepted"
        running = self._job
        if running is not None and not running.done:
            if running.installing:
                return "Rejected", None
            running.cancel()
            self._note(f"firmware update {running.request.request_id} cancelled")
            status = "AcceptedCanceled"
        job = _Job(request)
        self._job = job

        async def begin() -> None:  # after the answer: a task of the station (module doc)
            self.station.spawn_background(lambda: self._run(job))

        return status, begin

    def trigger(self, flavour: Flavour) -> AfterAnswer:
        """TriggerMessage / ExtendedTriggerMessage FirmwareStatusNotification.

        1.6 §4.5: Idle unless an UpdateFirmware is running, else its status. Signed/2.x
        (L01.FR.28-29): Idle (no requestId, L01.FR.21) when nothing was reported since
        power-up or the last status was Installed, else the last status and its requestId."""
        job = self._job
        if flavour is Flavour.PLAIN_16:
            plain = job is not None and job.request.flavour is Flavour.PLAIN_16
            current = self.status if self.busy and plain else None
            status, request_id = (current or "Idle"), None
        elif self.status is None or self.status == "Installed":
            status, request_id = "Idle", None
        else:
            status, request_id = self.status, self.request_id

        async def report() -> None:
            action, payload = self._message(flavour, status, request_id)
            await send_status(self.station, action, payload)

        return report

    # ----------------------------------------------------------------------- the update

    async def _run(self, job: _Job) -> None:
        if job.cancelled:
            return
        job.task = asyncio.current_task()
        try:
            await self._update(job)
        finally:
            job.done = True

    async def _update(self, job: _Job) -> None:
        request = job.request
        secure = request.flavour is not Flavour.PLAIN_16
        wait = self._seconds_until(request.retrieve_at)
        if wait > 0:
            if secure:
                await self._report(job, "DownloadScheduled")  # L01.FR.13
            await asyncio.sleep(wait)
        await self._report(job, "Downloading")
        image = await self._download(request)
        if image is None:
            await self._report(job, "DownloadFailed", final=True)
            return
        await self._report(job, "Downloaded")
        if secure and (self.signed_only or request.signature or request.signing_certificate):
            if not self._signature_valid(request, image):
                await self._report(job, "InvalidSignature", final=True)
                await self.station.certificates.security_event(  # L01.FR.03
                    "InvalidFirmwareSignature", request.location, send=True
                )
                return
            await self._report(job, "SignatureVerified")
        wait = self._seconds_until(request.install_at)
        if wait > 0:
            await self._report(job, "InstallScheduled")  # L01.FR.16
            await asyncio.sleep(wait)
        await self._park_connectors()
        job.installing = True
        await self._report(job, "Installing")
        if not image:
            self._note("firmware image is empty: nothing to install")
            await self._release_connectors(send=True)
            await self._report(job, "InstallationFailed", final=True)
            return
        if secure:
            await self._report(job, "InstallRebooting")  # L01.FR.15
        await self._install(job, image)

    async def _install(self, job: _Job, image: bytes) -> None:
        """Take the new version, reboot, and report Installed once booted again."""
        request = job.request
        version = self.next_version or version_from_location(request.location)
        self.image = image
        self.station.firmware_version = version  # what the next BootNotification reports
        self._note(f"firmware {version} installed ({len(image)} bytes), rebooting")
        await self._release_connectors(send=False)  # every status is reported after boot
        await self.station.reboot("FirmwareUpdate")
        # reboot() marks the station unbooted at once, so this waits for the new boot.
        await self.station.wait_for(lambda s: s.online_and_accepted, timeout=None)
        # TC_L_01_CS step 15 / whitepaper §8: FirmwareUpdated is a critical event. A plain 1.6
        # UpdateFirmware means a station without the security extension: it only logs it.
        secure = request.flavour is not Flavour.PLAIN_16
        event = await self.station.certificates.security_event(
            "FirmwareUpdated", version, send=secure
        )
        if event is not None:
            await event.delivered
        await self._report(job, "Installed", final=True)

    async def _download(self, request: FirmwareRequest) -> bytes | None:
        """GET the image, trying ``1 + retries`` times ``retryInterval`` apart (1.6 §6.55)."""
        interval = request.retry_interval
        pause = max(float(interval if interval is not None else self.default_retry_interval), 0)
        for attempt in range(request.retries + 1):
            try:
                return await file_transfer.download(request.location, self.transfer_timeout)
            except file_transfer.UnsupportedProtocolError as exc:
                self._note(f"firmware download impossible: {exc}")
                return None  # another attempt cannot help
            except file_transfer.TransferError as exc:
                self._note(f"firmware download attempt {attempt + 1} failed: {exc}")
            if attempt < request.retries:
                await asyncio.sleep(pause)
        return None

    def _signature_valid(self, request: FirmwareRequest, image: bytes) -> bool:
        if request.signing_certificate is None or request.signature is None:
            self._note("firmware signature or signing certificate missing")
            return False
        try:
            cert = pki.load_chain(request.signing_certificate)[0]
        except ValueError:
            return False
        valid = pki.verify_file_signature(cert, image, request.signature)
        if not valid:
            self._note("firmware signature does not match the image")
        return valid

    async def _park_connectors(self) -> None:
        """L01.FR.06-07: wait for running transactions; meanwhile the free connectors are
        Unavailable (and every connector is, once all transactions ended)."""
        sessions = self.station.sessions
        evses = range(1, self.station.evse_count + 1)
        if all(sessions.transaction_id(evse) is None for evse in evses):
            return
        self._note("firmware: waiting for transactions to end")
        free = [e for e in evses if sessions.transaction_id(e) is None]
        for evse in free:
            self.station.set_operative(evse, False)
        self._parked = list(free)
        await self.station.send_statuses(free)
        await self.station.wait_for(
            lambda s: all(sessions.transaction_id(e) is None for e in evses), timeout=None
        )
        rest = [e for e in evses if e not in self._parked]
        for evse in rest:
            self.station.set_operative(evse, False)
        self._parked.extend(rest)
        await self.station.send_statuses(rest)

    async def _release_connectors(self, *, send: bool) -> None:
        parked, self._parked = self._parked, []
        for evse in parked:
            self.station.set_operative(evse, True)
        if send and parked:
            await self.station.send_statuses(parked)

    # ---------------------------------------------------------------------- messages

    async def _report(self, job: _Job, status: str, *, final: bool = False) -> None:
        """Send a firmware status; ``final`` (a failure) ends the update first, so a trigger
        arriving meanwhile sees it finished."""
        request = job.request
        job.done = job.done or final
        self.status, self.request_id = status, request.request_id
        suffix = f" (request {request.request_id})" if request.request_id is not None else ""
        self._note(f"firmware {status}{suffix}")
        await self.station.notify_changed()
        action, payload = self._message(request.flavour, status, request.request_id)
        await send_status(self.station, action, payload)

    @staticmethod
    def _message(flavour: Flavour, status: str, request_id: int | None) -> tuple[str, Payload]:
        if flavour is Flavour.PLAIN_16:
            assert status in _PLAIN_STATUSES
            return "FirmwareStatusNotification", {"status": status}
        payload: Payload = {"status": status}
        if request_id is not None:
            payload["requestId"] = request_id
        action = (
            "SignedFirmwareStatusNotification"
            if flavour is Flavour.SIGNED_16
            else "FirmwareStatusNotification"
        )
        return action, payload

    def _seconds_until(self, moment: datetime | None) -> float:
        if moment is None:
            return 0.0
        return (moment - self.station.clock.now()).total_seconds()


# ---------------------------------------------------------------------------- handlers


def update_firmware_16(station: SimulatedStation, payload: Payload) -> Reply:
    """1.6 §5.19 UpdateFirmware: empty answer, then the update; CALLERROR NotSupported when
    the station takes signed firmware only (whitepaper L01.FR.20)."""
    firmware = station.maintenance.firmware
    if firmware.signed_only:
        return Reply(error=NotSupportedError("use SignedUpdateFirmware (L01.FR.20)"))
    request = FirmwareRequest(
        Flavour.PLAIN_16,
        payload["location"],
        parse_time(payload["retrieveDate"]),
        retries=max(payload.get("retries", 0), 0),
        retry_interval=payload.get("retryInterval"),
    )
    _status, run = firmware.start(request)
    return Reply({}, after=run)


def signed_update_firmware(station: SimulatedStation, payload: Payload) -> Reply:
    """1.6 whitepaper SignedUpdateFirmware and 2.x UpdateFirmware (L01): the signing
    certificate is checked first (InvalidCertificate and an InvalidFirmwareSigningCertificate
    security event, L01.FR.02/24), then the update runs after the answer."""
    flavour = Flavour.SIGNED_16 if station.version is OcppVersion.V16 else Flavour.V2
    request = FirmwareRequest.from_signed(flavour, payload)
    firmware = station.maintenance.firmware
    problem = firmware.certificate_problem(request)
    if problem is not None:
        log.info("%s: firmware signing certificate refused: %s", station.config.id, problem)

        async def report() -> None:
            await station.certificates.security_event(
                "InvalidFirmwareSigningCertificate", problem, send=True
            )

        return Reply({"status": "InvalidCertificate"}, after=report)
    status, run = firmware.start(request)
    return Reply({"status": status}, after=run)


ROUTES_16: dict[str, HandlerFn] = {
    "SignedUpdateFirmware": signed_update_firmware,
    "UpdateFirmware": update_firmware_16,
}
ROUTES_2: dict[str, HandlerFn] = {"UpdateFirmware": signed_update_firmware}
