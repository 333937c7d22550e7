"""Use cases of the tasks domain: requesters, projects and their tasks.

Services take a SQLAlchemy ``Session`` and never commit: the caller (a view, a job,
the CLI) owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.money import Money
from core.secrets import hash_api_key, issue_api_key
from tasks.models import Project, Requester, Task, TaskType


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


@dataclass(frozen=True)
class TaskSpec:
    """One task to add to a project."""

    text: str
    external_id: str | None = None
    gold_answer: str | None = None


def create_requester(session: Session, name: str) -> tuple[Requester, str]:
    """Create a requester and return it with its API key (shown once, stored hashed)."""
    issued = issue_api_key()
    requester = Requester(name=name, api_key_hash=issued.hash, api_key_prefix=issued.prefix)
    session.add(requester)
    session.flush()
    return requester, issued.key


def rotate_api_key(session: Session, requester: Requester) -> str:
    """Replace a requester's API key; the old one stops working at commit."""
    issued = issue_api_key()
    requester.api_key_hash = issued.hash
    requester.api_key_prefix = issued.prefix
    session.flush()
    return issued.key


def requester_for_key(session: Session, key: str) -> Requester | None:
    """The active requester owning this API key, if any."""
    stmt = select(Requester).where(
        Requester.api_key_hash == hash_api_key(key), Requester.active.is_(True)
    )
    return session.scalars(stmt).one_or_none()


def create_project(session: Session, requester: Requester, spec: ProjectSpec) -> Project:
    """Create an active project for the requester."""
    if spec.reward.currency != spec.budget.currency:
        raise ValueError("reward and budget must be in the same currency")
    project = Project(
        requester_id=requester.id,
        name=spec.name,
        task_type=spec.task_type,
        instructions=spec.instructions,
        options=list(spec.options),
        reward_minor=spec.reward.amount,
        currency=spec.reward.currency,
        budget_minor=spec.budget.amount,
        answers_per_task=spec.answers_per_task,
        gold_rate=spec.gold_rate,
        min_accuracy=spec.min_accuracy,
        languages=list(spec.languages),
        countries=list(spec.countries),
        priority=spec.priority,
    )
    session.add(project)
    session.flush()
    return project


def add_tasks(session: Session, project: Project, tasks: Iterable[TaskSpec]) -> int:
    """Add tasks to a project; returns how many were added."""
    rows = [
        Task(
            project_id=project.id, text=t.text, external_id=t.external_id, gold_answer=t.gold_answer
        )
        for t in tasks
    ]
    session.add_all(rows)
    session.flush()
    return len(rows)
