"""Station configuration: 1.6 keys, 2.0.1 device model, desired configuration.

Revision ID: 0007_configuration
Revises: 0006_jobs_files
Create Date: 2026-11-25 00:00:00+00:00

Self-contained: the tables as they are at this revision (docs/configuration-management.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007_configuration"
down_revision: str | None = "0006_jobs_files"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = (
    "configuration_results",
    "desired_configuration",
    "configuration_profiles",
    "device_report_parts",
    "device_reports",
    "device_variables",
    "configuration_keys",
)


def _ts() -> sa.types.TypeEngine[Any]:
    # UtcDateTime: ISO-8601 UTC text on SQLite, timestamptz on PostgreSQL (storage/types.py).
    return sa.String(32).with_variant(postgresql.TIMESTAMP(timezone=True), "postgresql")


def _station() -> sa.Column[Any]:
    return sa.Column("station_id", sa.String(48), nullable=False)


def upgrade() -> None:
    op.create_table(
        "configuration_keys",
        _station(),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("readonly", sa.Boolean(), nullable=False),
        sa.Column("reported_at", _ts(), nullable=False),
        sa.Column("generation", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("station_id", "key", name="pk_configuration_keys"),
    )
    op.create_table(
        "device_variables",
        _station(),
        sa.Column("component", sa.Text(), nullable=False),
        sa.Column("component_instance", sa.Text(), nullable=False),
        sa.Column("evse_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("connector_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("variable", sa.Text(), nullable=False),
        sa.Column("variable_instance", sa.Text(), nullable=False),
        sa.Column("attribute", sa.String(8), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("mutability", sa.String(16), nullable=True),
        sa.Column("persistent", sa.Boolean(), nullable=True),
        sa.Column("constant", sa.Boolean(), nullable=True),
        sa.Column("data_type", sa.Text(), nullable=True),
        sa.Column("unit", sa.Text(), nullable=True),
        sa.Column("min_limit", sa.Float(), nullable=True),
        sa.Column("max_limit", sa.Float(), nullable=True),
        sa.Column("values_list", sa.Text(), nullable=True),
        sa.Column("supports_monitoring", sa.Boolean(), nullable=True),
        sa.Column("report_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint(
            "station_id",
            "component",
            "component_instance",
            "evse_id",
            "connector_id",
            "variable",
            "variable_instance",
            "attribute",
            name="pk_device_variables",
        ),
    )
    op.create_table(
        "device_reports",
        _station(),
        sa.Column("request_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("requested_at", _ts(), nullable=False),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("last_seq_no", sa.Integer(), nullable=True),
        sa.Column("completed_at", _ts(), nullable=True),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("station_id", "request_id", name="pk_device_reports"),
    )
    op.create_index("ix_device_reports_station", "device_reports", ["station_id", "requested_at"])
    op.create_table(
        "device_report_parts",
        _station(),
        sa.Column("request_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("seq_no", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tbc", sa.Boolean(), nullable=False),
        sa.Column("generated_at", _ts(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("received_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint(
            "station_id", "request_id", "seq_no", name="pk_device_report_parts"
        ),
    )
    op.create_table(
        "configuration_profiles",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("vendor", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_configuration_profiles"),
    )
    op.create_table(
        "desired_configuration",
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("generation", sa.String(32), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "owner", "kind", "key", name="pk_desired_configuration"),
    )
    op.create_table(
        "configuration_results",
        _station(),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("attempted_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("station_id", "kind", "key", name="pk_configuration_results"),
    )


def downgrade() -> None:
    for table in _TABLES:
        op.drop_table(table)
