"""Limits that fit the worker's day: local midnight, withdrawals per day, an escalating PIN lock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import build_engine, build_sessionmaker
from core.jobs import bind_jobs_to_sessions
from core.kvstore import MemoryStore
from payouts.errors import WithdrawalRefused
from payouts.models import Payout, PayoutStatus
from payouts.withdrawals import WithdrawalLimits, request_withdrawal
from tests.conftest import RecordingJobQueue
from tests.payouts.factories import PIN, earn, make_worker
from workers import services as workers

LIMITS = WithdrawalLimits(minimum=1_000, maximum=50_000, daily_cap=60_000, daily_withdrawals=3)


def withdraw(
    session: Session,
    worker_id: int,
    *,
    now: datetime | None = None,
    pin: str = PIN,
    store: MemoryStore | None = None,
    limits: WithdrawalLimits = LIMITS,
) -> Payout:
    payout = request_withdrawal(
        session,
        worker_id=worker_id,
        pin=pin,
        amount_minor=1_000,
        limits=limits,
        store=store or MemoryStore(),
        provider="sandbox",
        now=now,
    )
    if now is not None:  # the clock the test controls, for the row too
        payout.created_at = now
        session.flush()
    return payout


def refusal(session: Session, worker_id: int, **kw: object) -> str:
    with pytest.raises(WithdrawalRefused) as info:
        withdraw(session, worker_id, **kw)  # type: ignore[arg-type]
    return info.value.reason


def test_the_fourth_withdrawal_of_a_day_is_refused_and_failed_ones_do_not_count(
    session: Session,
) -> None:
    worker = make_worker(session)
    earn(session, worker.id, 10_000)
    first, _, _ = (withdraw(session, worker.id) for _ in range(3))
    assert refusal(session, worker.id) == "daily_withdrawals"
    first.status = PayoutStatus.FAILED
    session.flush()
    withdraw(session, worker.id)
    assert refusal(session, worker.id) == "daily_withdrawals"


def test_the_day_starts_at_midnight_in_nairobi_not_utc(session: Session) -> None:
    worker = make_worker(session, phone="+254722888001")
    earn(session, worker.id, 10_000)
    # 23:30 and 23:59 on 1 December in Nairobi (UTC+3), then 00:30 on the 2nd.
    for stamp in ("2026-12-01T20:30", "2026-12-01T20:59", "2026-12-01T21:30"):
        withdraw(session, worker.id, now=datetime.fromisoformat(stamp + "+00:00"))
    # 02:30 on 2 December in Nairobi, still 1 December in UTC: one of the three is today.
    now = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    withdraw(session, worker.id, now=now)
    withdraw(session, worker.id, now=now)
    assert refusal(session, worker.id, now=now) == "daily_withdrawals"
    # The next Nairobi midnight (21:00 UTC on 2 December) starts a new day.
    withdraw(session, worker.id, now=datetime(2026, 12, 2, 21, 0, tzinfo=UTC))


def _three_wrong(session: Session, worker_id: int, store: MemoryStore, now: datetime) -> str:
    reasons = [refusal(session, worker_id, pin="0000", store=store, now=now) for _ in range(3)]
    assert reasons[:2] == ["wrong_pin", "wrong_pin"]
    return reasons[2]


def test_the_pin_lock_escalates_to_an_operator_unlock_and_tells_the_worker(
    session: Session, sent_jobs: RecordingJobQueue
) -> None:
    store = MemoryStore()
    worker = make_worker(session, language="sw")
    earn(session, worker.id, 10_000)
    now = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    assert _three_wrong(session, worker.id, store, now) == "pin_locked"
    assert worker.pin_locked_until == now + timedelta(minutes=30)
    assert refusal(session, worker.id, store=store, now=now + timedelta(minutes=29)) == "pin_locked"
    later = now + timedelta(minutes=31)  # the first lock lifted by itself
    assert _three_wrong(session, worker.id, store, later) == "pin_locked"
    assert worker.pin_locked_until == later + timedelta(hours=24)
    after = later + timedelta(hours=24, minutes=1)
    assert _three_wrong(session, worker.id, store, after) == "pin_locked"
    assert worker.pin_locked_until is None and workers.pin_lock(worker).needs_operator
    # Locked for good: the right PIN is refused, however long the worker waits.
    assert refusal(session, worker.id, store=store, now=after + timedelta(days=90)) == "pin_locked"
    session.commit()
    notices = [(job.func, job.args[1:]) for job in sent_jobs.sent]
    assert notices == [
        ("workers.jobs.notify", ("payout.pin_locked_minutes", {"minutes": 30})),
        ("workers.jobs.notify", ("payout.pin_locked_hours", {"hours": 24})),
        ("workers.jobs.notify", ("payout.pin_locked_operator", {})),
    ]
    workers.unlock_pin(session, store, worker.id)
    assert withdraw(session, worker.id, store=store, now=after + timedelta(days=90))
    assert (worker.pin_lock_level, worker.pin_locked_until) == (0, None)


def test_a_right_pin_starts_the_escalation_over(session: Session) -> None:
    store = MemoryStore()
    worker = make_worker(session)
    earn(session, worker.id, 10_000)
    now = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    assert _three_wrong(session, worker.id, store, now) == "pin_locked"
    later = now + timedelta(hours=1)
    withdraw(session, worker.id, store=store, now=later)
    assert _three_wrong(session, worker.id, store, later) == "pin_locked"
    assert worker.pin_locked_until == later + timedelta(minutes=30)  # the first level again


def race(committed_url: str, threads: int) -> list[str]:
    """``threads`` withdrawals of one worker at once, with money for all of them."""
    engine = build_engine(committed_url)
    sessions = build_sessionmaker(engine)
    bind_jobs_to_sessions(sessions, RecordingJobQueue())
    with sessions.begin() as session:
        worker_id = make_worker(session).id
        earn(session, worker_id, 100_000)
    store = MemoryStore()
    barrier = threading.Barrier(threads)
    outcomes: list[str] = []
    limits = WithdrawalLimits(1_000, 50_000, 10_000_000, daily_withdrawals=3)

    def one() -> None:
        barrier.wait()
        try:
            with sessions.begin() as session:
                withdraw(session, worker_id, store=store, limits=limits)
            outcomes.append("ok")
        except WithdrawalRefused as refused:
            outcomes.append(refused.reason)
        except Exception as error:  # SQLite without the lock: "database is locked"
            outcomes.append(type(error).__name__)

    pool = [threading.Thread(target=one) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(60)
    with sessions() as session:
        made = session.scalars(select(Payout).where(Payout.worker_id == worker_id)).all()
        assert len(made) == outcomes.count("ok")
    engine.dispose()
    return outcomes


@pytest.mark.parametrize("db_kind", [pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_concurrent_withdrawals_respect_the_daily_count_on_postgresql(committed_url: str) -> None:
    outcomes = race(committed_url, threads=12)
    assert outcomes.count("ok") == 3
    assert outcomes.count("daily_withdrawals") == 9


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_concurrent_withdrawals_respect_the_daily_count_on_sqlite(committed_url: str) -> None:
    outcomes = race(committed_url, threads=6)
    assert outcomes.count("ok") == 3
    assert outcomes.count("daily_withdrawals") == 3
