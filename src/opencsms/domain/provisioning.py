"""Registration and boot decisions (1.6 §4.2 / §5 BootNotification, 2.0.1 blocks B01-B03).

The station's registration status is an operator decision stored with the station. A
BootNotification is answered with that status; while it is not Accepted the station may only send
what the specification allows, and anything else is answered with a CALLERROR SecurityError
(B02.FR.09, B03.FR.07).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from opencsms.clock import Clock
from opencsms.domain.model import BootInfo, RegistrationStatus, Station
from opencsms.errors import SecurityError
from opencsms.storage.store import Storage

if TYPE_CHECKING:
    from opencsms.domain.stations import StationAccess

# Messages a station sends *because the CSMS asked* while Pending: the CSMS grants the permit when
# the station accepts the request (TriggerMessage → the requested message; GetBaseReport/GetReport →
# NotifyReport; 1.6 §4.2: "unless it has been instructed by the Central System to do so with a
# TriggerMessage.req").
ALWAYS_ALLOWED = frozenset({"BootNotification"})


@dataclass(frozen=True, slots=True)
class BootDecision:
    """The answer to a BootNotification."""

    status: RegistrationStatus
    interval: int
    current_time: datetime


class ProvisioningService:
    """Decides BootNotification answers and what a not-yet-accepted station may send."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        *,
        boot_retry_interval: int,
        access: Callable[[str], Awaitable[StationAccess | None]] | None = None,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._boot_retry_interval = boot_retry_interval
        # StationAdmin.access: registration and interval from memory, so a boot storm does not
        # queue a database read per station behind the single SQLite reader.
        self._access = access

    async def boot(self, station_id: str, info: BootInfo, ocpp_version: str) -> BootDecision:
        """Record the boot data, then answer with the station's registration status.

        B01.FR.01/1.6 §4.2: Accepted carries the heartbeat interval; Pending and Rejected carry the
        interval after which the station should retry its BootNotification.
        """
        now = self._clock.now()
        if self._access is not None:
            station: StationAccess | Station | None = await self._access(station_id)
        else:
            station = await self._storage.stations.get(station_id)
        if station is None:  # deleted while connected: refuse rather than resurrect it
            return BootDecision(RegistrationStatus.REJECTED, self._boot_retry_interval, now)
        await self._storage.stations.record_boot(station_id, info, now, ocpp_version)
        status = station.registration
        interval = (
            station.heartbeat_interval
            if status is RegistrationStatus.ACCEPTED
            else self._boot_retry_interval
        )
        return BootDecision(status, interval, now)


def check_allowed(registration: str, permits: set[str], action: str) -> None:
    """Raise :class:`SecurityError` when a station that is not Accepted may not send ``action``.

    Pending: BootNotification and whatever the CSMS asked for (B02.FR.09, 1.6 §4.2).
    Rejected: BootNotification only (B03.FR.07).
    """
    if registration == RegistrationStatus.ACCEPTED or action in ALWAYS_ALLOWED:
        return
    if registration == RegistrationStatus.PENDING and action in permits:
        return
    raise SecurityError(f"{action} is not allowed while the registration status is {registration}")


_ANSWERED_BY: dict[str, tuple[str, ...]] = {
    # request the CSMS sends → what the station answers it with, in later CALLs
    "GetBaseReport": ("NotifyReport",),  # B07
    "GetReport": ("NotifyReport",),  # B08
    "GetMonitoringReport": ("NotifyMonitoringReport",),  # N02
    "GetDisplayMessages": ("NotifyDisplayMessages",),  # O04
    "CustomerInformation": ("NotifyCustomerInformation",),  # N09
    "GetLog": ("LogStatusNotification",),  # N01, 1.6 security §5.4
    "UpdateFirmware": ("FirmwareStatusNotification",),  # L01, 1.6 §5.19
    "SignedUpdateFirmware": ("SignedFirmwareStatusNotification",),  # 1.6 security §5.7
    "GetDiagnostics": ("DiagnosticsStatusNotification",),  # 1.6 §5.9
}
_ACCEPTED = ("Accepted", "AcceptedCanceled")


def permits_granted(
    action: str, request: dict[str, object], response: dict[str, object]
) -> set[str]:
    """Actions a Pending station may now send because the CSMS asked for them (B02.FR.09).

    TriggerMessage (1.6 §5.17, 2.0.1 F06) permits the requested message once the station accepted;
    a request answered by later CALLs (GetBaseReport → NotifyReport, GetLog →
    LogStatusNotification, ...) permits those once the station accepted it. The 1.6 answers to
    UpdateFirmware and GetDiagnostics carry no status: any answer accepts them.
    """
    if action in ("TriggerMessage", "ExtendedTriggerMessage"):
        if response.get("status") != "Accepted":
            return set()
        requested = request.get("requestedMessage")
        return {requested} if isinstance(requested, str) else set()
    answered_by = _ANSWERED_BY.get(action)
    if answered_by is None:
        return set()
    status = response.get("status")
    if status is None or status in _ACCEPTED:
        return set(answered_by)
    return set()
