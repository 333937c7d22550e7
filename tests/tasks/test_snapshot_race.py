"""Two refreshes of one project at once on PostgreSQL: exactly one writes each version."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from core.db import build_engine, build_sessionmaker, utcnow
from tasks.assignment import get_next_task
from tasks.models import Project, ResultSnapshot
from tasks.snapshots import refresh_snapshot
from tasks.submission import submit_answer
from tests.tasks import factories

PG_ONLY = [pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("db_kind", PG_ONLY)
def test_racing_refreshes_write_one_version(committed_url: str) -> None:
    engine = build_engine(committed_url)
    sessions = build_sessionmaker(engine)
    with sessions.begin() as s:
        project = factories.project(s, texts=["t1"], answers_per_task=1, max_answers=1)
        worker = factories.worker(s)
        view = get_next_task(s, worker, utcnow())
        assert view is not None
        submit_answer(s, worker, view.task_id, "1", utcnow() + timedelta(seconds=9))
        project_id = project.id
    first = sessions()
    first.begin()
    assert refresh_snapshot(first, first.get_one(Project, project_id), utcnow()) is not None
    # `first` holds version 1 uncommitted. The second refresh, in a thread, sees no
    # snapshot yet, computes version 1 too and waits on the unique index for `first`.
    outcome: list[object] = []

    def second() -> None:
        with sessions.begin() as s:
            outcome.append(refresh_snapshot(s, s.get_one(Project, project_id), utcnow()))

    thread = threading.Thread(target=second)
    thread.start()
    with engine.connect() as probe:  # wait until it is blocked on `first`, not on a clock
        blocked = text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database()"
        )
        for _ in range(10_000):
            if probe.execute(blocked).scalar_one():
                break
            thread.join(timeout=0.01)
            if not thread.is_alive():
                break
    first.commit()
    first.close()
    thread.join(timeout=30)
    assert outcome == [None]  # it lost the race and wrote nothing
    with sessions() as s:
        versions = s.scalars(
            select(func.count()).where(
                ResultSnapshot.project_id == project_id, ResultSnapshot.version == 1
            )
        ).one()
    assert versions == 1
    engine.dispose()
