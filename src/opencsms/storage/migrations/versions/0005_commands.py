"""The command log: every command an operator sent to a station, with its outcome.

Revision ID: 0005_commands
Revises: 0004_meter_values_digest
Create Date: 2026-12-01 00:00:00+00:00

Self-contained: the table as it is at this revision (docs/commands.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_commands"
down_revision: str | None = "0004_meter_values_digest"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts() -> sa.types.TypeEngine[Any]:
    # UtcDateTime: ISO-8601 UTC text on SQLite, timestamptz on PostgreSQL (storage/types.py).
    return sa.String(32).with_variant(postgresql.TIMESTAMP(timezone=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "commands",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("station_id", sa.String(48), nullable=False),
        sa.Column("ocpp_version", sa.String(16), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=True),
        sa.Column("requested_at", _ts(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("error_code", sa.Text(), nullable=True),
        sa.Column("error_description", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_commands"),
    )
    op.create_index("ix_commands_station", "commands", ["station_id", "requested_at"])


def downgrade() -> None:
    op.drop_table("commands")
