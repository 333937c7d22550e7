"""Wages: a project's budget pays a worker's wallet, once per answer, on the USSD hot path.

Every paid answer posts one. On PostgreSQL it is one statement when both accounts
exist (the usual case): the accounts are looked up, the transaction inserted unless
its reference is recorded already, and its balanced pair of entries inserted, all in
one round trip (data-modifying CTEs,
https://www.postgresql.org/docs/current/queries-with.html#QUERIES-WITH-MODIFYING).
The deferred balance trigger (migration 0008) still checks the pair at commit. A first
wage opens the missing wallet (one INSERT) and runs the statement again; SQLite, which
has no data-modifying CTEs, takes the general path of ``ledger.services``.
"""

from __future__ import annotations

from sqlalchemy import or_, select, text
from sqlalchemy.orm import Session, make_transient_to_detached

from core.db import utcnow
from core.money import Money
from ledger.errors import LedgerError
from ledger.models import AccountKind, LedgerAccount, LedgerTransaction
from ledger.services import (
    WAGE,
    Posting,
    open_account,
    project_budget,
    transaction_by_reference,
    transfer,
    worker_wallet,
)

#: The transaction goes in only when both accounts are found, so it never lacks its
#: legs; the final row says what was inserted and which accounts were found.
_WAGE_SQL = text(
    """
WITH accounts AS (
    SELECT
        (SELECT id FROM ledger_accounts
         WHERE kind = :budget_kind AND project_id = :project_id AND currency = :currency)
            AS budget_id,
        (SELECT id FROM ledger_accounts
         WHERE kind = :wallet_kind AND worker_id = :worker_id AND currency = :currency)
            AS wallet_id
),
tx AS (
    INSERT INTO ledger_transactions (kind, reference, created_at)
    SELECT :kind, :reference, :now FROM accounts
    WHERE budget_id IS NOT NULL AND wallet_id IS NOT NULL
    ON CONFLICT (reference) DO NOTHING
    RETURNING id
),
legs AS (
    INSERT INTO ledger_entries (transaction_id, account_id, amount_minor, currency, created_at)
    SELECT tx.id, leg.account_id, leg.amount_minor, :currency, :now
    FROM tx CROSS JOIN accounts
    CROSS JOIN LATERAL (VALUES (accounts.budget_id, -CAST(:amount AS BIGINT)),
                               (accounts.wallet_id, CAST(:amount AS BIGINT)))
        AS leg(account_id, amount_minor)
    RETURNING transaction_id
)
SELECT (SELECT id FROM tx), (SELECT count(*) FROM legs), budget_id, wallet_id FROM accounts
"""
)


def credit_wage(
    session: Session, *, worker_id: int, project_id: int, amount: Money, reference: str
) -> Posting:
    """Pay a worker's wage for an accepted answer out of the project's budget (once per
    ``reference``: a repeat returns the first posting, ``created`` False)."""
    if amount.amount <= 0:
        raise ValueError(f"a wage is a positive amount, got {amount.format()}")
    if session.get_bind().dialect.name != "postgresql":
        return _credit_wage_in_steps(session, worker_id, project_id, amount, reference)
    now = utcnow()
    params = {
        "budget_kind": AccountKind.PROJECT_BUDGET.value,
        "wallet_kind": AccountKind.WORKER_WALLET.value,
        "project_id": project_id,
        "worker_id": worker_id,
        "currency": amount.currency,
        "kind": WAGE,
        "reference": reference,
        "amount": amount.amount,
        "now": now,
    }
    created_id, legs, budget_id, wallet_id = session.execute(_WAGE_SQL, params).one()
    if budget_id is None or wallet_id is None:
        # A first wage in this currency (or a project's first): open what is missing, once.
        if budget_id is None:
            open_account(
                session, AccountKind.PROJECT_BUDGET, amount.currency, project_id=project_id
            )
        if wallet_id is None:
            open_account(session, AccountKind.WORKER_WALLET, amount.currency, worker_id=worker_id)
        created_id, legs, budget_id, wallet_id = session.execute(_WAGE_SQL, params).one()
    if created_id is None:
        # Both accounts are there, so the reference is recorded already: the first stands.
        found = transaction_by_reference(session, reference)
        if found is None:
            raise LedgerError(f"wage {reference} was not recorded")
        return Posting(found, created=False)
    if legs != 2:  # cannot happen: the pair is inserted from the transaction's row
        raise LedgerError(f"wage {reference}: {legs} legs inserted")
    row = LedgerTransaction(id=created_id, kind=WAGE, reference=reference, created_at=now)
    # What the statement inserted is known: the row joins the session as if loaded,
    # without reading it back.
    make_transient_to_detached(row)
    session.add(row)
    return Posting(row, created=True)


def _credit_wage_in_steps(
    session: Session, worker_id: int, project_id: int, amount: Money, reference: str
) -> Posting:
    # Both accounts in one read; an account not there yet is created on first use.
    found = session.scalars(
        select(LedgerAccount).where(
            LedgerAccount.currency == amount.currency,
            or_(
                (LedgerAccount.kind == AccountKind.PROJECT_BUDGET)
                & (LedgerAccount.project_id == project_id),
                (LedgerAccount.kind == AccountKind.WORKER_WALLET)
                & (LedgerAccount.worker_id == worker_id),
            ),
        )
    ).all()
    kinds = {account.kind: account for account in found}
    budget = kinds.get(AccountKind.PROJECT_BUDGET) or project_budget(
        session, project_id, amount.currency
    )
    wallet = kinds.get(AccountKind.WORKER_WALLET) or worker_wallet(
        session, worker_id, amount.currency
    )
    return transfer(
        session, kind=WAGE, reference=reference, source=budget, destination=wallet, amount=amount
    )
