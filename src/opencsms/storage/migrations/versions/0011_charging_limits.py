"""External charging limits and EV charging needs (docs/charging-profiles.md).

Revision ID: 0011_charging_limits
Revises: 0010_security_events
Create Date: 2026-11-25 00:00:00+00:00

Self-contained: the tables as they are at this revision.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0011_charging_limits"
down_revision: str | None = "0010_security_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
