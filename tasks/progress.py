"""Incremental aggregation: after each counted answer a task is complete or wants more.

A task is aggregated from its counted answers only (answered, and not held or
rejected in review), so this stays O(answers of one task) however big the project.
Dawid-Skene and MACE learn from a whole project, so for the per-answer decision
such a project uses the accuracy-weighted vote; the whole project is re-aggregated
by the ``tasks.jobs.refresh_results`` job, queued (at most once per
``REFRESH_RESULTS_SECONDS``) after answers, into a versioned snapshot the results
API reads (``tasks.snapshots``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import cast

from rq import Retry
from sqlalchemy import false, or_, select, true, update
from sqlalchemy.orm import Session

from core.db import matched_rows
from core.jobs import enqueue
from tasks import counters, reputation
from tasks.aggregation import (
    WHOLE_PROJECT,
    AggregateResult,
    Decision,
    Label,
    TaskId,
    WorkerId,
    choose_aggregator,
    decide,
    numeric_median,
    text_majority,
)
from tasks.answers import labels_for
from tasks.models import (
    Assignment,
    AssignmentStatus,
    Project,
    ReviewStatus,
    Task,
    TaskStatus,
    TaskType,
)
from tasks.projects import answer_spec

Row = tuple[int, int, str]

#: Whole-project re-aggregation runs at most once per this many seconds per project:
#: answers within one window share one job, run at the window's end.
REFRESH_RESULTS_SECONDS = 30

#: Completion webhooks retry with backoff: 30 s, 2 min, 10 min, 30 min, 2 h.
WEBHOOK_RETRY = Retry(max=5, interval=[30, 120, 600, 1800, 7200])


def counted_answers(
    session: Session, task_ids: Sequence[int] | None, project_id: int, *, gold: bool = False
) -> list[Row]:
    """The (task, worker, value) answers that count, of some tasks or of a whole project.

    With ``gold`` the answers to the project's gold tasks come too (to anchor a
    whole-project model); otherwise only answers to real tasks.
    """
    stmt = (
        select(Assignment.task_id, Assignment.worker_id, Assignment.answer)
        .join(Task, Task.id == Assignment.task_id)
        .where(
            Task.project_id == project_id,
            true() if gold else Task.is_gold == false(),
            Assignment.status == AssignmentStatus.ANSWERED,
            or_(
                Assignment.review_status.is_(None),
                Assignment.review_status == ReviewStatus.ACCEPTED,
            ),
        )
    )
    if task_ids is not None:
        stmt = stmt.where(Assignment.task_id.in_(task_ids))
    # An answered assignment always has its answer: tasks.submission sets both at once.
    return [(t, w, cast(str, a)) for t, w, a in session.execute(stmt)]


def worker_accuracies(
    session: Session, project_id: int, worker_ids: Iterable[int]
) -> dict[WorkerId, float]:
    """Reputation of those of these workers who have a gold record on the project's task type.

    The one lookup every aggregator's weights come from (and the results API's
    reputation), pooled over all projects of the task type (``tasks.reputation``), so
    probation does not restart per project. A worker with no gold answered is left
    out: aggregators then give them the newcomer accuracy
    (``tasks.crowd.newcomer_accuracy``), which is also the reputation's prior, so a
    first gold answer moves a worker from the newcomer's weight.
    """
    project = session.get_one(Project, project_id)
    records = reputation.gold_records(session, worker_ids, project.task_type)
    k = reputation.options_of(project)
    return {
        w: reputation.estimate(r.correct, r.answered, k) for w, r in records.items() if r.answered
    }


def aggregate(
    session: Session,
    project: Project,
    rows: list[Row],
    *,
    whole_project: bool = False,
    gold: Mapping[TaskId, Label] | None = None,
) -> dict[int, AggregateResult]:
    """Aggregate answers with the project's method (Dawid-Skene and MACE only over a whole project).

    ``gold`` (task id to known answer) clamps those tasks' truth for the models
    that learn from it, and their results report the known answer.
    """
    if not rows:
        return {}
    if project.task_type is TaskType.FREE_TEXT:
        return {int(k): v for k, v in text_majority(rows).items()}
    if project.task_type is TaskType.NUMBER:
        return {int(k): v for k, v in numeric_median((t, w, float(a)) for t, w, a in rows).items()}
    name = project.aggregator
    if name in WHOLE_PROJECT and not whole_project:
        name = "weighted"
    method = choose_aggregator(name)
    accuracies = worker_accuracies(session, project.id, (w for _, w, _ in rows))
    labels = labels_for(answer_spec(project))
    found = method(rows, labels, accuracies=accuracies, gold=gold)
    return {int(k): v for k, v in found.items()}


def schedule_refresh(session: Session, project_id: int, now: datetime) -> None:
    """Queue the project's whole re-aggregation for the end of the current refresh window."""
    # One job id per project and window: rq and the embedded queue then hold one job
    # for all the answers of a window, however many arrive.
    window = int(now.timestamp()) // REFRESH_RESULTS_SECONDS
    due = (window + 1) * REFRESH_RESULTS_SECONDS - now.timestamp()
    enqueue(
        session,
        "tasks.jobs.refresh_results",
        project_id,
        job_id=f"refresh-results-{project_id}-{window}",
        delay=timedelta(seconds=due),
    )


