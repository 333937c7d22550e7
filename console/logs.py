"""The message log: filtered, paged SMS, and one phone's timeline of SMS and USSD sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from core.phone import InvalidNumber, normalize_msisdn
from gateway.models import Direction, Message, UssdSession

PAGE_SIZE = 50
TIMELINE_LIMIT = 100


def phone_query(raw: str, default_region: str) -> str | None:
    """The E.164 number an operator typed, in any usual form; None when it is not one."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        return normalize_msisdn(raw, default_region).e164
    except InvalidNumber:
        digits = "".join(c for c in raw if c.isdigit())
        # Test numbers (e.g. +254700000001) need not be assigned ranges; keep them exact.
        return f"+{digits}" if raw.startswith("+") and 6 <= len(digits) <= 15 else None


@dataclass(frozen=True)
class MessageFilter:
    """What the operator asked to see; empty fields do not filter."""

    phone: str | None = None
    direction: Direction | None = None
    status: str | None = None
    channel: str | None = None
    date_from: date | None = None
    date_to: date | None = None  # inclusive

    def conditions(self) -> list[Any]:
        """The SQL conditions for these filters."""
        out: list[Any] = []
        if self.phone:
            out.append(Message.phone == self.phone)
        if self.direction:
            out.append(Message.direction == self.direction)
        if self.status:
            out.append(Message.status == self.status)
        if self.channel:
            out.append(Message.channel == self.channel)
        if self.date_from:
            out.append(Message.created_at >= datetime.combine(self.date_from, time(), UTC))
        if self.date_to:
            end = datetime.combine(self.date_to + timedelta(days=1), time(), UTC)
            out.append(Message.created_at < end)
        return out


@dataclass(frozen=True)
class Page:
    """One page of rows, newest first, and whether there is another."""

    rows: list[Any]
    number: int
    has_next: bool


def search_messages(
    session: Session,
    criteria: MessageFilter,
    page: int = 1,
    size: int = PAGE_SIZE,
    *,
    within: Select[int] | None = None,
) -> Page:
    """Messages matching the filter, newest first, one page at a time.

    ``within`` (worker ids, e.g. a centre's) keeps only those workers' messages.
    """
    page = max(1, page)
    scoped = [] if within is None else [Message.worker_id.in_(within)]
    stmt = (
        select(Message)
        .where(*criteria.conditions(), *scoped)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .offset((page - 1) * size)
        .limit(size + 1)  # one extra row tells whether a next page exists
    )
    rows = list(session.scalars(stmt))
    return Page(rows=rows[:size], number=page, has_next=len(rows) > size)


@dataclass(frozen=True)
class TimelineItem:
    """One SMS or one USSD session in a phone's history."""

    at: datetime
    kind: str  # "in", "out" or "ussd"
    message: Message | None = None
    ussd: UssdSession | None = None

    @property
    def inputs(self) -> list[str]:
        """What the worker typed during a USSD session, hop by hop."""
        if self.ussd is None or not self.ussd.seen_text:
            return []
        return self.ussd.seen_text.split("*")


def timeline(session: Session, phone: str, limit: int = TIMELINE_LIMIT) -> list[TimelineItem]:
    """A phone's latest SMS and USSD sessions merged, newest first."""
    messages = session.scalars(
        select(Message)
        .where(Message.phone == phone)
        .order_by(Message.created_at.desc())
        .limit(limit)
    )
    sessions = session.scalars(
        select(UssdSession)
        .where(UssdSession.phone == phone)
        .order_by(UssdSession.started_at.desc())
        .limit(limit)
    )
    items = [TimelineItem(m.created_at, Direction(m.direction).value, message=m) for m in messages]
    items += [TimelineItem(s.started_at, "ussd", ussd=s) for s in sessions]
    return sorted(items, key=lambda item: item.at, reverse=True)[:limit]
