"""The dashboard's numbers: SQL aggregates over a bounded time window, on SQLite and PostgreSQL.

Every query filters on an indexed timestamp (``messages.created_at``,
``ussd_sessions.started_at``, ``assignments.answered_at``) and groups in SQL, so a
busy day costs one index range scan per chart, not a row per message in Python.
Only the truncation of timestamps to hours or days differs between the databases.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select, union
from sqlalchemy.orm import Session

from core.money import Money
from gateway.delivery import DeliveryStatus
from gateway.models import Direction, Message, UssdSession
from payouts.models import Payout
from tasks.models import Assignment, AssignmentStatus

Step = Literal["hour", "day"]
FAILED_STATUSES = (DeliveryStatus.UNDELIVERED, DeliveryStatus.FAILED)
FINAL_OUTBOUND = (DeliveryStatus.DELIVERED, *FAILED_STATUSES)
UTC_ZONE = ZoneInfo("UTC")

#: The ranges a chart may show: name → (bucket size, number of buckets).
RANGES: dict[str, tuple[Step, int]] = {"24h": ("hour", 24), "7d": ("day", 7), "30d": ("day", 30)}
RANGE_NAMES = {"24h": "Last 24 hours", "7d": "Last 7 days", "30d": "Last 30 days"}
DEFAULT_RANGE = "24h"


@dataclass(frozen=True)
class Window:
    """A period cut into equal buckets of local time: ``[since, until)`` by hour or by day.

    Buckets follow the wall clock of ``zone`` (the console's time zone), so a day is the
    operator's local day, midnight to midnight, and an hour starts at a local full hour.
    """

    since: datetime
    until: datetime
    step: Step
    zone: ZoneInfo = UTC_ZONE

    @classmethod
    def last(cls, step: Step, count: int, now: datetime, zone: ZoneInfo = UTC_ZONE) -> Window:
        """The ``count`` buckets up to and including the one ``now`` is in."""
        unit = timedelta(hours=1) if step == "hour" else timedelta(days=1)
        current = now.astimezone(zone).replace(minute=0, second=0, microsecond=0)
        if step == "day":
            current = datetime.combine(current.date(), time(), tzinfo=zone)
        # Aware arithmetic in a ZoneInfo zone moves the wall clock: a day back is the
        # previous local midnight even across a DST change.
        return cls(current - unit * (count - 1), current + unit, step, zone)

    @property
    def unit(self) -> timedelta:
        return timedelta(hours=1) if self.step == "hour" else timedelta(days=1)

    def buckets(self) -> list[datetime]:
        """The start of each bucket (aware, in the window's zone), oldest first."""
        count = round(
            (self.until.replace(tzinfo=None) - self.since.replace(tzinfo=None)) / self.unit
        )
        return [self.since + self.unit * i for i in range(count)]

    def keys(self) -> list[datetime]:
        """Each bucket's start as the naive local time the SQL truncation gives."""
        return [b.replace(tzinfo=None) for b in self.buckets()]

    def labels(self) -> list[str]:
        """Two-line labels for a chart's x axis, in local time: ``15:00`` over ``26 Nov``."""
        fmt = "%H:%M\n%d %b" if self.step == "hour" else "%a\n%d %b"
        return [b.strftime(fmt) for b in self.buckets()]

    def axis_title(self) -> str:
        """What the x axis shows: ``time in Africa/Nairobi (UTC+03:00)``."""
        return f"{'hour' if self.step == 'hour' else 'day'} in {zone_label(self.zone, self.until)}"

    def contains(self, column: Any) -> ColumnElement[bool]:
        """The SQL condition that ``column`` falls inside the window."""
        return (column >= self.since.astimezone(UTC)) & (column < self.until.astimezone(UTC))


def zone_label(zone: ZoneInfo, at: datetime) -> str:
    """``Africa/Nairobi (UTC+03:00)``: a zone's name and its offset at a moment."""
    offset = at.astimezone(zone).strftime("%z") or "+0000"
    return f"{zone.key} (UTC{offset[:3]}:{offset[3:]})"


def window_for(period: str, now: datetime, zone: ZoneInfo = UTC_ZONE) -> Window:
    """The window of a named range (``24h``, ``7d``, ``30d``); an unknown name gives 24 h."""
    step, count = RANGES.get(period, RANGES[DEFAULT_RANGE])
    return Window.last(step, count, now, zone)


def last_24_hours(now: datetime, zone: ZoneInfo = UTC_ZONE) -> Window:
    """Hourly buckets over the last 24 hours."""
    return Window.last("hour", 24, now, zone)


def last_7_days(now: datetime, zone: ZoneInfo = UTC_ZONE) -> Window:
    """Daily buckets over the last 7 days."""
    return Window.last("day", 7, now, zone)


def time_bucket(session: Session, column: Any, window: Window) -> Any:
    """A SQL expression truncating ``column`` to the local hour or day it falls in."""
    step = window.step
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc(step, func.timezone(window.zone.key, column))
    # SQLite keeps UTC timestamps as ISO text: shift by the zone's offset, then cut the
    # text. One offset for the whole window (the one at its end): exact for every zone
    # Kazi serves but Haiti's, whose buckets may sit an hour off across a DST change.
    offset = window.until.utcoffset() or timedelta()
    shift = f"{int(offset.total_seconds() // 60):+d} minutes"
    fmt = "%Y-%m-%d %H:00:00" if step == "hour" else "%Y-%m-%d 00:00:00"
    return func.strftime(fmt, column, shift)


def _as_local(value: datetime | str, zone: ZoneInfo) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is None else value.astimezone(zone).replace(tzinfo=None)


def spread(window: Window, rows: Any) -> dict[str, list[int]]:
    """Spread ``(bucket, name, count)`` rows onto the window's buckets, zeros where none."""
    index = {key: i for i, key in enumerate(window.keys())}
    out: dict[str, list[int]] = defaultdict(lambda: [0] * len(index))
    for bucket, name, count in rows:
        slot = index.get(_as_local(bucket, window.zone))
        if slot is not None:
            out[name][slot] += int(count)
    return dict(sorted(out.items()))


def traffic(session: Session, window: Window) -> dict[str, list[int]]:
    """SMS in and out per channel, and USSD sessions, per bucket: ``{"sms in": [...], ...}``."""
    bucket = time_bucket(session, Message.created_at, window).label("bucket")
    messages = session.execute(
        select(bucket, Message.channel, Message.direction, func.count())
        .where(window.contains(Message.created_at))
        .group_by(bucket, Message.channel, Message.direction)
    )
    rows = [(b, f"{channel} {Direction(d).value}", n) for b, channel, d, n in messages]
    started = time_bucket(session, UssdSession.started_at, window).label("bucket")
    ussd = session.execute(
        select(started, func.count())
        .where(window.contains(UssdSession.started_at))
        .group_by(started)
    )
    rows += [(b, "ussd sessions", n) for b, n in ussd]
    return spread(window, rows)


def answers(session: Session, window: Window) -> list[int]:
    """Answers given per bucket."""
    bucket = time_bucket(session, Assignment.answered_at, window).label("bucket")
    result = session.execute(
        select(bucket, func.count())
        .where(window.contains(Assignment.answered_at))
        .where(Assignment.status == AssignmentStatus.ANSWERED)
        .group_by(bucket)
    )
    series = spread(window, [(b, "answers", n) for b, n in result])
    return series.get("answers", [0] * len(window.buckets()))


@dataclass(frozen=True)
class Delivery:
    """How outbound SMS fared in a window: success rate and what went wrong where."""

    final: int
    delivered: int
    by_reason: list[tuple[str, int]]
    by_network: list[tuple[str, int]]

    @property
    def rate(self) -> float | None:
        """Delivered share of messages with a final verdict; None when there were none."""
        return self.delivered / self.final if self.final else None


def delivery(session: Session, window: Window) -> Delivery:
    """Delivery success rate and failures by reason and by mobile network."""
    outbound = (Message.direction == Direction.OUTBOUND) & window.contains(Message.created_at)
    counts = dict(
        session.execute(
            select(Message.status, func.count())
            .where(outbound, Message.status.in_([s.value for s in FINAL_OUTBOUND]))
            .group_by(Message.status)
        ).all()
    )
    failed = outbound & Message.status.in_([s.value for s in FAILED_STATUSES])

    def failures_by(column: Any, unknown: str) -> list[tuple[str, int]]:
        key = func.coalesce(column, unknown)
        rows = session.execute(
            select(key, func.count()).where(failed).group_by(key).order_by(func.count().desc())
        )
        return [(str(k), int(n)) for k, n in rows]

    return Delivery(
        final=sum(counts.values()),
        delivered=int(counts.get(DeliveryStatus.DELIVERED.value, 0)),
        by_reason=failures_by(Message.error, "no reason given"),
        by_network=failures_by(Message.network_code, "unknown network"),
    )


def costs(session: Session, window: Window) -> dict[str, list[Money]]:
    """What SMS and USSD cost in the window, per currency: ``{"sms": [...], "ussd": [...]}``."""
    out: dict[str, list[Money]] = {}
    for name, model, stamp in (
        ("sms", Message, Message.created_at),
        ("ussd", UssdSession, UssdSession.started_at),
    ):
        rows = session.execute(
            select(model.cost_currency, func.sum(model.cost_minor))
            .where(window.contains(stamp), model.cost_currency.is_not(None))
            .group_by(model.cost_currency)
            .order_by(model.cost_currency)
        )
        # Never None here: the WHERE skips rows without a currency, and the cost_has_currency
        # constraint gives every such row a cost.
        out[name] = [
            Money(int(total), currency)
            for currency, total in rows
            if currency is not None and total is not None
        ]
    return out


def active_workers(session: Session, window: Window) -> int:
    """Workers who dialled, texted in or answered during the window."""
    seen = union(
        select(UssdSession.worker_id).where(window.contains(UssdSession.started_at)),
        select(Message.worker_id).where(
            window.contains(Message.created_at), Message.direction == Direction.INBOUND
        ),
        select(Assignment.worker_id).where(window.contains(Assignment.answered_at)),
    ).subquery()
    return int(session.scalar(select(func.count(seen.c[0])).where(seen.c[0].is_not(None))) or 0)


@dataclass(frozen=True)
class PayoutTotal:
    """Payouts in one status and currency: how many and how much."""

    status: str
    count: int
    amount: Money


def payouts_by_status(session: Session, since: datetime | None = None) -> list[PayoutTotal]:
    """Payouts grouped by status and currency (all time, or since a moment)."""
    stmt = select(Payout.status, Payout.currency, func.count(), func.sum(Payout.amount_minor))
    if since is not None:
        stmt = stmt.where(Payout.created_at >= since)
    rows = session.execute(
        stmt.group_by(Payout.status, Payout.currency).order_by(Payout.status, Payout.currency)
    )
    return [
        PayoutTotal(str(status), int(n), Money(int(total), currency))
        for status, currency, n, total in rows
    ]
