"""Background jobs: rq on Redis in production, a thread in this process in the embedded default.

Job functions are plain importable functions that take ids, and a job names its
function by dotted path (``"gateway.jobs.send_message"``), as rq itself allows: a
service queues its package's jobs without importing the jobs module, which imports
the services, so no import cycle is needed to hold the two together. The same
functions run either way. Code inside a transaction never sends a job straight away:
``enqueue(session, ...)`` holds it until the session commits, and drops it on
rollback, so a worker never picks up a job for rows that do not exist.
"""

from __future__ import annotations

import heapq
import importlib
import itertools
import logging
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar, Protocol

from redis import Redis
from rq import Queue, Retry
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from core.journal import JobJournal

log = logging.getLogger("kazi.jobs")

#: Queues by purpose, so SMS never waits behind a slow payout and operators can scale each.
QUEUE_NAMES = ("sms", "payouts", "default")

_PENDING_KEY = "kazi.pending_jobs"
#: "package.module.function": what rq stores and what ``resolve`` imports.
_DOTTED = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)+$")


@dataclass(frozen=True)
class JobSpec:
    """One job to run: the function's dotted name, its arguments (ids) and how to run it."""

    func: str
    args: tuple[Any, ...] = ()
    queue: str = "default"
    job_id: str | None = None
    retry: Retry | None = None
    delay: timedelta | None = None

    def __post_init__(self) -> None:
        if self.queue not in QUEUE_NAMES:
            raise ValueError(f"unknown queue {self.queue!r}; expected one of {QUEUE_NAMES}")
        if not _DOTTED.match(self.func):
            raise ValueError(f"a job names its function by dotted path, got {self.func!r}")


def resolve(func: str) -> Callable[..., Any]:
    """The function a dotted job name stands for (imported on first use)."""
    module, _, name = func.rpartition(".")
    target: object = getattr(importlib.import_module(module), name, None)
    if not callable(target):
        raise LookupError(f"no job function {func!r}")
    return target


class JobQueue(Protocol):
    """Where jobs go once they may run."""

    def submit(self, spec: JobSpec) -> None: ...


def enqueue(
    session: Session,
    func: str,
    *args: Any,
    queue: str = "default",
    job_id: str | None = None,
    retry: Retry | None = None,
    delay: timedelta | None = None,
) -> None:
    """Queue the job ``func`` (a dotted name) for when this session commits; dropped on rollback."""
    spec = JobSpec(func, args, queue=queue, job_id=job_id, retry=retry, delay=delay)
    # The job belongs to the session's transaction; begin it now if the caller has not
    # touched the database yet, so a rollback before any query still drops the job.
    session.connection()
    session.info.setdefault(_PENDING_KEY, []).append(spec)


