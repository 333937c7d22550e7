"""held delivery reports, provider status words, AT inbound provider dates

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-02 02:30:00

- ``held_delivery_reports``: a delivery report that arrived before the send answer
  gave its message the provider's id, kept until ``record_sent`` stores the id.
- ``messages.provider_status`` and ``ussd_sessions.provider_status``: the provider's
  own status word, kept even when Kazi has no mapping for it (stored as unknown).
- ``messages.provider_date``: the provider's timestamp of an inbound SMS, part of the
  de-duplication key of an AT SMS that came without an id.
- ``ussd_sessions.phone`` may be NULL: a session known only from an end notice whose
  number did not parse is still stored.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "held_delivery_reports",
        sa.Column("id", _ID, nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("provider_message_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("provider_status", sa.String(length=40), nullable=False),
        sa.Column("failure_reason", sa.String(length=200), nullable=True),
        sa.Column("network_code", sa.String(length=10), nullable=True),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_held_delivery_reports")),
    )
    op.create_index(
        "ix_held_delivery_reports_provider_id",
        "held_delivery_reports",
        ["provider", "provider_message_id"],
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider_status", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("provider_date", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("ussd_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider_status", sa.String(length=40), nullable=True))
        batch_op.alter_column("phone", existing_type=sa.String(length=16), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("ussd_sessions", schema=None) as batch_op:
        batch_op.alter_column("phone", existing_type=sa.String(length=16), nullable=False)
        batch_op.drop_column("provider_status")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("provider_date")
        batch_op.drop_column("provider_status")
    op.drop_index("ix_held_delivery_reports_provider_id", table_name="held_delivery_reports")
    op.drop_table("held_delivery_reports")
