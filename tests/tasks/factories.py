"""Rows for tasks-service tests: a requester's project with tasks, and workers."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session

from core.money import Money
from tasks.models import Project, Requester, TaskType
from tasks.projects import ProjectSpec, TaskSpec, add_tasks, create_project
from tasks.requesters import create_requester
from workers.models import Worker

_phones = itertools.count(1)


def requester(session: Session, name: str = "Acme") -> tuple[Requester, str]:
    return create_requester(session, name)


def project(
    session: Session,
    owner: Requester | None = None,
    *,
    texts: list[str] | None = None,
    gold: dict[str, str] | None = None,
    **overrides: Any,
) -> Project:
    """A single-choice project (options A, B, C) with the given task texts."""
    owner = owner or requester(session)[0]
    spec: dict[str, Any] = dict(
        name="Reviews",
        task_type=TaskType.SINGLE_CHOICE,
        instructions="Pick one",
        options=["A", "B", "C"],
        reward=Money(100, "KES"),
        budget=Money(100_000, "KES"),
        answers_per_task=3,
        gold_rate=0.0,
        min_seconds_per_answer=0.0,
    )
    spec.update(overrides)
    created = create_project(session, owner, ProjectSpec(**spec))
    tasks = [TaskSpec(text=t, external_id=t) for t in texts or []]
    tasks += [TaskSpec(text=t, external_id=t, gold_answer=a) for t, a in (gold or {}).items()]
    add_tasks(session, created, tasks)
    return created


def worker(session: Session, **overrides: Any) -> Worker:
    values: dict[str, Any] = dict(msisdn=f"+2547{next(_phones):08d}", country="KE", language="en")
    values.update(overrides)
    row = Worker(**values)
    session.add(row)
    session.flush()
    return row
