"""The database itself refuses what must never be stored, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from core.db import utcnow
from core.money import Money
from gateway.models import Direction, Message
from ledger.models import AccountKind, LedgerAccount, LedgerEntry, LedgerTransaction
from payouts.models import Payout
from tasks.models import Assignment, Task, TaskType
from tasks.projects import ProjectSpec, TaskSpec, add_tasks
from tasks.requesters import create_requester
from tests.tasks.factories import funded_project
from workers.models import Worker


def message(**overrides: object) -> Message:
    values: dict[str, object] = dict(
        direction=Direction.INBOUND,
        provider="africastalking",
        provider_message_id="ATXid_1",
        phone="+254711000001",
        body="TASK",
        status="received",
    )
    values.update(overrides)
    return Message(**values)


def refused(session: Session, *rows: object) -> bool:
    """True when flushing these rows is refused by the database; leaves the session usable."""
    savepoint = session.begin_nested()
    session.add_all(rows)
    try:
        session.flush()
    except IntegrityError:
        savepoint.rollback()
        return True
    savepoint.rollback()
    return False


def test_a_provider_message_id_is_stored_once_per_provider(session: Session) -> None:
    session.add(message())
    session.flush()
    assert refused(session, message())
    assert not refused(session, message(provider="twilio"))


def test_messages_without_a_provider_id_are_not_duplicates_of_each_other(session: Session) -> None:
    assert not refused(
        session, message(provider_message_id=None), message(provider_message_id=None)
    )


def test_a_cost_needs_its_currency(session: Session) -> None:
    assert refused(session, message(cost_minor=80))
    assert refused(session, message(cost_currency="KES"))
    assert not refused(session, message(cost_minor=80, cost_currency="KES"))


def test_ledger_entries_need_a_currency_and_a_non_zero_amount(session: Session) -> None:
    account = LedgerAccount(kind=AccountKind.FUNDING, currency="KES")
    txn = LedgerTransaction(kind="test", reference="test:1")
    session.add_all([account, txn])
    session.flush()
    entry = dict(transaction_id=txn.id, account_id=account.id)
    assert refused(session, LedgerEntry(**entry, amount_minor=100, currency=None))
    assert refused(session, LedgerEntry(**entry, amount_minor=100, currency="KS"))
    assert refused(session, LedgerEntry(**entry, amount_minor=0, currency="KES"))
    assert not refused(session, LedgerEntry(**entry, amount_minor=100, currency="KES"))


def test_a_ledger_reference_is_recorded_once(session: Session) -> None:
    session.add(LedgerTransaction(kind="wage", reference="wage:assignment:1"))
    session.flush()
    assert refused(session, LedgerTransaction(kind="wage", reference="wage:assignment:1"))


def test_workers_are_stored_in_e164_once(session: Session) -> None:
    session.add(Worker(msisdn="+254711000001", country="KE"))
    session.flush()
    assert refused(session, Worker(msisdn="+254711000001", country="KE"))
    assert refused(session, Worker(msisdn="0711000002", country="KE"))


def test_payout_amounts_are_positive_with_a_currency(session: Session) -> None:
    worker = Worker(msisdn="+254711000009", country="KE")
    session.add(worker)
    session.flush()
    payout = dict(worker_id=worker.id, phone=worker.msisdn, provider="sandbox")
    assert refused(session, Payout(**payout, amount_minor=0, currency="KES"))
    assert refused(session, Payout(**payout, amount_minor=1000, currency=None))
    assert not refused(session, Payout(**payout, amount_minor=1000, currency="KES"))


def test_one_assignment_per_worker_per_task(session: Session) -> None:
    requester, _ = create_requester(session, "Acme")
    project = funded_project(
        session,
        requester,
        ProjectSpec(
            name="p",
            task_type=TaskType.YES_NO,
            instructions="True?",
            options=["Yes", "No"],
            reward=Money(100, "KES"),
            budget=Money(10_000, "KES"),
        ),
    )
    add_tasks(session, project, [TaskSpec(text="Nairobi is in Kenya")])
    worker = Worker(msisdn="+254711000003", country="KE")
    session.add(worker)
    session.flush()
    task = session.scalars(select(Task).where(Task.project_id == project.id)).one()
    hold = dict(task_id=task.id, worker_id=worker.id, expires_at=utcnow() + timedelta(minutes=5))
    session.add(Assignment(**hold))
    session.flush()
    assert refused(session, Assignment(**hold))


def test_timestamps_come_back_timezone_aware(session: Session) -> None:
    row = message()
    session.add(row)
    session.flush()
    session.expire(row)
    assert row.created_at.utcoffset() == timedelta(0)


def test_naive_timestamps_are_refused_before_reaching_the_database(session: Session) -> None:
    row = message(sent_at=utcnow().replace(tzinfo=None))
    session.add(row)
    with pytest.raises(StatementError, match="naive datetime"):
        session.flush()
