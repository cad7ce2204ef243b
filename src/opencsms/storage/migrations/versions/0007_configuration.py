"""Station configuration: 1.6 keys, 2.0.1 device model, desired configuration.

Revision ID: 0007_configuration
Revises: 0006_jobs_files
Create Date: 2026-11-25 00:00:00+00:00

Self-contained: the tables as they are at this revision.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0007_configuration"
down_revision: str | None = "0006_jobs_files"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
