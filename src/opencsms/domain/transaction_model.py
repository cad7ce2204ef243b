"""Transaction records and the pure rules that build them from what stations report.

A :class:`Transaction` is the CSMS's view of one charging session, whichever version reported it:

* 1.6 (§4.8, §4.10): the CSMS allocates ``id`` at StartTransaction and it *is* the station's
  ``transactionId``; StopTransaction closes the record.
* 2.0.1 (E01-E15): the station chooses ``transaction_id``; the record is a fold of the
  TransactionEvent messages **in seqNo order** (E01.FR.16: seqNo orders a transaction's messages),
  computed by :func:`apply_event` whatever order they arrive in: offline queues replay late
  (``offline = true``) and a lost answer makes a station resend.

``id`` is the CSMS's own number for every record (the API's ``/transactions/{id}``); for 1.6 it
equals the transactionId the station uses.

Statuses: ``Active`` (open), ``Completed`` (stopped: by the station, or — ``stop_source = "csms"`` —
closed by the CSMS because the station's later reports prove it over; a real stop that arrives
afterwards replaces the inferred one), ``Orphaned`` (a 1.6 StopTransaction for a transaction id the
CSMS never issued, or -1: accepted and kept for the operator instead of being refused).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from operator import attrgetter

__all__ = [
    "STOP_TRIGGERS",
    "StopSource",
    "Transaction",
    "TransactionStatus",
    "TxEvent",
    "apply_event",
    "origin_key_16_start",
    "origin_key_16_stop",
    "origin_key_201",
]


class TransactionStatus(StrEnum):
    ACTIVE = "Active"
    COMPLETED = "Completed"
    ORPHANED = "Orphaned"


class StopSource(StrEnum):
    STATION = "station"
    """The station reported the stop (1.6 StopTransaction, 2.0.1 eventType Ended)."""
    CSMS = "csms"
    """The CSMS inferred it (reboot, a new session on the connector, GetTransactionStatus)."""


STOP_TRIGGERS = frozenset({"StopAuthorized", "Deauthorized", "RemoteStop"})
"""2.0.1 trigger reasons whose idToken is the one that stops, not the one that starts."""


@dataclass(frozen=True, slots=True)
class Transaction:
    """One charging session. Meter values are in Wh; times are aware UTC.

    ``origin_key`` identifies the message that created the record, so the same message delivered
    twice finds the record instead of creating another (ARCHITECTURE rule 7): see the
    ``origin_key_*`` functions. ``*_seq`` fields remember which seqNo set a field, so a late event
    only changes what it is the latest (or earliest) word on.
    """

    id: int
    station_id: str
    ocpp_version: str
    transaction_id: str
    origin_key: str
    status: TransactionStatus = TransactionStatus.ACTIVE
    evse_id: int | None = None
    connector_id: int | None = None
    id_token: str | None = None
    id_token_type: str | None = None
    token_key: str | None = None
    group_id: str | None = None
    auth_status: str | None = None
    stop_id_token: str | None = None
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    stop_reason: str | None = None
    stop_source: StopSource | None = None
    meter_start_wh: float | None = None
    meter_stop_wh: float | None = None
    energy_wh: float | None = None
    charging_state: str | None = None
    trigger_reason: str | None = None
    remote_start_id: int | None = None
    reservation_id: int | None = None
    first_seq_no: int | None = None
    last_seq_no: int | None = None
    token_seq_no: int | None = None
    state_seq_no: int | None = None
    offline: bool = False
    created_at: datetime = field(kw_only=True)
    updated_at: datetime = field(kw_only=True)

    @property
    def open(self) -> bool:
        return self.status is TransactionStatus.ACTIVE


_TX_FIELDS = tuple(f.name for f in fields(Transaction))
_tx_values = attrgetter(*_TX_FIELDS)
_set_slot = object.__setattr__


def evolve(current: Transaction, changes: Mapping[str, object]) -> Transaction:
    """``dataclasses.replace(current, **changes)`` at half the cost (every TransactionEvent makes
    one): the fields are read in one C call and set directly, without ``replace``'s per-field
    checks and the frozen ``__init__``. Transaction has no ``__post_init__`` to skip."""
    new = object.__new__(Transaction)
    for name, value in zip(_TX_FIELDS, _tx_values(current), strict=True):
        _set_slot(new, name, value)
    for name, value in changes.items():
        _set_slot(new, name, value)  # an unknown name fails here: there is no slot for it
    return new


@dataclass(frozen=True, slots=True)
class TxEvent:
    """The facts of one 2.0.1 TransactionEventRequest the transaction record is built from."""

    transaction_id: str
    seq_no: int
    event_type: str
    """Started | Updated | Ended"""
    trigger_reason: str
    timestamp: datetime
    offline: bool = False
    evse_id: int | None = None
    connector_id: int | None = None
    id_token: str | None = None
    id_token_type: str | None = None
    charging_state: str | None = None
    stopped_reason: str | None = None
    remote_start_id: int | None = None
    reservation_id: int | None = None

    @property
    def stops(self) -> bool:
        """Whether this event's idToken is the one stopping the session (C16, E06)."""
        return (
            self.event_type == "Ended"
            or self.trigger_reason in STOP_TRIGGERS
            or self.stopped_reason == "MasterPass"
        )


