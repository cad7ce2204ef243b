"""Certificate authority, station certificates and per-station certificate inventory (docs/certificates.md).

Revision ID: 0016_certificates
Revises: 0015_security_profiles
Create Date: 2026-11-25 00:00:00+00:00

Self-contained: the tables as they are at this revision.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0016_certificates"
down_revision: str | None = "0015_security_profiles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
