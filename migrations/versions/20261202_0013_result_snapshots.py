"""result snapshots: whole-project results computed in the background, versioned

Revision ID: 0013
Revises: 0008
Create Date: 2026-12-02 02:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# BIGINT keys on PostgreSQL, INTEGER on SQLite (which only auto-increments INTEGER PRIMARY KEY).
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "result_snapshots",
        sa.Column("id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("aggregator", sa.String(length=20), nullable=False),
        sa.Column("answers_count", sa.Integer(), nullable=False),
        sa.Column("results", _JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_result_snapshots_version_positive")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_result_snapshots_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result_snapshots")),
        sa.UniqueConstraint(
            "project_id", "version", name=op.f("uq_result_snapshots_project_id_version")
        ),
    )


def downgrade() -> None:
    op.drop_table("result_snapshots")
