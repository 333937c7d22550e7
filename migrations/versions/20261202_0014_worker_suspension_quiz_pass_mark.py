"""worker suspension and quality flags; project quiz pass mark

Revision ID: 0014
Revises: 0008
Create Date: 2026-12-02 02:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("suspension_reason", sa.String(length=40), nullable=True))
        batch_op.add_column(
            sa.Column("quality_flags", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("quiz_pass_mark", sa.Float(), server_default="0.8", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_projects_quiz_pass_mark_fraction"),
            "quiz_pass_mark >= 0 AND quiz_pass_mark <= 1",
        )


def downgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_projects_quiz_pass_mark_fraction"), type_="check")
        batch_op.drop_column("quiz_pass_mark")
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.drop_column("quality_flags")
        batch_op.drop_column("suspension_reason")
        batch_op.drop_column("suspended_at")
