"""Rows for tasks-service tests: a funded requester's project with tasks, and workers."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from sqlalchemy.orm import Session

from config.settings import Settings
from core.money import Money
from payouts.rails import payable_currencies
from tasks.funding import record_deposit
from tasks.models import DepositChannel, Project, Requester, TaskType
from tasks.projects import ProjectSpec, TaskSpec, add_tasks, create_project
from tasks.requesters import create_requester
from workers.models import Worker

_phones = itertools.count(1)
#: What the default payout rail pays: the currencies a project's wage may be in.
PAYABLE = payable_currencies(Settings())


def fund(session: Session, requester_id: int, amount: Money) -> None:
    """Record an approved deposit for the requester, as an admin would from a statement."""
    record_deposit(
        session,
        requester_id=requester_id,
        amount=amount,
        channel=DepositChannel.BANK,
        reference=f"TEST-{uuid.uuid4().hex}",
        recorded_by=None,
        needs_approval=False,
    )


def funded_project(session: Session, owner: Requester, spec: ProjectSpec) -> Project:
    """Create a project through the service after funding its owner with exactly its budget."""
    if spec.budget.amount > 0:
        fund(session, owner.id, spec.budget)
    return create_project(session, owner, spec, payable_currencies=PAYABLE)


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
    created = funded_project(session, owner, ProjectSpec(**spec))
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
