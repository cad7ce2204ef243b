"""Security events reported by stations (docs/security-events.md).

Revision ID: 0010_security_events
Revises: 0009_charging_profiles
Create Date: 2026-11-25 00:00:00+00:00

Self-contained: the tables as they are at this revision.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010_security_events"
down_revision: str | None = "0009_charging_profiles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts() -> sa.types.TypeEngine[Any]:
    # UtcDateTime: ISO-8601 UTC text on SQLite, timestamptz on PostgreSQL (storage/types.py).
    return sa.String(32).with_variant(postgresql.TIMESTAMP(timezone=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "security_events",
        sa.Column("station_id", sa.String(48), nullable=False),
        sa.Column("timestamp", _ts(), nullable=False),
        sa.Column("type", sa.String(50), nullable=False),
        sa.Column("tech_info", sa.Text(), nullable=True),
        sa.Column("critical", sa.Boolean(), nullable=False),
        sa.Column("received_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("station_id", "timestamp", "type", name="pk_security_events"),
    )
    op.create_index("ix_security_events_timestamp", "security_events", ["timestamp"])


def downgrade() -> None:
    op.drop_table("security_events")
