"""Outbound SMS: queued messages through rq workers to a local fake Africa's Talking server.

The fake server (``bench.fake_africastalking``) answers AT's bulk send API in its
documented shape and counts every number it was sent. Messages are stored queued (``gateway.outbound`` columns, bulk-inserted)
and their jobs queued by the names Kazi queues them by: ``gateway.jobs.send_message``
per message (a worker's notice) or ``gateway.jobs.send_batch`` per 100 (a broadcast,
``gateway.broadcast.queue_batch``). Then rq worker processes
(bench/outbound_worker.py), started and listening first, drain the queue; messages
per second = messages / the time from queueing the first job to the last message
stored as accepted.

Three measurements: single sends, batched sends (the gain is the ratio), and batched
sends under a ``SMS_RATE_PER_SECOND`` below that capacity (throughput must track the
limit: the limiter, not Kazi, is then what bounds the send rate). Each run checks that
every message ended ``sent``/accepted and that the server saw each number exactly once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from rq import Queue, Worker
from sqlalchemy import func, insert, select
from sqlalchemy.orm import sessionmaker

from bench.fake_africastalking import FakeAfricasTalking
from bench.harness import BenchDatabase, Table, bench_database, checkout_database
from bench.serving import DEFAULT_REDIS_URL, stop
from config.settings import REPO_ROOT
from core.db import build_sessionmaker
from core.jobs import RqJobQueue, bind_jobs_to_sessions, enqueue
from core.medium import count_segments
from gateway.delivery import DeliveryStatus
from gateway.models import Direction, Message
from gateway.outbound import SEND_RETRY
from gateway.providers.africastalking import BULK_BATCH_SIZE

BODY = "Kazi: new tasks are waiting. Dial *384*12# to earn."
#: A limit no run reaches: the unlimited rows measure Kazi, not the limiter.
UNLIMITED = 1_000_000.0


@dataclass(frozen=True)
class OutboundSizes:
    """Messages per run; the rate limits the limited runs are held to."""

    batched: int = 100_000
    # Single sends are an rq job (a forked work horse) each: a few hundred show the rate.
    single: int = 600
    limits: list[float] = field(default_factory=lambda: [50.0, 100.0])
    limited_seconds: float = 15.0
    workers: int = 4


SMOKE = OutboundSizes(batched=300, single=10, limits=[100.0], limited_seconds=6.0, workers=1)


@dataclass(frozen=True)
class Sent:
    """One drained queue: how many, how fast, through how many provider requests."""

    label: str
    messages: int
    seconds: float
    requests: int
    limit: float | None

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0


def queue_messages(
    sessions: sessionmaker[Any], count: int, *, batched: bool, first_number: int
) -> None:
    """Store ``count`` queued outbound messages and queue their send jobs (after commit)."""
    info = count_segments(BODY)
    start = first_number
    for chunk_start in range(0, count, 5_000):
        size = min(5_000, count - chunk_start)
        rows = [
            {
                "direction": Direction.OUTBOUND,
                "provider": "africastalking",
                "phone": f"+2547{start + chunk_start + i:08d}",
                "body": BODY,
                "status": DeliveryStatus.QUEUED,
                "segments": info.segments,
                "encoding": info.encoding,
                "attempts": 0,
            }
            for i in range(size)
        ]
        with sessions.begin() as session:
            ids = list(session.scalars(insert(Message).returning(Message.id), rows))
            if batched:
                for at in range(0, len(ids), BULK_BATCH_SIZE):
                    batch = ids[at : at + BULK_BATCH_SIZE]
                    enqueue(
                        session,
                        "gateway.jobs.send_batch",
                        batch,
                        queue="sms",
                        job_id=f"sms-batch-{batch[0]}",
                        retry=SEND_RETRY,
                    )
            else:
                for message_id in ids:
                    enqueue(
                        session,
                        "gateway.jobs.send_message",
                        message_id,
                        queue="sms",
                        job_id=f"sms-{message_id}",
                        retry=SEND_RETRY,
                    )


@contextmanager
def workers_running(
    env: dict[str, str], redis: Redis, *, rate: float, workers: int
) -> Iterator[None]:
    """``workers`` rq worker processes listening on ``sms``, up and registered before yielding.

    Their start-up (imports, seconds on a busy machine) is not what is measured, so the
    messages are queued only once every worker listens.
    """
    env = {**env, "SMS_RATE_PER_SECOND": str(rate)}
    command = [sys.executable, "-m", "bench.outbound_worker"]
    processes = [
        subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(workers)
    ]
    try:
        deadline = time.monotonic() + 180
        while Worker.count(connection=redis, queue=Queue("sms", connection=redis)) < workers:
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise RuntimeError("the rq workers did not start")
            time.sleep(0.2)
        yield
    finally:
        stop(processes)


def accepted(db: BenchDatabase) -> int:
    """Messages the provider has accepted so far."""
    with db.sessions() as session:
        query = select(func.count()).where(Message.status == DeliveryStatus.ACCEPTED)
        return int(session.scalar(query) or 0)


def wait_until_sent(db: BenchDatabase, count: int, *, timeout: float = 900) -> float:
    """Block until ``count`` messages are accepted; the moment it happened (perf_counter)."""
    deadline = time.monotonic() + timeout
    while accepted(db) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {accepted(db)} of {count} messages sent in {timeout:g} s")
        time.sleep(0.1)
    return time.perf_counter()


def check(db: BenchDatabase, fake: FakeAfricasTalking, expected: int, label: str) -> None:
    """Every message sent once: accepted in the database, each number once at the server."""
    with db.sessions() as session:
        by_status = dict(
            session.execute(select(Message.status, func.count()).group_by(Message.status)).all()
        )
    unsent = {k: v for k, v in by_status.items() if k != DeliveryStatus.ACCEPTED}
    if unsent or by_status.get(DeliveryStatus.ACCEPTED) != expected:
        raise RuntimeError(f"{label}: {expected} queued, by status now {by_status}")
    twice = [n for n, seen in fake.numbers.items() if seen != 1]
    if len(fake.numbers) != expected or twice:
        raise RuntimeError(
            f"{label}: the server saw {len(fake.numbers)} numbers for {expected}, "
            f"{len(twice)} more than once"
        )


def measure_one(
    db: BenchDatabase,
    fake: FakeAfricasTalking,
    redis: Redis,
    *,
    label: str,
    count: int,
    batched: bool,
    limit: float | None,
) -> Sent:
    """Queue ``count`` messages for the running workers, wait until sent, check; the figures."""
    db.reset()
    fake.reset()
    sessions = build_sessionmaker(db.engine)
    bind_jobs_to_sessions(sessions, RqJobQueue(redis))
    # From the first job queued: the limiter's wait comes before a job's request, so
    # timing from the server's first request would leave the limit out.
    began = time.perf_counter()
    queue_messages(sessions, count, batched=batched, first_number=0)
    done = wait_until_sent(db, count)
    if fake.first_at is None:
        raise RuntimeError(f"{label}: the fake server got no request")
    check(db, fake, count, label)
    return Sent(label, count, done - began, fake.requests, limit)


def run(
    sizes: OutboundSizes,
    *,
    redis_url: str | None = None,
    database: str | None = None,
    say: Any = print,
) -> Table:
    """Single, batched and rate-limited sends on PostgreSQL (``redis_url``'s database is flushed)."""
    redis_url = redis_url or os.environ.get("KAZI_BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    redis = Redis.from_url(redis_url)
    results: list[Sent] = []
    with (
        bench_database("postgresql", name=database or checkout_database("kazi_outbound")) as db,
        FakeAfricasTalking() as fake,
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KAZI_", "DATABASE_"))}
        env |= {
            "DATABASE_URL": db.url,
            "REDIS_URL": redis_url,
            "SMS_PROVIDER": "africastalking",
            "AT_USERNAME": "bench",
            "AT_API_KEY": "bench-key",
            "KAZI_BENCH_FAKE_AT_URL": fake.url,
            "LOG_LEVEL": "warning",
            "PYTHONPATH": str(REPO_ROOT),
        }
        # One set of workers per rate: the limit is a setting read at a worker's start.
        runs: list[tuple[float | None, list[tuple[str, int, bool]]]] = [
            (
                None,
                [
                    ("single sends (send_message per SMS)", sizes.single, False),
                    (f"batched ({BULK_BATCH_SIZE} numbers per request)", sizes.batched, True),
                ],
            )
        ]
        runs += [
            (
                limit,
                [
                    (
                        f"batched, SMS_RATE_PER_SECOND={limit:g}",
                        int(limit * sizes.limited_seconds),
                        True,
                    )
                ],
            )
            for limit in sizes.limits
        ]
        for limit, plan in runs:
            redis.flushdb()
            with workers_running(env, redis, rate=limit or UNLIMITED, workers=sizes.workers):
                for label, count, batched in plan:
                    sent = measure_one(
                        db, fake, redis, label=label, count=count, batched=batched, limit=limit
                    )
                    say(f"outbound {label}: {sent.per_second:,.0f} SMS/s")
                    results.append(sent)
        redis.flushdb()
    return fill(table(sizes), results)


def fill(table_: Table, results: list[Sent]) -> Table:
    """The results as lines after the (empty) latency table: this benchmark has rates."""
    single, batched = results[0], results[1]
    table_.extra += [
        "| run | SMS | provider requests | seconds | SMS/s | limit | SMS/s ÷ limit |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for sent in results:
        limit = f"{sent.limit:g}/s" if sent.limit else "none"
        share = f"{sent.per_second / sent.limit:.2f}" if sent.limit else "–"
        table_.extra.append(
            f"| {sent.label} | {sent.messages:,} | {sent.requests:,} | {sent.seconds:,.1f} | "
            f"{sent.per_second:,.0f} | {limit} | {share} |"
        )
    table_.extra += [
        "",
        f"Batching gain: {batched.per_second / single.per_second:.1f}× the single-send rate. "
        "Every run checked: each message `accepted` in the database, each number seen once "
        "by the fake server.",
        "",
    ]
    return table_


def fastest_share(seconds: float) -> float:
    """The highest SMS/s ÷ limit a correct limiter allows over a run of ``seconds`` worth
    of messages at the limit.

    The limiter counts fixed windows of one second (``gateway.ratelimit``) and a batch
    takes its slots at once. A run that starts just before a window ends sends that
    window's whole allowance at once, and the last window's allowance goes at that
    window's start: N = limit × T messages over T windows may finish just after T − 2
    seconds, never sooner.
    """
    return seconds / (seconds - 2)


def limited_shares(table_: Table) -> list[float]:
    """SMS/s ÷ limit of the limited runs, read back from a filled table."""
    shares = []
    for line in table_.extra:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 7 and cells[5].endswith("/s") and cells[6] != "–":
            shares.append(float(cells[6]))
    return shares


def table(sizes: OutboundSizes) -> Table:
    """The empty table this benchmark fills (its results are the lines after it)."""
    return Table(
        "Outbound SMS through rq (fake Africa's Talking)",
        f"Messages stored queued, their jobs queued on rq's `sms` queue as Kazi queues them, "
        f"then {sizes.workers} rq worker processes (already listening; a forked work horse "
        "per job, as in production) send them through the Africa's Talking adapter to a local "
        "fake server in AT's documented answer format. SMS/s = messages / time from queueing "
        "the first job to the last message stored as accepted. The limited runs "
        f"send {sizes.limited_seconds:g} s worth of messages at the limit.",
    )
