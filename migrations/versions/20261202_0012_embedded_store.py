"""the embedded default's shared key-value store (and data-protection retention)

Revision ID: 0012
Revises: 0008
Create Date: 2026-12-02 02:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0008"
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
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
    with op.batch_alter_table("kv_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kv_entries_expires_at"))
    op.drop_table("kv_entries")
