"""Handing tasks to workers: the next task, reservations, skips and expiry.

The flow layer calls ``get_next_task``, ``skip_task`` (and ``submission.submit_answer``)
inside one transaction per USSD hop or SMS. Picking is concurrency-safe: on
PostgreSQL one statement (``tasks.claim``) picks a free task with ``FOR UPDATE SKIP
LOCKED``, takes its slot and the budget's promise and inserts the reservation; when
that finds only busy candidates, and always on SQLite (which serialises writers),
candidates are claimed step by step, each claim a guarded counter update (see
``tasks.counters``). CHECK constraints back both, so no task ever holds more answers
than its redundancy and no project promises more than its budget.

Cost: every query walks an index. Candidate tasks come from
``(project_id, status, is_gold, id)`` in id order (complete and full tasks are
not read), in batches checked against the worker's own assignments by the
``(task_id, worker_id)`` unique index; a pick reads at most BATCH * MAX_BATCHES
ids, however many tasks and answers a project has.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, Select, bindparam, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tasks import counters, detection, reputation
from tasks.availability import (
    MAX_CANDIDATE_PROJECTS,
    answered_today,
    has_room,
    speaks_project,
    standing_reason,
)
from tasks.claim import BATCH, MAX_BATCHES, NOTHING, claim_in_one
from tasks.detection import QualityRules
from tasks.funding import return_if_closed
from tasks.models import (
    Assignment,
    AssignmentStatus,
    Project,
    ProjectStatus,
    Task,
    TaskStatus,
)
from tasks.quality import (
    RandomSource,
    eligible_for_project,
    gold_rate_for,
    should_serve_gold,
)
from tasks.reputation import GoldRecord
from tasks.screening import held_count_query
from tasks.task_views import TaskView, task_view
from workers import services as workers
from workers.models import Worker

#: Expired reservations released by a ``get_next_task`` that found nothing, so slots
#: free up even when no job runner is sweeping; bounded so one hop stays fast. Only on
#: a miss: a hop that finds a task spends no statement on others' lapsed reservations.
LAZY_EXPIRY_BATCH = 20
#: Possibly busy tasks tried after the SKIP LOCKED pick found none free.
FALLBACK_CANDIDATES = 5
#: Fresh candidate reads when every task read was filled by others before we got it.
CLAIM_ROUNDS = 3


def get_next_task(
    session: Session,
    worker: Worker,
    now: datetime,
    *,
    rng: RandomSource | None = None,
    rules: QualityRules | None = None,
    currencies: Collection[str] | None = None,
    daily_cap: int = 0,
) -> TaskView | None:
    """Reserve the next task for a worker (or return the one they hold); None when none fits.

    ``currencies``: the wage currencies this worker can be paid out in (the caller asks
    the payout rails); a project paying in another is not offered. None: any.
    ``daily_cap``: answers a worker may give per local day (0: no cap).
    Only tasks in a language the worker does tasks in are offered (or with none).
    """
    rules = rules or QualityRules()
    if standing_reason(worker) is not None:
        return None
    if daily_cap > 0 and answered_today(session, worker, now) >= daily_cap:
        return None
    # One pick at a time per worker (two hops racing, e.g. a USSD retry): the second
    # waits here, then finds and resumes the first one's reservation.
    workers.lock(session, worker.id)
    held_answers, held_id, rows = _worker_and_projects(session, worker.id, now)
    if held_answers >= rules.max_held:
        return None
    languages = workers.task_languages(worker)
    if held_id is not None:
        held = session.get_one(Assignment, held_id)
        return task_view(session, held, resumed=True, languages=languages)
    rng = rng or random.Random()
    projects = _eligible_projects(rows, worker, rules, languages, currencies)
    view = _pick(session, worker, projects, rng, now, languages)
    if view is None and expire_due(session, now, limit=LAZY_EXPIRY_BATCH):
        # Lapsed reservations were holding slots or budget: with them freed, pick again.
        view = _pick(session, worker, projects, rng, now, languages)
    return view


def _pick(
    session: Session,
    worker: Worker,
    projects: list[tuple[Project, float]],
    rng: RandomSource,
    now: datetime,
    languages: Sequence[str],
) -> TaskView | None:
    """Reserve a task in the first project (by priority) that has one for this worker."""
    for project, rate in projects:
        gold_first = should_serve_gold(rng, rate)
        for gold in (True, False) if gold_first else (False,):
            claimed = claim_in_one(
                session, project, worker.id, gold=gold, now=now, languages=languages
            )
            if isinstance(claimed, TaskView):
                return claimed
            if claimed == NOTHING:
                continue
            assignment = _claim(
                session, project, worker.id, gold=gold, now=now, languages=languages
            )
            if assignment is not None:
                return task_view(session, assignment, resumed=False, languages=languages)
    return None


def _current_reservation_query(worker_id: Any, now: Any) -> Select[int]:
    # A redial within the reservation window resumes the same task (design: never lose work).
    return (
        select(Assignment.id)
        .where(
            Assignment.worker_id == worker_id,
            Assignment.status == AssignmentStatus.RESERVED,
            Assignment.expires_at > now,
        )
        .order_by(Assignment.id)
        .limit(1)
    )


ProjectRow = tuple[Project, int, int]


def _worker_and_projects(
    session: Session, worker_id: int, now: datetime
) -> tuple[int, int | None, list[ProjectRow]]:
    """The worker's held answers, their reservation in hand, and the active projects by
    priority, each with the worker's gold record on its task type: one round trip.

    The record is pooled over every project of the type, so probation and verdicts
    carry over from one project to the next. The worker's two facts ride on every
    project row, and on one row without a project when none is active.
    """
    params = {reputation.GOLD_WORKER: worker_id, "now": now}
    found = session.execute(_WORKER_AND_PROJECTS, params).all()
    held, in_hand = int(found[0][0] or 0), found[0][1]
    rows = [(p, int(a), int(c)) for _, _, p, a, c in found if p is not None]
    return held, in_hand, rows


def _worker_and_projects_query() -> Select[Any]:
    worker: BindParameter[int] = bindparam(reputation.GOLD_WORKER)
    facts = select(
        held_count_query(worker).scalar_subquery().label("held"),
        _current_reservation_query(worker, bindparam("now")).scalar_subquery().label("in_hand"),
    ).subquery()
    return (
        select(
            facts.c.held,
            facts.c.in_hand,
            Project,
            reputation.GOLD_ANSWERED,
            reputation.GOLD_CORRECT,
        )
        .select_from(facts)
        .outerjoin(Project, Project.status == ProjectStatus.ACTIVE)
        .order_by(Project.priority.desc(), Project.id)
        .limit(MAX_CANDIDATE_PROJECTS)
    )


def _eligible_projects(
    rows: list[ProjectRow],
    worker: Worker,
    rules: QualityRules,
    languages: Collection[str],
    currencies: Collection[str] | None = None,
) -> list[tuple[Project, float]]:
    """The projects open to this worker, by priority, with the share of gold to serve."""
    out = []
    for project, gold_answered, gold_correct in rows:
        if not (
            speaks_project(project, languages)
            and (not project.countries or worker.country in project.countries)
            and (currencies is None or project.currency in currencies)
        ):
            continue
        record = GoldRecord(gold_answered, gold_correct)
        if project_allows(project, record.answered, record.correct, rules):
            out.append((project, _gold_rate(project, record, rules)))
    return out


def _gold_rate(project: Project, record: GoldRecord, rules: QualityRules) -> float:
    # A record leaning towards guessing gets gold only (its answers are held anyway)
    # until gold clears or convicts the worker: the quickest verdict, and the cheapest.
    k = reputation.categories(project)
    if k is not None and detection.is_unproven(record.correct, record.answered, k, rules):
        return 1.0
    return gold_rate_for(record.answered, project.gold_rate)


def project_allows(
    project: Project, gold_answered: int, gold_correct: int, rules: QualityRules | None = None
) -> bool:
    """Tell whether a worker's gold record (on the project's task type) lets them take its tasks."""
    rules = rules or QualityRules()
    k = reputation.categories(project)
    accuracy = reputation.estimate(gold_correct, gold_answered, reputation.options_of(project))
    if k is None:
        return eligible_for_project(accuracy, project.min_accuracy, gold_answered)
    below = detection.is_chance_level(gold_correct, gold_answered, k, rules)
    if not below and detection.is_unproven(gold_correct, gold_answered, k, rules):
        # Under test: served gold only, answers held (and capped) until gold decides,
        # so a guesser ends suspended and told why rather than silently starved.
        return True
    needed = detection.minimum_accuracy(project.min_accuracy, k, rules)
    return eligible_for_project(accuracy, needed, gold_answered, below_chance=below)


def _claim(
    session: Session,
    project: Project,
    worker_id: int,
    *,
    gold: bool,
    now: datetime,
    languages: Collection[str] | None = None,
) -> Assignment | None:
    """Reserve one task of this kind in the project for the worker, or None."""
    for _ in range(CLAIM_ROUNDS):
        candidates = _candidates(session, project.id, worker_id, gold=gold, languages=languages)
        if not candidates:
            return None
        for task_id in candidates:
            try:
                assignment = _reserve(session, task_id, worker_id, project, now)
            except _NoBudget:
                return None  # the budget is spent: no other task of it would fit either
            except (_Refused, IntegrityError):
                # A full task, or the same worker's parallel request won: try the next one.
                continue
            return assignment
        # Every task we read was filled by other workers meanwhile; a fresh read skips them.
    return None


def _reserve(
    session: Session, task_id: int, worker_id: int, project: Project, now: datetime
) -> Assignment:
    """Take a slot of the task and of the budget in a savepoint; raise _Refused if either is full."""
    with session.begin_nested():
        # Task first, then project (the module's lock order); either guard may refuse.
        if not counters.reserve_task_slot(session, task_id):
            raise _Refused
        if not counters.reserve_budget(session, project.id):
            raise _NoBudget
        return _new_assignment(session, task_id, worker_id, project, now)


def candidate_query(
    project_id: int,
    *,
    gold: bool,
    after_id: int = 0,
    languages: Collection[str] | None = None,
) -> Select[int]:
    """Open tasks of a project after ``after_id`` (with room, unless gold), in id order;
    with ``languages``, only tasks in one of them or in none."""
    stmt = select(Task.id).where(
        Task.project_id == project_id,
        Task.status == TaskStatus.OPEN,
        Task.is_gold == gold,
        Task.id > after_id,
    )
    if not gold:
        stmt = stmt.where(has_room())
    if languages is not None:
        stmt = stmt.where(or_(Task.language.is_(None), Task.language.in_(list(languages))))
    # Ordered by every column of ix_tasks_project_id_status_is_gold_id: only that index
    # gives this order, so the planner walks it instead of filtering the primary key.
    return stmt.order_by(Task.project_id, Task.status, Task.is_gold, Task.id)


def _unseen(
    session: Session,
    project_id: int,
    worker_id: int,
    *,
    gold: bool,
    languages: Collection[str] | None = None,
) -> list[int]:
    """Up to a batch of candidate tasks this worker has never been given, in id order."""
    after = 0
    for _ in range(MAX_BATCHES):
        query = candidate_query(project_id, gold=gold, after_id=after, languages=languages)
        batch = list(session.scalars(query.limit(BATCH)))
        if not batch:
            return []
        # One lookup per id on the (task_id, worker_id) unique index: never a scan.
        seen = set(
            session.scalars(
                select(Assignment.task_id).where(
                    Assignment.task_id.in_(batch), Assignment.worker_id == worker_id
                )
            )
        )
        unseen = [t for t in batch if t not in seen]
        if unseen:
            return unseen
        after = batch[-1]
    return []  # this worker is far ahead of the crowd here; other projects may have work


def _candidates(
    session: Session,
    project_id: int,
    worker_id: int,
    *,
    gold: bool,
    languages: Collection[str] | None = None,
) -> list[int]:
    """Task ids to try: first one no one else is claiming, then a few that may be busy."""
    unseen = _unseen(session, project_id, worker_id, gold=gold, languages=languages)
    if not unseen:
        return []
    # SKIP LOCKED spreads concurrent workers over different tasks. A locked task may
    # still have room (redundancy > 1), so the fallback tries a few without skipping:
    # the guarded UPDATE then waits for the lock and re-checks the room on commit.
    # Room is checked again here: tasks read a moment ago may have been filled since.
    free_stmt = select(Task.id).where(Task.id.in_(unseen))
    if not gold:
        free_stmt = free_stmt.where(has_room())
    free = session.scalars(
        free_stmt.order_by(Task.id).limit(1).with_for_update(skip_locked=True)
    ).all()
    return list(dict.fromkeys([*free, *unseen[:FALLBACK_CANDIDATES]]))


def _new_assignment(
    session: Session, task_id: int, worker_id: int, project: Project, now: datetime
) -> Assignment:
    assignment = Assignment(
        task_id=task_id,
        worker_id=worker_id,
        status=AssignmentStatus.RESERVED,
        reserved_at=now,
        expires_at=now + timedelta(minutes=project.reservation_minutes),
        flagged=False,
        paid=False,
    )
    session.add(assignment)
    session.flush()
    return assignment


class _Refused(Exception):
    """A guard refused the claim; rolls back its savepoint."""


class _NoBudget(_Refused):
    """The project's budget cannot promise one more reward; rolls back the task slot too."""


