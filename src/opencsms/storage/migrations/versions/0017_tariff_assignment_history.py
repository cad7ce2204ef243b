"""Tariff assignment history: which tariff each place had when (docs/tariffs.md).

Revision ID: 0017_tariff_assignment_history
Revises: 0016_certificates
Create Date: 2026-11-25 00:00:00+00:00

Self-contained: the table as it is at this revision. The assignments that exist are carried over
as valid since the beginning of time: that is how they were read before this revision (the
current assignment priced every session, however old), so nothing already priced changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017_tariff_assignment_history"
down_revision: str | None = "0016_certificates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Stored like UtcDateTime does (storage/types.py): ISO-8601 text on SQLite, timestamptz on PG.
_SINCE_ALWAYS = datetime(1970, 1, 1, tzinfo=UTC)


def _ts() -> sa.types.TypeEngine[Any]:
    # UtcDateTime: ISO-8601 UTC text on SQLite, timestamptz on PostgreSQL (storage/types.py).
    return sa.String(32).with_variant(postgresql.TIMESTAMP(timezone=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "tariff_assignment_history",
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("valid_from", _ts(), nullable=False),
        sa.Column("valid_to", _ts(), nullable=True),
        sa.Column("tariff_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint(
            "scope", "target", "valid_from", name="pk_tariff_assignment_history"
        ),
    )
    bind = op.get_bind()
    since: Any = _SINCE_ALWAYS
    if bind.dialect.name == "sqlite":
        # the exact text UtcDateTime writes (fixed width, so text order is time order)
        since = _SINCE_ALWAYS.isoformat(timespec="microseconds")
    bind.execute(
        sa.text(
            "INSERT INTO tariff_assignment_history (scope, target, valid_from, valid_to, "
            "tariff_id) SELECT scope, target, :since, NULL, tariff_id FROM tariff_assignments"
        ),
        {"since": since},
    )


def downgrade() -> None:
    op.drop_table("tariff_assignment_history")
