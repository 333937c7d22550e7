"""What the console shows about workers: search, and one worker's record and earnings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from console.pagination import Page, paginate
from core.money import Money
from flows.i18n import format_value
from gateway.models import Message
from ledger import services as ledger
from ledger.models import AccountKind, LedgerAccount, LedgerEntry, LedgerTransaction
from payouts.models import Payout
from tasks import reputation
from tasks.models import Assignment, AssignmentStatus, Task
from workers.models import Worker

RECENT_PAYOUTS = 20
RECENT_MESSAGES = 20
RECENT_FLAGS = 20


def search_workers(
    session: Session,
    text: str,
    status: str | None = None,
    page: int = 1,
    *,
    within: Select[int] | None = None,
) -> Page:
    """Workers whose number contains the digits typed (all when none), newest first, paged.

    ``within`` (worker ids, e.g. a centre's) narrows the search; None searches everyone.
    """
    digits = "".join(c for c in text if c.isdigit())  # digits only: no LIKE wildcards
    stmt = select(Worker).order_by(Worker.created_at.desc(), Worker.id.desc())
    if digits:
        stmt = stmt.where(Worker.msisdn.contains(digits))
    if status:
        stmt = stmt.where(Worker.status == status)
    if within is not None:
        stmt = stmt.where(Worker.id.in_(within))
    return paginate(session, stmt, page)


@dataclass(frozen=True)
class WorkStats:
    """A worker's answers: how many by status, how accurate on gold, and time on task."""

    by_status: dict[str, int]
    flagged: int
    gold_answered: int
    gold_correct: int
    seconds: float

    @property
    def accuracy(self) -> float | None:
        """Share of gold tasks answered right; None before any gold answer."""
        return self.gold_correct / self.gold_answered if self.gold_answered else None


def work_stats(session: Session, worker_id: int) -> WorkStats:
    """Counts of a worker's assignments, gold accuracy and measured seconds on task."""
    mine = Assignment.worker_id == worker_id
    by_status = {
        str(status): int(n)
        for status, n in session.execute(
            select(Assignment.status, func.count()).where(mine).group_by(Assignment.status)
        )
    }
    answered = mine & (Assignment.status == AssignmentStatus.ANSWERED)
    gold = answered & Task.gold_answer.is_not(None)
    flagged, seconds = session.execute(
        select(
            func.count(case((Assignment.flagged.is_(True), 1))),
            func.coalesce(func.sum(case((answered, Assignment.seconds_taken))), 0.0),
        ).where(mine)
    ).one()
    gold_answered, gold_correct = session.execute(
        select(
            func.count(),
            func.count(case((func.lower(Assignment.answer) == func.lower(Task.gold_answer), 1))),
        )
        .select_from(Assignment)
        .join(Task, Task.id == Assignment.task_id)
        .where(gold)
    ).one()
    return WorkStats(by_status, int(flagged), int(gold_answered), int(gold_correct), float(seconds))


@dataclass(frozen=True)
class Earnings:
    """One currency of a worker's money: wages earned, wallet balance, pay per hour on task."""

    earned: Money
    balance: Money
    hourly: Money | None


def earnings(session: Session, worker_id: int, seconds_on_task: float) -> list[Earnings]:
    """Per currency: wages ever credited, the wallet's balance and effective hourly earnings."""
    wallets = session.scalars(
        select(LedgerAccount).where(
            LedgerAccount.kind == AccountKind.WORKER_WALLET, LedgerAccount.worker_id == worker_id
        )
    )
    out = []
    for wallet in wallets:
        earned = _wages(session, wallet)
        hours = seconds_on_task / 3600
        hourly = Money(round(earned.amount / hours), earned.currency) if hours > 0 else None
        out.append(Earnings(earned, ledger.balance(session, wallet), hourly))
    return out


def _wages(session: Session, wallet: LedgerAccount) -> Money:
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0))
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(LedgerEntry.account_id == wallet.id, LedgerTransaction.kind == "wage")
    )
    return Money(int(total or 0), wallet.currency)


def recent_payouts(session: Session, worker_id: int) -> list[Payout]:
    """The worker's latest payouts, newest first."""
    stmt = (
        select(Payout)
        .where(Payout.worker_id == worker_id)
        .order_by(Payout.created_at.desc(), Payout.id.desc())
        .limit(RECENT_PAYOUTS)
    )
    return list(session.scalars(stmt))


def recent_messages(session: Session, worker_id: int) -> list[Message]:
    """The worker's latest SMS, both ways, newest first."""
    stmt = (
        select(Message)
        .where(Message.worker_id == worker_id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(RECENT_MESSAGES)
    )
    return list(session.scalars(stmt))


def recent_flags(session: Session, worker_id: int) -> list[Assignment]:
    """The worker's latest answers the spam checks flagged, newest first."""
    stmt = (
        select(Assignment)
        .where(Assignment.worker_id == worker_id, Assignment.flagged.is_(True))
        .order_by(Assignment.answered_at.desc(), Assignment.id.desc())
        .limit(RECENT_FLAGS)
    )
    return list(session.scalars(stmt))


def worker_record(session: Session, worker_id: int) -> dict[str, Any] | None:
    """Everything the worker page shows, or None when there is no such worker."""
    worker = session.get(Worker, worker_id)
    if worker is None:
        return None
    stats = work_stats(session, worker_id)
    headline = reputation.headline(session, worker_id)
    return {
        "worker": worker,
        "stats": stats,
        # The same estimate aggregation weighs answers by and the earnings screen shows.
        "reputations": reputation.summary(session, worker_id),
        "headline_accuracy": headline,
        # Written as the earnings screen writes it, so operator and worker quote one number.
        "accuracy_shown": format_value(headline, "en"),
        "earnings": earnings(session, worker_id, stats.seconds),
        "payouts": recent_payouts(session, worker_id),
        "messages": recent_messages(session, worker_id),
        "flags": recent_flags(session, worker_id),
    }
