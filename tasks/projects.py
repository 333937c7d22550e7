"""Projects and their tasks: create, top up, add tasks, pause, resume, close.

A project's budget is drawn from its requester's funding (``tasks.funding``), never
created from the number a caller sends; closing gives back what it did not spend.

Services take a SQLAlchemy ``Session`` and never commit: the caller (a view, a job,
the CLI) owns the transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import lock_existing
from core.errors import Conflict, NotFound
from core.medium import ussd_length
from core.money import Money
from tasks.aggregation import choose_aggregator
from tasks.answers import AnswerSpec
from tasks.errors import InvalidTaskSpec, UnpayableCurrency
from tasks.funding import draw_budget, return_unspent
from tasks.models import Project, ProjectStatus, Requester, Task, TaskType
from tasks.screens import PAGE_UNITS, task_menu

#: Adaptive redundancy by default: a task completes once its answer's posterior
#: reaches this (three agreeing newcomers on three options: 0.80, two: 0.67; see
#: tasks.crowd.newcomer_accuracy), and a task whose workers disagree gets up to
#: DEFAULT_EXTRA_ANSWERS more answers than answers_per_task.
DEFAULT_TARGET_CONFIDENCE = 0.75
DEFAULT_EXTRA_ANSWERS = 2


@dataclass(frozen=True)
class ProjectSpec:
    """What a requester asks for when creating a project."""

    name: str
    task_type: TaskType
    instructions: str
    reward: Money
    budget: Money
    options: list[str] = field(default_factory=list)
    answers_per_task: int = 3
    gold_rate: float = 0.1
    min_accuracy: float = 0.0
    languages: list[str] = field(default_factory=lambda: ["en"])
    countries: list[str] = field(default_factory=lambda: ["KE"])
    priority: int = 0
    aggregator: str = "majority"
    target_confidence: float = DEFAULT_TARGET_CONFIDENCE
    max_answers: int | None = None  # None: answers_per_task + DEFAULT_EXTRA_ANSWERS
    min_seconds_per_answer: float = 3.0
    quiz_pass_mark: float = 0.8  # share of quiz questions a new worker must get right
    reservation_minutes: int = 10
    webhook_url: str | None = None


@dataclass(frozen=True)
class TaskSpec:
    """One task to add to a project."""

    text: str
    external_id: str | None = None
    gold_answer: str | None = None
    gold_reason: str | None = None  # why the gold answer is right, shown to a worker who missed it


def create_project(
    session: Session,
    requester: Requester,
    spec: ProjectSpec,
    *,
    payable_currencies: Collection[str],
) -> Project:
    """Create an active project, its budget drawn from the requester's funding.

    ``payable_currencies`` are those some payout rail pays (the edge asks
    ``payouts.rails.payable_currencies``): a wage in another could never be withdrawn.
    """
    _check_spec(spec)
    if spec.reward.currency not in payable_currencies:
        payable = ", ".join(sorted(payable_currencies)) or "none"
        raise UnpayableCurrency(
            f"no payout rail pays {spec.reward.currency} yet (wages can be in: {payable})",
            details=[{"field": "reward", "currency": spec.reward.currency}],
        )
    project = Project(
        requester_id=requester.id,
        name=spec.name,
        task_type=spec.task_type,
        instructions=spec.instructions,
        options=list(spec.options),
        reward_minor=spec.reward.amount,
        currency=spec.reward.currency,
        budget_minor=0,  # until drawn from the funding below
        answers_per_task=spec.answers_per_task,
        gold_rate=spec.gold_rate,
        min_accuracy=spec.min_accuracy,
        languages=list(spec.languages),
        countries=list(spec.countries),
        priority=spec.priority,
        aggregator=spec.aggregator,
        target_confidence=spec.target_confidence,
        max_answers=spec.max_answers or spec.answers_per_task + DEFAULT_EXTRA_ANSWERS,
        min_seconds_per_answer=spec.min_seconds_per_answer,
        quiz_pass_mark=spec.quiz_pass_mark,
        reservation_minutes=spec.reservation_minutes,
        webhook_url=spec.webhook_url,
        webhook_secret=secrets.token_hex(32),  # always: a requester-level URL may sign with it
        reserved_count=0,
        paid_minor=0,
    )
    session.add(project)
    session.flush()
    if spec.budget.amount > 0:
        # The ledger is the record of money; budget_minor/paid_minor mirror it as counters.
        draw_budget(session, project, spec.budget)
    return project


def top_up_budget(session: Session, project: Project, amount: Money) -> Project:
    """Draw more of the requester's funding into an open project's budget (402 beyond it)."""
    locked = lock_existing(session, Project, project.id)
    if locked.status == ProjectStatus.CLOSED:
        raise Conflict(f"project {project.id} is closed")
    if amount.currency != locked.currency:
        raise InvalidTaskSpec(
            f"project {project.id} pays in {locked.currency}, not {amount.currency}"
        )
    if amount.amount <= 0:
        raise InvalidTaskSpec("a top-up is a positive amount")
    draw_budget(session, locked, amount)
    return locked


def _check_spec(spec: ProjectSpec) -> None:
    if spec.reward.currency != spec.budget.currency:
        raise InvalidTaskSpec("reward and budget must be in the same currency")
    AnswerSpec(spec.task_type, tuple(_options_of(spec.task_type, spec.options)))
    choose_aggregator(spec.aggregator)
    if spec.max_answers is not None and spec.max_answers < spec.answers_per_task:
        raise InvalidTaskSpec("max_answers must be at least answers_per_task")
    if spec.reward.amount <= 0 or spec.budget.amount < 0 or spec.answers_per_task < 1:
        raise InvalidTaskSpec("reward must be positive, budget >= 0, answers_per_task >= 1")
    for name in ("gold_rate", "min_accuracy", "target_confidence"):
        if not 0.0 <= getattr(spec, name) <= 1.0:
            raise InvalidTaskSpec(f"{name} must be between 0 and 1")
    if not 0.0 <= spec.quiz_pass_mark <= 1.0:
        raise InvalidTaskSpec("quiz_pass_mark must be between 0 and 1")
    if spec.reservation_minutes < 1 or spec.min_seconds_per_answer < 0:
        raise InvalidTaskSpec("reservation_minutes >= 1 and min_seconds_per_answer >= 0")
    menu = task_menu(spec.task_type, spec.options)
    if ussd_length(menu) > PAGE_UNITS:
        raise InvalidTaskSpec(f"the options do not fit one USSD screen ({PAGE_UNITS} characters)")


def _options_of(task_type: TaskType, options: Sequence[str]) -> list[str]:
    # Yes/no projects have fixed labels; their options (if given) are only menu text.
    return list(options) if task_type is TaskType.SINGLE_CHOICE else []


def answer_spec(project: Project) -> AnswerSpec:
    """The answer rules of a project's tasks."""
    return AnswerSpec(project.task_type, tuple(_options_of(project.task_type, project.options)))


