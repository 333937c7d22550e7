"""Many withdrawals by one worker at once: exactly the affordable ones succeed."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from core.db import build_engine, build_sessionmaker
from core.jobs import bind_jobs_to_sessions
from core.kvstore import MemoryStore
from payouts.errors import WithdrawalRefused
from payouts.models import Payout
from payouts.withdrawals import WithdrawalLimits, request_withdrawal
from tests.conftest import RecordingJobQueue
from tests.payouts.factories import PIN, earn, make_worker, wallet_balance

LIMITS = WithdrawalLimits(minimum=1_000, maximum=1_000_000, daily_cap=10_000_000)


def race(committed_url: str, threads: int, balance: int, amount: int) -> tuple[list, int, int]:
    engine = build_engine(committed_url)
    sessions = build_sessionmaker(engine)
    jobs = RecordingJobQueue()
    bind_jobs_to_sessions(sessions, jobs)
    with sessions.begin() as session:
        worker_id = make_worker(session).id
        earn(session, worker_id, balance)
    store = MemoryStore()
    start = threading.Barrier(threads)
    outcomes: list[str] = []

    def withdraw() -> None:
        start.wait()
        try:
            with sessions.begin() as session:
                request_withdrawal(
                    session,
                    worker_id=worker_id,
                    pin=PIN,
                    amount_minor=amount,
                    limits=LIMITS,
                    store=store,
                    provider="sandbox",
                )
            outcomes.append("ok")
        except WithdrawalRefused as refused:
            outcomes.append(refused.reason)

    pool = [threading.Thread(target=withdraw) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(60)
    with sessions() as session:
        left = wallet_balance(session, worker_id)
        paid = session.scalars(
            select(func.coalesce(func.sum(Payout.amount_minor), 0)).where(
                Payout.worker_id == worker_id
            )
        ).one()
    engine.dispose()
    assert len(jobs.sent) == outcomes.count("ok")  # one job per committed payout
    return outcomes, left, paid


@pytest.mark.parametrize("db_kind", [pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_fifty_concurrent_withdrawals_on_postgresql(committed_url: str) -> None:
    outcomes, left, paid = race(committed_url, threads=50, balance=25_500, amount=1_000)
    assert outcomes.count("ok") == 25
    assert set(outcomes) == {"ok", "insufficient_funds"}
    assert (left, paid) == (500, 25_000)


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_concurrent_withdrawals_on_sqlite(committed_url: str) -> None:
    outcomes, left, paid = race(committed_url, threads=10, balance=5_000, amount=1_000)
    assert outcomes.count("ok") == 5
    assert (left, paid) == (0, 5_000)
