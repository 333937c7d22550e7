"""Screening each answer: run the spam detectors, count flags, suspend, and say whether to hold.

``screen_answer`` is called by ``tasks.submission`` once an answer (and, for a gold
task, its verdict) is recorded. It loads the worker's pooled gold record and latest
answers, asks the pure detectors (``tasks.detection``) and returns why the answer
must wait for review, or None to pay it. A flag is counted on the worker
(``workers.services.record_flag``); the flag that suspends queues
``tasks.jobs.reweigh_worker`` so that the worker's earlier answers stop carrying
the weight they had.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, Select, bindparam, exists, false, func, select
from sqlalchemy.orm import Session, aliased

from core.jobs import enqueue
from tasks import detection, reputation
from tasks.detection import QualityRules, RecentAnswer
from tasks.models import Assignment, AssignmentStatus, Project, ReviewStatus, Task, TaskType
from tasks.quality import is_too_fast
from tasks.reputation import GoldRecord
from workers import services as workers
from workers.models import Worker


def recent_answers(
    session: Session, worker_id: int, task_type: TaskType, limit: int
) -> list[RecentAnswer]:
    """The worker's latest answers on one task type, newest first."""
    return _screening_facts(session, worker_id, task_type, limit).recent


@dataclass(frozen=True)
class _Facts:
    """What screening an answer reads of the worker, in one round trip."""

    recent: list[RecentAnswer]
    record: GoldRecord
    waiting_unproven: bool  # answers held while the record leaned towards guessing


@functools.cache
def _facts_query(
    depth: int,
) -> Select[str | None, float | None, bool | None, float, int, int, bool]:
    """``_screening_facts``'s statement, built once per depth; the worker and the task
    type are bound at execute time."""
    held = aliased(Assignment)
    worker: BindParameter[int] = bindparam(reputation.GOLD_WORKER)
    waiting = exists().where(
        held.worker_id == worker,
        held.review_status == ReviewStatus.PENDING,
        held.flag_reason == detection.HOLD_UNPROVEN,
    )
    return (
        select(
            Assignment.answer,
            Assignment.seconds_taken,
            Assignment.correct,
            Project.min_seconds_per_answer,
            reputation.GOLD_ANSWERED,
            reputation.GOLD_CORRECT,
            waiting,
        )
        .join(Task, Task.id == Assignment.task_id)
        .join(Project, Project.id == Task.project_id)
        .where(
            Assignment.worker_id == worker,
            Assignment.status == AssignmentStatus.ANSWERED,
            Project.task_type == bindparam("task_type"),
        )
        .order_by(Assignment.answered_at.desc(), Assignment.id.desc())
        .limit(depth)
    )


def _screening_facts(session: Session, worker_id: int, task_type: TaskType, limit: int) -> _Facts:
    """The worker's latest answers on one task type, their gold record on it, and whether
    answers wait for a proven record, read together: each answer row carries the rest."""
    params = {reputation.GOLD_WORKER: worker_id, "task_type": task_type}
    rows = session.execute(_facts_query(limit), params).all()
    recent = [
        RecentAnswer(str(value), is_too_fast(seconds or 0.0, minimum), correct)
        for value, seconds, correct, minimum, *_ in rows
    ]
    if not rows:  # no answer yet (the screened one is there when called from a submit)
        record = reputation.gold_records(session, [worker_id], task_type)[worker_id]
        waiting = session.scalar(
            select(Assignment.id)
            .where(
                Assignment.worker_id == worker_id,
                Assignment.review_status == ReviewStatus.PENDING,
                Assignment.flag_reason == detection.HOLD_UNPROVEN,
            )
            .limit(1)
        )
        return _Facts(recent, record, waiting is not None)
    first = rows[0]
    return _Facts(recent, GoldRecord(int(first[4]), int(first[5])), bool(first[6]))


def held_count(session: Session, worker_id: int) -> int:
    """How many of the worker's answers to real (non-gold) tasks wait for review."""
    return int(session.scalar(held_count_query(worker_id)) or 0)


def held_count_query(worker_id: Any) -> Select[int]:
    """The query ``held_count`` runs, for a caller that asks it beside another."""
    # Held gold answers do not count: they are the test that decides an unproven
    # worker's fate, and a project's gold pool bounds them anyway.
    return (
        select(func.count())
        .select_from(Assignment)
        .join(Task, Task.id == Assignment.task_id)
        .where(
            Assignment.worker_id == worker_id,
            Assignment.review_status == ReviewStatus.PENDING,
            Task.is_gold == false(),
        )
    )


def screen_answer(
    session: Session,
    worker: Worker,
    project: Project,
    *,
    too_fast: bool,
    now: datetime,
    rules: QualityRules,
) -> str | None:
    """Run the detectors after an answer; the reason to hold it for review, or None to pay."""
    k = reputation.categories(project)
    depth = max(rules.same_option_run, rules.fast_streak)
    facts = _screening_facts(session, worker.id, project.task_type, depth)
    gold = (facts.record.correct, facts.record.answered)
    flags = detection.flags_for(facts.recent, gold, k, rules)
    if flags:
        # One flag per answer, whatever number of detectors agree on it. The chance
        # verdict is a significance test already (and shuts the worker out of the
        # project's tasks), so it suspends at once; the heuristics need a few flags.
        needed = 1 if flags[0] == detection.FLAG_CHANCE else rules.flags_to_suspend
        suspended = workers.record_flag(session, worker.id, flags[0], now, flags_to_suspend=needed)
        if suspended:
            enqueue(
                session,
                "tasks.jobs.reweigh_worker",
                worker.id,
                job_id=f"reweigh-worker-{worker.id}-{int(now.timestamp())}",
            )
        return flags[0]
    if too_fast:
        return detection.FLAG_TOO_FAST
    if k is not None and detection.is_unproven(*gold, k, rules):
        return detection.HOLD_UNPROVEN
    if k is not None and detection.is_proven(*gold, k, rules) and facts.waiting_unproven:
        # Gold has now shown competent work: the answers held while the record leaned
        # towards guessing were honest work, and are paid without waiting for an operator.
        enqueue(
            session,
            "tasks.jobs.release_proven",
            worker.id,
            job_id=f"release-proven-{worker.id}-{int(now.timestamp())}",
        )
    return None
