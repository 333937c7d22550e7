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
from typing import Any, cast

from rq import Retry
from sqlalchemy import Select, bindparam, false, or_, select, true, update
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value

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
from tasks.reputation import GoldRecord

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
    # An answered assignment always has its answer: tasks.submission sets both at once.
    stmt = _counted_query(task_ids, project_id, gold=gold)
    return [(t, w, cast(str, a)) for t, w, a in session.execute(stmt)]


def _counted_query(
    task_ids: Sequence[int] | None, project_id: Any, *, gold: bool
) -> Select[int, int, str | None]:
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
    return stmt


#: One task's counted answers, each with its worker's gold record on the project's task
#: type. Built once (building the record columns costs more than running them).
_TASK_ANSWERS = (
    _counted_query(None, bindparam("project_id"), gold=False)
    .where(Assignment.task_id == bindparam("task_id"))
    .add_columns(*reputation.record_columns(Assignment.worker_id, bindparam("task_type")))
)


def _answers_and_records(
    session: Session, task_id: int, project: Project
) -> tuple[list[Row], dict[WorkerId, GoldRecord]]:
    """A task's counted answers with their workers' gold records (the weights of a vote):
    one round trip for what ``aggregate`` needs."""
    params = {"task_id": task_id, "project_id": project.id, "task_type": project.task_type}
    rows, records = [], {}
    for t, w, a, n, c in session.execute(_TASK_ANSWERS, params):
        rows.append((t, w, cast(str, a)))
        records[w] = GoldRecord(int(n), int(c))
    return rows, records


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
    records: Mapping[WorkerId, GoldRecord] | None = None,
) -> dict[int, AggregateResult]:
    """Aggregate answers with the project's method (Dawid-Skene and MACE only over a whole project).

    ``gold`` (task id to known answer) clamps those tasks' truth for the models
    that learn from it, and their results report the known answer. ``records``: the
    answerers' gold records, when the caller read them with the answers.
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
    if records is None:
        accuracies = worker_accuracies(session, project.id, (w for _, w, _ in rows))
    else:
        k = reputation.options_of(project)
        accuracies = {
            w: reputation.estimate(r.correct, r.answered, k)
            for w, r in records.items()
            if r.answered
        }
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
    schedule_refresh(session, project.id, now)
    if task.status == TaskStatus.OPEN and task.answers_count < project.answers_per_task:
        # Fewer answers than the project asks for cannot complete the task (``decide``
        # needs answers_per_task, and max_answers is at least that), nor widen it (the
        # task still wants answers it has): nothing to read or write. The task's
        # provisional result comes with the project's refresh (tasks.snapshots).
        return Decision.NEEDS_MORE
    rows, records = _answers_and_records(session, task_id, project)
    result = aggregate(session, project, rows, records=records).get(task_id)
    n = result.n_answers if result else 0
    decision = decide(
        result, n, project.answers_per_task, project.max_answers, project.target_confidence
    )
    found = {"result": str(result.label), "confidence": result.confidence} if result else {}
    if decision is Decision.COMPLETE and task.status != TaskStatus.COMPLETE:
        if not _complete(session, task, now, found):
            _finish_project(session, project, now)
        return decision
    for key, value in found.items():
        setattr(task, key, value)
    if decision is Decision.NEEDS_MORE and task.status == TaskStatus.OPEN:
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


def _complete(session: Session, task: Task, now: datetime, found: dict[str, Any]) -> bool:
    """Complete the task with its result; True while another real task of its project is
    open (asked by the same UPDATE, so finishing a task costs one round trip)."""
    values = {"status": TaskStatus.COMPLETE, "completed_at": now, **found}
    row = session.execute(
        _COMPLETE.values(**values),
        {"of_task": task.id, "of_project": task.project_id},
        execution_options=counters.NO_SYNC,
    ).scalar_one()
    for key, value in values.items():
        set_committed_value(task, key, value)
    return row is not None


_OTHER = aliased(Task)
#: The task's own row is still open in the statement's snapshot: the others are asked.
_COMPLETE = (
    update(Task)
    .where(Task.id == bindparam("of_task"))
    .returning(
        select(_OTHER.id)
        .where(
            _OTHER.project_id == bindparam("of_project"),
            _OTHER.status == TaskStatus.OPEN,
            _OTHER.is_gold == false(),
            _OTHER.id != bindparam("of_task"),
        )
        # In ix_tasks_project_id_status_is_gold_id's order, the one index that gives it:
        # as an EXISTS the planner may scan every task for the hit it expects early.
        .order_by(_OTHER.project_id, _OTHER.status, _OTHER.is_gold, _OTHER.id)
        .limit(1)
        .scalar_subquery()
    )
)


def _maybe_complete_project(session: Session, project: Project, now: datetime) -> None:
    open_left = session.scalar(
        select(Task.id)
        .where(
            Task.project_id == project.id, Task.status == TaskStatus.OPEN, Task.is_gold == false()
        )
        .order_by(Task.project_id, Task.status, Task.is_gold, Task.id)  # the index's order
        .limit(1)
    )
    if open_left is None:
        _finish_project(session, project, now)


def _finish_project(session: Session, project: Project, now: datetime) -> None:
    # The guarded update lets exactly one of several concurrent last answers send the webhook.
    done = session.execute(
        update(Project)
        .where(Project.id == project.id, Project.completed_at.is_(None))
        .values(completed_at=now),
        execution_options=counters.NO_SYNC,
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
