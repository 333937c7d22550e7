"""Postings and balances of the double-entry ledger: one balanced, append-only transaction each.

Balances are sums of entries, never stored numbers that could drift. A transaction
carries the business event's own reference ("wage:assignment:42"), unique in the
database, so recording the same event twice is a no-op instead of double money.

Money enters as a deposit (funding → requester funding), is committed to a project's
budget, paid out as wages (budget → wallet), and what a closed project did not spend
goes back to the requester's funding. Whoever checks a requester's funding before
committing it locks that account first (``lock_requester_funding``), like a wallet.

A worker's wallet is locked (``lock_wallet``) by whoever debits it; the postings of a
payout's life (hold, settle, release, fees, receivables) are in ``ledger.payout_postings``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from core.db import insert_or_skip, lock_row, utcnow
from core.money import Money
from ledger.errors import LedgerError, UnbalancedTransaction
from ledger.models import AccountKind, LedgerAccount, LedgerEntry, LedgerTransaction

#: Transaction kinds of the funding chain, for reports that add them up.
DEPOSIT = "deposit"  # funding (outside world) → requester funding
BUDGET_COMMIT = "budget_commit"  # requester funding → project budget
BUDGET_RETURN = "budget_return"  # project budget → requester funding, when it closes
WAGE = "wage"  # project budget → worker wallet
SURVEY_FEE = "survey_fee"  # platform expense → worker wallet (impact surveys)
#: Before requester funding existed, a project's budget came straight from the outside.
LEGACY_PROJECT_FUNDING = "funding"


@dataclass(frozen=True)
class Leg:
    """One side of a transaction: a signed amount on an account."""

    account: LedgerAccount
    amount: int


@dataclass(frozen=True)
class Posting:
    """The outcome of ``post``: the transaction, and whether this call created it."""

    transaction: LedgerTransaction
    created: bool


def get_account(
    session: Session,
    kind: AccountKind,
    currency: str,
    *,
    worker_id: int | None = None,
    project_id: int | None = None,
    requester_id: int | None = None,
) -> LedgerAccount:
    """The account of this kind and owner, created on first use (safe under races)."""
    stmt = select(LedgerAccount).where(
        LedgerAccount.kind == kind,
        LedgerAccount.currency == currency,
        _owner_is(LedgerAccount.worker_id, worker_id),
        _owner_is(LedgerAccount.project_id, project_id),
        _owner_is(LedgerAccount.requester_id, requester_id),
    )
    existing = session.scalars(stmt).first()
    if existing is not None:
        return existing
    owner = {"worker_id": worker_id, "project_id": project_id, "requester_id": requester_id}
    created = session.scalars(_opening(session, kind, currency, owner).returning(LedgerAccount))
    return created.first() or session.scalars(stmt).one()


def open_account(
    session: Session,
    kind: AccountKind,
    currency: str,
    *,
    worker_id: int | None = None,
    project_id: int | None = None,
) -> None:
    """Create the account of this kind and owner unless it exists (one statement)."""
    owner = {"worker_id": worker_id, "project_id": project_id, "requester_id": None}
    session.execute(_opening(session, kind, currency, owner))


def _opening(
    session: Session, kind: AccountKind, currency: str, owner: dict[str, int | None]
) -> Any:
    # No savepoint (a worker's first wage is on the USSD hot path): an account created
    # by another transaction first makes this INSERT insert nothing, and theirs is used.
    dialect = session.get_bind().dialect.name
    return (
        insert_or_skip(dialect, LedgerAccount)
        .values(kind=kind, currency=currency, created_at=utcnow(), **owner)
        .on_conflict_do_nothing()
    )


def _owner_is(column: InstrumentedAttribute[int | None], value: int | None) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


def post(
    session: Session,
    *,
    kind: str,
    reference: str,
    legs: Sequence[Leg],
    description: str | None = None,
) -> Posting:
    """Record a balanced transaction once per reference; a repeat returns the first one."""
    _check_balanced(legs)
    # One INSERT that yields no row when the reference is recorded already (the unique
    # reference decides, even between concurrent transactions): no read before it and
    # no savepoint around it on the hot path of a wage (issue 13).
    dialect = session.get_bind().dialect.name
    stmt = (
        insert_or_skip(dialect, LedgerTransaction)
        .values(kind=kind, reference=reference, description=description, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["reference"])
        .returning(LedgerTransaction)
    )
    transaction = session.scalars(stmt).first()
    if transaction is None:
        found = transaction_by_reference(session, reference)
        if found is None:  # refused for another reason than its reference
            raise LedgerError(f"transaction {reference} was not recorded")
        return Posting(found, created=False)
    # Every leg in one INSERT (SQLAlchemy's insertmanyvalues batches the flush).
    session.add_all(
        LedgerEntry(
            transaction_id=transaction.id,
            account_id=leg.account.id,
            amount_minor=leg.amount,
            currency=leg.account.currency,
        )
        for leg in legs
    )
    return Posting(transaction, created=True)


def _check_balanced(legs: Sequence[Leg]) -> None:
    if len(legs) < 2:
        raise UnbalancedTransaction("a transaction needs at least two legs")
    totals: dict[str, int] = {}
    for leg in legs:
        if leg.amount == 0:
            raise UnbalancedTransaction("a leg of zero moves nothing")
        totals[leg.account.currency] = totals.get(leg.account.currency, 0) + leg.amount
    unbalanced = {currency: total for currency, total in totals.items() if total != 0}
    if unbalanced:
        raise UnbalancedTransaction(f"legs do not add up to zero: {unbalanced}")


def transaction_by_reference(session: Session, reference: str) -> LedgerTransaction | None:
    """The transaction recorded under this business reference, if any."""
    stmt = select(LedgerTransaction).where(LedgerTransaction.reference == reference)
    return session.scalars(stmt).first()


def balance(session: Session, account: LedgerAccount) -> Money:
    """The account's balance: the sum of its entries."""
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0)).where(
            LedgerEntry.account_id == account.id
        )
    )
    return Money(int(total or 0), account.currency)


