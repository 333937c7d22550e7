"""The dashboard's aggregates on SQLite and PostgreSQL, from seeded rows at known times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from console import queries
from core.money import Money
from payouts.models import PayoutStatus
from tests.console import factories as make

NOW = datetime(2026, 11, 26, 15, 40, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_windows_cover_whole_buckets_up_to_now() -> None:
    day = queries.last_24_hours(NOW)
    assert day.since == datetime(2026, 11, 25, 16, tzinfo=UTC)
    assert day.until == datetime(2026, 11, 26, 16, tzinfo=UTC)
    assert len(day.buckets()) == 24 and day.labels()[-1] == "15:00\n26 Nov"
    week = queries.last_7_days(NOW)
    assert week.since == datetime(2026, 11, 20, tzinfo=UTC)
    assert len(week.buckets()) == 7 and week.labels()[-1] == "Thu\n26 Nov"
    assert week.axis_title() == "day in UTC (UTC+00:00)"


def test_windows_follow_the_local_day_and_hour_of_the_console_zone() -> None:
    nairobi, kolkata = ZoneInfo("Africa/Nairobi"), ZoneInfo("Asia/Kolkata")
    late = datetime(2026, 11, 26, 22, 10, tzinfo=UTC)  # already the 27th in Nairobi (01:10)
    week = queries.window_for("7d", late, nairobi)
    assert week.since == datetime(2026, 11, 20, 21, tzinfo=UTC)  # Nairobi's midnight, 21 Nov
    assert week.until == datetime(2026, 11, 27, 21, tzinfo=UTC)
    assert week.labels()[-1] == "Fri\n27 Nov"
    assert week.axis_title() == "day in Africa/Nairobi (UTC+03:00)"
    month = queries.window_for("30d", late, nairobi)
    assert len(month.buckets()) == 30 and month.step == "day"
    hours = queries.window_for("24h", late, kolkata)  # 03:40 in Kolkata
    assert hours.until == datetime(2026, 11, 26, 22, 30, tzinfo=UTC)  # 04:00 local
    assert hours.labels()[-1] == "03:00\n27 Nov"
    assert queries.window_for("nonsense", late, nairobi).step == "hour"


def test_daily_buckets_count_by_the_local_day(session: Session) -> None:
    nairobi = ZoneInfo("Africa/Nairobi")
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    window = queries.last_7_days(now, nairobi)
    # 22:30 UTC on the 25th is 01:30 on the 26th in Nairobi: today's bucket, not yesterday's.
    make.message(session, datetime(2026, 11, 25, 22, 30, tzinfo=UTC), direction="in")
    make.message(session, datetime(2026, 11, 25, 20, 30, tzinfo=UTC), direction="in")
    assert queries.traffic(session, window)["sms in"] == [0, 0, 0, 0, 0, 1, 1]
    hours = queries.window_for("24h", now, ZoneInfo("Asia/Kolkata"))  # 17:30 local
    make.message(session, datetime(2026, 11, 26, 11, 40, tzinfo=UTC), direction="out")  # 17:10
    make.message(session, datetime(2026, 11, 26, 11, 20, tzinfo=UTC), direction="out")  # 16:50
    assert queries.traffic(session, hours)["sms out"][-2:] == [1, 1]


def test_traffic_counts_sms_by_channel_and_direction_and_ussd_per_hour(session: Session) -> None:
    window = queries.last_24_hours(NOW)
    make.message(session, NOW, direction="in", status="received")
    make.message(session, NOW - timedelta(minutes=39), direction="out")  # 15:01, same hour
    make.message(session, NOW - 2 * HOUR, direction="out")
    make.message(session, NOW - 2 * HOUR, direction="out", channel="whatsapp")
    make.message(session, NOW - 25 * HOUR, direction="out")  # before the window
    make.ussd(session, NOW - 3 * HOUR)
    make.ussd(session, NOW - 3 * HOUR + timedelta(minutes=10))
    series = queries.traffic(session, window)
    assert set(series) == {"sms in", "sms out", "ussd sessions", "whatsapp out"}
    assert series["sms in"][-1] == 1
    assert series["sms out"][-1] == 1 and series["sms out"][-3] == 1
    assert sum(series["sms out"]) == 2
    assert series["whatsapp out"][-3] == 1
    assert series["ussd sessions"][-4] == 2 and sum(series["ussd sessions"]) == 2


def test_traffic_per_day_over_a_week(session: Session) -> None:
    window = queries.last_7_days(NOW)
    make.message(session, NOW - timedelta(days=6), direction="in", status="received")
    make.message(session, NOW - timedelta(days=6, hours=1), direction="in", status="received")
    make.message(session, NOW - timedelta(days=8), direction="in", status="received")
    assert queries.traffic(session, window)["sms in"] == [2, 0, 0, 0, 0, 0, 0]


def test_delivery_rate_and_failures_by_reason_and_network(session: Session) -> None:
    window = queries.last_24_hours(NOW)
    for _ in range(3):
        make.message(session, NOW - HOUR, status="delivered", network_code="63902")
    make.message(session, NOW - HOUR, status="failed", error="InvalidPhoneNumber")
    make.message(
        session, NOW - HOUR, status="undelivered", error="AbsentSubscriber", network_code="63903"
    )
    make.message(
        session, NOW - HOUR, status="undelivered", error="AbsentSubscriber", network_code="63903"
    )
    make.message(session, NOW - HOUR, status="sent")  # no verdict yet: not counted
    make.message(session, NOW - HOUR, direction="in", status="received")
    stats = queries.delivery(session, window)
    assert (stats.final, stats.delivered) == (6, 3)
    assert stats.rate == 0.5
    assert stats.by_reason == [("AbsentSubscriber", 2), ("InvalidPhoneNumber", 1)]
    assert stats.by_network == [("63903", 2), ("unknown network", 1)]


def test_delivery_rate_is_unknown_without_verdicts(session: Session) -> None:
    assert queries.delivery(session, queries.last_24_hours(NOW)).rate is None


def test_costs_per_currency_for_sms_and_ussd(session: Session) -> None:
    window = queries.last_24_hours(NOW)
    make.message(session, NOW - HOUR, cost_minor=80, cost_currency="KES")
    make.message(session, NOW - HOUR, cost_minor=120, cost_currency="KES")
    make.message(session, NOW - HOUR, cost_minor=3, cost_currency="USD")
    make.message(session, NOW - 30 * HOUR, cost_minor=999, cost_currency="KES")
    make.ussd(session, NOW - HOUR, cost_minor=50, cost_currency="KES")
    assert queries.costs(session, window) == {
        "sms": [Money(200, "KES"), Money(3, "USD")],
        "ussd": [Money(50, "KES")],
    }


def test_active_workers_and_answers_per_hour(session: Session) -> None:
    window = queries.last_24_hours(NOW)
    ann, ben, cy, dan = (make.worker(session, f"+25470000010{i}") for i in range(4))
    project = make.project(session)
    make.answer(session, project, ann, NOW - HOUR)
    make.answer(session, project, ann, NOW - HOUR)
    make.answer(session, project, ben, NOW)
    make.answer(session, project, dan, NOW - 30 * HOUR)  # too long ago
    make.ussd(session, NOW - 2 * HOUR, worker_id=ben.id)
    make.message(session, NOW - 2 * HOUR, direction="in", status="received", worker_id=cy.id)
    make.message(session, NOW - 2 * HOUR, direction="out", worker_id=dan.id)  # we texted dan
    assert queries.active_workers(session, window) == 3
    per_hour = queries.answers(session, window)
    assert per_hour[-1] == 1 and per_hour[-2] == 2 and sum(per_hour) == 3


def test_payouts_by_status_and_amount(session: Session) -> None:
    ann = make.worker(session, "+254700000201")
    make.payout(session, ann, 5000, PayoutStatus.SETTLED, NOW - HOUR)
    make.payout(session, ann, 2500, PayoutStatus.SETTLED, NOW - HOUR)
    make.payout(session, ann, 1000, PayoutStatus.FAILED, NOW - HOUR)
    make.payout(session, ann, 700, PayoutStatus.SETTLED, NOW - timedelta(days=30))
    recent = queries.payouts_by_status(session, since=NOW - timedelta(days=1))
    assert [(p.status, p.count, p.amount) for p in recent] == [
        ("failed", 1, Money(1000, "KES")),
        ("settled", 2, Money(7500, "KES")),
    ]
    everything = queries.payouts_by_status(session)
    assert [(p.status, p.count) for p in everything] == [("failed", 1), ("settled", 3)]
