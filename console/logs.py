"""The message log and USSD sessions, filtered and paged, and one phone's timeline of both."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from console.pagination import PAGE_SIZE, Page, paginate
from core.phone import InvalidNumber, normalize_msisdn
from gateway.models import Direction, Message, UssdSession

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


def _contains(column: Any, text: str) -> Any:
    """``column`` contains ``text``, case-insensitive, with LIKE's wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


def _local_day_start(day: date, zone: ZoneInfo) -> datetime:
    """The moment (UTC) a local date begins in the console's zone."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class MessageFilter:
    """What the operator asked to see; empty fields do not filter.

    Dates are days in the console's time zone (``zone``), as the log shows its times.
    """

    phone: str | None = None
    direction: Direction | None = None
    status: str | None = None
    channel: str | None = None
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    text: str | None = None  # in the body, any case
    network_codes: tuple[str, ...] = ()
    provider: str | None = None
    zone: ZoneInfo = ZoneInfo("UTC")

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
        if self.provider:
            out.append(Message.provider == self.provider)
        if self.network_codes:
            out.append(Message.network_code.in_(self.network_codes))
        if self.text:
            out.append(_contains(Message.body, self.text))
        if self.date_from:
            out.append(Message.created_at >= _local_day_start(self.date_from, self.zone))
        if self.date_to:
            end = _local_day_start(self.date_to + timedelta(days=1), self.zone)
            out.append(Message.created_at < end)
        return out


def message_query(criteria: MessageFilter, *, within: Select[int] | None = None) -> Select[Any]:
    """Messages matching the filter, newest first; ``within``: only those workers'."""
    scoped = [] if within is None else [Message.worker_id.in_(within)]
    return (
        select(Message)
        .where(*criteria.conditions(), *scoped)
        .order_by(Message.created_at.desc(), Message.id.desc())
    )


def search_messages(
    session: Session,
    criteria: MessageFilter,
    page: int = 1,
    size: int = PAGE_SIZE,
    *,
    within: Select[int] | None = None,
) -> Page:
    """One page of the messages matching the filter, with their total count.

    ``within`` (worker ids, e.g. a centre's) keeps only those workers' messages.
    """
    return paginate(session, message_query(criteria, within=within), page, size)


#: How a USSD session ended, as the search offers it ("open": no end notice yet).
USSD_OUTCOMES = ("success", "incomplete", "failed", "open")


@dataclass(frozen=True)
class UssdFilter:
    """What the operator asked to see of USSD sessions; empty fields do not filter."""

    phone: str | None = None
    text: str | None = None  # in the last screen shown or the service code
    outcome: str | None = None
    network_codes: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    zone: ZoneInfo = ZoneInfo("UTC")

    def conditions(self) -> list[Any]:
        """The SQL conditions for these filters."""
        out: list[Any] = []
        if self.phone:
            out.append(UssdSession.phone == self.phone)
        if self.text:
            out.append(
                _contains(UssdSession.last_screen, self.text)
                | _contains(UssdSession.service_code, self.text)
            )
        if self.outcome == "open":
            out.append(UssdSession.end_status.is_(None))
        elif self.outcome:
            out.append(UssdSession.end_status == self.outcome)
        if self.network_codes:
            out.append(UssdSession.network_code.in_(self.network_codes))
        if self.date_from:
            out.append(UssdSession.started_at >= _local_day_start(self.date_from, self.zone))
        if self.date_to:
            end = _local_day_start(self.date_to + timedelta(days=1), self.zone)
            out.append(UssdSession.started_at < end)
        return out


def search_ussd_sessions(
    session: Session,
    criteria: UssdFilter,
    page: int = 1,
    size: int = PAGE_SIZE,
    *,
    within: Select[int] | None = None,
) -> Page:
    """One page of the USSD sessions matching the filter, newest first, with their count;
    ``within`` (worker ids, e.g. a centre's) keeps only those workers' sessions."""
    scoped = [] if within is None else [UssdSession.worker_id.in_(within)]
    stmt = (
        select(UssdSession)
        .where(*criteria.conditions(), *scoped)
        .order_by(UssdSession.started_at.desc(), UssdSession.id.desc())
    )
    return paginate(session, stmt, page, size)


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
