"""2.0.1 variable monitors, display messages and customer information reports (docs/monitoring.md).

Revision ID: 0008_monitoring
Revises: 0007_configuration
Create Date: 2026-11-25 00:00:00+00:00

Self-contained: the tables as they are at this revision.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008_monitoring"
down_revision: str | None = "0007_configuration"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts() -> sa.types.TypeEngine[Any]:
    # UtcDateTime: ISO-8601 UTC text on SQLite, timestamptz on PostgreSQL (storage/types.py).
    return sa.String(32).with_variant(postgresql.TIMESTAMP(timezone=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "variable_monitors",
        sa.Column("station_id", sa.String(48), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("component", sa.Text(), nullable=False),
        sa.Column("component_instance", sa.Text(), nullable=True),
        sa.Column("evse_id", sa.Integer(), nullable=True),
        sa.Column("connector_id", sa.Integer(), nullable=True),
        sa.Column("variable", sa.Text(), nullable=False),
        sa.Column("variable_instance", sa.Text(), nullable=True),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("transaction", sa.Boolean(), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("kind", sa.Text(), nullable=True),
        sa.Column("report_id", sa.BigInteger(), nullable=True),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("station_id", "id", name="pk_variable_monitors"),
    )
    op.create_table(
        "monitoring_settings",
        sa.Column("station_id", sa.String(48), nullable=False),
        sa.Column("base", sa.Text(), nullable=True),
        sa.Column("base_at", _ts(), nullable=True),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("level_at", _ts(), nullable=True),
        sa.PrimaryKeyConstraint("station_id", name="pk_monitoring_settings"),
    )
    op.create_table(
        "display_messages",
        sa.Column("station_id", sa.String(48), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("priority", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("start_at", _ts(), nullable=True),
        sa.Column("end_at", _ts(), nullable=True),
        sa.Column("transaction_id", sa.Text(), nullable=True),
        sa.Column("display", sa.Text(), nullable=True),
        sa.Column("format", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("extra", sa.Text(), nullable=True),
        sa.Column("on_station", sa.Boolean(), nullable=False),
        sa.Column("last_set_status", sa.Text(), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("report_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("station_id", "id", name="pk_display_messages"),
    )
    op.create_table(
        "requested_reports",
        sa.Column("station_id", sa.String(48), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("request_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("parameters", sa.Text(), nullable=True),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("requested_at", _ts(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("completed_at", _ts(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("station_id", "kind", "request_id", name="pk_requested_reports"),
    )
    op.create_index(
        "ix_requested_reports_station",
        "requested_reports",
        ["station_id", "kind", "created_at"],
    )
    op.create_table(
        "requested_report_parts",
        sa.Column("station_id", sa.String(48), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("request_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("seq_no", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tbc", sa.Boolean(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("generated_at", _ts(), nullable=True),
        sa.Column("received_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint(
            "station_id", "kind", "request_id", "seq_no", name="pk_requested_report_parts"
        ),
    )
    op.create_index(
        "ix_station_events_monitor",
        "station_events",
        ["station_id", "variable_monitoring_id", "timestamp"],
    )


def downgrade() -> None:
    op.drop_index("ix_station_events_monitor", table_name="station_events")
    op.drop_table("requested_report_parts")
    op.drop_index("ix_requested_reports_station", table_name="requested_reports")
    op.drop_table("requested_reports")
    op.drop_table("display_messages")
    op.drop_table("monitoring_settings")
    op.drop_table("variable_monitors")
