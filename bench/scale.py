"""Scale: does ``get_next_task`` cost the same at a million open tasks, or a million workers?

PostgreSQL only (the embedded SQLite default is not meant for a million workers). The
rows are seeded with ``INSERT ... SELECT generate_series`` (seconds for a million), then
``ANALYZE``d as autovacuum would. Three datasets, each measured by picks of workers
drawn at random from the whole worker table, one pick per transaction:

- base: 10 k open tasks, 10 k workers;
- tasks: the same project grown to 1 M open tasks;
- workers: a second project of 10 k open tasks (the only active one), 1 M workers.

The ratio of each big dataset's median pick to the base's is the figure (target ≤ 1.2).
Every statement one pick sends is captured and ``EXPLAIN``ed on the big datasets: a
sequential scan of tasks, workers or assignments there is named in the report.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, text, update
from sqlalchemy.orm import Session

from bench import seed
from bench.assignment import pick
from bench.harness import (
    BenchDatabase,
    Row,
    Table,
    bench_database,
    checkout_database,
    measure,
    row_from,
)
from tasks.models import Project, ProjectStatus

#: Tables big enough at 1 M rows that a sequential scan of one is a finding.
BIG_TABLES = ("tasks", "workers", "assignments")
#: Workers' numbers start here, clear of the other seeders' ranges.
PHONE_BASE = 10_000_000


@dataclass(frozen=True)
class ScaleSizes:
    """The small and large counts, and the picks timed on each dataset."""

    small: int = 10_000
    large: int = 1_000_000
    picks: int = 400
    max_seconds: float = 20.0


SMOKE = ScaleSizes(small=200, large=2_000, picks=5, max_seconds=5.0)


@dataclass
class Plans:
    """What EXPLAIN said about one pick's statements."""

    statements: int = 0
    seq_scans: list[str] = field(default_factory=list)
    slowest: str = ""  # the statement that took longest in the captured pick, with its time


def add_tasks(session: Session, project_id: int, count: int) -> None:
    """``count`` open tasks wanting three answers, in one statement."""
    session.execute(
        text(
            "INSERT INTO tasks (project_id, text, is_gold, status, answers_count, "
            "reserved_count, wanted_answers, extra, created_at) "
            "SELECT :project, 'Review ' || i || ': the food was fine and the service quick.', "
            "false, 'open', 0, 0, 3, '{}', now() FROM generate_series(1, :count) AS i"
        ),
        {"project": project_id, "count": count},
    )


def add_workers(session: Session, start: int, count: int) -> None:
    """``count`` registered, qualified Kenyan workers numbered from ``start``, in one statement."""
    session.execute(
        text(
            "INSERT INTO workers (msisdn, country, language, status, registered_at, "
            "qualified_at, created_at, updated_at) "
            "SELECT '+2547' || lpad(i::text, 8, '0'), 'KE', 'en', 'active', now(), now(), "
            "now(), now() FROM generate_series(:first, :last) AS i"
        ),
        {"first": PHONE_BASE + start, "last": PHONE_BASE + start + count - 1},
    )


def _worker_ids(db: BenchDatabase) -> list[int]:
    with db.engine.connect() as connection:
        return list(connection.scalars(text("SELECT id FROM workers ORDER BY id")))


def _only_active(db: BenchDatabase, project_id: int) -> None:
    with db.sessions.begin() as session:
        session.execute(update(Project).values(status=ProjectStatus.PAUSED))
        session.execute(
            update(Project).where(Project.id == project_id).values(status=ProjectStatus.ACTIVE)
        )


@contextmanager
def captured(db: BenchDatabase) -> Iterator[list[tuple[str, Any, float]]]:
    """Every statement the engine sends while inside: its text, parameters and seconds."""
    seen: list[tuple[str, Any, float]] = []
    began: list[float] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        began.append(time.perf_counter())

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters, time.perf_counter() - began.pop()))

    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)


def explain_pick(db: BenchDatabase, worker_id: int) -> Plans:
    """One pick's statements, each EXPLAINed; sequential scans of the big tables named."""
    with captured(db) as seen:
        pick(db, worker_id)
    plans = Plans(statements=len(seen))
    if seen:
        statement, _, seconds = max(seen, key=lambda item: item[2])
        plans.slowest = f"{seconds * 1000:.1f} ms `{' '.join(statement.split())[:70]}…`"
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters, _ in seen:
            if not re.match(r"\s*(SELECT|UPDATE|DELETE|INSERT|WITH)\b", statement, re.I):
                continue  # SAVEPOINT, RELEASE: nothing to plan
            cursor.execute("EXPLAIN " + statement, parameters)
            plan = "\n".join(str(line[0]) for line in cursor.fetchall())
            for table in BIG_TABLES:
                if re.search(rf"Seq Scan on {table}\b", plan):
                    first = " ".join(statement.split())[:90]
                    found = f"{table} in `{first}…`"
                    if found not in plans.seq_scans:
                        plans.seq_scans.append(found)
        raw.rollback()
    finally:
        raw.close()
    return plans


