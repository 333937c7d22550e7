"""requester funding (deposits, credit lines) and the ledger's invariants in the database

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 21:57:45.582572

Schema only, no data is rewritten: existing projects' budgets, funded straight from
the ``funding`` account, keep their transactions (balances count them as funded).

- ``deposits`` and ``credit_lines``: where a requester's money comes from.
- ``ledger_accounts.requester_id``: the owner of a requester-funding account. The old
  unique constraint over (kind, worker_id, project_id, currency) never held, because
  NULLs repeat in a unique constraint; one partial unique index per kind of owner
  replaces it (so a requester has one funding account, and the lock on it means
  something).
- ``ledger_entries`` point at (account_id, currency): an entry cannot be in another
  currency than its account (both databases).
- ``payouts.receipt`` is unique where set (both databases).
- PostgreSQL only, in plpgsql: a deferred constraint trigger refuses, at commit, a
  transaction whose entries do not sum to zero per currency; triggers refuse any
  UPDATE or DELETE of ledger entries and transactions. (SQLite has no deferred
  triggers; there the ledger service and the ORM guard in ``ledger.models`` check.)

Upgrading stops, naming the rows, if existing data breaks a new rule (two payouts
with one receipt, two accounts for one owner): those need an operator, not a guess.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

#: (index name, owner columns, where) of the one-account-per-owner indexes.
_ACCOUNT_OWNERS = [
    ("uq_ledger_accounts_worker", ["worker_id"], "worker_id IS NOT NULL"),
    ("uq_ledger_accounts_project", ["project_id"], "project_id IS NOT NULL"),
    ("uq_ledger_accounts_requester", ["requester_id"], "requester_id IS NOT NULL"),
    (
        "uq_ledger_accounts_kazi",
        [],
        "worker_id IS NULL AND project_id IS NULL AND requester_id IS NULL",
    ),
]

_POSTGRES_TRIGGERS = """
CREATE FUNCTION ledger_transaction_balances() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    off record;
BEGIN
    SELECT currency, sum(amount_minor) AS total INTO off
      FROM ledger_entries
     WHERE transaction_id = NEW.transaction_id
     GROUP BY currency
    HAVING sum(amount_minor) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not balance: its % entries sum to %',
            NEW.transaction_id, off.currency, off.total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

-- Deferred to commit: a transaction's entries are inserted one by one.
CREATE CONSTRAINT TRIGGER ledger_entries_balance
    AFTER INSERT ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_transaction_balances();

CREATE FUNCTION ledger_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused (record a correcting transaction)',
        TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER ledger_entries_append_only
    BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

CREATE TRIGGER ledger_transactions_append_only
    BEFORE UPDATE OR DELETE ON ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
