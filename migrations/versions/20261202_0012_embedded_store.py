"""the embedded default's shared key-value store and job journal; workers.erased_at

Revision ID: 0012
Revises: 0008
Create Date: 2026-12-02 02:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kv_entries",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=True),
        sa.Column("counter", sa.BigInteger(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_kv_entries")),
    )
    with op.batch_alter_table("kv_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kv_entries_expires_at"), ["expires_at"], unique=False)
    op.create_table(
        "job_journal",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("func", sa.String(length=200), nullable=False),
        sa.Column("args", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("queue", sa.String(length=20), nullable=False),
        sa.Column("retry_max", sa.Integer(), nullable=True),
        sa.Column(
            "retry_intervals",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_journal")),
    )
    with op.batch_alter_table("job_journal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_journal_lease_until"), ["lease_until"], unique=False)
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_journal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_journal_lease_until"))
    op.drop_table("job_journal")
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
    with op.batch_alter_table("kv_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kv_entries_expires_at"))
    op.drop_table("kv_entries")
