"""Projects and their tasks: create, top up, add tasks, pause, resume, close.

A project's budget is drawn from its requester's funding (``tasks.funding``), never
created from the number a caller sends; closing gives back what it did not spend.

Services take a SQLAlchemy ``Session`` and never commit: the caller (a view, a job,
the CLI) owns the transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import lock_existing
from core.errors import Conflict, NotFound
from core.languages import is_language_code
from core.medium import ussd_length
from core.money import Money
from tasks.aggregation import choose_aggregator
from tasks.answers import AnswerSpec
from tasks.errors import InvalidTaskSpec, TaskError, UnpayableCurrency
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
    # Instructions and options per language (ISO 639-1), for workers who do tasks in it:
    # {"sw": {"instructions": "...", "options": ["...", one per option, in order]}}.
    translations: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskSpec:
    """One task to add to a project."""

    text: str
    external_id: str | None = None
    gold_answer: str | None = None
    language: str | None = None  # ISO 639-1: offered only to workers who do tasks in it
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
        translations={code: dict(texts) for code, texts in spec.translations.items()},
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


def top_up_budget(
    session: Session, project: Project, amount: Money, *, field: str = "amount"
) -> Project:
    """Draw more of the requester's funding into an open project's budget (402 beyond it).

    ``field`` names the amount in the caller's request, for the problem a refusal names.
    """
    locked = lock_existing(session, Project, project.id)
    if locked.status == ProjectStatus.CLOSED:
        raise Conflict(f"project {project.id} is closed")
    if amount.currency != locked.currency:
        text = f"project {project.id} pays in {locked.currency}, not {amount.currency}"
        raise InvalidTaskSpec(text, details=[{"field": f"{field}.currency", "problem": text}])
    if amount.amount <= 0:
        text = "a top-up is a positive amount"
        raise InvalidTaskSpec(text, details=[{"field": field, "problem": text}])
    draw_budget(session, locked, amount)
    return locked


def _check_spec(spec: ProjectSpec) -> None:
    """Refuse a spec with every problem named by field (the rules JSON Schema cannot say)."""
    problems: list[dict[str, Any]] = []

    def problem(field: str, text: str) -> None:
        problems.append({"field": field, "problem": text})

    if spec.reward.currency != spec.budget.currency:
        problem("budget", f"must be in the reward's currency, {spec.reward.currency}")
    try:
        AnswerSpec(spec.task_type, tuple(_options_of(spec.task_type, spec.options)))
    except TaskError as error:
        problem("options", error.message)
    try:
        choose_aggregator(spec.aggregator)
    except TaskError as error:
        problem("aggregator", error.message)
    if spec.max_answers is not None and spec.max_answers < spec.answers_per_task:
        problem("max_answers", "must be at least answers_per_task")
    if spec.reward.amount <= 0:
        problem("reward", "must be positive")
    if spec.budget.amount < 0:
        problem("budget", "must be zero or more")
    if spec.answers_per_task < 1:
        problem("answers_per_task", "must be at least 1")
    for name in ("gold_rate", "min_accuracy", "target_confidence", "quiz_pass_mark"):
        if not 0.0 <= getattr(spec, name) <= 1.0:
            problem(name, "must be between 0 and 1")
    if spec.reservation_minutes < 1:
        problem("reservation_minutes", "must be at least 1")
    if spec.min_seconds_per_answer < 0:
        problem("min_seconds_per_answer", "must be zero or more")
    menu = task_menu(spec.task_type, spec.options)
    if ussd_length(menu) > PAGE_UNITS:
        problem("options", f"do not fit one USSD screen ({PAGE_UNITS} characters)")
    for code, texts in spec.translations.items():
        _check_translation(spec, code, texts, problem)
    if problems:
        raise InvalidTaskSpec(
            "; ".join(f"{p['field']}: {p['problem']}" for p in problems), details=problems
        )


#: What a translation may carry.
TRANSLATION_FIELDS = ("instructions", "options")


def _check_translation(
    spec: ProjectSpec, code: str, texts: Any, problem: Callable[[str, str], None]
) -> None:
    where = f"translations.{code}"
    if not is_language_code(code):
        problem("translations", f"{code!r} is not an ISO 639-1 code such as 'sw'")
        return
    if not isinstance(texts, dict) or not texts or set(texts) - set(TRANSLATION_FIELDS):
        problem(where, "an object with instructions and/or options")
        return
    instructions = texts.get("instructions")
    if instructions is not None and (
        not isinstance(instructions, str) or not 0 < len(instructions.strip()) <= 2000
    ):
        problem(f"{where}.instructions", "a non-empty string of at most 2000 characters")
    options = texts.get("options")
    if options is None:
        return
    if spec.task_type is not TaskType.SINGLE_CHOICE:
        problem(f"{where}.options", "only single_choice projects have options")
        return
    if (
        not isinstance(options, list)
        or len(options) != len(spec.options)
        or not all(isinstance(o, str) and o.strip() for o in options)
    ):
        problem(
            f"{where}.options", f"{len(spec.options)} non-empty strings, one per option, in order"
        )
        return
    if ussd_length(task_menu(spec.task_type, options)) > PAGE_UNITS:
        problem(f"{where}.options", f"do not fit one USSD screen ({PAGE_UNITS} characters)")


def _options_of(task_type: TaskType, options: Sequence[str]) -> list[str]:
    # Yes/no projects have fixed labels; their options (if given) are only menu text.
    return list(options) if task_type is TaskType.SINGLE_CHOICE else []


def answer_spec(project: Project) -> AnswerSpec:
    """The answer rules of a project's tasks."""
    return AnswerSpec(project.task_type, tuple(_options_of(project.task_type, project.options)))


def add_tasks(session: Session, project: Project, tasks: Iterable[TaskSpec]) -> int:
    """Add tasks to a project; returns how many were added."""
    return len(add_task_rows(session, project, tasks))


def add_task_rows(session: Session, project: Project, tasks: Iterable[TaskSpec]) -> list[Task]:
    """Add tasks to a project; returns the new rows, ids assigned, in the order given."""
    rows = [
        Task(
            project_id=project.id,
            text=t.text,
            external_id=t.external_id,
            gold_answer=t.gold_answer,
            language=t.language,
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
    return rows


def edit_project(
    session: Session,
    project: Project,
    *,
    priority: int | None = None,
    status: ProjectStatus | None = None,
    top_up: Money | None = None,
) -> Project:
    """Change a project's priority, pause or resume it, and top up its budget, in one go.

    A top-up draws from the requester's funding like ``top_up_budget`` (402 beyond what
    is available); closing is not an edit (``set_project_status``), it is final.
    """
    if status == ProjectStatus.CLOSED:
        raise Conflict("close a project with its close call; an edit cannot close it")
    locked = lock_existing(session, Project, project.id)
    if locked.status == ProjectStatus.CLOSED:
        raise Conflict(f"project {project.id} is closed")
    if priority is not None:
        locked.priority = priority
    if top_up is not None:
        top_up_budget(session, locked, top_up, field="top_up")
    if status is not None:
        set_project_status(session, locked, status)
    session.flush()
    return locked


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
