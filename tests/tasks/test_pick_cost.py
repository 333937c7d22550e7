"""The cost of picking a task does not grow with tasks or answers: every step is an index walk."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from core.db import utcnow
from tasks.assignment import candidate_query
from tasks.claim import CLAIM_SQL
from tasks.models import Assignment, AssignmentStatus, Task, TaskStatus
from tasks.progress import _COMPLETE
from tests.tasks import factories

PG_ONLY = [pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("db_kind", PG_ONLY)
def test_candidate_query_walks_indexes_on_a_big_project(session: Session) -> None:
    project = factories.project(session, texts=[])
    workers = [factories.worker(session) for _ in range(5)]
    base = dict(project_id=project.id, answers_count=0, reserved_count=0, wanted_answers=3)
    rows: list[dict[str, Any]] = [
        {
            **base,
            "text": f"t{i}",
            "is_gold": i % 10 == 0,
            "extra": {},
            "created_at": utcnow(),
            "status": TaskStatus.COMPLETE if i < 4_500 else TaskStatus.OPEN,
        }
        for i in range(6_000)
    ]
    ids = session.scalars(insert(Task).returning(Task.id), rows).all()
    now = utcnow()
    answers = [
        {
            "task_id": t,
            "worker_id": w.id,
            "status": AssignmentStatus.ANSWERED,
            "reserved_at": now,
            "expires_at": now + timedelta(minutes=5),
            "flagged": False,
            "paid": True,
        }
        for t in ids[:4_500:2]
        for w in workers
    ]
    session.execute(insert(Assignment), answers)
    session.execute(text("ANALYZE tasks"))
    session.execute(text("ANALYZE assignments"))
    seen = select(Assignment.task_id).where(
        Assignment.task_id.in_(ids[:50]), Assignment.worker_id == workers[0].id
    )
    for gold in (False, True):
        for stmt in (candidate_query(project.id, gold=gold).limit(50), seen):
            plan = _explain(session, stmt)
            assert "Seq Scan" not in plan and "Sort" not in plan, plan
            assert "Index" in plan, plan
    plan = _explain(session, candidate_query(project.id, gold=False).limit(50))
    assert "ix_tasks_project_id_status_is_gold_id" in plan, plan


def _explain(session: Session, stmt: Any) -> str:
    sql = stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    return "\n".join(session.scalars(text(f"EXPLAIN {sql}")))


@pytest.mark.parametrize("db_kind", PG_ONLY)
def test_the_one_statement_claim_walks_indexes_under_a_generic_plan(session: Session) -> None:
    # psycopg prepares a statement it runs often, and PostgreSQL may then plan it once for
    # any parameters. Planned that way, each kind's claim must still walk the index, also
    # for gold on a project that has none (a bound is_gold made that a scan of every task).
    project = factories.project(session, texts=[])
    worker = factories.worker(session)
    base = dict(project_id=project.id, answers_count=0, reserved_count=0, wanted_answers=3)
    rows = [
        {**base, "text": f"t{i}", "is_gold": False, "extra": {}, "created_at": utcnow()}
        for i in range(6_000)
    ]
    session.execute(insert(Task), rows)
    session.execute(text("ANALYZE tasks"))
    session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
    names = {
        "project_id": "$1",
        "worker_id": "$2",
        "now": "$3",
        "expires_at": "$4",
        "languages": "$5",
    }
    for gold, claim in CLAIM_SQL.items():
        sql = claim.text
        for name, number in names.items():
            sql = sql.replace(f":{name}", number)
        prepared = f"claim_{'gold' if gold else 'real'}"
        session.execute(
            text(f"PREPARE {prepared} (bigint, bigint, timestamptz, timestamptz, text[]) AS {sql}")
        )
        plan = "\n".join(
            session.scalars(
                text(
                    f"EXPLAIN EXECUTE {prepared} ({project.id}, {worker.id}, now(), now(), '{{en}}')"
                )
            )
        )
        session.execute(text(f"DEALLOCATE {prepared}"))
        assert "Seq Scan on tasks" not in plan, plan
        assert "ix_tasks_project_id_status_is_gold_id" in plan, plan


@pytest.mark.parametrize("db_kind", PG_ONLY)
def test_completing_a_task_asks_for_an_open_one_by_the_index(session: Session) -> None:
    # A project's first tasks are long complete when its later ones are answered: asking
    # "is another task open?" must not read through them, though half the tasks are open
    # and a scan looks likely to hit one early.
    project = factories.project(session, texts=[])
    base = dict(project_id=project.id, answers_count=3, reserved_count=0, wanted_answers=3)
    rows: list[dict[str, Any]] = [
        {
            **base,
            "text": f"t{i}",
            "is_gold": False,
            "extra": {},
            "created_at": utcnow(),
            "status": TaskStatus.COMPLETE if i < 6_000 else TaskStatus.OPEN,
        }
        for i in range(12_000)
    ]
    ids = session.scalars(insert(Task).returning(Task.id), rows).all()
    session.execute(text("ANALYZE tasks"))
    stmt = _COMPLETE.values(status=TaskStatus.COMPLETE.value, completed_at=utcnow())
    compiled = stmt.compile(dialect=session.get_bind().dialect)
    params = {**compiled.params, "of_task": ids[-1], "of_project": project.id}
    explained = session.connection().exec_driver_sql(f"EXPLAIN {compiled}", params)
    plan = "\n".join(row[0] for row in explained)
    assert "Seq Scan on tasks" not in plan, plan
    assert "ix_tasks_project_id_status_is_gold_id" in plan, plan
