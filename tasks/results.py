"""Results of a project for its requester: per task the answer, its confidence and the answers.

A task's result comes from the project's latest results snapshot (``tasks.snapshots``,
computed in the background over the whole project) and, before the first snapshot,
from the task's own incremental aggregation. Nothing here runs a whole-project
model: a results request costs one page of rows.

Workers appear by a pseudonym per project (an HMAC of the project and worker ids
under the server's secret), never by phone number or internal id, so a requester
cannot follow a worker from one project to another.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import Session

from tasks.models import (
    Assignment,
    AssignmentStatus,
    Project,
    ResultSnapshot,
    Task,
    WorkerProjectStats,
)
from tasks.progress import worker_accuracies
from tasks.snapshots import agrees, latest_snapshot

CSV_COLUMNS = ("task_id", "external_id", "status", "answer", "confidence", "n_answers")
#: Rows per page when the request names no limit, and the most it may ask for.
DEFAULT_PAGE = 100
MAX_PAGE = 1000


@dataclass(frozen=True)
class Page:
    """One page of rows, the snapshot version they come from, and the last key on the page."""

    rows: list[dict[str, Any]]
    version: int | None
    computed_at: str | None
    last_key: int | None  # the cursor for the next page, None on the last one


@dataclass(frozen=True)
class Query:
    """What a results download asks for: a page after a key, and only rows changed since."""

    after: int = 0
    limit: int | None = None  # None: every row (the CSV download)
    since: datetime | None = None
    include_answers: bool = False


def pseudonym(key: bytes, project_id: int, worker_id: int) -> str:
    """A worker's stable, opaque id within one project."""
    digest = hmac.new(key, f"{project_id}:{worker_id}".encode(), hashlib.sha256).hexdigest()
    return "w_" + digest[:16]


def _page(rows: list[Any], limit: int | None) -> tuple[list[Any], bool]:
    if limit is None or len(rows) <= limit:
        return rows, False
    return rows[:limit], True


def _snapshot_tasks(snapshot: ResultSnapshot | None) -> dict[str, list[Any]]:
    return snapshot.results.get("tasks", {}) if snapshot else {}


def _changed_since(snap: dict[str, list[Any]], since: datetime) -> list[int] | None:
    """Ids of tasks whose result changed after ``since`` (None: no snapshot, ask SQL)."""
    if not snap:
        return None
    stamp = since.isoformat()
    return sorted(int(t) for t, entry in snap.items() if entry[4] > stamp)


def _tasks(session: Session, project: Project, q: Query, *, gold: bool) -> tuple[list[Task], bool]:
    stmt = select(Task).where(
        Task.project_id == project.id, Task.is_gold.is_(True) if gold else Task.is_gold == false()
    )
    stmt = stmt.where(Task.id > q.after).order_by(Task.id)
    if q.since is not None and not gold:
        changed = _changed_since(_snapshot_tasks(latest_snapshot(session, project.id)), q.since)
        if changed is not None:
            ids = [t for t in changed if t > q.after][: (q.limit or len(changed)) + 1]
            stmt = stmt.where(Task.id.in_(ids))
        else:
            answered = select(Assignment.task_id).where(Assignment.answered_at > q.since)
            stmt = stmt.where(or_(Task.completed_at > q.since, Task.id.in_(answered)))
    if q.limit is not None:
        stmt = stmt.limit(q.limit + 1)
    return _page(list(session.scalars(stmt)), q.limit)


def project_results(
    session: Session, project: Project, query: Query | None = None, *, key: bytes = b""
) -> Page:
    """One page of non-gold tasks: answer, confidence, answers count (and the answers if asked)."""
    q = query or Query()
    snapshot = latest_snapshot(session, project.id)
    snap = _snapshot_tasks(snapshot)
    tasks, more = _tasks(session, project, q, gold=False)
    raw = _raw_answers(session, project, [t.id for t in tasks], key) if q.include_answers else {}
    rows = []
    for task in tasks:
        entry = snap.get(str(task.id))
        row: dict[str, Any] = {
            "task_id": task.id,
            "external_id": task.external_id,
            "text": task.text,
            "status": str(task.status),
            "answer": entry[0] if entry else task.result,
            "confidence": entry[1] if entry else task.confidence,
            "tied": entry[3] if entry else False,
            "n_answers": task.answers_count,
            "changed_at": entry[4] if entry else _iso(task.completed_at),
        }
        if q.include_answers:
            row["answers"] = raw.get(task.id, [])
        rows.append(row)
    return Page(
        rows,
        snapshot.version if snapshot else None,
        _iso(snapshot.created_at) if snapshot else None,
        tasks[-1].id if more else None,
    )


