"""Requester funding: recorded deposits, credit lines, and project budgets drawn from them.

Money reaches a requester's funding only as a deposit an operator records with the
payment's own reference (and, with maker-checker on, a second admin approves before
it counts). A credit line an admin grants lets the funding go below zero, down to
its limit. A project's budget is drawn from the funding with the funding account
locked, so two projects created at once cannot both spend the same money; what a
closed project has neither spent nor promised flows back.

Lock order: the project row, then the requester's funding account (after the
assignment → task → project order of ``tasks.counters``), so closing a project, a
reservation released on a closed one and a top-up never deadlock.

Services take a Session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import lock_row
from core.errors import Conflict, NotFound
from core.money import Money
from ledger import services as ledger
from ledger.models import AccountKind, LedgerAccount
from tasks import counters
from tasks.errors import DepositRefused, InsufficientFunding
from tasks.models import (
    CreditLine,
    Deposit,
    DepositChannel,
    DepositStatus,
    Project,
    ProjectStatus,
    Requester,
)

#: Longest deposit reference kept (bank references run to a few dozen characters).
MAX_REFERENCE = 100


def normalize_reference(reference: str) -> str:
    """A payment reference as statements print it: trimmed, upper case (M-Pesa's are)."""
    value = " ".join((reference or "").split()).upper()
    if not 0 < len(value) <= MAX_REFERENCE:
        raise DepositRefused(
            f"a deposit needs its payment reference (1-{MAX_REFERENCE} characters)"
        )
    return value


def record_deposit(
    session: Session,
    *,
    requester_id: int,
    amount: Money,
    channel: DepositChannel,
    reference: str,
    recorded_by: int | None,
    needs_approval: bool,
    note: str | None = None,
) -> Deposit:
    """Record money a requester paid in; it counts at once, or once another admin approves."""
    if session.get(Requester, requester_id) is None:
        raise NotFound(f"no requester {requester_id}")
    if amount.amount <= 0:
        raise DepositRefused("a deposit is a positive amount")
    reference = normalize_reference(reference)
    deposit = Deposit(
        requester_id=requester_id,
        amount_minor=amount.amount,
        currency=amount.currency,
        channel=channel,
        reference=reference,
        note=(note or "").strip()[:200] or None,
        status=DepositStatus.PENDING if needs_approval else DepositStatus.APPROVED,
        recorded_by=recorded_by,
    )
    try:
        with session.begin_nested():
            session.add(deposit)
    except IntegrityError:
        raise DepositRefused(f"reference {reference} is already recorded") from None
    if deposit.status is DepositStatus.APPROVED:
        _credit(session, deposit)
    return deposit


def decide_deposit(
    session: Session, deposit_id: int, *, approve: bool, decided_by: int | None, now: datetime
) -> Deposit:
    """Approve (the money counts) or reject a pending deposit; never by the one who recorded it."""
    deposit = lock_row(session, Deposit, deposit_id)
    if deposit is None:
        raise NotFound(f"no deposit {deposit_id}")
    if deposit.status is not DepositStatus.PENDING:
        raise Conflict(f"deposit {deposit_id} is already {deposit.status}")
    if decided_by is not None and decided_by == deposit.recorded_by:
        raise DepositRefused("another admin must decide on a deposit you recorded")
    deposit.status = DepositStatus.APPROVED if approve else DepositStatus.REJECTED
    deposit.decided_by, deposit.decided_at = decided_by, now
    session.flush()
    if approve:
        _credit(session, deposit)
    return deposit


def _credit(session: Session, deposit: Deposit) -> None:
    ledger.record_deposit(
        session,
        requester_id=deposit.requester_id,
        amount=Money(deposit.amount_minor, deposit.currency),
        reference=f"deposit:{deposit.id}",
    )


def grant_credit(
    session: Session,
    *,
    requester_id: int,
    limit: Money,
    granted_by: int | None,
    reason: str | None = None,
) -> CreditLine:
    """Set how far below zero the requester's funding may go (0 ends the credit line)."""
    if session.get(Requester, requester_id) is None:
        raise NotFound(f"no requester {requester_id}")
    if limit.amount < 0:
        raise DepositRefused("a credit limit is zero or more")
    line = CreditLine(
        requester_id=requester_id,
        currency=limit.currency,
        limit_minor=limit.amount,
        reason=(reason or "").strip()[:200] or None,
        granted_by=granted_by,
    )
    session.add(line)
    session.flush()
    return line


def credit_limit(session: Session, requester_id: int, currency: str) -> int:
    """The credit limit in force (the latest grant), in minor units; 0 without one."""
    stmt = (
        select(CreditLine.limit_minor)
        .where(CreditLine.requester_id == requester_id, CreditLine.currency == currency)
        .order_by(CreditLine.id.desc())
        .limit(1)
    )
    return int(session.scalar(stmt) or 0)


def draw_budget(session: Session, project: Project, amount: Money) -> None:
    """Commit ``amount`` of the requester's funding to the project's budget, or refuse (402).

    The caller holds the project row (a new one, or locked for a top-up).
    """
    funding = ledger.lock_requester_funding(session, project.requester_id, amount.currency)
    available = ledger.balance(session, funding).amount + credit_limit(
        session, project.requester_id, amount.currency
    )
    if amount.amount > available:
        short = Money(amount.amount - available, amount.currency)
        raise InsufficientFunding(
            f"{Money(available, amount.currency).format()} available, {amount.format()} needed: "
            f"record a deposit of at least {short.format()} first",
            details=[
                {
                    "currency": amount.currency,
                    "available": available,
                    "needed": amount.amount,
                    "shortfall": short.amount,
                }
            ],
        )
    ledger.commit_budget(
        session,
        requester_id=project.requester_id,
        project_id=project.id,
        amount=amount,
        reference=_reference("budget", project.id),
    )
    _add_to_budget(session, project.id, amount.amount)


def return_unspent(session: Session, project_id: int) -> Money | None:
    """Give a closed project's unspent, unpromised budget back to the requester's funding.

    Called when the project closes and again whenever a promise on it is released
    (a reservation expires, a held answer is rejected), so nothing stays stranded.
    """
    project = lock_row(session, Project, project_id)
    if project is None or project.status is not ProjectStatus.CLOSED:
        return None
    return _give_back(session, project, project.free_budget_minor, "return")


def return_if_closed(session: Session, project_id: int) -> None:
    """After a promise on a project is released: hand the money back if the project closed."""
    # The status is read afresh: the session may hold the project from before it closed.
    status = session.scalar(select(Project.status).where(Project.id == project_id))
    if status == ProjectStatus.CLOSED:
        return_unspent(session, project_id)


def release_budget(session: Session, project: Project, amount_minor: int) -> Money | None:
    """Give up to ``amount_minor`` of an open project's free budget back to the funding.

    Free is what is neither paid nor promised to a worker holding a task; the caller
    holds the project row (locked). Returns what went back (None when nothing could).
    """
    return _give_back(session, project, min(amount_minor, project.free_budget_minor), "release")


def _give_back(session: Session, project: Project, amount_minor: int, kind: str) -> Money | None:
    """Move ``amount_minor`` of the project's budget back to the requester's funding."""
    if amount_minor <= 0:
        return None
    amount = Money(amount_minor, project.currency)
    ledger.lock_requester_funding(session, project.requester_id, project.currency)
    ledger.return_budget(
        session,
        requester_id=project.requester_id,
        project_id=project.id,
        amount=amount,
        reference=_reference(kind, project.id),
    )
    _add_to_budget(session, project.id, -amount_minor)
    return amount


def _add_to_budget(session: Session, project_id: int, amount_minor: int) -> None:
    # budget_minor mirrors the project's budget account; within_budget still guards it.
    session.execute(
        update(Project)
        .where(Project.id == project_id)
        .values(budget_minor=Project.budget_minor + amount_minor),
        execution_options=counters.NO_SYNC,
    )
    project = session.get(Project, project_id)
    if project is not None:
        session.expire(project, ["budget_minor"])


def _reference(kind: str, project_id: int) -> str:
    # Each draw or return is its own event; a random suffix tells them apart.
    return f"{kind}:project:{project_id}:{secrets.token_hex(8)}"


@dataclass(frozen=True)
class FundingBalance:
    """A requester's money in one currency, in minor units.

    ``funded`` came in (deposits, and budgets funded before requester funding existed);
    ``committed`` sits in project budgets unpaid; ``spent`` was paid as wages. What is
    left, ``funded - committed - spent``, is the funding account's balance (below zero
    when credit is in use); ``available`` adds the credit limit.
    """

    currency: str
    funded: int
    committed: int
    spent: int
    credit_limit: int
    balance: int
    pending: int

    @property
    def credit_used(self) -> int:
        """How much of the credit line the requester's commitments use."""
        return max(0, -self.balance)

    @property
    def available(self) -> int:
        """What a new project or top-up may draw now."""
        return self.balance + self.credit_limit

    def to_dict(self) -> dict[str, Any]:
        """The API shape: amounts as {"amount", "currency"}."""

        def money(amount: int) -> dict[str, Any]:
            return {"amount": amount, "currency": self.currency}

        return {
            "currency": self.currency,
            "funded": money(self.funded),
            "committed": money(self.committed),
            "spent": money(self.spent),
            "available": money(self.available),
            "pending_deposits": money(self.pending),
            "credit": {"limit": money(self.credit_limit), "used": money(self.credit_used)},
        }


def balances(session: Session, requester_id: int) -> list[FundingBalance]:
    """The requester's funding in every currency it has money, credit or projects in."""
    funding = dict(
        session.execute(
            select(LedgerAccount.currency, LedgerAccount.id).where(
                LedgerAccount.kind == AccountKind.REQUESTER_FUNDING,
                LedgerAccount.requester_id == requester_id,
            )
        ).all()
    )
    budgets: dict[str, list[int]] = {}
    for currency, account_id in session.execute(
        select(LedgerAccount.currency, LedgerAccount.id)
        .join(Project, Project.id == LedgerAccount.project_id)
        .where(
            LedgerAccount.kind == AccountKind.PROJECT_BUDGET, Project.requester_id == requester_id
        )
    ):
        budgets.setdefault(currency, []).append(account_id)
    pending = dict(
        session.execute(
            select(Deposit.currency, func.sum(Deposit.amount_minor))
            .where(Deposit.requester_id == requester_id, Deposit.status == DepositStatus.PENDING)
            .group_by(Deposit.currency)
        ).all()
    )
    credited = session.scalars(
        select(CreditLine.currency).where(CreditLine.requester_id == requester_id).distinct()
    )
    currencies = sorted(set(funding) | set(budgets) | set(pending) | set(credited))
    return [
        _balance(session, requester_id, c, funding.get(c), budgets.get(c, []), pending.get(c))
        for c in currencies
    ]


def _balance(
    session: Session,
    requester_id: int,
    currency: str,
    funding_id: int | None,
    budget_ids: list[int],
    pending: int | None,
) -> FundingBalance:
    into_funding = ledger.totals_by_kind(session, [funding_id] if funding_id else [])
    into_budgets = ledger.totals_by_kind(session, budget_ids)
    return FundingBalance(
        currency=currency,
        funded=into_funding.get(ledger.DEPOSIT, 0)
        + into_budgets.get(ledger.LEGACY_PROJECT_FUNDING, 0),
        committed=sum(into_budgets.values()),
        spent=-into_budgets.get(ledger.WAGE, 0),
        credit_limit=credit_limit(session, requester_id, currency),
        balance=sum(into_funding.values()),
        pending=int(pending or 0),
    )


def deposits(
    session: Session, *, status: DepositStatus | None = None, limit: int = 100
) -> list[Deposit]:
    """Recorded deposits, newest first (optionally of one status)."""
    stmt = select(Deposit).order_by(Deposit.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(Deposit.status == status)
    return list(session.scalars(stmt))