"""

_DROP_POSTGRES_TRIGGERS = """
DROP TRIGGER ledger_transactions_append_only ON ledger_transactions;
DROP TRIGGER ledger_entries_append_only ON ledger_entries;
DROP FUNCTION ledger_append_only();
DROP TRIGGER ledger_entries_balance ON ledger_entries;
DROP FUNCTION ledger_transaction_balances();
"""


def upgrade() -> None:
    _refuse_duplicates(
        "payouts sharing a receipt",
        "SELECT receipt, count(*) FROM payouts WHERE receipt IS NOT NULL "
        "GROUP BY receipt HAVING count(*) > 1",
    )
    _refuse_duplicates(
        "ledger accounts for one owner",
        "SELECT kind, worker_id, project_id, currency, count(*) FROM ledger_accounts "
        "GROUP BY kind, worker_id, project_id, currency HAVING count(*) > 1",
    )
    op.create_table(
        "credit_lines",
        sa.Column("id", _ID, nullable=False),
        sa.Column("requester_id", _ID, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("limit_minor", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("granted_by", _ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(currency) = 3", name=op.f("ck_credit_lines_currency_iso")),
        sa.CheckConstraint("limit_minor >= 0", name=op.f("ck_credit_lines_limit_non_negative")),
        sa.ForeignKeyConstraint(
            ["granted_by"], ["operators.id"], name=op.f("fk_credit_lines_granted_by_operators")
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"],
            ["requesters.id"],
            name=op.f("fk_credit_lines_requester_id_requesters"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_lines")),
    )
    with op.batch_alter_table("credit_lines", schema=None) as batch_op:
        batch_op.create_index(
            "ix_credit_lines_requester_id_currency_id", ["requester_id", "currency", "id"]
        )

    op.create_table(
        "deposits",
        sa.Column("id", _ID, nullable=False),
        sa.Column("requester_id", _ID, nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "channel",
            sa.Enum("bank", "mpesa", name="depositchannel", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "approved",
                "rejected",
                name="depositstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("recorded_by", _ID, nullable=True),
        sa.Column("decided_by", _ID, nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_deposits_amount_positive")),
        sa.CheckConstraint(
            "decided_by IS NULL OR recorded_by IS NULL OR decided_by <> recorded_by",
            name=op.f("ck_deposits_checker_is_not_maker"),
        ),
        sa.CheckConstraint("length(currency) = 3", name=op.f("ck_deposits_currency_iso")),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["operators.id"], name=op.f("fk_deposits_decided_by_operators")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["operators.id"], name=op.f("fk_deposits_recorded_by_operators")
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"], ["requesters.id"], name=op.f("fk_deposits_requester_id_requesters")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deposits")),
    )
    with op.batch_alter_table("deposits", schema=None) as batch_op:
        batch_op.create_index("ix_deposits_requester_id_id", ["requester_id", "id"])
        batch_op.create_index("ix_deposits_status_id", ["status", "id"])
        batch_op.create_index(
            "uq_deposits_reference",
            ["reference"],
            unique=True,
            postgresql_where=sa.text("status <> 'rejected'"),
            sqlite_where=sa.text("status <> 'rejected'"),
        )

    with op.batch_alter_table("ledger_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requester_id", _ID, nullable=True))
        batch_op.drop_constraint(
            batch_op.f("uq_ledger_accounts_kind_worker_id_project_id_currency"), type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_ledger_accounts_id_currency"), ["id", "currency"]
        )
        for name, owner, where in _ACCOUNT_OWNERS:
            batch_op.create_index(
                name,
                ["kind", *owner, "currency"],
                unique=True,
                postgresql_where=sa.text(where),
                sqlite_where=sa.text(where),
            )
        batch_op.create_foreign_key(
            batch_op.f("fk_ledger_accounts_requester_id_requesters"),
            "requesters",
            ["requester_id"],
            ["id"],
        )

    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_ledger_entries_account_id_ledger_accounts"), type_="foreignkey"
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_ledger_entries_account_id_ledger_accounts"),
            "ledger_accounts",
            ["account_id", "currency"],
            ["id", "currency"],
        )

    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.create_index(
            "uq_payouts_receipt",
            ["receipt"],
            unique=True,
            postgresql_where=sa.text("receipt IS NOT NULL"),
            sqlite_where=sa.text("receipt IS NOT NULL"),
        )

    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTGRES_TRIGGERS)


def _refuse_duplicates(what: str, query: str) -> None:
    rows = op.get_bind().execute(sa.text(query)).fetchall()
    if rows:
        raise RuntimeError(
            f"migration 0008 stopped: {what} must be resolved first: {[tuple(r) for r in rows[:10]]}"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_DROP_POSTGRES_TRIGGERS)

    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.drop_index("uq_payouts_receipt")

    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_ledger_entries_account_id_ledger_accounts"), type_="foreignkey"
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_ledger_entries_account_id_ledger_accounts"),
            "ledger_accounts",
            ["account_id"],
            ["id"],
        )

    with op.batch_alter_table("ledger_accounts", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_ledger_accounts_requester_id_requesters"), type_="foreignkey"
        )
        for name, _owner, _where in reversed(_ACCOUNT_OWNERS):
            batch_op.drop_index(name)
        batch_op.drop_constraint(batch_op.f("uq_ledger_accounts_id_currency"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_ledger_accounts_kind_worker_id_project_id_currency"),
            ["kind", "worker_id", "project_id", "currency"],
        )
        batch_op.drop_column("requester_id")

    with op.batch_alter_table("deposits", schema=None) as batch_op:
        batch_op.drop_index("uq_deposits_reference")
        batch_op.drop_index("ix_deposits_status_id")
        batch_op.drop_index("ix_deposits_requester_id_id")
    op.drop_table("deposits")
    with op.batch_alter_table("credit_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_lines_requester_id_currency_id")
    op.drop_table("credit_lines")
