"""2.0.1 variable monitors, display messages and customer information reports (docs/monitoring.md).

Revision ID: 0008_monitoring
Revises: 0007_configuration
Create Date: 2026-11-25 00:00:00+00:00

Self-contained: the tables as they are at this revision.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0008_monitoring"
down_revision: str | None = "0007_configuration"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
