"""Certificates the CSMS signed, CSR log, per-station inventory, OCSP cache (docs/certificates.md).

Revision ID: 0016_certificates
Revises: 0015_security_profiles
Create Date: 2026-11-25 00:00:00+00:00

Self-contained: the tables as they are at this revision.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016_certificates"
down_revision: str | None = "0015_security_profiles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts() -> sa.types.TypeEngine[Any]:
    # UtcDateTime: ISO-8601 UTC text on SQLite, timestamptz on PostgreSQL (storage/types.py).
    return sa.String(32).with_variant(postgresql.TIMESTAMP(timezone=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "issued_certificates",
        sa.Column("serial", sa.String(64), nullable=False),
        sa.Column("station_id", sa.String(48), nullable=False),
        sa.Column("use", sa.String(40), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("pem", sa.Text(), nullable=False),
        sa.Column("not_before", _ts(), nullable=False),
        sa.Column("not_after", _ts(), nullable=False),
        sa.Column("issued_at", _ts(), nullable=False),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("delivery_status", sa.String(20), nullable=True),
        sa.Column("delivered_at", _ts(), nullable=True),
        sa.Column("revoked_at", _ts(), nullable=True),
        sa.Column("expiry_notified_at", _ts(), nullable=True),
        sa.PrimaryKeyConstraint("serial", name="pk_issued_certificates"),
    )
    op.create_index(
        "ix_issued_certificates_station", "issued_certificates", ["station_id", "issued_at"]
    )
    op.create_index("ix_issued_certificates_not_after", "issued_certificates", ["not_after"])
    op.create_table(
        "certificate_requests",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("station_id", sa.String(48), nullable=False),
        sa.Column("use", sa.String(40), nullable=False),
        sa.Column("csr", sa.Text(), nullable=False),
        sa.Column("received_at", _ts(), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("serial", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_certificate_requests"),
    )
    op.create_index(
        "ix_certificate_requests_station", "certificate_requests", ["station_id", "received_at"]
    )
    op.create_table(
        "station_certificates",
        sa.Column("station_id", sa.String(48), nullable=False),
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("certificate_type", sa.String(40), nullable=False),
        sa.Column("hash_algorithm", sa.String(10), nullable=False),
        sa.Column("issuer_name_hash", sa.String(128), nullable=False),
        sa.Column("issuer_key_hash", sa.String(128), nullable=False),
        sa.Column("serial_number", sa.String(64), nullable=False),
        sa.Column("children", sa.Text(), nullable=True),
        sa.Column("pem", sa.Text(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("not_after", _ts(), nullable=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("station_id", "id", name="pk_station_certificates"),
    )
    op.create_table(
        "ocsp_responses",
        sa.Column("cert_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("fetched_at", _ts(), nullable=False),
        sa.Column("expires_at", _ts(), nullable=False),
        sa.Column("revoked_at", _ts(), nullable=True),
        sa.PrimaryKeyConstraint("cert_id", name="pk_ocsp_responses"),
    )


def downgrade() -> None:
    op.drop_table("ocsp_responses")
    op.drop_table("station_certificates")
    op.drop_table("certificate_requests")
    op.drop_table("issued_certificates")
