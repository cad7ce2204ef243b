"""Tariffs, transaction costs and charge detail records (docs/tariffs.md).

Revision ID: 0013_tariffs
Revises: 0012_load_management
Create Date: 2026-11-25 00:00:00+00:00

Self-contained: the tables as they are at this revision.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013_tariffs"
down_revision: str | None = "0012_load_management"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts() -> sa.types.TypeEngine[Any]:
    # UtcDateTime: ISO-8601 UTC text on SQLite, timestamptz on PostgreSQL (storage/types.py).
    return sa.String(32).with_variant(postgresql.TIMESTAMP(timezone=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "tariffs",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tariffs"),
    )
    op.create_table(
        "tariff_versions",
        sa.Column("tariff_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("tariff_id", "version", name="pk_tariff_versions"),
    )
    op.create_table(
        "tariff_assignments",
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("tariff_id", sa.String(64), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "target", name="pk_tariff_assignments"),
    )
    op.create_table(
        "transaction_costs",
        sa.Column("transaction_pk", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("revision", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("tariff_id", sa.String(64), nullable=True),
        sa.Column("tariff_version", sa.Integer(), nullable=True),
        sa.Column("breakdown", sa.Text(), nullable=True),
        sa.Column("computed_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("transaction_pk", "revision", name="pk_transaction_costs"),
    )
    op.create_table(
        "cdrs",
        sa.Column("transaction_pk", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("station_id", sa.String(48), nullable=False),
        sa.Column("transaction_id", sa.Text(), nullable=False),
        sa.Column("ocpp_version", sa.String(16), nullable=False),
        sa.Column("evse_id", sa.Integer(), nullable=True),
        sa.Column("connector_id", sa.Integer(), nullable=True),
        sa.Column("id_token", sa.Text(), nullable=True),
        sa.Column("id_token_type", sa.Text(), nullable=True),
        sa.Column("group_id", sa.Text(), nullable=True),
        sa.Column("started_at", _ts(), nullable=False),
        sa.Column("stopped_at", _ts(), nullable=False),
        sa.Column("stop_reason", sa.Text(), nullable=True),
        sa.Column("tariff_id", sa.String(64), nullable=True),
        sa.Column("tariff_version", sa.Integer(), nullable=True),
        sa.Column("cost_revision", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("energy_wh", sa.Text(), nullable=False),
        sa.Column("net", sa.Text(), nullable=True),
        sa.Column("tax", sa.Text(), nullable=True),
        sa.Column("gross", sa.Text(), nullable=True),
        sa.Column("breakdown", sa.Text(), nullable=True),
        sa.Column("issued_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("transaction_pk", name="pk_cdrs"),
    )
    op.create_index("ix_cdrs_stopped", "cdrs", ["stopped_at"])
    op.create_index("ix_cdrs_station_stopped", "cdrs", ["station_id", "stopped_at"])


def downgrade() -> None:
    op.drop_table("cdrs")
    op.drop_table("transaction_costs")
    op.drop_table("tariff_assignments")
    op.drop_table("tariff_versions")
    op.drop_table("tariffs")
