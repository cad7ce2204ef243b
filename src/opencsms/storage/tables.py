"""The schema, as SQLAlchemy Core tables.

This module is the reference the repositories query against; the migrations in
``storage/migrations/versions`` create the same schema (a test compares the two).

Conventions (see also ``docs/storage.md``):

* Timestamps are :class:`~.types.UtcDateTime` (``timestamptz`` on PostgreSQL, ISO text on SQLite).
* ``connector_status`` addresses a connector as (evse_id, connector_id): 2.0.1 values as sent; a
  1.6 ``connectorId`` c > 0 is EVSE c connector 1, and 1.6 ``connectorId`` 0 is EVSE 0 connector 0.
* ``meter_values.transaction_id`` is ``''`` (never NULL) outside a transaction, because NULL is
  distinct from NULL in a unique index and would let a resent sample in twice (ARCHITECTURE rule 7).
* JSON is stored as text, exactly as received, so both backends hold byte-identical payloads.
* Values a station chooses (vendor strings, status names, ids) are unbounded ``Text``: in tolerant
  mode an over-long field must still be stored, and PostgreSQL would reject a VARCHAR overflow.
* No foreign keys between the station tables: status, audit and telemetry rows are written by the
  group-commit writer in batches whose statements must not depend on each other, and audit rows are
  kept for stations that were never provisioned (rejected connection attempts).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from .types import UtcDateTime

__all__ = [
    "commands",
    "connector_status",
    "id_tokens",
    "local_lists",
    "message_log",
    "metadata",
    "meter_values",
    "reservations",
    "station_deviations",
    "station_events",
    "stations",
    "status_history",
    "transaction_events",
    "transactions",
]

STATION_ID_LENGTH = 48
"""OCPP 2.0.1 Part 4 §3.1.1 and 1.6 chargeBoxIdentity: identity strings of at most 48 chars."""

# Constraint and index names are spelled out (PostgreSQL truncates names past 63 bytes, and the
# migrations must name them identically).
metadata = MetaData(naming_convention={"pk": "pk_%(table_name)s"})

_ID = String(STATION_ID_LENGTH)
# SQLite only makes an INTEGER PRIMARY KEY the rowid alias; BIGINT would be a second index.
_BIGID = BigInteger().with_variant(Integer(), "sqlite")

stations = Table(
    "stations",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("password_hash", Text, nullable=True),
    Column("registration", String(16), nullable=False),
    Column("strictness", String(16), nullable=False),
    Column("heartbeat_interval", Integer, nullable=False),
    Column("ocpp_version", String(16), nullable=True),
    Column("vendor", Text, nullable=True),
    Column("model", Text, nullable=True),
    Column("serial_number", Text, nullable=True),
    Column("charge_box_serial_number", Text, nullable=True),
    Column("firmware_version", Text, nullable=True),
    Column("iccid", Text, nullable=True),
    Column("imsi", Text, nullable=True),
    Column("meter_type", Text, nullable=True),
    Column("meter_serial_number", Text, nullable=True),
    Column("boot_reason", Text, nullable=True),
    Column("booted_at", UtcDateTime, nullable=True),
    Column("last_connected_at", UtcDateTime, nullable=True),
    Column("last_disconnected_at", UtcDateTime, nullable=True),
    Column("last_seen_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

connector_status = Table(
    "connector_status",
    metadata,
    Column("station_id", _ID, primary_key=True),
    Column("evse_id", Integer, primary_key=True),
    Column("connector_id", Integer, primary_key=True),
    Column("status", Text, nullable=False),
    Column("error_code", Text, nullable=True),
    Column("info", Text, nullable=True),
    Column("vendor_id", Text, nullable=True),
    Column("vendor_error_code", Text, nullable=True),
    Column("reported_at", UtcDateTime, nullable=True),
    Column("received_at", UtcDateTime, nullable=False),
)

status_history = Table(
    "status_history",
    metadata,
    Column("station_id", _ID, nullable=False),
    Column("evse_id", Integer, nullable=False),
    Column("connector_id", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("error_code", Text, nullable=True),
    Column("info", Text, nullable=True),
    Column("vendor_id", Text, nullable=True),
    Column("vendor_error_code", Text, nullable=True),
    Column("reported_at", UtcDateTime, nullable=True),
    Column("received_at", UtcDateTime, nullable=False),
    # A report without a station timestamp (optional in 1.6) cannot be told from a resend, so
    # NULL reported_at rows are never deduplicated: each is its own report.
    UniqueConstraint(
        "station_id",
        "evse_id",
        "connector_id",
        "reported_at",
        "status",
        name="uq_status_history_report",
    ),
    Index("ix_status_history_received", "station_id", "received_at"),
)

station_events = Table(
    "station_events",
    metadata,
    Column("station_id", _ID, nullable=False),
    Column("event_id", Integer, nullable=False),
    Column("timestamp", UtcDateTime, nullable=False),
    Column("trigger", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("component", Text, nullable=False),
    Column("variable", Text, nullable=False),
    Column("actual_value", Text, nullable=False),
    Column("tech_code", Text, nullable=True),
    Column("tech_info", Text, nullable=True),
    Column("cleared", Boolean, nullable=True),
    Column("transaction_id", Text, nullable=True),
    Column("variable_monitoring_id", Integer, nullable=True),
    Column("received_at", UtcDateTime, nullable=False),
    # Column order puts timestamp second so the same index serves "newest events of a station".
    UniqueConstraint("station_id", "timestamp", "event_id", name="uq_station_events_event"),
)

meter_values = Table(
    "meter_values",
    metadata,
    Column("station_id", _ID, nullable=False),
    Column("evse_id", Integer, nullable=False),
    Column("connector_id", Integer, nullable=False),
    Column("transaction_id", Text, nullable=False),
    Column("timestamp", UtcDateTime, nullable=False),
    Column("samples", Text, nullable=False),
    Column("context", Text, nullable=True),
    Column("received_at", UtcDateTime, nullable=False),
    # A hash of ``samples``: two different readings with the same timestamp (clock-aligned and
    # periodic in one second, measurands split over elements) are both kept; a resend is not.
    Column("samples_digest", Text, nullable=False, server_default=""),
    # Identity: (station, timestamp, evse, transaction, content); timestamp comes second so this
    # one index also serves "newest samples of a station" without a second index on the hottest
    # table.
    UniqueConstraint(
        "station_id",
        "timestamp",
        "evse_id",
        "transaction_id",
        "samples_digest",
        name="uq_meter_values_sample",
    ),
    # A session's samples (its meter series and energy) without scanning the station's history.
    Index("ix_meter_values_transaction", "station_id", "transaction_id", "timestamp"),
)

transaction_events = Table(
    "transaction_events",
    metadata,
    Column("station_id", _ID, nullable=False),
    Column("transaction_id", Text, nullable=False),
    Column("seq_no", Integer, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("trigger_reason", Text, nullable=False),
    Column("timestamp", UtcDateTime, nullable=False),
    Column("offline", Boolean, nullable=False),
    Column("payload", Text, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    UniqueConstraint("station_id", "transaction_id", "seq_no", name="uq_transaction_events_seq"),
)

message_log = Table(
    "message_log",
    metadata,
    Column("id", _BIGID, primary_key=True, autoincrement=True),
    Column("station_id", _ID, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("direction", String(3), nullable=False),
    Column("message_type", Integer, nullable=False),
    Column("action", Text, nullable=True),
    Column("message_id", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Index("ix_message_log_station", "station_id", "id"),
    # AUTOINCREMENT keeps ids monotonic even after a purge empties the table, so a client's
    # keyset cursor never meets a reused id.
    sqlite_autoincrement=True,
)

station_deviations = Table(
    "station_deviations",
    metadata,
    Column("station_id", _ID, nullable=False),
    Column("action", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("first_seen", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
    Column("count", Integer, nullable=False),
    UniqueConstraint("station_id", "action", "kind", "path", name="uq_station_deviations_key"),
)

id_tokens = Table(
    "id_tokens",
    metadata,
    # 1.6 CiString20 / 2.0.1 "case insensitive": the key is the lower-case token, id_token keeps the
    # operator's spelling.
    Column("key", String(36), primary_key=True),
    Column("id_token", String(36), nullable=False),
    Column("type", String(16), nullable=True),
    Column("status", String(16), nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("group_id", String(36), nullable=True),
    Column("allowed_locations", Text, nullable=True),  # JSON list, NULL = everywhere
    Column("max_concurrent", Integer, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

transactions = Table(
    "transactions",
    metadata,
    # Allocated by the CSMS; for 1.6 it is the transactionId the station uses.
    Column("id", _BIGID, primary_key=True, autoincrement=False),
    Column("station_id", _ID, nullable=False),
    Column("ocpp_version", String(16), nullable=False),
    Column("transaction_id", Text, nullable=False),
    # Identifies the message that created the row (1.6 StartTransaction content, 2.0.1
    # transactionId): a resend finds the row instead of creating a second one (rule 7).
    Column("origin_key", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("evse_id", Integer, nullable=True),
    Column("connector_id", Integer, nullable=True),
    Column("id_token", Text, nullable=True),
    Column("id_token_type", Text, nullable=True),
    Column("token_key", Text, nullable=True),
    Column("group_id", Text, nullable=True),
    Column("auth_status", Text, nullable=True),
    Column("stop_id_token", Text, nullable=True),
    Column("started_at", UtcDateTime, nullable=True),
    Column("stopped_at", UtcDateTime, nullable=True),
    Column("stop_reason", Text, nullable=True),
    Column("stop_source", String(16), nullable=True),
    Column("meter_start_wh", Float, nullable=True),
    Column("meter_stop_wh", Float, nullable=True),
    Column("energy_wh", Float, nullable=True),
    Column("charging_state", Text, nullable=True),
    Column("trigger_reason", Text, nullable=True),
    Column("remote_start_id", Integer, nullable=True),
    Column("reservation_id", Integer, nullable=True),
    Column("first_seq_no", Integer, nullable=True),
    Column("last_seq_no", Integer, nullable=True),
    Column("token_seq_no", Integer, nullable=True),
    Column("state_seq_no", Integer, nullable=True),
    Column("offline", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("station_id", "origin_key", name="uq_transactions_origin"),
    Index("ix_transactions_station", "station_id", "status", "id"),
    Index("ix_transactions_station_txid", "station_id", "transaction_id"),
    Index("ix_transactions_token", "token_key", "status"),
    Index("ix_transactions_status", "status", "id"),
)

local_lists = Table(
    "local_lists",
    metadata,
    # One row per station whose Local Authorization List the CSMS manages (domain/local_lists.py).
    Column("station_id", _ID, primary_key=True),
    Column("ocpp_version", String(16), nullable=True),
    Column("version", Integer, nullable=True),
    Column("sent_version", Integer, nullable=False),
    # JSON object: token key -> [spelling sent, digest of the info sent]. One text per station
    # keeps a sync's write a single upsert through the group-commit writer.
    Column("entries", Text, nullable=False),
    Column("in_sync", Boolean, nullable=False),
    Column("max_items", Integer, nullable=True),
    Column("station_version", Integer, nullable=True),
    Column("station_version_at", UtcDateTime, nullable=True),
    Column("last_result", Text, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("last_attempt_at", UtcDateTime, nullable=True),
    Column("synced_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

reservations = Table(
    "reservations",
    metadata,
    # Allocated by the CSMS: the OCPP reservationId (1.6) / id (2.0.1).
    Column("id", _BIGID, primary_key=True, autoincrement=False),
    Column("station_id", _ID, nullable=False),
    Column("ocpp_version", String(16), nullable=False),
    Column("evse_id", Integer, nullable=False),  # 0 = any EVSE (1.6 connector 0)
    Column("connector_type", Text, nullable=True),
    Column("id_token", Text, nullable=False),
    Column("token_key", Text, nullable=False),
    Column("id_token_type", Text, nullable=True),
    Column("group_id", Text, nullable=True),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reserve_status", Text, nullable=True),
    Column("cancel_status", Text, nullable=True),
    Column("update_status", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("used_by", BigInteger, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_reservations_station", "station_id", "status", "id"),
    Index("ix_reservations_status", "status", "expires_at"),
)

commands = Table(
    "commands",
    metadata,
    # Allocated by the CSMS when the operator asks (so a 2.0.1 remoteStartId can be one), the row
    # is written once the station answered or the command failed.
    Column("id", _BIGID, primary_key=True, autoincrement=False),
    Column("station_id", _ID, nullable=False),
    Column("ocpp_version", String(16), nullable=True),
    Column("action", Text, nullable=False),
    Column("payload", Text, nullable=False),  # JSON, as sent (or as refused)
    Column("requested_by", Text, nullable=False),  # "api" today
    Column("user_id", Text, nullable=True),  # the operator, once the API knows users
    Column("requested_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("response", Text, nullable=True),  # JSON CALLRESULT payload
    Column("error_code", Text, nullable=True),
    Column("error_description", Text, nullable=True),
    Column("duration_ms", Float, nullable=True),  # None: nothing was sent
    Index("ix_commands_station", "station_id", "requested_at"),
)
