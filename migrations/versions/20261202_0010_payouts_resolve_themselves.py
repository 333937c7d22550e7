"""payouts resolve themselves: queries, resend, contradictions, fees, pauses, statements

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-02 02:07:13.750753

Schema only, nothing rewritten; both databases.

- ``payouts``: ``status_queries`` (the backoff counts them), ``resent_at`` (the one
  resend after the resolve window), ``contradiction`` and ``contradiction_resolved_at``
  (paid after release, another amount: withdrawals wait for an operator),
  ``paid_amount_minor``, and what each result reported: ``fee_minor``,
  ``float_after_minor``, ``charges_account_minor``.
- ``payout_rail_pauses``: a rail paused by a result code meaning our configuration is
  wrong, until an operator resumes it.
- ``payout_statement_imports``: each imported M-Pesa org statement and what matched.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0010'
down_revision: str | Sequence[str] | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('payout_statement_imports',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('matched', sa.Integer(), nullable=False),
    sa.Column('unmatched_lines', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('unmatched_payouts', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('period_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_statement_imports'))
    )
    op.create_table('payout_rail_pauses',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('payout_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resumed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resumed_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['payout_id'], ['payouts.id'], name=op.f('fk_payout_rail_pauses_payout_id_payouts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_rail_pauses'))
    )
    with op.batch_alter_table('payout_rail_pauses', schema=None) as batch_op:
        batch_op.create_index('ix_payout_rail_pauses_provider_resumed_at', ['provider', 'resumed_at'], unique=False)

    with op.batch_alter_table('payouts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_queries', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('resent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('contradiction', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('contradiction_resolved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('paid_amount_minor', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('fee_minor', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('float_after_minor', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('charges_account_minor', sa.BigInteger(), nullable=True))
        batch_op.create_index(batch_op.f('ix_payouts_contradiction'), ['contradiction'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('payouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payouts_contradiction'))
        batch_op.drop_column('charges_account_minor')
        batch_op.drop_column('float_after_minor')
        batch_op.drop_column('fee_minor')
        batch_op.drop_column('paid_amount_minor')
        batch_op.drop_column('contradiction_resolved_at')
        batch_op.drop_column('contradiction')
        batch_op.drop_column('resent_at')
        batch_op.drop_column('status_queries')

    with op.batch_alter_table('payout_rail_pauses', schema=None) as batch_op:
        batch_op.drop_index('ix_payout_rail_pauses_provider_resumed_at')

    op.drop_table('payout_rail_pauses')
    op.drop_table('payout_statement_imports')