def aggregate_task(
    session: Session, task_id: int, now: datetime, *, locked: Task | None = None
) -> Decision:
    """Re-aggregate one task after an answer counted, and complete it or ask for more.

    ``locked``: the task as its guarded update under the row lock just left it (the
    answer path has it); otherwise it is read again here.
    """
    task = locked if locked is not None else session.get_one(Task, task_id)
    if locked is None:
        session.refresh(task)
    project = session.get_one(Project, task.project_id)
    result = aggregate(session, project, counted_answers(session, [task_id], project.id)).get(
        task_id
    )
    n = result.n_answers if result else 0
    decision = decide(
        result, n, project.answers_per_task, project.max_answers, project.target_confidence
    )
    if result is not None:
        task.result = str(result.label)
        task.confidence = result.confidence
    schedule_refresh(session, project.id, now)
    if decision is Decision.COMPLETE and task.status != TaskStatus.COMPLETE:
        task.status = TaskStatus.COMPLETE
        task.completed_at = now
        session.flush()
        _maybe_complete_project(session, project, now)
    elif decision is Decision.NEEDS_MORE and task.status == TaskStatus.OPEN:
        # A late answer to a finished task (a reservation that was still out) is paid
        # and counted in its result, but never reopens it.
        session.flush()
        # Only once every wanted answer is in (the guard's own test, known already).
        if task.answers_count >= task.wanted_answers:
            counters.want_one_more(session, task_id, project.max_answers)
    else:
        session.flush()
    return decision


def complete_if_finished(session: Session, project: Project, now: datetime) -> None:
    """Mark the project complete (and send its webhook) once no real task is open.

    Called after an answer completes a task, and after a requester cancels one: a
    project whose last open task was cancelled is finished too.
    """
    _maybe_complete_project(session, project, now)


def _maybe_complete_project(session: Session, project: Project, now: datetime) -> None:
    open_left = session.scalar(
        select(Task.id)
        .where(
            Task.project_id == project.id, Task.status == TaskStatus.OPEN, Task.is_gold == false()
        )
        .limit(1)
    )
    if open_left is not None:
        return
    # The guarded update lets exactly one of several concurrent last answers send the webhook.
    done = session.execute(
        update(Project)
        .where(Project.id == project.id, Project.completed_at.is_(None))
        .values(completed_at=now),
        execution_options={"synchronize_session": False},
    )
    session.expire(project, ["completed_at"])
    if matched_rows(done) == 1 and webhook_url_of(session, project):
        enqueue(
            session,
            "tasks.jobs.send_completion_webhook",
            project.id,
            job_id=f"webhook-project-{project.id}-{int(now.timestamp())}",
            retry=WEBHOOK_RETRY,
        )


def webhook_url_of(session: Session, project: Project) -> str | None:
    """Where a project's completion webhook goes: its own URL, else its requester's."""
    if project.webhook_url:
        return project.webhook_url
    from tasks.models import Requester

    return session.get_one(Requester, project.requester_id).webhook_url
