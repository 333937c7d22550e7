"""payout retry_of_id

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 21:44:58.343184
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('payouts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retry_of_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_payouts_retry_of_id'), ['retry_of_id'])
        batch_op.create_foreign_key(batch_op.f('fk_payouts_retry_of_id_payouts'), 'payouts', ['retry_of_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('payouts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_payouts_retry_of_id_payouts'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_payouts_retry_of_id'), type_='unique')
        batch_op.drop_column('retry_of_id')
