"""Cluster mode: station leases with fencing tokens, and node heartbeats (docs/scaling.md).

Revision ID: 0018_cluster_leases
Revises: 0017_tariff_assignment_history
Create Date: 2026-11-26 00:00:00+00:00

Self-contained: the tables as they are at this revision. Single-node mode never writes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018_cluster_leases"
down_revision: str | None = "0017_tariff_assignment_history"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts() -> sa.types.TypeEngine[Any]:
    # UtcDateTime: ISO-8601 UTC text on SQLite, timestamptz on PostgreSQL (storage/types.py).
    return sa.String(32).with_variant(postgresql.TIMESTAMP(timezone=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "station_leases",
        sa.Column("station_id", sa.String(48), primary_key=True),
        sa.Column("node_id", sa.String(64), nullable=True),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("acquired_at", _ts(), nullable=False),
    )
    op.create_table(
        "cluster_nodes",
        sa.Column("node_id", sa.String(64), primary_key=True),
        sa.Column("started_at", _ts(), nullable=False),
        sa.Column("heartbeat_at", _ts(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("cluster_nodes")
    op.drop_table("station_leases")
