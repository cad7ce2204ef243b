"""Security profiles per station, password rotation and authentication back-off (docs/security.md).

Revision ID: 0015_security_profiles
Revises: 0014_alerts
Create Date: 2026-11-25 00:00:00+00:00

Self-contained: the tables as they are at this revision.

``station_security`` holds, per station that has any: its security profile (NULL: the node's
``security_profile`` setting), a profile upgrade waiting for the station's first connection at the
new profile (A05.FR.07/09), and the Basic-auth password rotation in progress (A01): the new
password's salted hash, accepted next to the current one (``stations.password_hash``) until the
rotation settles. Authentication failure counters are not stored (in memory, see
opencsms/auth_backoff.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015_security_profiles"
down_revision: str | None = "0014_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts() -> sa.types.TypeEngine[Any]:
    # UtcDateTime: ISO-8601 UTC text on SQLite, timestamptz on PostgreSQL (storage/types.py).
    return sa.String(32).with_variant(postgresql.TIMESTAMP(timezone=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "station_security",
        sa.Column("station_id", sa.String(48), nullable=False),
        sa.Column("security_profile", sa.Integer(), nullable=True),
        sa.Column("pending_security_profile", sa.Integer(), nullable=True),
        sa.Column("pending_password_hash", sa.Text(), nullable=True),
        sa.Column("rotation_status", sa.String(16), nullable=True),
        sa.Column("rotation_requested_at", _ts(), nullable=True),
        sa.Column("rotation_finished_at", _ts(), nullable=True),
        sa.Column("password_rotated_at", _ts(), nullable=True),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("station_id", name="pk_station_security"),
    )


def downgrade() -> None:
    op.drop_table("station_security")