def gold_results(
    session: Session, project: Project, query: Query | None = None, *, key: bytes = b""
) -> Page:
    """One page of gold tasks: the known answer and how the workers did on it."""
    q = query or Query()
    tasks, more = _tasks(session, project, q, gold=True)
    raw = _raw_answers(session, project, [t.id for t in tasks], key)
    rows = []
    for task in tasks:
        answers = raw.get(task.id, [])
        row: dict[str, Any] = {
            "task_id": task.id,
            "external_id": task.external_id,
            "text": task.text,
            "gold_answer": task.gold_answer,
            "n_answers": len(answers),
            "n_correct": sum(bool(a["correct"]) for a in answers),
        }
        if q.include_answers:
            row["answers"] = answers
        rows.append(row)
    return Page(rows, None, None, tasks[-1].id if more else None)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _raw_answers(
    session: Session, project: Project, task_ids: Sequence[int], key: bytes
) -> dict[int, list[dict[str, Any]]]:
    if not task_ids:
        return {}
    stmt = (
        select(Assignment)
        .where(Assignment.task_id.in_(task_ids), Assignment.status == AssignmentStatus.ANSWERED)
        .order_by(Assignment.task_id, Assignment.id)
    )
    answers = list(session.scalars(stmt))
    reputation = worker_accuracies(session, project.id, {a.worker_id for a in answers})
    by_task: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for a in answers:
        by_task[a.task_id].append(
            {
                "value": a.answer,
                "worker": pseudonym(key, project.id, a.worker_id),
                # The accuracy the aggregators weigh this worker by; null: no gold record yet.
                "reputation": reputation.get(a.worker_id),
                "seconds": a.seconds_taken,
                "answered_at": _iso(a.answered_at),
                "review": str(a.review_status) if a.review_status else None,
                "correct": a.correct,
            }
        )
    return by_task


def project_workers(
    session: Session, project: Project, query: Query | None = None, *, key: bytes = b""
) -> Page:
    """One page of the project's workers: answers, agreement with the results, gold record."""
    q = query or Query()
    answered = (
        select(Assignment.worker_id, func.count())
        .join(Task, Task.id == Assignment.task_id)
        .where(
            Task.project_id == project.id,
            Task.is_gold == false(),
            Assignment.status == AssignmentStatus.ANSWERED,
            Assignment.worker_id > q.after,
        )
        .group_by(Assignment.worker_id)
        .order_by(Assignment.worker_id)
    )
    if q.limit is not None:
        answered = answered.limit(q.limit + 1)
    counts, more = _page(list(session.execute(answered)), q.limit)
    ids = [w for w, _ in counts]
    snapshot = latest_snapshot(session, project.id)
    agreement = _agreement(session, project, ids, snapshot)
    gold = {
        s.worker_id: s
        for s in session.scalars(
            select(WorkerProjectStats).where(
                WorkerProjectStats.project_id == project.id, WorkerProjectStats.worker_id.in_(ids)
            )
        )
    }
    reputation = worker_accuracies(session, project.id, ids)
    rows = []
    for worker_id, n in counts:
        record = gold.get(worker_id)
        answered_gold = record.gold_answered if record else 0
        correct_gold = record.gold_correct if record else 0
        rows.append(
            {
                "worker": pseudonym(key, project.id, worker_id),
                "answers": n,
                "agreement": agreement.get(worker_id),
                "gold_answered": answered_gold,
                "gold_correct": correct_gold,
                "gold_accuracy": correct_gold / answered_gold if answered_gold else None,
                "reputation": reputation.get(worker_id),
            }
        )
    version = snapshot.version if snapshot else None
    computed = _iso(snapshot.created_at) if snapshot else None
    return Page(rows, version, computed, ids[-1] if more else None)


def _agreement(
    session: Session, project: Project, worker_ids: list[int], snapshot: ResultSnapshot | None
) -> dict[int, float | None]:
    """Share of each worker's answers that match the results (the snapshot's, else the tasks')."""
    if snapshot is not None:
        stats = snapshot.results.get("workers", {})
        return {
            w: (s["agreed"] / s["answers"] if s["answers"] else None)
            for w in worker_ids
            if (s := stats.get(str(w))) is not None
        }
    stmt = (
        select(Assignment.worker_id, Assignment.answer, Task.result)
        .join(Task, Task.id == Assignment.task_id)
        .where(
            Task.project_id == project.id,
            Task.is_gold == false(),
            Task.result.is_not(None),
            Assignment.status == AssignmentStatus.ANSWERED,
            Assignment.worker_id.in_(worker_ids),
        )
    )
    tally: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for worker_id, answer, result in session.execute(stmt):
        tally[worker_id][0] += agrees(project.task_type, answer or "", result or "")
        tally[worker_id][1] += 1
    return {w: agreed / n for w, (agreed, n) in tally.items()}


def results_csv(results: list[dict[str, Any]]) -> str:
    """The results as CSV text with a header line (raw answers are JSON-only)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in results:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in CSV_COLUMNS})
    return buffer.getvalue()
