"""USSD sessions over HTTP under load: Kazi served the production way, beside the floor app.

For PostgreSQL: a throwaway database, migrated and seeded (registered workers, a funded
project of open tasks); ``gunicorn --config gunicorn.conf.py -w 4 wsgi:app`` on it and
Redis, with ``flask worker`` (rq) running as in production. wrk walks whole sessions
(bench/ussd_sessions.lua: menu, get a task, five answers) at each concurrency, one
session per connection. Then the floor app (bench/floor_app.py) is served with the same
config and walked the same way. The embedded default (SQLite, no Redis, one process with
threads as bin/run serves it) is walked too.

After every wrk run the screens wrk counted are checked against the database: each
answer hop must have shown "Saved!", and the answered assignments and wage transactions
the run added must match those screens (give or take the hops in flight when wrk
stopped), so a fast wrong answer fails the benchmark instead of winning it.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from redis import Redis
from sqlalchemy import func, select

from bench import seed
from bench.floor_app import floor_hops
from bench.harness import BenchDatabase, Row, Table, bench_database, checkout_database
from bench.serving import DEFAULT_REDIS_URL, Served, database_cpu, serving
from bench.wrk import WrkResult, run_wrk
from config.settings import REPO_ROOT
from core.secrets import hash_password
from ledger.models import LedgerTransaction
from tasks.models import Assignment, AssignmentStatus, TaskStatus

TOKEN = "bench-http-at-token-0123456789"
PATH = f"/webhooks/africastalking/ussd?token={TOKEN}"
ANSWERS = 5

Progress = Callable[[str], None]


@dataclass(frozen=True)
class HttpScale:
    """Sizes of one run: the dataset, the concurrencies, and how long wrk drives each."""

    workers: int = 20_000
    tasks: int = 60_000
    postgres_sessions: list[int] = field(default_factory=lambda: [16, 64, 256])
    sqlite_sessions: list[int] = field(default_factory=lambda: [16, 64])
    seconds: int = 20
    warmup_seconds: int = 3
    web_workers: int = 4
    # How long the stored counts must stay unchanged before they are read: longer than
    # the slowest hop, so the hops in flight when wrk stopped have landed.
    settle_seconds: float = 2.0


SMOKE = HttpScale(
    workers=300,
    tasks=600,
    postgres_sessions=[4],
    sqlite_sessions=[2],
    seconds=3,
    warmup_seconds=2,
    web_workers=2,
    settle_seconds=1.0,
)


@dataclass(frozen=True)
class Measured:
    """One app at one concurrency: wrk's figures and what the database says was stored."""

    app: str
    database: str
    sessions: int
    wrk: WrkResult
    stored: int  # answers saved (Kazi) or hop rows (floor) the run added
    wages: int  # wage transactions the run added (Kazi); hop rows again for the floor
    app_cpu: float = 0.0  # CPU seconds of gunicorn and the rq worker during the run
    database_cpu: float = 0.0  # CPU seconds of the PostgreSQL backends during the run

    def per_hop_ms(self, seconds: float) -> float:
        """CPU milliseconds per hop wrk counted."""
        return seconds * 1000 / self.wrk.hops if self.wrk.hops else 0.0


class CheckFailed(RuntimeError):
    """The screens wrk received do not match what the database stored."""


