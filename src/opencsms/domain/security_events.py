"""Security events the stations report (SecurityEventNotification: OCPP 1.6 security whitepaper
§4 "Security Events", OCPP 2.0.1 A04): the record, and which event types are critical
(2.0.1 part 2 appendix 1 "Security Events"; 1.6 whitepaper §4, which marks fewer critical).

Critical events are the ones a station SHALL push to the CSMS (A04.FR.02); the others it may
only keep in its security log. The CSMS stores every event it receives, critical or not.

The CSMS also logs its own (1.6 whitepaper A00.FR.323 "When the Central System terminates the
connection because of a security reason ... log a security event in the Central System",
A00.FR.408 for a refused client certificate): :meth:`SecurityEventService.csms_event`, stored in
the same table with ``tech_info`` starting with :data:`CSMS_MARKER` (:attr:`SecurityEvent.source`
is then ``"csms"``). A station's techInfo that starts with the marker is stored with
:data:`STATION_MARKER` in front, so a station cannot pass its events off as the CSMS's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from opencsms.clock import Clock, SystemClock

if TYPE_CHECKING:
    from opencsms.domain.fleet_events import FleetEvents
    from opencsms.storage.store import Storage

__all__ = [
    "CRITICAL_SECURITY_EVENTS",
    "CRITICAL_SECURITY_EVENTS_16",
    "CSMS_MARKER",
    "SecurityEvent",
    "SecurityEventService",
    "is_critical",
]

CRITICAL_SECURITY_EVENTS_16 = frozenset(
    {
        "FirmwareUpdated",
        "SettingSystemTime",
        "StartupOfTheDevice",
        "ResetOrReboot",
        "SecurityLogWasCleared",
        "MemoryExhaustion",
        "TamperDetectionActivated",
    }
)
"""The types the 1.6 security whitepaper edition 2 (§4 "Security events") marks Critical "Yes";
its certificate and TLS events (InvalidCentralSystemCertificate,
InvalidChargePointCertificate, InvalidTLSVersion, InvalidTLSCipherSuite) are "No"."""

CRITICAL_SECURITY_EVENTS = CRITICAL_SECURITY_EVENTS_16 | {
    "InvalidCsmsCertificate",
    "InvalidChargingStationCertificate",
    "InvalidTLSVersion",
    "InvalidTLSCipherSuite",
    "MaintenanceLoginAccepted",
    "MaintenanceLoginFailed",
}
"""The types 2.0.1 part 2 appendix 1 marks Critical "Yes". Not critical there:
FailedToAuthenticateAtCsms, CsmsFailedToAuthenticate, ReconfigurationOfSecurityParameters,
InvalidMessages, AttemptedReplayAttacks, InvalidFirmwareSignature,
InvalidFirmwareSigningCertificate; a proprietary type is not critical either."""


CSMS_MARKER = "[CSMS] "
"""Prefix of the ``tech_info`` of an event the CSMS logged itself (no schema change needed)."""
STATION_MARKER = "[station] "

FAILED_TO_AUTHENTICATE = "FailedToAuthenticateAtCsms"
"""2.0.1 appendix 1: "The authentication credentials provided by the Charging Station were
rejected by the CSMS" (Basic auth, A00.FR.202-204; wrong listener, A00.FR.002)."""
INVALID_STATION_CERTIFICATE = "InvalidChargingStationCertificate"
"""A client certificate that does not belong to the station (CN / O, A00.FR.404/405/408); the
1.6 whitepaper names it InvalidChargePointCertificate."""


def is_critical(event_type: str, *, ocpp16: bool = False) -> bool:
    """Whether the station's standard marks ``event_type`` critical (spelled as the standard
    spells it): the 1.6 whitepaper's list for a 1.6 station, else 2.0.1's."""
    return event_type in (CRITICAL_SECURITY_EVENTS_16 if ocpp16 else CRITICAL_SECURITY_EVENTS)


@dataclass(frozen=True, slots=True)
class SecurityEvent:
    """One SecurityEventNotification as stored: unique per (station, timestamp, type), so a
    resent notification is stored once (ARCHITECTURE rule 7)."""

    station_id: str
    type: str
    timestamp: datetime
    """When it happened, by the station's clock."""
    tech_info: str | None
    critical: bool
    received_at: datetime

    @property
    def source(self) -> Literal["station", "csms"]:
        """Who logged it: the station (SecurityEventNotification) or the CSMS itself."""
        if self.tech_info is not None and self.tech_info.startswith(CSMS_MARKER):
            return "csms"
        return "station"


class SecurityEventService:
    """Stores the security events stations report and lists them (one instance per node)."""

    def __init__(
        self, storage: Storage, events: FleetEvents | None = None, *, clock: Clock | None = None
    ) -> None:
        self._storage = storage
        self._events = events
        self._clock = clock or SystemClock()

    async def csms_event(self, station_id: str, event_type: str, reason: str) -> SecurityEvent:
        """Log an event of the CSMS's own: it refused or terminated a connection of
        ``station_id`` for a security ``reason`` (A00.FR.323 / A00.FR.408)."""
        now = self._clock.now()
        event = SecurityEvent(
            station_id=station_id,
            type=event_type,
            timestamp=now,
            tech_info=(CSMS_MARKER + reason)[:1000],
            critical=is_critical(event_type),
            received_at=now,
        )
        await self._store(event)
        return event

    async def received(
        self,
        station_id: str,
        event_type: str,
        timestamp: datetime,
        tech_info: str | None,
        received_at: datetime,
        *,
        ocpp16: bool,
    ) -> SecurityEvent:
        """Store a SecurityEventNotification durably, before it is answered (ARCHITECTURE
        rule 7); a resent one (same station, timestamp and type) is stored once."""
        if tech_info is not None and tech_info.startswith(CSMS_MARKER):
            tech_info = STATION_MARKER + tech_info
        event = SecurityEvent(
            station_id=station_id,
            type=event_type,
            timestamp=timestamp,
            tech_info=tech_info,
            critical=is_critical(event_type, ocpp16=ocpp16),
            received_at=received_at,
        )
        await self._store(event)
        return event

    async def _store(self, event: SecurityEvent) -> None:
        await self._storage.security_events.add(event)
        if self._events is not None:
            # imported here: fleet_events imports this module for SecurityEvent
            from opencsms.domain.fleet_events import SecurityEventStored

            self._events.publish(SecurityEventStored(event))

    async def list(
        self,
        *,
        station_id: str | None = None,
        critical: bool | None = None,
        after: tuple[datetime, str, str] | None = None,
        limit: int = 100,
    ) -> list[SecurityEvent]:
        """Newest station timestamp first; ``after`` is the (timestamp, station id, type) of
        the last event of the previous page."""
        return await self._storage.security_events.list(
            station_id=station_id, critical=critical, after=after, limit=limit
        )
