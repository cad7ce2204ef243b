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
    "certificate_requests",
    "commands",
    "configuration_keys",
    "configuration_profiles",
    "configuration_results",
    "connector_status",
    "desired_configuration",
    "device_report_parts",
    "device_reports",
    "device_variables",
    "display_messages",
    "files",
    "id_tokens",
    "issued_certificates",
    "job_events",
    "jobs",
    "load_decisions",
    "load_group_members",
    "load_groups",
    "local_lists",
    "message_log",
    "metadata",
    "meter_values",
    "monitoring_settings",
    "ocsp_responses",
    "requested_report_parts",
    "requested_reports",
    "reservations",
    "station_certificates",
    "station_deviations",
    "station_events",
    "station_security",
    "stations",
    "status_history",
    "transaction_events",
    "transactions",
    "variable_monitors",
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
    # Identity: (station, transaction, timestamp, evse, content), and the table's only index (each
    # index costs a page write per stored sample, migration 0020): a session's samples are one
    # range of it, and a station's newest samples are read from it without the table
    # (MeterRepository.for_station).
    UniqueConstraint(
        "station_id",
        "transaction_id",
        "timestamp",
        "evse_id",
        "samples_digest",
        name="uq_meter_values_sample",
    ),
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

jobs = Table(
    "jobs",
    metadata,
    # Firmware and log jobs (docs/jobs.md). The id is allocated by the CSMS and is the requestId
    # of 2.0.1 UpdateFirmware/GetLog and 1.6-security SignedUpdateFirmware/GetLog.
    Column("id", _BIGID, primary_key=True, autoincrement=False),
    Column("station_id", _ID, nullable=False),
    Column("kind", String(16), nullable=False),  # firmware | log
    Column("action", Text, nullable=False),  # the OCPP action that started it
    Column("ocpp_version", String(16), nullable=False),
    Column("request_id", Integer, nullable=True),  # NULL: 1.6 UpdateFirmware / GetDiagnostics
    Column("state", String(16), nullable=False),
    Column("location", Text, nullable=False),  # the URL given to the station
    # Capability token of the station-facing /files URLs (stations cannot send a bearer token).
    Column("token", Text, nullable=True),
    Column("image_id", BigInteger, nullable=True),  # the hosted firmware image
    Column("log_type", Text, nullable=True),
    Column("params", Text, nullable=False),  # JSON: what the operator asked for
    Column("command_id", BigInteger, nullable=True),
    Column("command_status", String(16), nullable=True),
    Column("answer_status", Text, nullable=True),
    Column("station_status", Text, nullable=True),
    Column("file_name", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("deadline", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    UniqueConstraint("token", name="uq_jobs_token"),
    Index("ix_jobs_station", "station_id", "kind", "id"),
    Index("ix_jobs_state", "state", "deadline"),
)

job_events = Table(
    "job_events",
    metadata,
    # What happened to a job, and every firmware/diagnostics/log status a station reported, also
    # when no job matched it (job_id NULL): the station's status history.
    Column("id", _BIGID, primary_key=True, autoincrement=True),
    Column("job_id", BigInteger, nullable=True),
    Column("station_id", _ID, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("source", String(16), nullable=False),  # csms | answer | station | upload
    Column("action", Text, nullable=True),
    Column("status", Text, nullable=False),
    Column("request_id", Integer, nullable=True),
    Column("state", String(16), nullable=True),  # the job's state after the event
    Column("detail", Text, nullable=True),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_job_events_job", "job_id", "id"),
    Index("ix_job_events_station", "station_id", "kind", "id"),
    sqlite_autoincrement=True,
)

files = Table(
    "files",
    metadata,
    # Files the CSMS hosts: firmware images operators uploaded, logs stations uploaded. The bytes
    # are on disk under ``files_dir``, named by their SHA-256 (storage/blobs.py).
    Column("id", _BIGID, primary_key=True, autoincrement=False),
    Column("kind", String(16), nullable=False),  # firmware | log
    Column("station_id", _ID, nullable=True),
    Column("job_id", BigInteger, nullable=True),
    Column("name", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content_type", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    # A station that uploads the same file name again for a job replaces it (HTTP PUT).
    UniqueConstraint("job_id", "name", name="uq_files_job_name"),
    Index("ix_files_kind", "kind", "station_id", "id"),
    Index("ix_files_sha256", "sha256"),
)

# --- 2.0.1 monitoring, display messages, customer information (docs/monitoring.md) ----------------

variable_monitors = Table(
    "variable_monitors",
    metadata,
    # The CSMS's copy of a station's monitors (domain/monitoring_model.py), keyed by the id the
    # station assigned; changed only by what the station answered or reported.
    Column("station_id", _ID, primary_key=True),
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("component", Text, nullable=False),
    Column("component_instance", Text, nullable=True),
    Column("evse_id", Integer, nullable=True),
    Column("connector_id", Integer, nullable=True),
    Column("variable", Text, nullable=False),
    Column("variable_instance", Text, nullable=True),
    Column("type", Text, nullable=False),
    Column("value", Float, nullable=False),
    Column("severity", Integer, nullable=False),
    Column("transaction", Boolean, nullable=False),
    Column("origin", String(16), nullable=False),  # csms | report
    Column("kind", Text, nullable=True),  # eventNotificationType, when known
    Column("report_id", BigInteger, nullable=True),  # the last report that listed it
    Column("stale", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

monitoring_settings = Table(
    "monitoring_settings",
    metadata,
    # The monitoring base (N03) and level (N05) a station last accepted.
    Column("station_id", _ID, primary_key=True),
    Column("base", Text, nullable=True),
    Column("base_at", UtcDateTime, nullable=True),
    Column("level", Integer, nullable=True),
    Column("level_at", UtcDateTime, nullable=True),
)

display_messages = Table(
    "display_messages",
    metadata,
    # A station's display messages (O01-O06) by the id the CSMS gave them; ``on_station`` false:
    # the station refused it (``last_set_status``) and has no message of that id.
    Column("station_id", _ID, primary_key=True),
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("priority", Text, nullable=False),
    Column("state", Text, nullable=True),
    Column("start_at", UtcDateTime, nullable=True),
    Column("end_at", UtcDateTime, nullable=True),
    Column("transaction_id", Text, nullable=True),
    Column("display", Text, nullable=True),  # JSON component reference
    Column("format", Text, nullable=False),
    Column("language", Text, nullable=True),
    Column("content", Text, nullable=False),
    Column("extra", Text, nullable=True),  # JSON list of 2.1 messageExtra contents
    Column("on_station", Boolean, nullable=False),
    Column("last_set_status", Text, nullable=True),
    Column("source", String(16), nullable=False),  # csms | report
    Column("report_id", BigInteger, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

requested_reports = Table(
    "requested_reports",
    metadata,
    # Reports asked of a station (N02 monitoring, O03/O04 display messages, N09/N10 customer
    # information); request_id is the CSMS's requestId (the command id that asked).
    Column("station_id", _ID, primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("request_id", BigInteger, primary_key=True, autoincrement=False),
    Column("parameters", Text, nullable=True),  # JSON, NULL: unsolicited
    Column("full", Boolean, nullable=False),
    Column("requested_at", UtcDateTime, nullable=True),
    Column("status", Text, nullable=True),
    Column("completed_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_requested_reports_station", "station_id", "kind", "created_at"),
)

requested_report_parts = Table(
    "requested_report_parts",
    metadata,
    # One part per seqNo: a resent part is ignored (ON CONFLICT DO NOTHING).
    Column("station_id", _ID, primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("request_id", BigInteger, primary_key=True, autoincrement=False),
    Column("seq_no", Integer, primary_key=True, autoincrement=False),
    Column("tbc", Boolean, nullable=False),
    Column("data", Text, nullable=False),
    Column("generated_at", UtcDateTime, nullable=True),
    Column("received_at", UtcDateTime, nullable=False),
)

# "Events of this monitor": GET /stations/{id}/events?monitor_id= without scanning the station's
# whole event history.
Index(
    "ix_station_events_monitor",
    station_events.c.station_id,
    station_events.c.variable_monitoring_id,
    station_events.c.timestamp,
)

# --- configuration: 1.6 keys, 2.0.1 device model, desired configuration ---------------------------
# (docs/configuration-management.md). Rows replaced as a set (a station's keys after a full
# GetConfiguration, an owner's desired entries) carry a generation: the new rows are upserted with
# a new one and the rest deleted by it, which gives the same result whichever order the
# group-commit writer runs the two statements in.

configuration_keys = Table(
    "configuration_keys",
    metadata,
    # 1.6 GetConfiguration / ChangeConfiguration: the station's keys and their last known value.
    Column("station_id", _ID, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=True),  # NULL: the station did not say (1.6 value is optional)
    Column("readonly", Boolean, nullable=False),
    Column("reported_at", UtcDateTime, nullable=False),
    Column("generation", String(32), nullable=False),
)

device_variables = Table(
    "device_variables",
    metadata,
    # 2.0.1 device model: one row per attribute of a variable of a component. "Absent" instance,
    # EVSE and connector are '' and -1 (NULL would make the primary key unusable).
    Column("station_id", _ID, primary_key=True),
    Column("component", Text, primary_key=True),
    Column("component_instance", Text, primary_key=True),
    Column("evse_id", Integer, primary_key=True, autoincrement=False),
    Column("connector_id", Integer, primary_key=True, autoincrement=False),
    Column("variable", Text, primary_key=True),
    Column("variable_instance", Text, primary_key=True),
    Column("attribute", String(8), primary_key=True),
    Column("value", Text, nullable=True),
    Column("mutability", String(16), nullable=True),
    Column("persistent", Boolean, nullable=True),
    Column("constant", Boolean, nullable=True),
    # VariableCharacteristics, repeated on each attribute row of the variable.
    Column("data_type", Text, nullable=True),
    Column("unit", Text, nullable=True),
    Column("min_limit", Float, nullable=True),
    Column("max_limit", Float, nullable=True),
    Column("values_list", Text, nullable=True),
    Column("supports_monitoring", Boolean, nullable=True),
    Column("report_id", BigInteger, nullable=True),  # the last report that carried the row
    Column("updated_at", UtcDateTime, nullable=False),
)

device_reports = Table(
    "device_reports",
    metadata,
    # GetBaseReport / GetReport requests (request_id: the CSMS's requestId, the command's id) and
    # NotifyReport streams nobody here asked for; how far each arrived.
    Column("station_id", _ID, primary_key=True),
    Column("request_id", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(32), nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("status", Text, nullable=True),
    Column("parts", Integer, nullable=False),
    Column("last_seq_no", Integer, nullable=True),
    Column("completed_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_device_reports_station", "station_id", "requested_at"),
)

device_report_parts = Table(
    "device_report_parts",
    metadata,
    # One row per NotifyReport part; a resent part is ignored (ON CONFLICT DO NOTHING).
    Column("station_id", _ID, primary_key=True),
    Column("request_id", BigInteger, primary_key=True, autoincrement=False),
    Column("seq_no", Integer, primary_key=True, autoincrement=False),
    Column("tbc", Boolean, nullable=False),
    Column("generated_at", UtcDateTime, nullable=False),
    Column("items", Integer, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)

configuration_profiles = Table(
    "configuration_profiles",
    metadata,
    # Desired configuration per station model: applies to stations whose BootNotification vendor
    # (and model, unless NULL) match, case-insensitively.
    Column("name", String(64), primary_key=True),
    Column("vendor", Text, nullable=False),
    Column("model", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

desired_configuration = Table(
    "desired_configuration",
    metadata,
    # scope 'station' (owner: station id) or 'profile' (owner: profile name); kind 'key' (1.6
    # configuration key) or 'variable' (2.0.1 variable path, domain/device_model.py).
    Column("scope", String(8), primary_key=True),
    Column("owner", String(64), primary_key=True),
    Column("kind", String(8), primary_key=True),
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
    Column("generation", String(32), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

configuration_results = Table(
    "configuration_results",
    metadata,
    # The last attempt to apply a desired value: what was sent and what the station said.
    Column("station_id", _ID, primary_key=True),
    Column("kind", String(8), primary_key=True),
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("detail", Text, nullable=True),
    Column("attempted_at", UtcDateTime, nullable=False),
)

security_events = Table(
    "security_events",
    metadata,
    # SecurityEventNotification (1.6 security whitepaper §4, 2.0.1 A04); the key makes a resent
    # notification a no-op. `critical` per 2.0.1 part 2 appendix 1 (domain/security_events.py).
    Column("station_id", _ID, primary_key=True),
    Column("timestamp", UtcDateTime, primary_key=True),
    Column("type", String(50), primary_key=True),
    Column("tech_info", Text, nullable=True),
    Column("critical", Boolean, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Index("ix_security_events_timestamp", "timestamp"),
)

charging_profiles = Table(
    "charging_profiles",
    metadata,
    # The charging profiles a station holds, as the CSMS knows them (domain/charging_profiles.py):
    # written only when the station accepted them or reported them (K09). `schedules` is the
    # domain schedules as JSON; `payload` the OCPP chargingProfile as sent/reported, for resending.
    # `report_id`: the GetChargingProfiles requestId that last reported the row (reconciliation).
    Column("station_id", _ID, primary_key=True),
    Column("profile_id", Integer, primary_key=True, autoincrement=False),
    Column("evse_id", Integer, nullable=False),
    Column("purpose", String(24), nullable=False),
    Column("stack_level", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("recurrency", String(8), nullable=True),
    Column("valid_from", UtcDateTime, nullable=True),
    Column("valid_to", UtcDateTime, nullable=True),
    Column("transaction_id", Text, nullable=True),
    Column("schedules", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("ocpp_version", String(16), nullable=False),
    Column("source", String(8), nullable=False),
    Column("report_id", Integer, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

load_groups = Table(
    "load_groups",
    metadata,
    # Site load management (domain/load_management.py): a tree of groups (site → feeder →
    # station...). Limits in A per phase and/or W; `schedule` a time-varying limit (JSON,
    # smartcharging/group_schedule.py); `priorities` token / token group → priority (JSON);
    # `ext_*` the external signal set through the API, in force until `ext_until` (NULL: until
    # cleared).
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("parent_id", String(64), nullable=True),
    Column("max_current_a", Float, nullable=True),
    Column("max_power_w", Float, nullable=True),
    Column("phases", Integer, nullable=False),
    Column("voltage_v", Float, nullable=False),
    Column("schedule", Text, nullable=True),
    Column("priorities", Text, nullable=True),
    Column("ext_current_a", Float, nullable=True),
    Column("ext_power_w", Float, nullable=True),
    Column("ext_until", UtcDateTime, nullable=True),
    Column("ext_set_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_load_groups_parent", "parent_id"),
)

load_group_members = Table(
    "load_group_members",
    metadata,
    # A station (evse_id 0) or one of its EVSEs under a group, with the EVSE's rating (A per
    # phase), its phases and, for a single-phase EVSE, the grid phase (1-3) it is wired to.
    Column("station_id", _ID, primary_key=True),
    Column("evse_id", Integer, primary_key=True, autoincrement=False),
    Column("group_id", String(64), nullable=False),
    Column("max_current_a", Float, nullable=True),
    Column("phases", Integer, nullable=True),
    Column("phase", Integer, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_load_group_members_group", "group_id"),
)

load_decisions = Table(
    "load_decisions",
    metadata,
    # One allocation round of a root group that sent (or tried to send) something: what
    # triggered it, the effective limits and planned loads (`groups`, JSON) and per session the
    # limit, what was sent and the station's answer (`sessions`, JSON).
    Column("id", _BIGID, primary_key=True, autoincrement=True),
    Column("group_id", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("trigger", Text, nullable=False),
    Column("groups", Text, nullable=False),
    Column("sessions", Text, nullable=False),
    Column("sent", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Index("ix_load_decisions_group", "group_id", "id"),
)

charging_limits = Table(
    "charging_limits",
    metadata,
    # External charging limits a station reported (2.0.1 K12 NotifyChargingLimit) and their end
    # (K13 ClearedChargingLimit, or a newer report of the same source on the same EVSE):
    # domain/ev_charging.py. `evse_id` 0 is the whole station. `state` current / replaced /
    # cleared; `schedules` the verbatim chargingSchedule list (JSON), when the report had one.
    Column("station_id", _ID, primary_key=True),
    Column("evse_id", Integer, primary_key=True, autoincrement=False),
    Column("source", String(20), primary_key=True),
    Column("received_at", UtcDateTime, primary_key=True),
    Column("grid_critical", Boolean, nullable=True),
    Column("limit_a", Float, nullable=True),
    Column("limit_w", Float, nullable=True),
    Column("schedules", Text, nullable=True),
    Column("state", String(8), nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
    Index("ix_charging_limits_station_state", "station_id", "state"),
)

ev_charging_needs = Table(
    "ev_charging_needs",
    metadata,
    # The latest NotifyEVChargingNeeds per EVSE (2.0.1 K15): the parsed needs, what the CSMS
    # answered and the verbatim request (`payload`, JSON).
    Column("station_id", _ID, primary_key=True),
    Column("evse_id", Integer, primary_key=True, autoincrement=False),
    Column("transaction_id", Text, nullable=True),
    Column("requested_energy_transfer", String(16), nullable=False),
    Column("departure_time", UtcDateTime, nullable=True),
    Column("energy_amount_wh", Float, nullable=True),
    Column("ac_min_current_a", Float, nullable=True),
    Column("ac_max_current_a", Float, nullable=True),
    Column("ac_max_voltage_v", Float, nullable=True),
    Column("dc_max_current_a", Float, nullable=True),
    Column("dc_max_voltage_v", Float, nullable=True),
    Column("dc_max_power_w", Float, nullable=True),
    Column("state_of_charge", Integer, nullable=True),
    Column("max_schedule_tuples", Integer, nullable=True),
    Column("status", String(16), nullable=False),
    Column("reason", String(20), nullable=True),
    Column("payload", Text, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)

ev_charging_schedules = Table(
    "ev_charging_schedules",
    metadata,
    # NotifyEVChargingSchedule (2.0.1 K15.FR.10, K17): the EV's schedule (verbatim JSON) from
    # `time_base`; the key makes a resend a no-op. `within_limits` is the CSMS's check against
    # the TxProfile it holds (K15.FR.11/12), answered Accepted / Rejected.
    Column("station_id", _ID, primary_key=True),
    Column("evse_id", Integer, primary_key=True, autoincrement=False),
    Column("time_base", UtcDateTime, primary_key=True),
    Column("transaction_id", Text, nullable=True),
    Column("schedule", Text, nullable=False),
    Column("within_limits", Boolean, nullable=False),
    Column("reason", String(20), nullable=True),
    Column("detail", Text, nullable=True),
    Column("received_at", UtcDateTime, nullable=False),
)

alerts = Table(
    "alerts",
    metadata,
    # Alerts (domain/alert_model.py). `open_key` is the dedup key while the alert is open and
    # NULL once resolved: the unique index allows one open alert per key (NULLs never clash).
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("type", String(32), nullable=False),
    Column("station_id", _ID, nullable=False),
    Column("key", Text, nullable=False),
    Column("open_key", Text, nullable=True),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("summary", Text, nullable=False),
    Column("details", Text, nullable=False),
    Column("count", Integer, nullable=False),
    Column("first_seen", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
    Column("acknowledged_at", UtcDateTime, nullable=True),
    Column("acknowledged_by", Text, nullable=True),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("resolution", Text, nullable=True),
    Index("ux_alerts_open_key", "open_key", unique=True),
    Index("ix_alerts_status_last_seen", "status", "last_seen"),
    Index("ix_alerts_station", "station_id"),
)

webhooks = Table(
    "webhooks",
    metadata,
    # Webhook subscriptions (domain/webhooks.py); `event_types` is a JSON list ([] = all).
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("url", Text, nullable=False),
    Column("secret", Text, nullable=False),
    Column("event_types", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("description", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    # One event for one webhook; `event` is the event JSON (the body is built, timestamped and
    # signed again at each attempt). Pending rows are reloaded at start: retries survive restart.
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("webhook_id", Integer, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("event", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime, nullable=True),
    Index("ix_webhook_deliveries_state", "state", "next_attempt_at"),
    Index("ix_webhook_deliveries_webhook", "webhook_id", "id"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    # Each HTTP attempt of a delivery: the delivery log.
    Column("delivery_id", Integer, primary_key=True, autoincrement=False),
    Column("attempt", Integer, primary_key=True, autoincrement=False),
    Column("at", UtcDateTime, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("duration_ms", Float, nullable=False),
)

station_security = Table(
    "station_security",
    metadata,
    # Per station (only those with something to say; domain/security_profiles.py): the security
    # profile (NULL: the `security_profile` setting), a profile upgrade awaiting the station's
    # first connection at it (A05.FR.09), and the Basic-auth password rotation (A01): the new
    # password's salted hash, valid next to stations.password_hash until the rotation settles.
    Column("station_id", _ID, primary_key=True),
    Column("security_profile", Integer, nullable=True),
    Column("pending_security_profile", Integer, nullable=True),
    Column("pending_password_hash", Text, nullable=True),
    Column("rotation_status", String(16), nullable=True),
    Column("rotation_requested_at", UtcDateTime, nullable=True),
    Column("rotation_finished_at", UtcDateTime, nullable=True),
    Column("password_rotated_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

# ---------------------------------------------------------------- tariffs, costs, CDRs
# docs/tariffs.md. Money and energy amounts are Decimal text (exact on both backends: SQLite has
# no exact numeric type). A tariff edit adds a version; versions are never changed or deleted.

tariffs = Table(
    "tariffs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("current_version", Integer, nullable=False),
    Column("archived", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

tariff_versions = Table(
    "tariff_versions",
    metadata,
    Column("tariff_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("body", Text, nullable=False),  # billing.tariff_json
    Column("created_at", UtcDateTime, nullable=False),
)

tariff_assignments = Table(
    "tariff_assignments",
    metadata,
    # scope default (target ''), station (station id), evse ('<station id>/<evse id>'),
    # group (id token group id).
    Column("scope", String(8), primary_key=True),
    Column("target", Text, primary_key=True),
    Column("tariff_id", String(64), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

transaction_costs = Table(
    "transaction_costs",
    metadata,
    # Cost revisions of finished sessions: 1 at the end of the session, one more per recompute.
    Column("transaction_pk", BigInteger, primary_key=True, autoincrement=False),
    Column("revision", Integer, primary_key=True, autoincrement=False),
    Column("tariff_id", String(64), nullable=True),
    Column("tariff_version", Integer, nullable=True),
    Column("breakdown", Text, nullable=True),  # billing.breakdown_json; NULL: no tariff applied
    Column("computed_at", UtcDateTime, nullable=False),
)

cdrs = Table(
    "cdrs",
    metadata,
    # One charge detail record per finished session, inserted once and never updated.
    Column("transaction_pk", BigInteger, primary_key=True, autoincrement=False),
    Column("station_id", _ID, nullable=False),
    Column("transaction_id", Text, nullable=False),
    Column("ocpp_version", String(16), nullable=False),
    Column("evse_id", Integer, nullable=True),
    Column("connector_id", Integer, nullable=True),
    Column("id_token", Text, nullable=True),
    Column("id_token_type", Text, nullable=True),
    Column("group_id", Text, nullable=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("stopped_at", UtcDateTime, nullable=False),
    Column("stop_reason", Text, nullable=True),
    Column("tariff_id", String(64), nullable=True),
    Column("tariff_version", Integer, nullable=True),
    Column("cost_revision", Integer, nullable=False),
    Column("currency", String(3), nullable=True),
    Column("energy_wh", Text, nullable=False),
    Column("net", Text, nullable=True),
    Column("tax", Text, nullable=True),
    Column("gross", Text, nullable=True),
    Column("breakdown", Text, nullable=True),
    Column("issued_at", UtcDateTime, nullable=False),
    Index("ix_cdrs_stopped", "stopped_at"),
    Index("ix_cdrs_station_stopped", "station_id", "stopped_at"),
)

issued_certificates = Table(
    "issued_certificates",
    metadata,
    # Certificates the CSMS's CA signed for stations (A02/A03; domain/certificates.py). `serial`
    # lower-case hex. `delivery_status` the station's CertificateSigned answer (Accepted /
    # Rejected, Failed when it could not be sent; NULL while on its way).
    Column("serial", String(64), primary_key=True),
    Column("station_id", _ID, nullable=False),
    Column("use", String(40), nullable=False),
    Column("subject", Text, nullable=False),
    Column("pem", Text, nullable=False),
    Column("not_before", UtcDateTime, nullable=False),
    Column("not_after", UtcDateTime, nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("request_id", String(32), nullable=False),
    Column("delivery_status", String(20), nullable=True),
    Column("delivered_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("expiry_notified_at", UtcDateTime, nullable=True),
    Index("ix_issued_certificates_station", "station_id", "issued_at"),
    Index("ix_issued_certificates_not_after", "not_after"),
)

certificate_requests = Table(
    "certificate_requests",
    metadata,
    # Every SignCertificate a station sent, with the CSMS's decision and, if refused, why.
    Column("id", String(32), primary_key=True),
    Column("station_id", _ID, nullable=False),
    Column("use", String(40), nullable=False),
    Column("csr", Text, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("accepted", Boolean, nullable=False),
    Column("reason", Text, nullable=True),
    Column("serial", String(64), nullable=True),
    Index("ix_certificate_requests_station", "station_id", "received_at"),
)

station_certificates = Table(
    "station_certificates",
    metadata,
    # What the CSMS knows each station holds (M03 reports, M05 installs, A02 signed ones); `id`
    # is derived from the hash data (security/model.py HashData.key). `children` JSON list of a
    # V2GCertificateChain's sub-CA hash data.
    Column("station_id", _ID, primary_key=True),
    Column("id", String(32), primary_key=True),
    Column("certificate_type", String(40), nullable=False),
    Column("hash_algorithm", String(10), nullable=False),
    Column("issuer_name_hash", String(128), nullable=False),
    Column("issuer_key_hash", String(128), nullable=False),
    Column("serial_number", String(64), nullable=False),
    Column("children", Text, nullable=True),
    Column("pem", Text, nullable=True),
    Column("subject", Text, nullable=True),
    Column("not_after", UtcDateTime, nullable=True),
    Column("source", String(20), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

ocsp_responses = Table(
    "ocsp_responses",
    metadata,
    # OCSP answers by certificate id (HashData.key), reused until `expires_at` (security/ocsp.py).
    Column("cert_id", String(32), primary_key=True),
    Column("status", String(10), nullable=False),
    Column("response", Text, nullable=False),
    Column("fetched_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
)

tariff_assignment_history = Table(
    "tariff_assignment_history",
    metadata,
    # Which tariff each place had when (domain/tariffs.py): a session is priced with the
    # assignment valid at its start, also when recomputed long after. `valid_to` NULL: current.
    Column("scope", String(8), primary_key=True),
    Column("target", Text, primary_key=True),
    Column("valid_from", UtcDateTime, primary_key=True),
    Column("valid_to", UtcDateTime, nullable=True),
    Column("tariff_id", String(64), nullable=False),
)

station_leases = Table(
    "station_leases",
    metadata,
    # Cluster mode (cluster/leases.py): the node holding each station's socket and the lease's
    # fencing token, which grows on every takeover; `node_id` NULL when released.
    Column("station_id", String(48), primary_key=True),
    Column("node_id", String(64), nullable=True),
    Column("token", BigInteger, nullable=False),
    Column("acquired_at", UtcDateTime, nullable=False),
)

cluster_nodes = Table(
    "cluster_nodes",
    metadata,
    # Cluster mode: each node's heartbeat; a lease of a node that stopped beating is nobody's.
    Column("node_id", String(64), primary_key=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("heartbeat_at", UtcDateTime, nullable=False),
)

id_blocks = Table(
    "id_blocks",
    metadata,
    # PostgreSQL: the next free number of each table whose ids the CSMS allocates; nodes take
    # blocks of them (repositories/base.py IdAllocator), so no two nodes hand out the same id.
    Column("name", String(64), primary_key=True),
    Column("next_id", BigInteger, nullable=False),
)
