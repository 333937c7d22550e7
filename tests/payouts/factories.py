"""Rows for payout tests: workers with a PIN and wages in their wallet."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from core.money import Money
from ledger import services as ledger
from ledger.wages import credit_wage
from tasks.models import TaskType
from tasks.projects import ProjectSpec
from tasks.requesters import create_requester
from tests.tasks.factories import funded_project
from workers.models import Worker

PIN = "4321"
# A cheap hash: the real one is deliberately slow, and these tests hash many times.
PIN_HASH = generate_password_hash(PIN, method="pbkdf2:sha256:1000")
_numbers = itertools.count(1)


def make_worker(
    session: Session, *, phone: str | None = None, language: str = "en", country: str = "KE"
) -> Worker:
    """An active worker with PIN ``PIN`` (Kenyan, or Ugandan with ``country="UG"``)."""
    # A per-run prefix keeps numbers unique on databases that outlive one test.
    # MTN Uganda's mobiles start 77 or 78 (+256 77X XXX XXX).
    prefix, digits = {"KE": ("+2547", 4), "UG": ("+25677", 3)}[country]
    stamp = int(time.time() * 1000) % 10**digits
    number = phone or f"{prefix}{stamp:0{digits}d}{next(_numbers):04d}"
    worker = Worker(msisdn=number, country=country, language=language, pin_hash=PIN_HASH)
    session.add(worker)
    session.flush()
    return worker


def earn(session: Session, worker_id: int, amount_minor: int, currency: str = "KES") -> None:
    """Credit a wage to the worker, funded from a fresh project, as an accepted answer would."""
    requester, _ = create_requester(session, f"r-{next(_numbers)}")
    spec = ProjectSpec(
        name="p",
        task_type=TaskType.YES_NO,
        instructions="?",
        reward=Money(amount_minor, currency),
        budget=Money(amount_minor, currency),
    )
    project = funded_project(session, requester, spec)  # a deposit, then the budget
    n = next(_numbers)
    credit_wage(
        session,
        worker_id=worker_id,
        project_id=project.id,
        amount=Money(amount_minor, currency),
        reference=f"wage:test:{n}",
    )


def wallet_balance(session: Session, worker_id: int, currency: str = "KES") -> int:
    """The worker's wallet balance in minor units."""
    return ledger.balance(session, ledger.worker_wallet(session, worker_id, currency)).amount


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll until ``predicate()`` is true; fail the test after ``timeout`` seconds.

    Only an upper bound for work on other threads (jobs, callbacks): generous for a
    loaded machine, and a passing wait ends as soon as the condition holds.
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)