def _base_env(database_url: str, redis_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAZI_", "DATABASE_"))}
    env.pop("REDIS_URL", None)
    env |= {
        "DATABASE_URL": database_url,
        "AT_WEBHOOK_TOKEN": TOKEN,
        "SECRET_KEY": "bench-http-" + "x" * 32,
        "LOG_LEVEL": "warning",
        "PYTHONPATH": str(REPO_ROOT),
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def kazi_counts(db: BenchDatabase) -> tuple[int, int]:
    """Answered assignments and wage transactions in the database now."""
    with db.sessions() as session:
        answered = seed.count(session, Assignment, Assignment.status == AssignmentStatus.ANSWERED)
        wages = session.scalar(
            select(func.count())
            .select_from(LedgerTransaction)
            .where(LedgerTransaction.reference.like("wage:assignment:%"))
        )
    return answered, int(wages or 0)


def floor_counts(db: BenchDatabase) -> tuple[int, int]:
    """Hop rows the floor app wrote (twice, to fit the (stored, wages) shape)."""
    with db.engine.connect() as connection:
        rows = int(connection.scalar(select(func.count()).select_from(floor_hops)) or 0)
    return rows, rows


def settled(
    counts: Callable[[BenchDatabase], tuple[int, int]], db: BenchDatabase, seconds: float
) -> tuple[int, int]:
    """The counts once unchanged for ``seconds``: the hops in flight at wrk's stop have landed."""
    last, calm, deadline = counts(db), 0.0, time.monotonic() + 30
    while calm < seconds and time.monotonic() < deadline:
        time.sleep(0.25)
        calm += 0.25
        now = counts(db)
        calm = calm if now == last else 0.0
        last = now
    return last


def check(measured: Measured) -> None:
    """Raise CheckFailed unless every screen was right and the database holds what they said.

    A hop wrk gave up on (its timeout, counted in ``errors``) is slow, not wrong: it may
    still have been saved, so it widens the upper bound instead of failing the run.
    """
    wrk, name = measured.wrk, f"{measured.app} on {measured.database}, {measured.sessions} sessions"
    if wrk.bad:
        raise CheckFailed(f"{name}: {wrk.bad} bad screens: {wrk.first_bad}")
    if wrk.hops == 0:
        raise CheckFailed(f"{name}: no hop came back ({wrk})")
    if wrk.saved != wrk.answered:
        raise CheckFailed(f"{name}: {wrk.answered} answers sent, {wrk.saved} 'Saved!' screens")
    # Hops in flight when wrk stopped are stored but were never counted: one per session.
    expected = wrk.hops if measured.app == "floor" else wrk.saved
    for what, stored in (("stored", measured.stored), ("wages", measured.wages)):
        if not expected <= stored <= expected + measured.sessions + wrk.errors:
            raise CheckFailed(f"{name}: {expected} screens but {stored} {what} in the database")


def measure_app(
    served: Served,
    db: BenchDatabase,
    *,
    app: str,
    sessions: list[int],
    scale: HttpScale,
    counts: Callable[[BenchDatabase], tuple[int, int]],
    say: Progress,
) -> list[Measured]:
    """Warm the app up, then one checked wrk run per concurrency."""
    results: list[Measured] = []
    base = served.base
    walk = functools.partial(run_wrk, base, PATH, workers=scale.workers, answers=ANSWERS)
    walk(sessions=sessions[0], seconds=scale.warmup_seconds, prefix=f"{app}-warm")
    for n in sessions:
        before = settled(counts, db, scale.settle_seconds)
        app_before, db_before = served.app_cpu(), database_cpu(db)
        wrk = walk(sessions=n, seconds=scale.seconds, prefix=f"{app}-{n}")
        app_after, db_after = served.app_cpu(), database_cpu(db)
        after = settled(counts, db, scale.settle_seconds)
        measured = Measured(
            app,
            db.kind,
            n,
            wrk,
            stored=after[0] - before[0],
            wages=after[1] - before[1],
            app_cpu=app_after - app_before,
            # A backend opened during the run started from nothing.
            database_cpu=sum(t - db_before.get(pid, 0.0) for pid, t in db_after.items()),
        )
        check(measured)
        say(
            f"http {app} {db.kind} {n} sessions: {wrk.hops_per_second:,.0f} hops/s, "
            f"p50 {wrk.p50_ms:,.1f} ms, p99 {wrk.p99_ms:,.1f} ms"
        )
        results.append(measured)
    return results


def seed_world(db: BenchDatabase, scale: HttpScale) -> None:
    """Registered workers (PIN 1234), a project of open tasks big enough for the run, and
    the past work of a live deployment: as many complete tasks again, three answers each.

    The past answers matter beyond realism: with no answer in the table when it is
    analysed, PostgreSQL plans every assignment lookup for an empty table (sequential
    scans), and the run then pays more per hop the more answers it adds.
    """
    with db.sessions.begin() as session:
        project = seed.project(session, budget_minor=scale.tasks * 3 * 100 * 4)
        done = seed.tasks(session, project.id, scale.tasks, status=TaskStatus.COMPLETE, answers=3)
        seed.tasks(session, project.id, scale.tasks, status=TaskStatus.OPEN)
        workers = seed.workers(session, scale.workers, pin_hash=hash_password("1234"))
        seed.answers(session, done, 3, workers)
    db.analyze()


def run_postgres(scale: HttpScale, redis_url: str, name: str, say: Progress) -> list[Measured]:
    """Kazi and the floor on PostgreSQL and Redis, each at every concurrency."""
    Redis.from_url(redis_url).flushdb()
    with bench_database("postgresql", name=name) as db:
        seed_world(db, scale)
        floor_hops.create(db.engine)
        env = _base_env(db.url, redis_url)
        with serving("wsgi:app", env, workers=scale.web_workers, rq_worker=True) as served:
            kazi = measure_app(
                served,
                db,
                app="Kazi",
                sessions=scale.postgres_sessions,
                scale=scale,
                counts=kazi_counts,
                say=say,
            )
        with serving("bench.floor_app:app", env, workers=scale.web_workers) as served:
            floor = measure_app(
                served,
                db,
                app="floor",
                sessions=scale.postgres_sessions,
                scale=scale,
                counts=floor_counts,
                say=say,
            )
    Redis.from_url(redis_url).flushdb()
    return kazi + floor


def run_sqlite(scale: HttpScale, say: Progress) -> list[Measured]:
    """The embedded default as bin/run serves it: SQLite, no Redis, one process, 8 threads."""
    with bench_database("sqlite") as db:
        seed_world(db, scale)
        env = _base_env(db.url, None)
        with serving("wsgi:app", env, workers=1, threads=8) as served:
            return measure_app(
                served,
                db,
                app="Kazi",
                sessions=scale.sqlite_sessions,
                scale=scale,
                counts=kazi_counts,
                say=say,
            )


def run(
    scale: HttpScale,
    *,
    redis_url: str | None = None,
    database: str | None = None,
    say: Progress = print,
) -> Table:
    """The whole HTTP benchmark, filled into its table (``redis_url``'s database is flushed)."""
    redis_url = redis_url or os.environ.get("KAZI_BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    measured = run_postgres(scale, redis_url, database or checkout_database("kazi_http"), say)
    measured += run_sqlite(scale, say)
    return fill(table(scale), measured)


def fill(table: Table, measured: list[Measured]) -> Table:
    """Rows per run, then the ratios to the floor and the database checks."""
    for m in measured:
        table.rows.append(
            Row(
                database=m.database,
                dataset=f"{m.app}, {m.sessions} sessions",
                n=m.wrk.hops,
                p50_ms=m.wrk.p50_ms,
                p95_ms=m.wrk.p95_ms,
                p99_ms=m.wrk.p99_ms,
                throughput=m.wrk.hops_per_second,
                unit="hops/s",
            )
        )
    floor = {m.sessions: m for m in measured if m.app == "floor"}
    table.extra += [
        "Kazi against the floor at the same concurrency (target at 64 sessions: throughput "
        "≥ 0.7×, p99 ≤ 1.5×); the checks compare wrk's screens with the database:",
        "",
        "| database | sessions | Kazi hops/s | × floor | Kazi p99 ms | × floor p99 | "
        "answers shown saved | answers stored | wages credited | hops timed out (60 s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    cpu = [
        "",
        "CPU per hop (milliseconds of CPU time per hop wrk counted, from /proc: the app is "
        "gunicorn's processes and the rq worker's jobs, the database is the PostgreSQL "
        "backends of this database; for SQLite the database runs inside the app):",
        "",
        "| database | app | sessions | app CPU ms/hop | database CPU ms/hop |",
        "|---|---|---:|---:|---:|",
    ]
    for m in measured:
        cpu.append(
            f"| {m.database} | {m.app} | {m.sessions} | {m.per_hop_ms(m.app_cpu):.1f} | "
            f"{m.per_hop_ms(m.database_cpu):.1f} |"
        )
    for m in measured:
        if m.app != "Kazi":
            continue
        base = floor.get(m.sessions)
        speed = f"{m.wrk.hops_per_second / base.wrk.hops_per_second:.2f}" if base else "–"
        tail = f"{m.wrk.p99_ms / base.wrk.p99_ms:.1f}" if base else "–"
        table.extra.append(
            f"| {m.database} | {m.sessions} | {m.wrk.hops_per_second:,.0f} | {speed} | "
            f"{m.wrk.p99_ms:,.0f} | {tail} | {m.wrk.saved:,} | {m.stored:,} | {m.wages:,} | "
            f"{m.wrk.errors:,} |"
        )
    table.extra += [*cpu, ""]
    return table


def table(scale: HttpScale) -> Table:
    """The empty table this benchmark fills."""
    return Table(
        "USSD sessions over HTTP (gunicorn, wrk)",
        f"wrk walks whole Africa's Talking USSD sessions (menu, get a task, {ANSWERS} answers; "
        "one session per connection, bench/ussd_sessions.lua) for "
        f"{scale.seconds} s per row. PostgreSQL rows: `gunicorn --config gunicorn.conf.py "
        f"-w {scale.web_workers}` with Redis and an rq worker running; the floor app "
        "(bench/floor_app.py: one Redis GET and SETEX and one SQL INSERT per hop) on the same "
        "config. SQLite rows: the embedded default as bin/run serves it (one process, 8 "
        f"threads, no Redis). Dataset: {scale.workers:,} registered workers, {scale.tasks:,} "
        f"open tasks, and {scale.tasks:,} complete tasks with {3 * scale.tasks:,} past answers "
        "(analysed, as a live database is). Latency is wrk's per hop; n is hops. wrk runs on "
        "the same 2 cores.",
    )
