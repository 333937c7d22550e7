"""Bulk seeding with SQLAlchemy Core: many rows cheaply, shaped like real ones.

Seeding is not what is measured, so it skips the services (one INSERT per chunk of
rows); what is measured then runs through the real services and views.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import timedelta
from itertools import islice
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from config.settings import Settings
from core.db import utcnow
from core.money import Money
from gateway.models import UssdSession
from payouts.rails import payable_currencies
from tasks.funding import record_deposit
from tasks.models import (
    Assignment,
    AssignmentStatus,
    DepositChannel,
    Project,
    Task,
    TaskStatus,
    TaskType,
)
from tasks.projects import ProjectSpec, create_project
from tasks.requesters import create_requester
from workers.models import Worker

CHUNK = 5_000


def _chunks(rows: Iterable[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def phone(i: int) -> str:
    """A distinct Kenyan E.164 number for worker number ``i``."""
    return f"+2547{i:08d}"


def workers(
    session: Session, count: int, *, start: int = 0, pin_hash: str | None = None
) -> list[int]:
    """Insert ``count`` active workers numbered from ``start``; returns their ids."""
    now = utcnow()
    rows = (
        {
            "msisdn": phone(start + i),
            "country": "KE",
            "language": "en",
            "status": "active",
            "pin_hash": pin_hash,
            "registered_at": now,
            "qualified_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(count)
    )
    ids: list[int] = []
    for chunk in _chunks(rows):
        ids.extend(session.scalars(insert(Worker).returning(Worker.id), chunk).all())
    return ids


def ussd_sessions(session: Session, worker_ids: Sequence[int], *, start: int = 0) -> None:
    """One finished USSD session per worker, as a day of traffic leaves behind."""
    now = utcnow()
    rows = (
        {
            "provider": "africastalking",
            "session_id": f"ATUid_seed_{start + i}",
            "phone": phone(start + i),
            "worker_id": worker_id,
            "service_code": "*384*12#",
            "seen_text": "1",
            "hops": 2,
            "last_screen": "END Thank you for visiting Kazi.",
            "started_at": now,
            "last_hop_at": now,
        }
        for i, worker_id in enumerate(worker_ids)
    )
    for chunk in _chunks(rows):
        session.execute(insert(UssdSession), chunk)


def project(session: Session, *, budget_minor: int = 10**12, **overrides: Any) -> Project:
    """An active single-choice project created through the real service (budget funded)."""
    owner, _ = create_requester(session, "Bench requester")
    spec: dict[str, Any] = dict(
        name="Bench",
        task_type=TaskType.SINGLE_CHOICE,
        instructions="Is this review positive?",
        options=["Positive", "Negative", "Neutral"],
        reward=Money(100, "KES"),
        budget=Money(budget_minor, "KES"),
        answers_per_task=3,
        gold_rate=0.0,
        min_seconds_per_answer=0.0,
        languages=["en"],
        countries=["KE"],
    )
    spec.update(overrides)
    project_spec = ProjectSpec(**spec)
    fund(session, owner.id, project_spec.budget)
    return create_project(
        session, owner, project_spec, payable_currencies=payable_currencies(Settings())
    )


def fund(session: Session, requester_id: int, amount: Money) -> None:
    """A recorded deposit for the requester, so their projects can draw their budgets."""
    if amount.amount > 0:
        record_deposit(
            session,
            requester_id=requester_id,
            amount=amount,
            channel=DepositChannel.BANK,
            reference=f"BENCH-{uuid.uuid4().hex}",
            recorded_by=None,
            needs_approval=False,
        )


def tasks(
    session: Session, project_id: int, count: int, *, status: TaskStatus, answers: int = 0
) -> list[int]:
    """Insert ``count`` tasks already holding ``answers`` answers each; returns their ids."""
    now = utcnow()
    rows: Iterable[dict[str, Any]] = (
        {
            "project_id": project_id,
            "external_id": None,
            "text": f"Review {i}: the food was fine and the service quick.",
            "is_gold": False,
            "status": status,
            "answers_count": answers,
            "reserved_count": 0,
            "wanted_answers": 3,
            "extra": {},
            "created_at": now,
        }
        for i in range(count)
    )
    ids: list[int] = []
    for chunk in _chunks(rows):
        ids.extend(session.scalars(insert(Task).returning(Task.id), chunk).all())
    return ids


def answers(
    session: Session, task_ids: Sequence[int], per_task: int, worker_ids: Sequence[int]
) -> int:
    """Answered assignments: ``per_task`` distinct workers on each task; returns how many."""
    now = utcnow()
    pool = len(worker_ids)
    rows = (
        {
            "task_id": task_id,
            "worker_id": worker_ids[(j + k) % pool],
            "status": AssignmentStatus.ANSWERED,
            "reserved_at": now,
            "expires_at": now + timedelta(minutes=10),
            "answered_at": now,
            "answer": "Positive",
            "seconds_taken": 12.0,
            "flagged": False,
            "paid": True,
        }
        for j, task_id in enumerate(task_ids)
        for k in range(per_task)
    )
    total = 0
    for chunk in _chunks(rows):
        session.execute(insert(Assignment), chunk)
        total += len(chunk)
    return total


def count(session: Session, model: type, *where: Any) -> int:
    """How many rows of a model match (for sanity checks after a run)."""
    from sqlalchemy import func

    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)
