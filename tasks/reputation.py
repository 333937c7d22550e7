"""Worker reputation: one accuracy per worker and task type, from every gold answer they gave.

A worker's gold record is pooled across projects of the same task type, so
probation never restarts when a new project opens, and a spammer caught on one
project starts the next one already known. The estimate is the mean of a Beta
posterior whose prior sits just above chance (1/k for k options): a newcomer's
vote is worth little more than a coin's until gold says otherwise, so two
agreeing newcomers cannot make a task look certain. This is the additive
smoothing of the Beta-binomial model; see e.g. Ipeirotis, Provost and Wang,
"Quality management on Amazon Mechanical Turk" (2010),
https://dl.acm.org/doi/10.1145/1837885.1837906, for gold-based worker estimates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ScalarSelect, bindparam, func, select
from sqlalchemy.orm import Session, aliased

from tasks.answers import TaskType
from tasks.crowd import newcomer_accuracy
from tasks.models import Project, WorkerProjectStats
from tasks.quality import smoothed_accuracy

#: How many gold answers the prior is worth: small, so evidence wins within a few answers.
PRIOR_STRENGTH = 4.0


@dataclass(frozen=True)
class GoldRecord:
    """A worker's pooled gold answers on one task type."""

    answered: int
    correct: int


@dataclass(frozen=True)
class Reputation:
    """What the console and the earnings screen show: a task type's record and accuracy."""

    task_type: TaskType
    n_options: int
    answered: int
    correct: int
    accuracy: float


def chance(num_options: int) -> float:
    """The accuracy of a guesser choosing uniformly among ``num_options`` answers."""
    if num_options < 2:
        raise ValueError(f"num_options must be at least 2, got {num_options}")
    return 1.0 / num_options


def prior_mean(num_options: int) -> float:
    """The accuracy assumed before any gold answer: the aggregators' newcomer accuracy.

    One number for both, so a first gold answer moves a worker from the weight a
    newcomer's vote already had (a quarter of the way from chance to certainty; the
    arithmetic is in ``tasks.crowd.newcomer_accuracy``).
    """
    return newcomer_accuracy(num_options)


def estimate(correct: int, answered: int, num_options: int) -> float:
    """Smoothed accuracy from a gold record, with the prior centred near chance."""
    return smoothed_accuracy(
        correct, answered, prior_mean=prior_mean(num_options), prior_strength=PRIOR_STRENGTH
    )


def gold_records(
    session: Session, worker_ids: Iterable[int], task_type: TaskType
) -> dict[int, GoldRecord]:
    """Each worker's gold answers summed over every project of this task type."""
    ids = sorted(set(worker_ids))
    if not ids:
        return {}
    stmt = (
        select(
            WorkerProjectStats.worker_id,
            func.sum(WorkerProjectStats.gold_answered),
            func.sum(WorkerProjectStats.gold_correct),
        )
        .join(Project, Project.id == WorkerProjectStats.project_id)
        .where(WorkerProjectStats.worker_id.in_(ids), Project.task_type == task_type)
        .group_by(WorkerProjectStats.worker_id)
    )
    found = {int(w): GoldRecord(int(a or 0), int(c or 0)) for w, a, c in session.execute(stmt)}
    return {w: found.get(w, GoldRecord(0, 0)) for w in ids}


def _pooled_sum(
    column_of: Callable[[Any], Any], worker: Any = None, task_type: Any = None
) -> ScalarSelect[int]:
    stats, project = aliased(WorkerProjectStats), aliased(Project)
    worker = bindparam(GOLD_WORKER) if worker is None else worker
    task_type = Project.task_type if task_type is None else task_type
    return (
        select(func.coalesce(func.sum(column_of(stats)), 0))
        .select_from(stats)
        .join(project, project.id == stats.project_id)
        .where(stats.worker_id == worker, project.task_type == task_type)
        .scalar_subquery()
    )


def record_columns(worker: Any, task_type: Any) -> tuple[ScalarSelect[int], ScalarSelect[int]]:
    """``gold_records`` as two columns (answered, correct) of a query whose rows name a
    worker (``worker``: e.g. an answer's worker id column), on one task type (a value or
    a bind parameter). Build them once: building costs more than running them."""
    return (
        _pooled_sum(lambda stats: stats.gold_answered, worker, task_type),
        _pooled_sum(lambda stats: stats.gold_correct, worker, task_type),
    )


#: ``gold_records`` of one worker as two columns (answered, correct) of a query over
#: projects: each project row comes with the worker's record on its task type. Built
#: once (building them costs more than running them); the worker is bound at execute
#: time: ``session.execute(stmt, {GOLD_WORKER: worker_id})``.
GOLD_WORKER = "gold_record_worker_id"
GOLD_ANSWERED = _pooled_sum(lambda stats: stats.gold_answered)
GOLD_CORRECT = _pooled_sum(lambda stats: stats.gold_correct)


def accuracies(
    session: Session, worker_ids: Iterable[int], task_type: TaskType, num_options: int
) -> dict[int, float]:
    """Smoothed accuracy of each worker on this task type, from all their gold answers."""
    records = gold_records(session, worker_ids, task_type)
    return {w: estimate(r.correct, r.answered, num_options) for w, r in records.items()}


def categories(project: Project) -> int | None:
    """How many answers a guesser chooses from (None for free text and numbers)."""
    if project.task_type is TaskType.SINGLE_CHOICE:
        return max(2, len(project.options))
    if project.task_type is TaskType.YES_NO:
        return 2
    return None


def options_of(project: Project) -> int:
    """The k of a project's prior: its categories; free text and numbers count as 2."""
    # Free text and numbers have no finite set of answers: the most lenient prior.
    return categories(project) or 2


def summary(session: Session, worker_id: int) -> list[Reputation]:
    """The worker's reputation on every task type they answered gold of, most answered first."""
    stmt = (
        select(Project.task_type, Project.options, WorkerProjectStats)
        .join(Project, Project.id == WorkerProjectStats.project_id)
        .where(WorkerProjectStats.worker_id == worker_id)
    )
    totals: dict[TaskType, list[int]] = {}
    for task_type, options, stats in session.execute(stmt):
        # k of the project the worker answered most gold on, for pooled single choice.
        k = max(2, len(options)) if task_type is TaskType.SINGLE_CHOICE else 2
        row = totals.setdefault(task_type, [0, 0, k, 0])
        row[0] += stats.gold_answered
        row[1] += stats.gold_correct
        if stats.gold_answered > row[3]:
            row[2], row[3] = k, stats.gold_answered
    out = [
        Reputation(t, k, answered, correct, estimate(correct, answered, k))
        for t, (answered, correct, k, _) in totals.items()
        if answered
    ]
    return sorted(out, key=lambda r: (-r.answered, r.task_type.value))


def headline(session: Session, worker_id: int) -> float | None:
    """The one accuracy a worker sees: their reputation on the task type they do most."""
    found = summary(session, worker_id)
    return found[0].accuracy if found else None
