"""USSD analytics: sessions per day by outcome, where people drop off (by flow step), the
newcomers' funnel from first dial to first paid answer, and how long work takes."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from console.queries import Window, spread, time_bucket
from gateway.models import UssdSession
from tasks.models import Assignment, AssignmentStatus
from workers.models import Worker

#: Medians are taken over at most this many of the newest rows, to bound a busy week.
MEDIAN_SAMPLE = 20_000
OPEN = "open"  # no end-of-session notice yet
DROPPED = "incomplete"  # the provider's word for a session cut while a menu waited


def sessions_by_outcome(session: Session, window: Window) -> dict[str, list[int]]:
    """USSD sessions per bucket, split by how they ended (``open`` when not yet known)."""
    day = time_bucket(session, UssdSession.started_at, window).label("bucket")
    outcome = func.coalesce(UssdSession.end_status, OPEN)
    rows = session.execute(
        select(day, outcome, func.count())
        .where(window.contains(UssdSession.started_at))
        .group_by(day, outcome)
    )
    return spread(window, rows)


def screen_title(screen: str | None) -> str:
    """A screen's first line, which names it ("Is this positive?", "Withdraw")."""
    first = (screen or "").strip().splitlines()
    return first[0].strip()[:60] if first else "(no screen recorded)"


def drop_off(session: Session, window: Window) -> list[tuple[str, int]]:
    """Dropped sessions by the flow step they were on (``flow.node``), most first.

    By step, not by screen text: one step's screens differ by language and page (and a
    task screen by its task), yet they are one place where people give up. Sessions
    recorded before steps were (no ``last_node``) fall back to their screen's first line.
    """
    rows = session.execute(
        select(UssdSession.last_node, UssdSession.last_screen, func.count())
        .where(window.contains(UssdSession.started_at), UssdSession.end_status == DROPPED)
        .group_by(UssdSession.last_node, UssdSession.last_screen)
    )
    counts: Counter[str] = Counter()
    for node, screen, n in rows:
        counts[node or screen_title(screen)] += int(n)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))  # ties by name


@dataclass(frozen=True)
class FunnelStep:
    """One step of the newcomers' funnel: how many reached it, and the share of the step before."""

    name: str
    workers: int
    of_previous: float | None  # None for the first step, or when the step before had none
    of_first: float | None


#: The funnel's steps, in order; each is reached only by workers who reached the one before.
FUNNEL_STEPS = ("dialled", "registered", "first task shown", "first answer", "first paid answer")


def funnel(session: Session, window: Window) -> list[FunnelStep]:
    """Workers first seen in the window, step by step from first dial to first paid answer.

    The cohort is the workers whose first contact falls in the window; a step counts
    those who reached it and every step before (whenever since), so the funnel never
    widens. "First task shown" is a task handed out (an assignment, reserved at the
    screen), "first paid answer" an answer whose wage was credited.
    """
    mine = Assignment.worker_id == Worker.id
    conditions = [
        exists().where(UssdSession.worker_id == Worker.id),
        Worker.registered_at.is_not(None),
        exists().where(mine, Assignment.status != AssignmentStatus.QUIZ),
        exists().where(mine, Assignment.status == AssignmentStatus.ANSWERED),
        exists().where(mine, Assignment.paid.is_(True)),
    ]
    cohort = window.contains(Worker.created_at)
    counts = [
        int(session.scalar(select(func.count(Worker.id)).where(cohort, *conditions[: i + 1])) or 0)
        for i in range(len(conditions))
    ]
    steps = []
    for i, (name, n) in enumerate(zip(FUNNEL_STEPS, counts, strict=True)):
        before = counts[i - 1] if i else None
        steps.append(
            FunnelStep(
                name,
                n,
                n / before if before else None,
                n / counts[0] if i and counts[0] else None,
            )
        )
    return steps


@dataclass(frozen=True)
class Effort:
    """Typical effort: screens and seconds per finished session, seconds per answered task."""

    screens_per_session: float | None
    seconds_per_session: float | None
    seconds_per_answer: float | None


def _median(values: list[Any]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return statistics.median(present) if present else None


def effort(session: Session, window: Window) -> Effort:
    """Medians over the window: a finished session's screens and seconds, an answer's seconds."""
    finished = session.execute(
        select(UssdSession.hops, UssdSession.duration_ms)
        .where(window.contains(UssdSession.started_at), UssdSession.end_status == "success")
        .order_by(UssdSession.started_at.desc())
        .limit(MEDIAN_SAMPLE)
    ).all()
    answered = session.scalars(
        select(Assignment.seconds_taken)
        .where(window.contains(Assignment.answered_at))
        .where(Assignment.status == AssignmentStatus.ANSWERED)
        .order_by(Assignment.answered_at.desc())
        .limit(MEDIAN_SAMPLE)
    ).all()
    duration = _median([ms for _, ms in finished])
    return Effort(
        screens_per_session=_median([hops for hops, _ in finished]),
        seconds_per_session=duration / 1000 if duration is not None else None,
        seconds_per_answer=_median(list(answered)),
    )
