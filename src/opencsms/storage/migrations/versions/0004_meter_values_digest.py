"""Meter values are told apart by their content too, not only by (station, time, EVSE, session).

Revision ID: 0004_meter_values_digest
Revises: 0003_local_lists_reservations
Create Date: 2026-11-25 00:00:00+00:00

Two different meterValue elements with the same timestamp are common in the field: a clock-aligned
and a periodic sample in the same second, a Transaction.End reading in the same millisecond as a
periodic one, or a station that splits measurands over several elements with one timestamp. The
old identity (station, timestamp, EVSE, transaction) kept the first and silently dropped the rest.
``samples_digest`` (a hash of the samples as stored) joins the identity: a resend (same content)
is still recognised, a different reading is stored. Existing rows get their digest here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_meter_values_digest"
down_revision: str | None = "0003_local_lists_reservations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = ("station_id", "timestamp", "evse_id", "transaction_id")


def _digest(samples: str) -> str:
    # Must match storage.digests.samples_digest.
    return hashlib.blake2b(samples.encode("utf-8"), digest_size=8).hexdigest()


def upgrade() -> None:
    # SQLite cannot drop a constraint in place: batch mode rebuilds the table (indexes kept).
    with op.batch_alter_table("meter_values", recreate="auto") as batch:
        batch.add_column(sa.Column("samples_digest", sa.Text(), nullable=False, server_default=""))
    # The digest depends on the samples only: one UPDATE per distinct samples text.
    bind = op.get_bind()
    distinct: Sequence[str] = (
        bind.execute(sa.text("SELECT DISTINCT samples FROM meter_values")).scalars().all()
    )
    for samples in distinct:
        bind.execute(
            sa.text("UPDATE meter_values SET samples_digest = :digest WHERE samples = :samples"),
            {"digest": _digest(samples), "samples": samples},
        )
    with op.batch_alter_table("meter_values", recreate="auto") as batch:
        batch.drop_constraint("uq_meter_values_sample", type_="unique")
        batch.create_unique_constraint("uq_meter_values_sample", [*_OLD, "samples_digest"])


def downgrade() -> None:
    with op.batch_alter_table("meter_values", recreate="auto") as batch:
        batch.drop_constraint("uq_meter_values_sample", type_="unique")
    # Rows that only the digest told apart cannot all survive the old identity: keep the first.
    op.execute(
        "DELETE FROM meter_values WHERE samples_digest <> '' AND EXISTS ("
        " SELECT 1 FROM meter_values AS older"
        " WHERE older.station_id = meter_values.station_id"
        " AND older.timestamp = meter_values.timestamp"
        " AND older.evse_id = meter_values.evse_id"
        " AND older.transaction_id = meter_values.transaction_id"
        " AND older.samples_digest < meter_values.samples_digest)"
    )
    with op.batch_alter_table("meter_values", recreate="auto") as batch:
        batch.drop_column("samples_digest")
        batch.create_unique_constraint("uq_meter_values_sample", list(_OLD))
