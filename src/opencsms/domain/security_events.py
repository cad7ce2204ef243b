"""Security events the stations report (SecurityEventNotification: OCPP 1.6 security whitepaper
§4 "Security Events", OCPP 2.0.1 A04): the record, and which event types are critical
(2.0.1 part 2 appendix 1 "Security Events"; 1.6 whitepaper §4, which marks fewer critical).

Critical events are the ones a station SHALL push to the CSMS (A04.FR.02); the others it may
only keep in its security log. The CSMS stores every event it receives, critical or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opencsms.domain.fleet_events import FleetEvents
    from opencsms.storage.store import Storage

__all__ = [
    "CRITICAL_SECURITY_EVENTS",
    "CRITICAL_SECURITY_EVENTS_16",
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


class SecurityEventService:
    """Stores the security events stations report and lists them (one instance per node)."""

    def __init__(self, storage: Storage, events: FleetEvents | None = None) -> None:
        self._storage = storage
        self._events = events

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
        event = SecurityEvent(
            station_id=station_id,
            type=event_type,
            timestamp=timestamp,
            tech_info=tech_info,
            critical=is_critical(event_type, ocpp16=ocpp16),
            received_at=received_at,
        )
        await self._storage.security_events.add(event)
        if self._events is not None:
            # imported here: fleet_events imports this module for SecurityEvent
            from opencsms.domain.fleet_events import SecurityEventStored

            self._events.publish(SecurityEventStored(event))
        return event

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
