"""What requesters and workers are told: project progress, budget, fair-pay figures, earnings.

Figures read counters and indexed aggregates; the median time per answer sorts
one project's answers in the database, which is a report, never on a worker's hop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from config.settings import Settings
from core.money import COUNTRY_CURRENCY, Money
from ledger import services as ledger
from tasks import reputation
from tasks.models import Assignment, AssignmentStatus, Project, ReviewStatus, Task, TaskStatus
from tasks.quality import (
    SECONDS_PER_HOUR,
    below_wage_floor,
    effective_hourly_wage,
    worker_share,
)
from workers.models import Worker


def project_summary(session: Session, project: Project, settings: Settings) -> dict[str, Any]:
    """A project as the API shows it: settings, progress, budget and fair-pay figures."""
    session.refresh(project)
    return {
        "id": project.id,
        "name": project.name,
        "status": str(project.status),
        "task_type": str(project.task_type),
        "instructions": project.instructions,
        "options": list(project.options),
        "reward": {"amount": project.reward_minor, "currency": project.currency},
        "answers_per_task": project.answers_per_task,
        "max_answers": project.max_answers,
        "target_confidence": project.target_confidence,
        "aggregator": project.aggregator,
        "gold_rate": project.gold_rate,
        "min_accuracy": project.min_accuracy,
        "min_seconds_per_answer": project.min_seconds_per_answer,
        "reservation_minutes": project.reservation_minutes,
        "quiz_pass_mark": project.quiz_pass_mark,
        "languages": list(project.languages),
        "translations": dict(project.translations or {}),
        "countries": list(project.countries),
        "priority": project.priority,
        "webhook_url": project.webhook_url,
        "completed_at": project.completed_at.isoformat() if project.completed_at else None,
        "progress": progress(session, project),
        "budget": budget(session, project),
        "fair_pay": fair_pay(session, project, settings),
    }


def progress(session: Session, project: Project) -> dict[str, int]:
    """Counts of tasks and answers in a project."""
    rows = session.execute(
        select(
            Task.status, Task.is_gold, func.count(), func.coalesce(func.sum(Task.answers_count), 0)
        )
        .where(Task.project_id == project.id)
        .group_by(Task.status, Task.is_gold)
    ).all()
    tasks = sum(n for status, gold, n, _ in rows if not gold)
    complete = sum(n for status, gold, n, _ in rows if not gold and status == TaskStatus.COMPLETE)
    cancelled = sum(n for status, gold, n, _ in rows if not gold and status == TaskStatus.CANCELLED)
    return {
        "tasks": tasks,
        "complete": complete,
        "open": tasks - complete - cancelled,
        "cancelled": cancelled,
        "gold_tasks": sum(n for _, gold, n, _ in rows if gold),
        "answers": int(sum(a for *_, a in rows)),
        "reserved": project.reserved_count,
    }


def budget(session: Session, project: Project) -> dict[str, Any]:
    """Funded, paid, promised, remaining and returned money of a project, and its ledger balance.

    ``funded`` is all ever drawn into the budget; ``returned`` went back to the
    requester's funding (on close, or when a task was cancelled; ``budget_minor`` counts
    what stayed); ``committed`` is still in the budget unpaid and ``spent`` was paid as
    wages, the words of the requester's balance (``tasks.funding.FundingBalance``).
    """
    account = ledger.project_budget(session, project.id, project.currency)
    returned = -ledger.totals_by_kind(session, [account.id]).get(ledger.BUDGET_RETURN, 0)
    money = lambda amount: {"amount": amount, "currency": project.currency}  # noqa: E731
    return {
        "funded": money(project.budget_minor + returned),
        "paid": money(project.paid_minor),
        "reserved": money(project.reserved_count * project.reward_minor),
        "remaining": money(project.free_budget_minor),
        "returned": money(returned),
        "committed": money(project.budget_minor - project.paid_minor),
        "spent": money(project.paid_minor),
        "ledger_balance": money(ledger.balance(session, account).amount),
    }


def median_seconds(session: Session, project_id: int) -> float | None:
    """The median measured time on task of a project's paid answers, or None before any."""
    # Held answers (pending review) and rejected ones are not wages: a spammer's
    # two-second answers must not make the published hourly wage look generous.
    answered = (
        select(Assignment.seconds_taken)
        .join(Task, Task.id == Assignment.task_id)
        .where(
            Task.project_id == project_id,
            Assignment.status == AssignmentStatus.ANSWERED,
            Assignment.seconds_taken.is_not(None),
            or_(
                Assignment.review_status.is_(None),
                Assignment.review_status == ReviewStatus.ACCEPTED,
            ),
        )
    )
    n = session.scalar(select(func.count()).select_from(answered.subquery())) or 0
    if n == 0:
        return None
    ordered = answered.order_by(Assignment.seconds_taken)
    window = session.scalars(ordered.offset((n - 1) // 2).limit(2 - n % 2))
    middle = [s for s in window if s is not None]  # the query already skips NULLs
    return sum(middle) / len(middle)


def fair_pay(session: Session, project: Project, settings: Settings) -> dict[str, Any]:
    """Effective hourly wage, the worker's share of the price, and living-wage floor checks."""
    seconds = median_seconds(session, project.id)
    hourly = effective_hourly_wage(project.reward_minor, seconds) if seconds else None
    price = project.reward_minor * (100 + settings.platform_fee_percent) // 100
    floors = dict(settings.living_wage_floors)
    checks = []
    for country in project.countries:
        floor = floors.get(country)
        comparable = floor is not None and COUNTRY_CURRENCY.get(country) == project.currency
        below = (
            comparable
            and hourly is not None
            and floor is not None
            and below_wage_floor(hourly, floor)
        )
        checks.append(
            {
                "country": country,
                "floor_per_hour": floor if comparable else None,
                "below_floor": below,
            }
        )
    return {
        "median_seconds_per_answer": seconds,
        "effective_hourly_wage": (
            {"amount": hourly, "currency": project.currency} if hourly is not None else None
        ),
        "price_per_answer": {"amount": price, "currency": project.currency},
        "worker_share": worker_share(project.reward_minor, price),
        "living_wage": checks,
        "below_living_wage": any(c["below_floor"] for c in checks),
    }


@dataclass(frozen=True)
class Earnings:
    """A worker's earnings summary for the "My earnings" screen."""

    balance: Money
    tasks_today: int
    pay_today: Money
    accuracy: float | None  # reputation on the worker's main task type; None before any gold
    hourly: Money | None  # paid rewards per hour of measured time on task; None before any


def worker_earnings(session: Session, worker: Worker, now: datetime, currency: str) -> Earnings:
    """Balance (from the ledger), today's answers and pay, accuracy and hourly earnings."""
    midnight = datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)
    answers = (
        select(Assignment)
        .join(Task, Task.id == Assignment.task_id)
        .join(Project, Project.id == Task.project_id)
        .where(
            Assignment.worker_id == worker.id,
            Assignment.status == AssignmentStatus.ANSWERED,
            Project.currency == currency,
        )
    )
    today = answers.where(Assignment.answered_at >= midnight)
    n_today = session.scalar(today.with_only_columns(func.count())) or 0
    pay = func.coalesce(func.sum(Project.reward_minor), 0)
    paid = Assignment.paid.is_(True)
    paid_today = session.scalar(today.with_only_columns(pay).where(paid)) or 0
    total_pay, seconds = session.execute(
        answers.with_only_columns(
            pay, func.coalesce(func.sum(Assignment.seconds_taken), 0.0)
        ).where(paid)
    ).one()
    hourly = None
    if seconds and float(seconds) > 0:
        # Rounded down, like the project's published wage: never overstate earnings.
        hourly = Money(int(int(total_pay) * SECONDS_PER_HOUR // float(seconds)), currency)
    wallet = ledger.worker_wallet(session, worker.id, currency)
    return Earnings(
        balance=ledger.balance(session, wallet),
        tasks_today=int(n_today),
        pay_today=Money(int(paid_today), currency),
        accuracy=reputation.headline(session, worker.id),
        hourly=hourly,
    )
