"""USSD analytics: sessions per day by outcome, where people drop off, and how long work takes."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.queries import Window, spread, time_bucket
from gateway.models import UssdSession
from tasks.models import Assignment, AssignmentStatus

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
    """Dropped sessions by the screen they were on, most first."""
    rows = session.execute(
        select(UssdSession.last_screen, func.count())
        .where(window.contains(UssdSession.started_at), UssdSession.end_status == DROPPED)
        .group_by(UssdSession.last_screen)
    )
    counts: Counter[str] = Counter()
    for screen, n in rows:
        counts[screen_title(screen)] += int(n)
    return counts.most_common()


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
