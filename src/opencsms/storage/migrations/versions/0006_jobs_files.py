"""Firmware and log jobs, and the files the CSMS hosts (docs/jobs.md).

Revision ID: 0006_jobs_files
Revises: 0005_commands
Create Date: 2026-11-25 00:00:00+00:00

Self-contained: the tables as they are at this revision.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0006_jobs_files"
down_revision: str | None = "0005_commands"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