def transfer(
    session: Session,
    *,
    kind: str,
    reference: str,
    source: LedgerAccount,
    destination: LedgerAccount,
    amount: Money,
    description: str | None = None,
) -> Posting:
    """Move ``amount`` from one account to another as one balanced transaction."""
    if amount.amount <= 0:
        raise LedgerError(f"a transfer moves a positive amount, got {amount.format()}")
    if not source.currency == destination.currency == amount.currency:
        raise LedgerError("a transfer stays in one currency")
    legs = [Leg(source, -amount.amount), Leg(destination, amount.amount)]
    return post(session, kind=kind, reference=reference, legs=legs, description=description)


def worker_wallet(session: Session, worker_id: int, currency: str) -> LedgerAccount:
    """The account holding a worker's earned, unwithdrawn wages."""
    return get_account(session, AccountKind.WORKER_WALLET, currency, worker_id=worker_id)


def wallet_balances(session: Session, worker_id: int) -> dict[str, Money]:
    """Every wallet the worker has, by currency (a worker has one per currency earned in)."""
    stmt = (
        select(LedgerAccount.currency, func.coalesce(func.sum(LedgerEntry.amount_minor), 0))
        .outerjoin(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
        .where(
            LedgerAccount.kind == AccountKind.WORKER_WALLET, LedgerAccount.worker_id == worker_id
        )
        .group_by(LedgerAccount.currency)
        .order_by(LedgerAccount.currency)
    )
    return {currency: Money(int(total), currency) for currency, total in session.execute(stmt)}


def project_budget(session: Session, project_id: int, currency: str) -> LedgerAccount:
    """The account holding a project's funded, unspent budget."""
    return get_account(session, AccountKind.PROJECT_BUDGET, currency, project_id=project_id)


def requester_funding(session: Session, requester_id: int, currency: str) -> LedgerAccount:
    """The account holding a requester's deposits not yet committed to a project."""
    return get_account(session, AccountKind.REQUESTER_FUNDING, currency, requester_id=requester_id)


def lock_requester_funding(session: Session, requester_id: int, currency: str) -> LedgerAccount:
    """The requester's funding, locked until the transaction ends so checks cannot race.

    Every commitment of a requester's funding must take this lock first: two projects
    created at once would otherwise both read the balance before either spends it.
    """
    account = requester_funding(session, requester_id, currency)
    lock_row(session, LedgerAccount, account.id)
    return account


def record_deposit(
    session: Session, *, requester_id: int, amount: Money, reference: str
) -> Posting:
    """Money a requester paid in (a bank transfer, an M-Pesa payment) reaches their funding."""
    return transfer(
        session,
        kind=DEPOSIT,
        reference=reference,
        source=get_account(session, AccountKind.FUNDING, amount.currency),
        destination=requester_funding(session, requester_id, amount.currency),
        amount=amount,
    )


def commit_budget(
    session: Session, *, requester_id: int, project_id: int, amount: Money, reference: str
) -> Posting:
    """Move a requester's funding into a project's budget (the caller checked and locked it)."""
    return transfer(
        session,
        kind=BUDGET_COMMIT,
        reference=reference,
        source=requester_funding(session, requester_id, amount.currency),
        destination=project_budget(session, project_id, amount.currency),
        amount=amount,
    )


def return_budget(
    session: Session, *, requester_id: int, project_id: int, amount: Money, reference: str
) -> Posting:
    """Give a closed project's unspent budget back to the requester's funding."""
    return transfer(
        session,
        kind=BUDGET_RETURN,
        reference=reference,
        source=project_budget(session, project_id, amount.currency),
        destination=requester_funding(session, requester_id, amount.currency),
        amount=amount,
    )


def totals_by_kind(session: Session, account_ids: Sequence[int]) -> dict[str, int]:
    """The summed entries on these accounts, by the kind of transaction that made them."""
    if not account_ids:
        return {}
    rows = session.execute(
        select(LedgerTransaction.kind, func.sum(LedgerEntry.amount_minor))
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(LedgerEntry.account_id.in_(account_ids))
        .group_by(LedgerTransaction.kind)
    )
    return {kind: int(total) for kind, total in rows}


def credit_survey_fee(
    session: Session, *, worker_id: int, amount: Money, reference: str
) -> Posting:
    """Pay a worker Kazi's own fee for a completed survey, once per reference."""
    expense = get_account(session, AccountKind.PLATFORM_EXPENSE, amount.currency)
    wallet = worker_wallet(session, worker_id, amount.currency)
    return transfer(
        session,
        kind=SURVEY_FEE,
        reference=reference,
        source=expense,
        destination=wallet,
        amount=amount,
    )


def lock_wallet(session: Session, worker_id: int, currency: str) -> LedgerAccount:
    """The worker's wallet, locked until the transaction ends so balance checks cannot race.

    Every debit of a wallet must take this lock first: two withdrawals that both read
    the balance before either posts would otherwise both pass the check.
    """
    wallet = worker_wallet(session, worker_id, currency)
    lock_row(session, LedgerAccount, wallet.id)
    return wallet


def account_total(session: Session, kind: AccountKind, currency: str) -> Money:
    """The summed balance of every account of a kind (e.g. all payout holds)."""
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0))
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerAccount.kind == kind, LedgerAccount.currency == currency)
    )
    return Money(int(total or 0), currency)
