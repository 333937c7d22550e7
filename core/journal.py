"""The embedded job queue's journal: every in-process job is a row until it has run.

The in-process runner (``core.jobs.InProcessJobQueue``) keeps its schedule in memory,
which a restart or a crash loses, and under ``gunicorn -w 2`` each process runs only
the jobs it queued itself. With the journal, a job is written down when it is queued
and struck off when it has run (or failed for good). Its row carries a lease: until
the lease ends only the process that queued it runs it; after that, any process of
the deployment (a restarted one included) adopts it. Jobs are idempotent (they claim
their rows before acting), so a lease that ends under a job still running costs a
no-op re-run, never a double effect.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rq import Retry
from sqlalchemy import Engine, Integer, String, delete, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, JSONType, created_at, intpk, matched_rows, utcnow

log = logging.getLogger("kazi.jobs.journal")

#: How long a job belongs to the process that queued it, past its due time.
LEASE = timedelta(minutes=10)
#: At most this many orphaned jobs are adopted in one look.
ADOPT_BATCH = 50


class JournalledJob(Base):
    """One queued in-process job, until it has run."""

    __tablename__ = "job_journal"

    id: Mapped[intpk]
    func: Mapped[str] = mapped_column(String(200))
    args: Mapped[list[Any]] = mapped_column(JSONType)
    queue: Mapped[str] = mapped_column(String(20))
    retry_max: Mapped[int | None] = mapped_column(Integer)
    retry_intervals: Mapped[list[Any] | None] = mapped_column(JSONType)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    run_at: Mapped[datetime]
    lease_until: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[created_at]


@dataclass(frozen=True)
class Adopted:
    """An orphaned job this process took over: what to run, which attempt, and when."""

    row_id: int
    func: str
    args: tuple[Any, ...]
    queue: str
    retry: Retry | None
    attempt: int
    run_at: datetime


class JobJournal:
    """The ``job_journal`` table, written on connections of its own (after commits)."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._clock = clock

    def now(self) -> datetime:
        """The journal's clock (wall time, shared by every process)."""
        return self._clock()

    def record(
        self, func: str, args: tuple[Any, ...], queue: str, retry: Retry | None, delay: float
    ) -> int | None:
        """Write a job down; its row id, or None when it cannot be journalled."""
        try:
            stored_args = json.loads(json.dumps(list(args)))
        except (TypeError, ValueError):
            log.warning("job %s: arguments are not JSON; it is not journalled", func)
            return None
        run_at = self._clock() + timedelta(seconds=delay)
        row = {
            "func": func,
            "args": stored_args,
            "queue": queue,
            "retry_max": retry.max if retry else None,
            "retry_intervals": list(retry.intervals) if retry and retry.intervals else None,
            "attempt": 0,
            "run_at": run_at,
            "lease_until": run_at + LEASE,
            "created_at": self._clock(),
        }
        try:
            with self._engine.begin() as connection:
                result = connection.execute(insert(JournalledJob).returning(JournalledJob.id), row)
                return int(result.scalar_one())
        except Exception:
            # The job still runs from memory; only its survival of a restart is lost.
            log.exception("job %s could not be journalled", func)
            return None

    def reschedule(self, row_id: int, attempt: int, delay: float) -> None:
        """A failed attempt: the row waits for its retry (and keeps this process's lease)."""
        run_at = self._clock() + timedelta(seconds=delay)
        values = {"attempt": attempt, "run_at": run_at, "lease_until": run_at + LEASE}
        self._quietly(update(JournalledJob).where(JournalledJob.id == row_id).values(**values))

    def done(self, row_id: int) -> None:
        """The job ran (or failed for good): strike it off."""
        self._quietly(delete(JournalledJob).where(JournalledJob.id == row_id))

    def adopt(self) -> list[Adopted]:
        """Take over jobs whose lease has ended (their process died or restarted)."""
        now = self._clock()
        try:
            with self._engine.begin() as connection:
                table = JournalledJob.__table__.c
                due = select(JournalledJob.__table__).where(table.lease_until <= now)
                rows = list(connection.execute(due.order_by(table.id).limit(ADOPT_BATCH)))
                adopted = []
                for row in rows:
                    # Guarded: of two processes adopting at once, one moves the lease.
                    taken = connection.execute(
                        update(JournalledJob)
                        .where(JournalledJob.id == row.id, table.lease_until == row.lease_until)
                        .values(lease_until=max(now, row.run_at) + LEASE)
                    )
                    if matched_rows(taken) == 1:
                        adopted.append(_adopted(row))
                return adopted
        except Exception as error:
            # The database is away (or gone): the next look will try again.
            log.warning("could not look for orphaned jobs: %s", type(error).__name__)
            return []

    def _quietly(self, statement: Any) -> None:
        try:
            with self._engine.begin() as connection:
                connection.execute(statement)
        except Exception:
            log.exception("job journal not updated")


def _adopted(row: Any) -> Adopted:
    retry = None
    if row.retry_max:
        retry = Retry(max=row.retry_max, interval=row.retry_intervals or 0)
    args = tuple(row.args)
    return Adopted(row.id, row.func, args, row.queue, retry, row.attempt, row.run_at)
