"""Results of a project: per task the aggregated answer, its confidence and answer count.

Tasks keep the result of their last incremental aggregation; a ``dawid_skene``
project's results are re-estimated here over all its answers at once (vectorised),
since Dawid-Skene learns each worker's confusion matrix from the whole project.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from typing import Any

from sqlalchemy import false, select
from sqlalchemy.orm import Session

from tasks.models import Assignment, AssignmentStatus, Project, Task
from tasks.progress import aggregate, counted_answers

CSV_COLUMNS = ("task_id", "external_id", "status", "answer", "confidence", "n_answers")


def project_results(
    session: Session, project: Project, *, include_answers: bool = False
) -> list[dict[str, Any]]:
    """One entry per non-gold task: answer, confidence, n_answers (and raw answers if asked)."""
    tasks = list(
        session.scalars(
            select(Task)
            .where(Task.project_id == project.id, Task.is_gold == false())
            .order_by(Task.id)
        )
    )
    rerun = {}
    if project.aggregator == "dawid_skene":
        rerun = aggregate(
            session, project, counted_answers(session, None, project.id), whole_project=True
        )
    raw = _raw_answers(session, project.id) if include_answers else {}
    out = []
    for task in tasks:
        result = rerun.get(task.id)
        entry: dict[str, Any] = {
            "task_id": task.id,
            "external_id": task.external_id,
            "status": str(task.status),
            "answer": str(result.label) if result else task.result,
            "confidence": result.confidence if result else task.confidence,
            "n_answers": task.answers_count,
        }
        if include_answers:
            entry["answers"] = raw.get(task.id, [])
        out.append(entry)
    return out


def _raw_answers(session: Session, project_id: int) -> dict[int, list[dict[str, Any]]]:
    stmt = (
        select(Assignment)
        .join(Task, Task.id == Assignment.task_id)
        .where(Task.project_id == project_id, Assignment.status == AssignmentStatus.ANSWERED)
        .order_by(Assignment.task_id, Assignment.id)
    )
    by_task: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for a in session.scalars(stmt):
        # Workers appear by an opaque id only: requesters never see phone numbers.
        by_task[a.task_id].append(
            {
                "value": a.answer,
                "worker": a.worker_id,
                "seconds": a.seconds_taken,
                "answered_at": a.answered_at.isoformat() if a.answered_at else None,
                "review": str(a.review_status) if a.review_status else None,
            }
        )
    return by_task


def results_csv(results: list[dict[str, Any]]) -> str:
    """The results as CSV text with a header line (raw answers are JSON-only)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in results:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in CSV_COLUMNS})
    return buffer.getvalue()
