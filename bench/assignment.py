"""Task assignment: ``get_next_task`` at growing numbers of tasks and answers, and in parallel."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from bench import seed
from bench.harness import BenchDatabase, Row, Table, measure, measure_threads, row_from
from core.db import utcnow
from tasks.assignment import get_next_task
from tasks.models import Assignment, AssignmentStatus, Project, ProjectStatus, TaskStatus
from workers.models import Worker

#: Workers who gave the seeded answers; big enough that every task gets distinct ones.
ANSWERING_WORKERS = 1_000


@dataclass(frozen=True)
class Dataset:
    """One project's shape: open tasks and answers already given (on open and complete tasks)."""

    open_tasks: int
    answers: int

    @property
    def label(self) -> str:
        return f"{self.open_tasks:,} open tasks, {self.answers:,} answers"


def seed_dataset(session: Session, data: Dataset, answering: list[int]) -> int:
    """Seed one project of this shape, left paused until ``activate``; returns its id."""
    project = seed.project(session)
    project.status = ProjectStatus.PAUSED
    # Two answers on as many open tasks as that covers (each still wants one more),
    # the rest on complete tasks of three answers; complete tasks come first, with
    # the lowest ids, the worst case for a picker that scans.
    on_open = min(data.answers // 2, data.open_tasks)
    complete = math.ceil(max(0, data.answers - 2 * on_open) / 3)
    done = seed.tasks(session, project.id, complete, status=TaskStatus.COMPLETE, answers=3)
    seed.answers(session, done, 3, answering)
    opened = seed.tasks(session, project.id, on_open, status=TaskStatus.OPEN, answers=2)
    seed.answers(session, opened, 2, answering)
    seed.tasks(session, project.id, data.open_tasks - on_open, status=TaskStatus.OPEN)
    return project.id


def activate(db: BenchDatabase, project_id: int) -> None:
    """Make this project the only active one, so every pick is served from it."""
    with db.sessions.begin() as session:
        session.execute(update(Project).values(status=ProjectStatus.PAUSED))
        session.execute(
            update(Project).where(Project.id == project_id).values(status=ProjectStatus.ACTIVE)
        )


def pick(db: BenchDatabase, worker_id: int) -> bool:
    """One pick in its own transaction, as a USSD hop does it; True when a task was reserved."""
    with db.sessions.begin() as session:
        worker = session.get_one(Worker, worker_id)
        view = get_next_task(session, worker, utcnow())
        return view is not None and not view.resumed


def run(db: BenchDatabase, *, datasets: list[Dataset], picks: int, max_seconds: float) -> list[Row]:
    """Time picks by fresh workers (no reservation to resume) on each dataset."""
    # Everything is seeded before statistics are refreshed: inserting into tables the
    # planner believes tiny makes PostgreSQL check foreign keys by scanning.
    plan: list[tuple[Dataset, int, list[int]]] = []
    with db.sessions.begin() as session:
        answering = seed.workers(session, ANSWERING_WORKERS, start=900_000)
        for number, data in enumerate(datasets):
            project_id = seed_dataset(session, data, answering)
            fresh = seed.workers(session, picks + 1, start=1_000_000 + number * (picks + 1))
            plan.append((data, project_id, fresh))
    db.analyze()
    rows: list[Row] = []
    for data, project_id, fresh in plan:
        activate(db, project_id)

        def one(i: int, fresh: list[int] = fresh) -> None:
            if not pick(db, fresh[i]):
                raise RuntimeError("get_next_task found no task in a project with open tasks")

        samples = measure(one, n=picks, max_seconds=max_seconds, warmup=1)
        rows.append(row_from(db.kind, data.label, samples, unit="picks/s"))
    return rows


def run_concurrent(
    db: BenchDatabase, *, label: str, threads: int, per_thread: int, max_seconds: float
) -> Row:
    """Picks from ``threads`` threads at once on the active project, each worker fresh."""
    with db.sessions.begin() as session:
        fresh = seed.workers(session, threads * per_thread, start=3_000_000)
        reserved_before = seed.count(
            session, Assignment, Assignment.status == AssignmentStatus.RESERVED
        )
    db.analyze()

    def one(i: int) -> None:
        if not pick(db, fresh[i]):
            raise RuntimeError("a concurrent pick found no task")

    flat, wall = measure_threads(
        one, threads=threads, per_thread=per_thread, start=0, max_seconds=max_seconds
    )
    with db.sessions() as session:
        reserved = seed.count(session, Assignment, Assignment.status == AssignmentStatus.RESERVED)
    if reserved - reserved_before != len(flat):
        raise RuntimeError(f"{len(flat)} picks but {reserved - reserved_before} reservations")
    label = f"{label}, {threads} threads"
    return row_from(db.kind, label, flat, unit="assignments/s", wall_seconds=wall)


def table() -> Table:
    """The empty table this benchmark fills."""
    return Table(
        "Task assignment (get_next_task)",
        "tasks.assignment.get_next_task in its own transaction per pick, each by a worker "
        "holding no reservation (so every pick claims a task). Open tasks hold 0 or 2 of their "
        "3 answers; the other answers sit on complete tasks with lower ids. The expiry job each "
        "pick queues is counted, not run. The parallel row: threads of one Python process "
        "(sharing its GIL) picking at once on one project, throughput = picks / wall time; "
        "every pick must get a task.",
    )
