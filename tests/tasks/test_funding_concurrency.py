"""Many projects drawing on one requester's funding at once: none overdraws it.

Creations and top-ups race with a barrier; each takes the lock on the requester's
funding account before reading its balance, so exactly the affordable ones succeed.
(Without that lock, PostgreSQL lets several read the same balance and all commit.)
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import select

from core.db import build_engine, build_sessionmaker
from core.money import Money
from tasks.errors import InsufficientFunding
from tasks.funding import balances
from tasks.models import Project, Requester
from tasks.projects import create_project, top_up_budget
from tests.tasks import factories
from tests.tasks.factories import PAYABLE
from tests.tasks.test_funding import spec

BUDGET = 1_000


def _race(committed_url: str, threads: int, funding: int) -> tuple[Counter[str], int, int]:
    """Half the threads create a project, half top one up, BUDGET each; (outcomes, left, drawn)."""
    engine = build_engine(committed_url)
    sessions = build_sessionmaker(engine)
    with sessions.begin() as session:
        requester, _ = factories.requester(session)
        factories.fund(session, requester.id, Money(funding, "KES"))
        topped = create_project(session, requester, spec(0), payable_currencies=PAYABLE)
        requester_id, topped_id = requester.id, topped.id
    start = threading.Barrier(threads)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def draw(create: bool) -> Callable[[], None]:
        def run() -> None:
            start.wait()
            try:
                with sessions.begin() as session:
                    if create:
                        owner = session.get_one(Requester, requester_id)
                        create_project(session, owner, spec(BUDGET), payable_currencies=PAYABLE)
                    else:
                        project = session.get_one(Project, topped_id)
                        top_up_budget(session, project, Money(BUDGET, "KES"))
                outcomes.append("ok")
            except InsufficientFunding:
                outcomes.append("refused")
            except BaseException as error:  # surfaced below, so a crash fails the test
                errors.append(error)

        return run

    pool = [threading.Thread(target=draw(i % 2 == 0)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(60)
    assert not errors, errors
    with sessions() as session:
        (balance,) = balances(session, requester_id)
        budgets = select(Project.budget_minor).where(Project.requester_id == requester_id)
        drawn = sum(session.scalars(budgets))
    engine.dispose()
    assert balance.committed == drawn  # the ledger and the projects' counters agree
    return Counter(outcomes), balance.balance, drawn


@pytest.mark.parametrize("db_kind", [pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_concurrent_creations_and_top_ups_never_overdraw_on_postgresql(committed_url: str) -> None:
    outcomes, left, drawn = _race(committed_url, threads=30, funding=10 * BUDGET + 500)
    assert outcomes == Counter({"ok": 10, "refused": 20})
    assert (left, drawn) == (500, 10 * BUDGET)


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_concurrent_creations_and_top_ups_never_overdraw_on_sqlite(committed_url: str) -> None:
    outcomes, left, drawn = _race(committed_url, threads=8, funding=4 * BUDGET)
    assert outcomes == Counter({"ok": 4, "refused": 4})
    assert (left, drawn) == (0, 4 * BUDGET)