def enqueue_next_tick(
    session: Session, func: str, *args: Any, period_seconds: float, queue: str = "default"
) -> None:
    """Queue a periodic chore's next run for the start of its next slot of ``period_seconds``.

    The job id names the slot, so every process starting or continuing the chain (each
    ``flask worker``, each tick) queues the same one job: the chain stays single. Used
    under rq, whose scheduler runs the delayed job; each tick queues its successor.
    """
    now = time.time()
    next_slot = int(now // period_seconds) + 1
    enqueue(
        session,
        func,
        *args,
        queue=queue,
        job_id=f"tick-{func.replace('.', '-')}-{int(period_seconds)}-{next_slot}",
        delay=timedelta(seconds=next_slot * period_seconds - now),
    )


def pending_jobs(session: Session) -> list[JobSpec]:
    """The jobs this session holds, to be sent when its transaction commits."""
    return list(session.info.get(_PENDING_KEY, []))


def bind_jobs_to_sessions(sessions: sessionmaker[Session], jobs: JobQueue) -> None:
    """Make sessions from this factory send their held jobs to ``jobs`` after each commit."""

    @event.listens_for(sessions, "after_commit")
    def _send_after_commit(session: Session) -> None:
        if session.get_nested_transaction() is not None:
            # SQLAlchemy fires after_commit for a released savepoint (begin_nested) too;
            # the outer transaction is still open, so its jobs wait for the real commit.
            return
        for spec in session.info.pop(_PENDING_KEY, []):
            try:
                jobs.submit(spec)
            except Exception:
                # The transaction is already committed; raising would not undo it. Each
                # domain's sweeper (stuck messages, stuck payouts) picks such rows up again.
                log.exception("could not queue job %s after commit", spec.func)

    @event.listens_for(sessions, "after_soft_rollback")
    def _drop_on_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
        # Only the session's own transaction ending in rollback drops the jobs; a
        # rolled-back savepoint (begin_nested) inside a transaction that commits does not.
        if previous_transaction.parent is None:
            session.info.pop(_PENDING_KEY, None)


#: Delayed job ids a process remembers having scheduled (pruned of the due ones when full).
_SCHEDULED_MEMORY = 10_000


class RqJobQueue:
    """Jobs on Redis through rq, run by ``flask --app wsgi worker`` processes."""

    def __init__(self, redis: Redis) -> None:
        self._queues = {name: Queue(name, connection=redis) for name in QUEUE_NAMES}
        # Delayed jobs this process scheduled by id, with when they are due (monotonic).
        self._scheduled: dict[str, float] = {}

    def submit(self, spec: JobSpec) -> None:
        queue = self._queues[spec.queue]
        options: dict[str, Any] = {"job_id": spec.job_id, "retry": spec.retry}
        if not spec.delay:
            queue.enqueue(spec.func, *spec.args, **options)
            return
        if spec.job_id is not None and not self._first_schedule(spec.job_id, spec.delay):
            return
        queue.enqueue_in(spec.delay, spec.func, *spec.args, **options)

    def _first_schedule(self, job_id: str, delay: timedelta) -> bool:
        """False when this process scheduled the job with this id already and it is not due.

        A job id names one job (rq overwrites the waiting one with its copy), so queuing
        it again changes nothing: skipping the repeat saves the hop rq's several Redis
        commands (e.g. a project's results refresh, queued by every answer of its window).
        """
        now = time.monotonic()
        if self._scheduled.get(job_id, 0.0) > now:
            return False
        if len(self._scheduled) >= _SCHEDULED_MEMORY:
            self._scheduled = {k: due for k, due in self._scheduled.items() if due > now}
        self._scheduled[job_id] = now + delay.total_seconds()
        return True

    def depths(self) -> dict[str, int]:
        """How many jobs wait in each queue."""
        return {name: queue.count for name, queue in self._queues.items()}


@dataclass(order=True)
class _Scheduled:
    run_at: float
    seq: int
    spec: JobSpec = field(compare=False)
    attempt: int = field(compare=False, default=0)
    row_id: int | None = field(compare=False, default=None)  # its journal row


#: How often (at most) a working runner with a journal looks for jobs orphaned by another process.
ADOPT_EVERY_SECONDS = 30.0


class InProcessJobQueue:
    """Jobs on one background thread of this process: the embedded default.

    It honours the same ``Retry`` and delays as rq, so the embedded default behaves
    like production. With a journal (``core.journal``) every job is also a row until
    it has run, so a job a dead or restarted process held is adopted by a live one:
    when its runner starts (the first request or job) and as it works.
    """

    def __init__(
        self, activate: Callable[[], AbstractContextManager[Any]], journal: JobJournal | None = None
    ) -> None:
        self._activate = activate  # makes the app's runtime current inside the job
        self._journal = journal
        self._heap: list[_Scheduled] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._busy = False
        self._thread: threading.Thread | None = None
        self._adopted_at = time.monotonic()

    def submit(self, spec: JobSpec) -> None:
        delay = spec.delay.total_seconds() if spec.delay else 0.0
        with self._cond:
            # Like rq, a job id names one job: while it waits, queuing it again adds nothing.
            if spec.job_id is not None and any(i.spec.job_id == spec.job_id for i in self._heap):
                return
        row_id = None
        if self._journal is not None:
            row_id = self._journal.record(spec.func, spec.args, spec.queue, spec.retry, delay)
        self._push(_Scheduled(time.monotonic() + delay, next(self._seq), spec, row_id=row_id))

    def start(self) -> None:
        """Start the runner now (it also starts with the first job): it adopts orphans."""
        with self._cond:
            self._start()

    def _start(self) -> None:
        if self._thread is None:
            # The thread holds the queue weakly between jobs: once an app or runtime is
            # discarded, its runner ends instead of polling a database nobody uses.
            ref = weakref.ref(self)
            self._thread = threading.Thread(
                target=_work, args=(ref,), name="kazi-jobs", daemon=True
            )
            self._thread.start()

    def _push(self, item: _Scheduled) -> None:
        with self._cond:
            heapq.heappush(self._heap, item)
            self._start()
            self._cond.notify_all()

    def _next_due(self) -> _Scheduled:
        with self._cond:
            while True:
                if self._heap and self._heap[0].run_at <= time.monotonic():
                    self._busy = True
                    return heapq.heappop(self._heap)
                self._busy = False
                self._cond.notify_all()
                timeout = self._heap[0].run_at - time.monotonic() if self._heap else None
                self._cond.wait(timeout)

    def _step(self) -> None:
        """Run the next due job; then, at most every ADOPT_EVERY_SECONDS, adopt orphans.

        Only a process that is working looks: an idle runner waits without touching the
        database, so a discarded app never keeps a connection busy.
        """
        item = self._next_due()
        try:
            with self._activate():
                resolve(item.spec.func)(*item.spec.args)
        except Exception:
            self._retry_or_give_up(item)
        else:
            self._strike(item)
        if time.monotonic() - self._adopted_at >= ADOPT_EVERY_SECONDS:
            self.adopt_orphans()

    def adopt_orphans(self) -> int:
        """Queue here the journalled jobs whose process is gone; how many."""
        if self._journal is None:
            return 0
        self._adopted_at = time.monotonic()
        now = self._journal.now()
        adopted = self._journal.adopt()
        for job in adopted:
            spec = JobSpec(job.func, job.args, queue=job.queue, retry=job.retry)
            delay = max(0.0, (job.run_at - now).total_seconds())
            log.info("adopted job %s (journal row %s)", job.func, job.row_id)
            run_at = time.monotonic() + delay
            self._push(_Scheduled(run_at, next(self._seq), spec, job.attempt, job.row_id))
        return len(adopted)

    def _strike(self, item: _Scheduled) -> None:
        if self._journal is not None and item.row_id is not None:
            self._journal.done(item.row_id)

    def _retry_or_give_up(self, item: _Scheduled) -> None:
        retry = item.spec.retry
        if retry is None or item.attempt >= retry.max:
            log.exception("job %s failed for good", item.spec.func)
            self._strike(item)
            return
        intervals = retry.intervals or [0]
        wait = intervals[min(item.attempt, len(intervals) - 1)]
        log.warning("job %s failed; retry %d in %ss", item.spec.func, item.attempt + 1, wait)
        if self._journal is not None and item.row_id is not None:
            self._journal.reschedule(item.row_id, item.attempt + 1, wait)
        self._push(
            _Scheduled(
                time.monotonic() + wait, next(self._seq), item.spec, item.attempt + 1, item.row_id
            )
        )

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until no job is due or running (jobs scheduled later may remain); True if idle."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._busy or (self._heap and self._heap[0].run_at <= time.monotonic()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.05))
            return True

    def pending(self) -> Iterator[JobSpec]:
        """The jobs still waiting, soonest first."""
        with self._cond:
            return iter([item.spec for item in sorted(self._heap)])


class PeriodicJob:
    """Submits one job every ``interval`` seconds from a daemon thread, until stopped.

    The embedded default's stand-in for rq's scheduler: it only submits, so the job runs
    on the in-process queue like any other. One per job function per process: a
    second ``start`` (another app built in the same process) is refused.
    """

    _running: ClassVar[set[str]] = set()
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, jobs: JobQueue, spec: JobSpec, interval: float) -> None:
        if interval <= 0:
            raise ValueError("a periodic job needs an interval above zero")
        self._jobs = jobs
        self._spec = spec
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """True between a successful ``start`` and ``stop``."""
        return self._thread is not None

    def start(self) -> bool:
        """Start the timer; False if this process already runs one for the same job."""
        with self._registry_lock:
            if self._thread is not None or self._spec.func in self._running:
                return False
            self._running.add(self._spec.func)
            self._thread = threading.Thread(
                target=self._run, name=f"kazi-every-{self._spec.func}", daemon=True
            )
            self._thread.start()
        return True

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the timer and wait for its thread (a job already submitted still runs)."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        with self._registry_lock:
            if self._thread is not None:
                self._running.discard(self._spec.func)
                self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._jobs.submit(self._spec)
            except Exception:  # the next tick tries again; the timer must not die
                log.exception("periodic job %s not queued", self._spec.func)


def _work(ref: weakref.ref[InProcessJobQueue]) -> None:
    """The runner thread's loop: adopt orphans once, then run jobs while the queue lives."""
    queue = ref()
    if queue is not None:
        queue.adopt_orphans()
    del queue
    while (queue := ref()) is not None:
        queue._step()
        del queue
