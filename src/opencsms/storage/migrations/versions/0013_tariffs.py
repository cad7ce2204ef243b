"""Tariffs, transaction costs and charge detail records (docs/tariffs.md).

Revision ID: 0013_tariffs
Revises: 0012_load_management
Create Date: 2026-11-25 00:00:00+00:00

Self-contained: the tables as they are at this revision.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0013_tariffs"
down_revision: str | None = "0012_load_management"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