def origin_key_16_start(
    connector_id: int, id_tag: str, timestamp: datetime, meter_start: int
) -> str:
    """A 1.6 StartTransaction is identified by what it says: a resend after a lost answer
    carries the same connector, idTag, timestamp and meterStart, and gets the same id."""
    return f"start16|{connector_id}|{id_tag.lower()}|{timestamp.isoformat()}|{meter_start}"


def origin_key_16_stop(transaction_id: int, timestamp: datetime, meter_stop: int) -> str:
    """An orphaned 1.6 StopTransaction (unknown id, or -1) is identified by what it says."""
    return f"stop16|{transaction_id}|{timestamp.isoformat()}|{meter_stop}"


def origin_key_201(transaction_id: str) -> str:
    """2.0.1: the station's transactionId is unique per station (E01.FR.01)."""
    return f"tx|{transaction_id}"


def apply_event(
    current: Transaction,
    event: TxEvent,
    *,
    auth_status: str | None,
    group_id: str | None,
    now: datetime,
) -> Transaction:
    """Fold ``event`` into ``current`` as if every event had arrived in seqNo order.

    ``auth_status``/``group_id`` are the authorization decision on the event's idToken, if any.
    Applying the same event twice gives the same record (a resend changes nothing).
    """
    seq = event.seq_no
    changes: dict[str, object] = {"updated_at": now}
    if event.offline:
        changes["offline"] = True
    first = current.first_seq_no
    if first is None or seq <= first:
        # The Started event carries the lowest seqNo; until it arrives, the earliest known event
        # stands in for it.
        changes["first_seq_no"] = seq
        changes["started_at"] = event.timestamp
    last = current.last_seq_no
    if last is None or seq >= last:
        changes["last_seq_no"] = seq
        changes["trigger_reason"] = event.trigger_reason
    if event.evse_id is not None and current.evse_id is None:
        changes["evse_id"] = event.evse_id
    if event.connector_id is not None and current.connector_id is None:
        changes["connector_id"] = event.connector_id
    if event.charging_state is not None and (
        current.state_seq_no is None or seq >= current.state_seq_no
    ):
        changes["charging_state"] = event.charging_state
        changes["state_seq_no"] = seq
    if event.remote_start_id is not None and current.remote_start_id is None:
        changes["remote_start_id"] = event.remote_start_id
    if event.reservation_id is not None and current.reservation_id is None:
        changes["reservation_id"] = event.reservation_id
    if event.id_token is not None:
        if event.stops:
            changes["stop_id_token"] = event.id_token
        elif current.token_seq_no is None or seq <= current.token_seq_no:
            changes.update(
                id_token=event.id_token,
                id_token_type=event.id_token_type,
                token_key=event.id_token.lower(),
                token_seq_no=seq,
                auth_status=auth_status,
                group_id=group_id,
            )
    if event.event_type == "Ended" and (
        current.status is TransactionStatus.ACTIVE or current.stop_source is StopSource.CSMS
    ):
        changes.update(
            status=TransactionStatus.COMPLETED,
            stopped_at=event.timestamp,
            # TransactionType.stoppedReason "MAY only be omitted when Reason is Local"
            stop_reason=event.stopped_reason or "Local",
            stop_source=StopSource.STATION,
        )
    return evolve(current, changes)
