"""External charging limits and EV charging needs (docs/charging-profiles.md).

Revision ID: 0011_charging_limits
Revises: 0010_security_events
Create Date: 2026-11-25 00:00:00+00:00

Self-contained: the tables as they are at this revision.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011_charging_limits"
down_revision: str | None = "0010_security_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.String(48)


def _ts() -> sa.types.TypeEngine[Any]:
    # UtcDateTime: ISO-8601 UTC text on SQLite, timestamptz on PostgreSQL (storage/types.py).
    return sa.String(32).with_variant(postgresql.TIMESTAMP(timezone=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "charging_limits",
        sa.Column("station_id", _ID, nullable=False),
        sa.Column("evse_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("received_at", _ts(), nullable=False),
        sa.Column("grid_critical", sa.Boolean(), nullable=True),
        sa.Column("limit_a", sa.Float(), nullable=True),
        sa.Column("limit_w", sa.Float(), nullable=True),
        sa.Column("schedules", sa.Text(), nullable=True),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("ended_at", _ts(), nullable=True),
        sa.PrimaryKeyConstraint(
            "station_id", "evse_id", "source", "received_at", name="pk_charging_limits"
        ),
    )
    op.create_index("ix_charging_limits_station_state", "charging_limits", ["station_id", "state"])
    op.create_table(
        "ev_charging_needs",
        sa.Column("station_id", _ID, nullable=False),
        sa.Column("evse_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("transaction_id", sa.Text(), nullable=True),
        sa.Column("requested_energy_transfer", sa.String(16), nullable=False),
        sa.Column("departure_time", _ts(), nullable=True),
        sa.Column("energy_amount_wh", sa.Float(), nullable=True),
        sa.Column("ac_min_current_a", sa.Float(), nullable=True),
        sa.Column("ac_max_current_a", sa.Float(), nullable=True),
        sa.Column("ac_max_voltage_v", sa.Float(), nullable=True),
        sa.Column("dc_max_current_a", sa.Float(), nullable=True),
        sa.Column("dc_max_voltage_v", sa.Float(), nullable=True),
        sa.Column("dc_max_power_w", sa.Float(), nullable=True),
        sa.Column("state_of_charge", sa.Integer(), nullable=True),
        sa.Column("max_schedule_tuples", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(20), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("station_id", "evse_id", name="pk_ev_charging_needs"),
    )
    op.create_table(
        "ev_charging_schedules",
        sa.Column("station_id", _ID, nullable=False),
        sa.Column("evse_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("time_base", _ts(), nullable=False),
        sa.Column("transaction_id", sa.Text(), nullable=True),
        sa.Column("schedule", sa.Text(), nullable=False),
        sa.Column("within_limits", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(20), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("received_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint(
            "station_id", "evse_id", "time_base", name="pk_ev_charging_schedules"
        ),
    )


def downgrade() -> None:
    op.drop_table("ev_charging_schedules")
    op.drop_table("ev_charging_needs")
    op.drop_index("ix_charging_limits_station_state", table_name="charging_limits")
    op.drop_table("charging_limits")
