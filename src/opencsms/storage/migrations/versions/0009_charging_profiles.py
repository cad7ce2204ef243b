"""Charging profiles as each station holds them (docs/charging-profiles.md).

Revision ID: 0009_charging_profiles
Revises: 0008_monitoring
Create Date: 2026-11-25 00:00:00+00:00

Self-contained: the tables as they are at this revision.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0009_charging_profiles"
down_revision: str | None = "0008_monitoring"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
