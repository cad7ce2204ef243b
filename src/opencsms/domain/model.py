"""Domain record types shared by the services and the store.

These are plain frozen, slotted dataclasses: they carry no OCPP payloads and no behaviour beyond
construction, so the storage layer can take and return them without knowing any protocol version
(ARCHITECTURE.md, "domain code never imports an OCPP version package").

Every ``datetime`` in these records is timezone-aware UTC. The store rejects naive datetimes rather
than guessing their zone (ARCHITECTURE.md rule 4).

Connector addressing convention (used by :class:`ConnectorStatus` and :class:`MeterValueRecord`):

* OCPP 2.0.1 / 2.1 — ``evse_id`` / ``connector_id`` are stored exactly as the station sent them
  (StatusNotificationRequest.evseId / connectorId, 2.0.1 Part 2 §1.47).
* OCPP 1.6 — a ``connectorId`` *c* > 0 is stored as EVSE *c*, connector 1; ``connectorId`` 0, which
  1.6 §4.9 defines as "the Charge Point main controller", is stored as EVSE 0, connector 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal

from opencsms.value_class import value_class

__all__ = [
    "BootInfo",
    "ConnectorStatus",
    "DeviationRecord",
    "FrameDirection",
    "FrameRecord",
    "MeterValueRecord",
    "RegistrationStatus",
    "Station",
    "StationEvent",
    "Strictness",
    "TransactionEventRecord",
]

FrameDirection = Literal["in", "out"]
"""Direction of an audited OCPP-J frame, seen from the CSMS."""


class RegistrationStatus(StrEnum):
    """Registration status of a station (1.6 §7.7 RegistrationStatus, 2.0.1 B01/B02/B03)."""

    ACCEPTED = "Accepted"
    PENDING = "Pending"
    REJECTED = "Rejected"


class Strictness(StrEnum):
    """How the CSMS treats a station's schema deviations.

    ``strict`` answers a malformed message with a CALLERROR; ``tolerant`` accepts what it can and
    records the finding as a :class:`DeviationRecord`.
    """

    STRICT = "strict"
    TOLERANT = "tolerant"


@dataclass(frozen=True, slots=True)
class BootInfo:
    """What a station reports about itself in BootNotification (1.6 §6.2, 2.0.1 B01)."""

    vendor: str
    model: str
    serial_number: str | None = None
    charge_box_serial_number: str | None = None
    firmware_version: str | None = None
    iccid: str | None = None
    imsi: str | None = None
    meter_type: str | None = None
    meter_serial_number: str | None = None
    reason: str | None = None
    """2.0.1 BootReasonEnumType; 1.6 has no boot reason."""


@dataclass(frozen=True, slots=True)
class Station:
    """A provisioned charging station and what the CSMS last learned about it.

    ``created_at`` and ``updated_at`` are keyword-only and required: the caller supplies them from
    its injected clock (ARCHITECTURE.md rule 3).
    """

    id: str
    password_hash: str | None
    registration: RegistrationStatus
    strictness: Strictness
    heartbeat_interval: int
    """Seconds; sent in BootNotification.conf / BootNotificationResponse ``interval``."""
    ocpp_version: str | None = None
    boot: BootInfo | None = None
    booted_at: datetime | None = None
    last_connected_at: datetime | None = None
    last_disconnected_at: datetime | None = None
    last_seen_at: datetime | None = None
    created_at: datetime = field(kw_only=True)
    updated_at: datetime = field(kw_only=True)


@dataclass(frozen=True, slots=True)
class ConnectorStatus:
    """One status report of one connector (1.6 §4.9, 2.0.1 G01).

    ``reported_at`` is the station's own timestamp (optional in 1.6), ``received_at`` the CSMS clock
    when the report arrived. See the module docstring for the EVSE/connector convention.
    """

    station_id: str
    evse_id: int
    connector_id: int
    status: str
    error_code: str | None = None
    info: str | None = None
    vendor_id: str | None = None
    vendor_error_code: str | None = None
    reported_at: datetime | None = None
    received_at: datetime = field(kw_only=True)


@dataclass(frozen=True, slots=True)
class FrameRecord:
    """One OCPP-J frame in or out, as sent on the wire (the audit log).

    ``message_type`` is the OCPP-J MessageTypeId (2 CALL, 3 CALLRESULT, 4 CALLERROR, 5
    CALLRESULTERROR, 6 SEND); ``action`` is known for CALL/SEND and for replies matched to a CALL.
    ``id`` is assigned by the store and is ``None`` on records not read back from it.
    """

    station_id: str
    at: datetime
    direction: FrameDirection
    message_type: int
    action: str | None
    message_id: str
    payload: str
    id: int | None = None


@value_class
class MeterValueRecord:
    """One ``meterValue`` element (1.6 §7.30 MeterValue, 2.0.1 MeterValueType).

    ``transaction_id`` is text for every version (1.6 integer ids are stored as their decimal
    string) and ``None`` outside a transaction. ``samples_json`` is the JSON text of the
    ``sampledValue`` list exactly as received.
    """

    station_id: str
    evse_id: int
    connector_id: int
    transaction_id: str | None
    timestamp: datetime
    samples_json: str
    context: str | None
    received_at: datetime
    _outlet: tuple[float | None, float | None] | None = field(
        default=None, compare=False, repr=False
    )
    """(W, Wh) at the outlet (``metering.outlet_power_energy``), worked out from the parsed frame
    on a record made from one; ``None`` on a record read back. The live views read it instead of
    parsing ``samples_json`` again. Two numbers, not the parsed samples: a record holding those
    measured 5 % slower at 1,000 stations (the event feed's replay buffer keeps the last 1,000
    events, so ten more dicts per message stayed alive, and were freed cold, later). The
    leading underscore keeps it off the cluster bus (orjson skips such fields)."""


@dataclass(frozen=True, slots=True)
class StationEvent:
    """One EventData element of a 2.0.1 NotifyEventRequest (N07, Part 2 §2.25 EventDataType)."""

    station_id: str
    event_id: int
    timestamp: datetime
    trigger: str
    event_type: str
    component_json: str
    variable_json: str
    actual_value: str
    tech_code: str | None = None
    tech_info: str | None = None
    cleared: bool | None = None
    transaction_id: str | None = None
    variable_monitoring_id: int | None = None
    received_at: datetime = field(kw_only=True)


@dataclass(frozen=True, slots=True)
class TransactionEventRecord:
    """A 2.0.1 TransactionEventRequest (E01-E15), kept raw with its identifying fields indexed.

    ``(station_id, transaction_id, seq_no)`` identifies the message: E01.FR.16 says ``seqNo`` is
    incremented per message of a transaction, so a resend carries the same triple.
    """

    station_id: str
    transaction_id: str
    seq_no: int
    event_type: str
    trigger_reason: str
    timestamp: datetime
    offline: bool
    payload_json: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class DeviationRecord:
    """An aggregated tolerant-mode finding: how often a station deviated from a schema, and how."""

    station_id: str
    action: str
    kind: str
    path: str
    detail: str
    first_seen: datetime
    last_seen: datetime
    count: int
