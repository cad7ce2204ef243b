"""Local authorization list state per station, and reservations.

Revision ID: 0003_local_lists_reservations
Revises: 0002_id_tokens_transactions
Create Date: 2025-03-01 00:00:00+00:00

Self-contained like 0001 and 0002: the tables as they are at this revision.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_local_lists_reservations"
down_revision: str | None = "0002_id_tokens_transactions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts() -> sa.types.TypeEngine[Any]:
    # UtcDateTime: ISO-8601 UTC text on SQLite, timestamptz on PostgreSQL (storage/types.py).
    return sa.String(32).with_variant(postgresql.TIMESTAMP(timezone=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "local_lists",
        sa.Column("station_id", sa.String(48), nullable=False),
        sa.Column("ocpp_version", sa.String(16), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("sent_version", sa.Integer(), nullable=False),
        sa.Column("entries", sa.Text(), nullable=False),
        sa.Column("in_sync", sa.Boolean(), nullable=False),
        sa.Column("max_items", sa.Integer(), nullable=True),
        sa.Column("station_version", sa.Integer(), nullable=True),
        sa.Column("station_version_at", _ts(), nullable=True),
        sa.Column("last_result", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_attempt_at", _ts(), nullable=True),
        sa.Column("synced_at", _ts(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("station_id", name="pk_local_lists"),
    )
    op.create_table(
        "reservations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("station_id", sa.String(48), nullable=False),
        sa.Column("ocpp_version", sa.String(16), nullable=False),
        sa.Column("evse_id", sa.Integer(), nullable=False),
        sa.Column("connector_type", sa.Text(), nullable=True),
        sa.Column("id_token", sa.Text(), nullable=False),
        sa.Column("token_key", sa.Text(), nullable=False),
        sa.Column("id_token_type", sa.Text(), nullable=True),
        sa.Column("group_id", sa.Text(), nullable=True),
        sa.Column("expires_at", _ts(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reserve_status", sa.Text(), nullable=True),
        sa.Column("cancel_status", sa.Text(), nullable=True),
        sa.Column("update_status", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("used_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reservations"),
    )
    op.create_index("ix_reservations_station", "reservations", ["station_id", "status", "id"])
    op.create_index("ix_reservations_status", "reservations", ["status", "expires_at"])


def downgrade() -> None:
    op.drop_table("reservations")
    op.drop_table("local_lists")
