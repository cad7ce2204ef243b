"""Id blocks: the next free number per table, from which PostgreSQL nodes take blocks.

Revision ID: 0019_id_blocks
Revises: 0018_cluster_leases
Create Date: 2026-11-26 00:00:00+00:00

Self-contained: the table as it is at this revision. Its rows are made on first use (seeded
after the table's highest id), so nothing is carried over here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_id_blocks"
down_revision: str | None = "0018_cluster_leases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "id_blocks",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("next_id", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("id_blocks")
