"""Rows for console tests: workers, messages, USSD sessions, answers and payouts."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from gateway.models import Direction, Message, UssdSession
from payouts.models import Payout, PayoutStatus
from tasks.models import Assignment, AssignmentStatus, Project, Requester, Task, TaskType
from workers.models import Worker

_ids = itertools.count(1)


def _add(session: Session, row: Any) -> Any:
    session.add(row)
    session.flush()
    return row


def worker(session: Session, msisdn: str, **fields: Any) -> Worker:
    return _add(session, Worker(msisdn=msisdn, country="KE", **fields))


def message(
    session: Session,
    at: datetime,
    *,
    direction: str = "out",
    status: str = "delivered",
    **fields: Any,
) -> Message:
    values: dict[str, Any] = {
        "direction": Direction(direction),
        "provider": "console",
        "provider_message_id": f"m{next(_ids)}",
        "phone": "+254700000001",
        "body": "hello",
        "status": status,
        "created_at": at,
    }
    return _add(session, Message(**{**values, **fields}))


def ussd(session: Session, at: datetime, **fields: Any) -> UssdSession:
    values: dict[str, Any] = {
        "session_id": f"s{next(_ids)}",
        "phone": "+254700000001",
        "service_code": "*384*12#",
        "started_at": at,
    }
    return _add(session, UssdSession(**{**values, **fields}))


def project(session: Session) -> Project:
    requester = Requester(name="Acme", api_key_hash=f"h{next(_ids)}", api_key_prefix="kz_x")
    session.add(requester)
    session.flush()
    row = Project(
        requester_id=requester.id,
        name="Sentiment",
        task_type=TaskType.YES_NO,
        instructions="Is it positive?",
        reward_minor=500,
        currency="KES",
        budget_minor=100_000,
    )
    session.add(row)
    session.flush()
    return row


def answer(
    session: Session,
    project_row: Project,
    worker_row: Worker,
    at: datetime,
    *,
    answer_text: str = "yes",
    gold: str | None = None,
    seconds: float = 30.0,
    status: AssignmentStatus = AssignmentStatus.ANSWERED,
    flagged: bool = False,
) -> Assignment:
    task = Task(project_id=project_row.id, text="Great phone", gold_answer=gold)
    session.add(task)
    session.flush()
    row = Assignment(
        task_id=task.id,
        worker_id=worker_row.id,
        status=status,
        reserved_at=at - timedelta(seconds=seconds),
        expires_at=at + timedelta(minutes=5),
        answered_at=at if status == AssignmentStatus.ANSWERED else None,
        answer=answer_text if status == AssignmentStatus.ANSWERED else None,
        seconds_taken=seconds if status == AssignmentStatus.ANSWERED else None,
        flagged=flagged,
    )
    session.add(row)
    session.flush()
    return row


def payout(
    session: Session, worker_row: Worker, amount_minor: int, status: PayoutStatus, at: datetime
) -> Payout:
    row = Payout(
        worker_id=worker_row.id,
        phone=worker_row.msisdn,
        amount_minor=amount_minor,
        currency="KES",
        status=status,
        provider="sandbox",
        created_at=at,
    )
    session.add(row)
    session.flush()
    return row
