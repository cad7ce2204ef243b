"""Initial schema: stations, connector status and history, events, meter values, transaction
events, the audit log and tolerant-mode deviations.

Revision ID: 0001_initial
Revises:
Create Date: 2025-01-01 00:00:00+00:00

Self-contained on purpose (no import of ``opencsms.storage.tables``): a migration describes the
schema as it was at this revision, whatever the tables module says later.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts() -> sa.types.TypeEngine[Any]:
    # UtcDateTime: ISO-8601 UTC text on SQLite, timestamptz on PostgreSQL (storage/types.py).
    return sa.String(32).with_variant(postgresql.TIMESTAMP(timezone=True), "postgresql")


def _station_id() -> sa.String:
    return sa.String(48)


def upgrade() -> None:
    op.create_table(
        "stations",
        sa.Column("id", _station_id(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("registration", sa.String(16), nullable=False),
        sa.Column("strictness", sa.String(16), nullable=False),
        sa.Column("heartbeat_interval", sa.Integer(), nullable=False),
        sa.Column("ocpp_version", sa.String(16), nullable=True),
        sa.Column("vendor", sa.Text(), nullable=True),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("serial_number", sa.Text(), nullable=True),
        sa.Column("charge_box_serial_number", sa.Text(), nullable=True),
        sa.Column("firmware_version", sa.Text(), nullable=True),
        sa.Column("iccid", sa.Text(), nullable=True),
        sa.Column("imsi", sa.Text(), nullable=True),
        sa.Column("meter_type", sa.Text(), nullable=True),
        sa.Column("meter_serial_number", sa.Text(), nullable=True),
        sa.Column("boot_reason", sa.Text(), nullable=True),
        sa.Column("booted_at", _ts(), nullable=True),
        sa.Column("last_connected_at", _ts(), nullable=True),
        sa.Column("last_disconnected_at", _ts(), nullable=True),
        sa.Column("last_seen_at", _ts(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stations"),
    )
    op.create_table(
        "connector_status",
        sa.Column("station_id", _station_id(), nullable=False),
        sa.Column("evse_id", sa.Integer(), nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("error_code", sa.Text(), nullable=True),
        sa.Column("info", sa.Text(), nullable=True),
        sa.Column("vendor_id", sa.Text(), nullable=True),
        sa.Column("vendor_error_code", sa.Text(), nullable=True),
        sa.Column("reported_at", _ts(), nullable=True),
        sa.Column("received_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint(
            "station_id", "evse_id", "connector_id", name="pk_connector_status"
        ),
    )
    op.create_table(
        "status_history",
        sa.Column("station_id", _station_id(), nullable=False),
        sa.Column("evse_id", sa.Integer(), nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("error_code", sa.Text(), nullable=True),
        sa.Column("info", sa.Text(), nullable=True),
        sa.Column("vendor_id", sa.Text(), nullable=True),
        sa.Column("vendor_error_code", sa.Text(), nullable=True),
        sa.Column("reported_at", _ts(), nullable=True),
        sa.Column("received_at", _ts(), nullable=False),
        sa.UniqueConstraint(
            "station_id",
            "evse_id",
            "connector_id",
            "reported_at",
            "status",
            name="uq_status_history_report",
        ),
    )
    op.create_index(
        "ix_status_history_received",
        "status_history",
        ["station_id", "received_at"],
    )
    op.create_table(
        "station_events",
        sa.Column("station_id", _station_id(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("timestamp", _ts(), nullable=False),
        sa.Column("trigger", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("component", sa.Text(), nullable=False),
        sa.Column("variable", sa.Text(), nullable=False),
        sa.Column("actual_value", sa.Text(), nullable=False),
        sa.Column("tech_code", sa.Text(), nullable=True),
        sa.Column("tech_info", sa.Text(), nullable=True),
        sa.Column("cleared", sa.Boolean(), nullable=True),
        sa.Column("transaction_id", sa.Text(), nullable=True),
        sa.Column("variable_monitoring_id", sa.Integer(), nullable=True),
        sa.Column("received_at", _ts(), nullable=False),
        sa.UniqueConstraint(
            "station_id",
            "timestamp",
            "event_id",
            name="uq_station_events_event",
        ),
    )
    op.create_table(
        "meter_values",
        sa.Column("station_id", _station_id(), nullable=False),
        sa.Column("evse_id", sa.Integer(), nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.Text(), nullable=False),
        sa.Column("timestamp", _ts(), nullable=False),
        sa.Column("samples", sa.Text(), nullable=False),
        sa.Column("context", sa.Text(), nullable=True),
        sa.Column("received_at", _ts(), nullable=False),
        sa.UniqueConstraint(
            "station_id",
            "timestamp",
            "evse_id",
            "transaction_id",
            name="uq_meter_values_sample",
        ),
    )
    op.create_table(
        "transaction_events",
        sa.Column("station_id", _station_id(), nullable=False),
        sa.Column("transaction_id", sa.Text(), nullable=False),
        sa.Column("seq_no", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("trigger_reason", sa.Text(), nullable=False),
        sa.Column("timestamp", _ts(), nullable=False),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", _ts(), nullable=False),
        sa.UniqueConstraint(
            "station_id",
            "transaction_id",
            "seq_no",
            name="uq_transaction_events_seq",
        ),
    )
    op.create_table(
        "message_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("station_id", _station_id(), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("message_type", sa.Integer(), nullable=False),
        sa.Column("action", sa.Text(), nullable=True),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_message_log"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_message_log_station", "message_log", ["station_id", "id"])
    op.create_table(
        "station_deviations",
        sa.Column("station_id", _station_id(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("first_seen", _ts(), nullable=False),
        sa.Column("last_seen", _ts(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.UniqueConstraint(
            "station_id",
            "action",
            "kind",
            "path",
            name="uq_station_deviations_key",
        ),
    )


def downgrade() -> None:
    for table in (
        "station_deviations",
        "message_log",
        "transaction_events",
        "meter_values",
        "station_events",
        "status_history",
        "connector_status",
        "stations",
    ):
        op.drop_table(table)