def _fresh(db: BenchDatabase, used: set[int], count: int) -> list[int]:
    """``count`` workers drawn at random from the whole table, none of them picked before."""
    unused = [w for w in _worker_ids(db) if w not in used]
    chosen = random.Random(13).sample(unused, min(len(unused), count))
    used.update(chosen)
    return chosen


def _timed(db: BenchDatabase, label: str, chosen: list[int], sizes: ScaleSizes) -> Row:
    def one(i: int) -> None:
        if not pick(db, chosen[i]):
            raise RuntimeError(f"{label}: get_next_task found no task")

    samples = measure(one, n=len(chosen) - 1, max_seconds=sizes.max_seconds, warmup=1)
    return row_from(db.kind, label, samples, unit="picks/s")


def run(sizes: ScaleSizes, *, database: str | None = None, say: Any = print) -> Table:
    """The three datasets, their ratios and the plans, filled into the table."""
    table_ = table(sizes)
    small, large = f"{sizes.small:,}", f"{sizes.large:,}"
    with bench_database("postgresql", name=database or checkout_database("kazi_scale")) as db:
        with db.sessions.begin() as session:
            first = seed.project(session).id
            add_tasks(session, first, sizes.small)
            add_workers(session, 0, sizes.small)
        db.analyze()
        used: set[int] = set()
        chosen = _fresh(db, used, sizes.picks + 1)
        base = _timed(db, f"{small} open tasks, {small} workers", chosen, sizes)
        say(f"scale base: p50 {base.p50_ms:.1f} ms")

        with db.sessions.begin() as session:
            add_tasks(session, first, sizes.large - sizes.small)
        db.analyze()
        chosen = _fresh(db, used, sizes.picks + 2)
        many_tasks = _timed(db, f"{large} open tasks, {small} workers", chosen[1:], sizes)
        task_plans = explain_pick(db, chosen[0])
        say(f"scale tasks: p50 {many_tasks.p50_ms:.1f} ms")

        with db.sessions.begin() as session:
            second = seed.project(session).id
            add_tasks(session, second, sizes.small)
            add_workers(session, sizes.small, sizes.large - sizes.small)
        db.analyze()
        _only_active(db, second)
        chosen = _fresh(db, used, sizes.picks + 2)
        many_workers = _timed(db, f"{small} open tasks, {large} workers", chosen[1:], sizes)
        worker_plans = explain_pick(db, chosen[0])
        say(f"scale workers: p50 {many_workers.p50_ms:.1f} ms")
    table_.rows += [base, many_tasks, many_workers]
    table_.extra += [
        "| grown | p50 ratio to the base | p99 ratio | statements per pick | "
        "slowest statement | sequential scans of tasks/workers/assignments |",
        "|---|---:|---:|---:|---|---|",
    ]
    for name, row, plans in (
        (f"tasks ×{sizes.large // sizes.small}", many_tasks, task_plans),
        (f"workers ×{sizes.large // sizes.small}", many_workers, worker_plans),
    ):
        scans = "; ".join(plans.seq_scans) or "none"
        table_.extra.append(
            f"| {name} | {row.p50_ms / base.p50_ms:.2f} | {row.p99_ms / base.p99_ms:.2f} | "
            f"{plans.statements} | {plans.slowest} | {scans} |"
        )
    table_.extra.append("")
    return table_


def ratios(table_: Table) -> list[float]:
    """The p50 ratios (tasks grown, workers grown) from a filled table's rows."""
    base, many_tasks, many_workers = table_.rows
    return [many_tasks.p50_ms / base.p50_ms, many_workers.p50_ms / base.p50_ms]


def table(sizes: ScaleSizes) -> Table:
    """The empty table this benchmark fills."""
    return Table(
        "Scale: get_next_task at 10 k and 1 M (PostgreSQL)",
        f"tasks.assignment.get_next_task, one pick per transaction by a worker drawn at random "
        f"from all of them ({sizes.picks} picks per row). Seeded with INSERT ... SELECT "
        "generate_series, then ANALYZE. The 1 M-tasks row grows the base project; the "
        "1 M-workers row serves a second project of the base's size. Target: p50 ratio ≤ 1.2. "
        "Each grown dataset's pick is captured statement by statement and EXPLAINed.",
    )
