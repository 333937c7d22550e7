"""Whole-project results, computed in the background and kept as versioned snapshots.

``refresh_snapshot`` (run by the ``tasks.jobs.refresh_results`` job) aggregates all
of a project's counted answers with its method, gold tasks clamped to their known
answers, and writes a new version when anything changed. The results API only
reads the latest one (``latest_snapshot``), so a request never pays for EM over a
million answers, and every result carries the version it came from.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tasks.aggregation import AggregateResult, Label, TaskId, normalise_text
from tasks.answers import labels_for
from tasks.free_text import group_similar
from tasks.models import Project, ResultSnapshot, Task, TaskType
from tasks.progress import Row, aggregate, counted_answers
from tasks.projects import answer_spec

#: Versions kept per project: the latest answers every request; a few older ones
#: help an operator see how results moved.
KEEP_VERSIONS = 5


def latest_snapshot(session: Session, project_id: int) -> ResultSnapshot | None:
    """The project's most recent results snapshot, if one was computed."""
    return session.scalars(
        select(ResultSnapshot)
        .where(ResultSnapshot.project_id == project_id)
        .order_by(ResultSnapshot.version.desc())
        .limit(1)
    ).first()


def _gold_labels(session: Session, project: Project) -> dict[TaskId, Label]:
    """Known answers of the project's gold tasks, as labels of its label set."""
    if project.task_type in (TaskType.FREE_TEXT, TaskType.NUMBER):
        return {}
    by_fold = {normalise_text(label): label for label in labels_for(answer_spec(project))}
    stmt = select(Task.id, Task.gold_answer).where(
        Task.project_id == project.id, Task.is_gold.is_(True), Task.gold_answer.is_not(None)
    )
    found = {t: by_fold.get(normalise_text(a or "")) for t, a in session.execute(stmt)}
    return {t: label for t, label in found.items() if label is not None}


def agrees(task_type: TaskType, answer: str, label: str) -> bool:
    """Whether a worker's answer is the result's answer (numbers as numbers, texts as grouped)."""
    if task_type is TaskType.NUMBER:
        try:
            return math.isclose(float(answer), float(label))
        except ValueError:
            return False
    if task_type is TaskType.FREE_TEXT:
        mine = normalise_text(answer)
        return len(group_similar(Counter({label: 2, mine: 1}))) == 1
    return answer == label


def _entry(result: AggregateResult) -> list[Any]:
    return [str(result.label), round(result.confidence, 12), result.n_answers, result.tied]


def _worker_stats(
    task_type: TaskType, rows: list[Row], tasks: dict[str, list[Any]]
) -> dict[str, dict[str, int]]:
    stats: dict[str, dict[str, int]] = {}
    for task_id, worker_id, answer in rows:
        entry = tasks.get(str(task_id))
        if entry is None:
            continue
        s = stats.setdefault(str(worker_id), {"answers": 0, "agreed": 0})
        s["answers"] += 1
        s["agreed"] += agrees(task_type, answer, entry[0])
    return stats


def refresh_snapshot(session: Session, project: Project, now: datetime) -> ResultSnapshot | None:
    """Re-aggregate the whole project; write and return a new version if any result changed."""
    gold = _gold_labels(session, project)
    rows = counted_answers(session, None, project.id, gold=bool(gold))
    found = aggregate(session, project, rows, whole_project=True, gold=gold)
    previous = latest_snapshot(session, project.id)
    before: dict[str, list[Any]] = previous.results.get("tasks", {}) if previous else {}
    stamp = now.isoformat()
    tasks: dict[str, list[Any]] = {}
    for task_id, result in found.items():
        if task_id in gold:
            continue  # gold tasks are reported apart, from their known answers
        entry, old = _entry(result), before.get(str(task_id))
        # When the result last changed, for `since` downloads: kept while it stays the same.
        changed = old[4] if old is not None and old[:4] == entry else stamp
        tasks[str(task_id)] = [*entry, changed]
    real_rows = [r for r in rows if r[0] not in gold]
    if previous is not None and before == tasks and previous.answers_count == len(real_rows):
        return None
    snapshot = ResultSnapshot(
        project_id=project.id,
        version=(previous.version + 1) if previous else 1,
        aggregator=project.aggregator,
        answers_count=len(real_rows),
        results={
            "tasks": tasks,
            "workers": _worker_stats(project.task_type, real_rows, tasks),
        },
        created_at=now,
    )
    try:
        # No lock is held while the model runs (answers must not wait on it); two
        # refreshes racing to write the same version are told apart by the unique
        # (project, version) constraint, and the loser's work is the winner's anyway.
        with session.begin_nested():
            session.add(snapshot)
    except IntegrityError:
        return None
    session.execute(
        delete(ResultSnapshot).where(
            ResultSnapshot.project_id == project.id,
            ResultSnapshot.version <= snapshot.version - KEEP_VERSIONS,
        )
    )
    return snapshot
