"""the flow step (flow.node) a USSD session last showed, for analytics by step

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-02 16:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ussd_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_node", sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ussd_sessions", schema=None) as batch_op:
        batch_op.drop_column("last_node")
