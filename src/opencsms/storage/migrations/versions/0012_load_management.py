"""Site load management: groups, limits and allocation decisions (docs/load-management.md).

Revision ID: 0012_load_management
Revises: 0011_charging_limits
Create Date: 2026-11-25 00:00:00+00:00

Self-contained: the tables as they are at this revision.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012_load_management"
down_revision: str | None = "0011_charging_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts() -> sa.types.TypeEngine[Any]:
    # UtcDateTime: ISO-8601 UTC text on SQLite, timestamptz on PostgreSQL (storage/types.py).
    return sa.String(32).with_variant(postgresql.TIMESTAMP(timezone=True), "postgresql")


def _bigid() -> sa.types.TypeEngine[Any]:
    # SQLite only makes an INTEGER PRIMARY KEY the rowid alias.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "load_groups",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("parent_id", sa.String(64), nullable=True),
        sa.Column("max_current_a", sa.Float(), nullable=True),
        sa.Column("max_power_w", sa.Float(), nullable=True),
        sa.Column("phases", sa.Integer(), nullable=False),
        sa.Column("voltage_v", sa.Float(), nullable=False),
        sa.Column("schedule", sa.Text(), nullable=True),
        sa.Column("priorities", sa.Text(), nullable=True),
        sa.Column("ext_current_a", sa.Float(), nullable=True),
        sa.Column("ext_power_w", sa.Float(), nullable=True),
        sa.Column("ext_until", _ts(), nullable=True),
        sa.Column("ext_set_at", _ts(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_load_groups"),
    )
    op.create_index("ix_load_groups_parent", "load_groups", ["parent_id"])
    op.create_table(
        "load_group_members",
        sa.Column("station_id", sa.String(48), nullable=False),
        sa.Column("evse_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("group_id", sa.String(64), nullable=False),
        sa.Column("max_current_a", sa.Float(), nullable=True),
        sa.Column("phases", sa.Integer(), nullable=True),
        sa.Column("phase", sa.Integer(), nullable=True),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("station_id", "evse_id", name="pk_load_group_members"),
    )
    op.create_index("ix_load_group_members_group", "load_group_members", ["group_id"])
    op.create_table(
        "load_decisions",
        sa.Column("id", _bigid(), autoincrement=True, nullable=False),
        sa.Column("group_id", sa.String(64), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("trigger", sa.Text(), nullable=False),
        sa.Column("groups", sa.Text(), nullable=False),
        sa.Column("sessions", sa.Text(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_load_decisions"),
    )
    op.create_index("ix_load_decisions_group", "load_decisions", ["group_id", "id"])


def downgrade() -> None:
    op.drop_table("load_decisions")
    op.drop_table("load_group_members")
    op.drop_table("load_groups")
