"""The claim of a task as one statement on PostgreSQL (``tasks.assignment`` falls back on
a step-by-step claim for busy candidates, and always on SQLite).

One data-modifying CTE picks a free task with ``FOR UPDATE SKIP LOCKED``, promises one
reward of the budget, takes the task's slot and inserts the reservation: one round trip
per pick on the USSD hot path (issue 13).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import TextClause, text
from sqlalchemy.orm import Session

from tasks.models import AssignmentStatus, Project, ProjectStatus, TaskStatus
from tasks.task_views import TaskView, content_language, view_of

#: Candidate tasks read per index step, and steps at most: a pick reads at most
#: BATCH * MAX_BATCHES task ids however many tasks and answers the project has.
BATCH = 50
MAX_BATCHES = 10


def _open_tasks_sql(gold: bool) -> str:
    """Tasks of the project a worker may be given: open, of the kind asked, with room,
    in a language they do (``ORDER BY _WALK`` makes the planner walk the index
    ix_tasks_project_id_status_is_gold_id, in id order).

    The kind and the status are written in, not bound: psycopg prepares a statement
    run often and PostgreSQL then plans it once for any parameters (a generic plan),
    which for a bound ``is_gold`` could not know that gold tasks are few, and scanned
    every task of the project to find none (28 ms, against 0.5 for the real-task pick).
    https://www.postgresql.org/docs/current/sql-prepare.html#SQL-PREPARE-NOTES
    """
    # Gold tasks always have room (every worker in probation may answer them).
    room = "" if gold else "AND t.answers_count + t.reserved_count < t.wanted_answers"
    return f"""
    FROM tasks AS t
    WHERE t.project_id = :project_id AND t.status = '{TaskStatus.OPEN.value}'
      AND t.is_gold = {"true" if gold else "false"} {room}
      AND (t.language IS NULL OR t.language = ANY(:languages))"""


_WALK = "ORDER BY t.project_id, t.status, t.is_gold, t.id"


def _unseen_sql(task_id: str) -> str:
    """A task (by the id column named) this worker never had: a lookup on the
    (task_id, worker_id) unique index."""
    return (
        "NOT EXISTS (SELECT 1 FROM assignments AS a "
        f"WHERE a.task_id = {task_id} AND a.worker_id = :worker_id)"
    )


def _claim_sql(gold: bool) -> TextClause:
    """The whole claim as one statement on PostgreSQL: pick the first free task this
    worker never had (SKIP LOCKED spreads concurrent workers over different tasks; the
    row lock re-checks its room), promise one reward of the budget, take the task's slot
    and insert the reservation. Each step runs only if the one before it matched, in the
    module's lock order (task, then project), so a refused budget takes no slot. When
    nothing was claimed, one row says whether any candidate exists at all (locked by
    others, or refused by the budget) so the caller knows if trying harder can help.
    https://www.postgresql.org/docs/current/queries-with.html#QUERIES-WITH-MODIFYING
    """
    return text(
        f"""
WITH picked AS (
    SELECT t.id {_open_tasks_sql(gold)} AND {_unseen_sql("t.id")}
    {_WALK}
    LIMIT 1
    FOR UPDATE SKIP LOCKED
),
budget AS (
    UPDATE projects SET reserved_count = reserved_count + 1, updated_at = :now
    WHERE id = :project_id AND status = '{ProjectStatus.ACTIVE.value}'
      AND paid_minor + (reserved_count + 1) * reward_minor <= budget_minor
      AND EXISTS (SELECT 1 FROM picked)
    RETURNING id
),
slot AS (
    UPDATE tasks SET reserved_count = tasks.reserved_count + 1
    FROM picked, budget WHERE tasks.id = picked.id
    RETURNING tasks.id, tasks.text, tasks.language
),
made AS (
    INSERT INTO assignments (task_id, worker_id, status, reserved_at, expires_at, flagged, paid)
    SELECT slot.id, :worker_id, '{AssignmentStatus.RESERVED.value}', :now, :expires_at,
           false, false
    FROM slot
    RETURNING id, task_id
)
SELECT made.id, made.task_id, slot.text, slot.language, true
FROM made JOIN slot ON slot.id = made.task_id
UNION ALL
SELECT NULL, NULL, NULL, NULL, EXISTS (
    -- Among the first candidates only (the step-by-step claim's bound), walked in index
    -- order: an EXISTS alone may be planned as a scan of every task, for an early hit
    -- that a worker with nothing left never gets.
    SELECT 1 FROM (SELECT t.id {_open_tasks_sql(gold)} {_WALK} LIMIT {BATCH * MAX_BATCHES}) AS w
    WHERE {_unseen_sql("w.id")}
)
WHERE NOT EXISTS (SELECT 1 FROM made)
"""
    )


#: One statement per kind of task (gold or real), each prepared and planned on its own.
CLAIM_SQL = {gold: _claim_sql(gold) for gold in (True, False)}

#: What ``claim_in_one`` found: a reservation, nothing to claim at all, or candidates
#: it could not take in one go (locked by concurrent claims, or the budget refused).
NOTHING = "nothing"
TRY_HARDER = "try harder"


def claim_in_one(
    session: Session,
    project: Project,
    worker_id: int,
    *,
    gold: bool,
    now: datetime,
    languages: Sequence[str],
) -> TaskView | str:
    """Reserve a free task of this kind in one round trip (PostgreSQL).

    Else ``NOTHING`` when no task of this kind is left for the worker, or
    ``TRY_HARDER`` when candidates exist but are locked by concurrent claims or the
    budget refused: the step-by-step claim (``tasks.assignment``, SQLite's only path) decides.
    """
    if session.get_bind().dialect.name != "postgresql":
        return TRY_HARDER
    expires_at = now + timedelta(minutes=project.reservation_minutes)
    row = session.execute(
        CLAIM_SQL[gold],
        {
            "project_id": project.id,
            "worker_id": worker_id,
            "now": now,
            "expires_at": expires_at,
            "languages": list(languages),
        },
    ).one()
    assignment_id, task_id, task_text, task_language, candidates = row
    if assignment_id is None:
        return TRY_HARDER if candidates else NOTHING
    language = content_language(project.translations or {}, task_language, languages)
    return view_of(project, assignment_id, task_id, task_text, expires_at, False, language)