def add_tasks(session: Session, project: Project, tasks: Iterable[TaskSpec]) -> int:
    """Add tasks to a project; returns how many were added."""
    rows = [
        Task(
            project_id=project.id,
            text=t.text,
            external_id=t.external_id,
            gold_answer=t.gold_answer,
            gold_reason=t.gold_reason,
            is_gold=t.gold_answer is not None,
            wanted_answers=project.answers_per_task,
            answers_count=0,
            reserved_count=0,
        )
        for t in tasks
    ]
    session.add_all(rows)
    if rows and project.completed_at is not None:
        project.completed_at = None  # new work reopens a finished project
    session.flush()
    return len(rows)


def get_project(session: Session, requester: Requester, project_id: int) -> Project:
    """The requester's own project; another requester's is reported as missing."""
    project = session.get(Project, project_id)
    if project is None or project.requester_id != requester.id:
        raise NotFound(f"no project {project_id}")
    return project


def list_projects(session: Session, requester: Requester) -> list[Project]:
    """The requester's projects, newest first."""
    stmt = select(Project).where(Project.requester_id == requester.id).order_by(Project.id.desc())
    return list(session.scalars(stmt))


# Allowed moves of a project's lifecycle; closing is final.
_TRANSITIONS = {
    ProjectStatus.ACTIVE: {ProjectStatus.PAUSED, ProjectStatus.CLOSED},
    ProjectStatus.PAUSED: {ProjectStatus.ACTIVE, ProjectStatus.CLOSED},
    ProjectStatus.CLOSED: set(),
}


def set_project_status(session: Session, project: Project, status: ProjectStatus) -> Project:
    """Pause, resume or close a project (an illegal move is a conflict; a repeat a no-op).

    Closing hands the budget neither spent nor promised back to the requester's funding.
    """
    project = lock_existing(session, Project, project.id)  # reservations and top-ups wait
    if project.status == status:
        return project  # pausing a paused project twice is what a retrying client does
    if status not in _TRANSITIONS[project.status]:
        raise Conflict(f"a {project.status} project cannot become {status}")
    project.status = status
    session.flush()
    if status == ProjectStatus.CLOSED:
        return_unspent(session, project.id)
    return project