def skip_task(session: Session, worker: Worker, task_id: int, now: datetime) -> bool:
    """Give a reserved task back ("0 Skip"); it is never served to this worker again."""
    assignment = session.scalars(
        select(Assignment).where(Assignment.task_id == task_id, Assignment.worker_id == worker.id)
    ).first()
    if assignment is None:
        return False
    return _release(session, assignment, AssignmentStatus.SKIPPED)


def expire_assignment(session: Session, assignment_id: int, now: datetime) -> bool:
    """Release one reservation if it is still held past its expiry; True when released."""
    assignment = session.get(Assignment, assignment_id)
    if assignment is None or assignment.expires_at > now:
        return False
    return _release(session, assignment, AssignmentStatus.EXPIRED)


def expire_due(session: Session, now: datetime, *, limit: int = 500) -> int:
    """Release up to ``limit`` reservations past their expiry; returns how many."""
    stmt = (
        select(Assignment)
        .where(Assignment.status == AssignmentStatus.RESERVED, Assignment.expires_at <= now)
        .order_by(Assignment.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return sum(_release(session, a, AssignmentStatus.EXPIRED) for a in session.scalars(stmt))


def _release(session: Session, assignment: Assignment, status: AssignmentStatus) -> bool:
    # The guarded move makes a skip racing an expiry (or two sweeps) release once only.
    if not counters.move_assignment(session, assignment.id, AssignmentStatus.RESERVED, status):
        return False
    task = session.get_one(Task, assignment.task_id)
    counters.end_reservation(session, task.id, task.project_id, paid=False)
    return_if_closed(session, task.project_id)  # a closed project's freed promise goes back
    session.expire(assignment)
    return True


#: Built once (building it costs more than running it); bound at execute time.
_WORKER_AND_PROJECTS = _worker_and_projects_query()
