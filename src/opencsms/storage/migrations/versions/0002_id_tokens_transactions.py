"""Id tokens and transactions.

Revision ID: 0002_id_tokens_transactions
Revises: 0001_initial
Create Date: 2025-02-01 00:00:00+00:00

Self-contained like 0001: the schema as it is at this revision.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_id_tokens_transactions"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts() -> sa.types.TypeEngine[Any]:
    # UtcDateTime: ISO-8601 UTC text on SQLite, timestamptz on PostgreSQL (storage/types.py).
    return sa.String(32).with_variant(postgresql.TIMESTAMP(timezone=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "id_tokens",
        sa.Column("key", sa.String(36), nullable=False),
        sa.Column("id_token", sa.String(36), nullable=False),
        sa.Column("type", sa.String(16), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("expires_at", _ts(), nullable=True),
        sa.Column("group_id", sa.String(36), nullable=True),
        sa.Column("allowed_locations", sa.Text(), nullable=True),
        sa.Column("max_concurrent", sa.Integer(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_id_tokens"),
    )
    op.create_table(
        "transactions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("station_id", sa.String(48), nullable=False),
        sa.Column("ocpp_version", sa.String(16), nullable=False),
        sa.Column("transaction_id", sa.Text(), nullable=False),
        sa.Column("origin_key", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("evse_id", sa.Integer(), nullable=True),
        sa.Column("connector_id", sa.Integer(), nullable=True),
        sa.Column("id_token", sa.Text(), nullable=True),
        sa.Column("id_token_type", sa.Text(), nullable=True),
        sa.Column("token_key", sa.Text(), nullable=True),
        sa.Column("group_id", sa.Text(), nullable=True),
        sa.Column("auth_status", sa.Text(), nullable=True),
        sa.Column("stop_id_token", sa.Text(), nullable=True),
        sa.Column("started_at", _ts(), nullable=True),
        sa.Column("stopped_at", _ts(), nullable=True),
        sa.Column("stop_reason", sa.Text(), nullable=True),
        sa.Column("stop_source", sa.String(16), nullable=True),
        sa.Column("meter_start_wh", sa.Float(), nullable=True),
        sa.Column("meter_stop_wh", sa.Float(), nullable=True),
        sa.Column("energy_wh", sa.Float(), nullable=True),
        sa.Column("charging_state", sa.Text(), nullable=True),
        sa.Column("trigger_reason", sa.Text(), nullable=True),
        sa.Column("remote_start_id", sa.Integer(), nullable=True),
        sa.Column("reservation_id", sa.Integer(), nullable=True),
        sa.Column("first_seq_no", sa.Integer(), nullable=True),
        sa.Column("last_seq_no", sa.Integer(), nullable=True),
        sa.Column("token_seq_no", sa.Integer(), nullable=True),
        sa.Column("state_seq_no", sa.Integer(), nullable=True),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_transactions"),
        sa.UniqueConstraint("station_id", "origin_key", name="uq_transactions_origin"),
    )
    op.create_index("ix_transactions_station", "transactions", ["station_id", "status", "id"])
    op.create_index(
        "ix_transactions_station_txid", "transactions", ["station_id", "transaction_id"]
    )
    op.create_index("ix_transactions_token", "transactions", ["token_key", "status"])
    op.create_index("ix_transactions_status", "transactions", ["status", "id"])
    op.create_index(
        "ix_meter_values_transaction",
        "meter_values",
        ["station_id", "transaction_id", "timestamp"],
    )


def downgrade() -> None:
    op.drop_index("ix_meter_values_transaction", table_name="meter_values")
    op.drop_table("transactions")
    op.drop_table("id_tokens")
