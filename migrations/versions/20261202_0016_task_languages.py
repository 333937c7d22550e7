"""task content per language: a task's language, a project's translations, a worker's languages

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-02 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("languages", _JSON, server_default="[]", nullable=False))
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("translations", _JSON, server_default="{}", nullable=False))
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("language")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("translations")
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.drop_column("languages")
