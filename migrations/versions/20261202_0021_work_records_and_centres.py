"""work records with verification codes; partner centres; gold reasons

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 16:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# BIGINT keys on PostgreSQL, INTEGER on SQLite (which only auto-increments INTEGER PRIMARY KEY).
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "centres",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("registration_code", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_centres")),
        sa.UniqueConstraint("registration_code", name=op.f("uq_centres_registration_code")),
    )
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("centre_id", _ID, nullable=True))
        batch_op.create_index(batch_op.f("ix_workers_centre_id"), ["centre_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_workers_centre_id_centres"), "centres", ["centre_id"], ["id"]
        )
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.add_column(sa.Column("centre_id", _ID, nullable=True))
        batch_op.create_index(batch_op.f("ix_operators_centre_id"), ["centre_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_operators_centre_id_centres"), "centres", ["centre_id"], ["id"]
        )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gold_reason", sa.String(length=80), nullable=True))
    op.create_table(
        "work_records",
        sa.Column("id", _ID, nullable=False),
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("worker_id", _ID, nullable=False),
        sa.Column("tasks_done", sa.Integer(), nullable=False),
        sa.Column("months_active", sa.Integer(), nullable=False),
        sa.Column("accuracy_band", sa.String(length=10), nullable=True),
        sa.Column("earned", _JSON, nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["workers.id"], name=op.f("fk_work_records_worker_id_workers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_records")),
        sa.UniqueConstraint("code_digest", name=op.f("uq_work_records_code_digest")),
    )
    with op.batch_alter_table("work_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_work_records_worker_id"), ["worker_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("work_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_records_worker_id"))
    op.drop_table("work_records")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("gold_reason")
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_operators_centre_id_centres"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_operators_centre_id"))
        batch_op.drop_column("centre_id")
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_workers_centre_id_centres"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_workers_centre_id"))
        batch_op.drop_column("centre_id")
    op.drop_table("centres")
