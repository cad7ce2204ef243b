"""Security events reported by stations (docs/security-events.md).

Revision ID: 0010_security_events
Revises: 0009_charging_profiles
Create Date: 2026-11-25 00:00:00+00:00

Self-contained: the tables as they are at this revision.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0010_security_events"
down_revision: str | None = "0009_charging_profiles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
