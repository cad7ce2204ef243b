"""Meter values keep one index: the identity, keyed (station, transaction, timestamp, …).

Revision ID: 0020_meter_values_one_index
Revises: 0019_id_blocks
Create Date: 2026-11-26 00:00:00+00:00

Until now the table had two indexes, both led by the station: the identity (station, timestamp,
EVSE, transaction, digest) and (station, transaction, timestamp) for a session's series. A station
writes its rows at its own end of each, so every stored meter value rewrote one leaf page of each
index (4 KiB each to the WAL, and again at the checkpoint); at 1,000 stations that was a fifth of
the writer's I/O. The identity now leads with the transaction, so the one index serves a session's
series (billing, CDRs, transaction end) and resend detection alike, with the same columns and so
the same meaning; "newest samples of a station" reads the index alone first (see
``MeterRepository.for_station``).

SQLite cannot replace a constraint in place: batch mode rebuilds the table (its rows are copied;
on a large database this takes a while, once).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0020_meter_values_one_index"
down_revision: str | None = "0019_id_blocks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BY_TIME = ("station_id", "timestamp", "evse_id", "transaction_id", "samples_digest")
_BY_TRANSACTION = ("station_id", "transaction_id", "timestamp", "evse_id", "samples_digest")


def upgrade() -> None:
    op.drop_index("ix_meter_values_transaction", table_name="meter_values")
    with op.batch_alter_table("meter_values", recreate="auto") as batch:
        batch.drop_constraint("uq_meter_values_sample", type_="unique")
        batch.create_unique_constraint("uq_meter_values_sample", list(_BY_TRANSACTION))


def downgrade() -> None:
    with op.batch_alter_table("meter_values", recreate="auto") as batch:
        batch.drop_constraint("uq_meter_values_sample", type_="unique")
        batch.create_unique_constraint("uq_meter_values_sample", list(_BY_TIME))
    op.create_index(
        "ix_meter_values_transaction",
        "meter_values",
        ["station_id", "transaction_id", "timestamp"],
    )
