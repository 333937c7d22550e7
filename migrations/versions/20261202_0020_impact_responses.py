"""impact survey responses: baseline and follow-up answers with consent, apart from task answers

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-02 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# BIGINT keys on PostgreSQL, INTEGER on SQLite (which only auto-increments INTEGER PRIMARY KEY).
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "impact_responses",
        sa.Column("id", _ID, nullable=False),
        sa.Column("worker_id", _ID, nullable=False),
        sa.Column(
            "kind",
            sa.Enum("baseline", "followup", name="surveykind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("wave", sa.Integer(), nullable=False),
        sa.Column("survey_version", sa.String(length=10), nullable=False),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("income_source", sa.String(length=20), nullable=True),
        sa.Column("income_band", sa.Integer(), nullable=True),
        sa.Column("income_currency", sa.String(length=3), nullable=True),
        sa.Column("hours_band", sa.Integer(), nullable=True),
        sa.Column("household_size", sa.Integer(), nullable=True),
        sa.Column("new_work", sa.String(length=10), nullable=True),
        sa.Column("fee_reference", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["workers.id"], name=op.f("fk_impact_responses_worker_id_workers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_impact_responses")),
        sa.UniqueConstraint(
            "worker_id", "kind", "wave", name=op.f("uq_impact_responses_worker_id_kind_wave")
        ),
    )
    with op.batch_alter_table("impact_responses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_impact_responses_worker_id"), ["worker_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("impact_responses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_impact_responses_worker_id"))
    op.drop_table("impact_responses")
