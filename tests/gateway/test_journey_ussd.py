"""The worker's journeys end to end through the real AT USSD webhook, in en, sw and fr."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from redis import Redis
from sqlalchemy import select, update

from core.db import utcnow
from gateway.models import Direction, Message, UssdSession
from payouts.models import PayoutStatus
from payouts.receipts import receipt_text
from tasks.assignment import expire_due
from tasks.models import Assignment
from tests.gateway.journeys import (
    GOLD,
    PIN,
    REWARD,
    REWARD_MONEY,
    TASKS,
    Handset,
    fund,
    kes,
    payouts_of,
    quiz_key,
    registered,
    t,
    worker_row,
)
from tests.gateway.web import gateway_app, messages, runtime_of
from tests.payouts.factories import wait_until
from tests.support.embedded import in_process_jobs
from tests.tasks import factories

LANGUAGE_KEYS = {"en": "1", "sw": "2", "fr": "3"}


@pytest.mark.parametrize("language", ["en", "sw", "fr"])
def test_a_new_worker_registers_qualifies_works_and_withdraws(kazi: Flask, language: str) -> None:
    phone = Handset(kazi, "+254722000001")
    assert phone.dial().startswith("CON " + t("reg.welcome", "en").split("\n")[0])
    assert t("reg.speaks", language) in phone.press(LANGUAGE_KEYS[language])
    assert t("reg.accept", language) in phone.press("1")  # tasks in this language only
    assert phone.press("1").startswith("CON " + t("reg.pin", language))
    assert t("reg.pin_again", language) in phone.press(PIN)
    body = phone.press(PIN)
    assert t("survey.baseline_offer", language) in body  # it says the PIN was saved
    body = phone.press("2")  # the impact baseline skipped (tests/impact answer it)
    assert "Gold " in body
    asked = []
    for _ in range(len(GOLD)):
        asked.append(next(q for q in GOLD if q in body))
        body = phone.press(quiz_key(body))
    assert sorted(asked) == sorted(GOLD)  # five different questions, drawn at random
    assert t("quiz.passed", language) in body and t("menu.task", language) in body
    row = worker_row(kazi, phone.phone)
    assert row.language == language and row.registered_at and row.qualified_at

    assert TASKS[0] in phone.press("1")
    body = phone.press("2")  # answered: paid at once, and the next task follows
    assert t("task.saved", language, reward=REWARD_MONEY) in body and TASKS[1] in body
    assert t("menu.title", language) in phone.press("00")
    body = phone.press("2")
    assert kes(REWARD.amount, language) in body and t("menu.withdraw", language) in body
    assert t("menu.title", language) in phone.press("0")
    assert kes(REWARD.amount, language) in phone.press("3")
    assert phone.press("1").startswith("CON " + t("withdraw.pin", language, amount=REWARD_MONEY))
    assert phone.press(PIN) == "END " + t("withdraw.done", language, amount=REWARD_MONEY)

    [payout] = payouts_of(kazi, phone.phone)
    assert payout.amount_minor == REWARD.amount
    wait_until(lambda: payouts_of(kazi, phone.phone)[0].status is PayoutStatus.SETTLED)
    in_process_jobs(runtime_of(kazi)).drain()
    sent = [m.body for m in messages(kazi) if m.direction == Direction.OUTBOUND]
    settled = payouts_of(kazi, phone.phone)[0]
    assert sent == [
        t("quiz.welcome_sms", language, ussd_code="*384*12#"),
        receipt_text(settled, language),
    ]


def test_a_failed_quiz_ends_politely_and_cannot_be_retaken_at_once(kazi: Flask) -> None:
    phone = Handset(kazi, "+254722000002")
    phone.dial()
    for key in ("1", "1", "1", PIN, PIN):
        phone.press(key)
    body = phone.press("2")  # the impact baseline skipped
    for _ in range(len(GOLD) - 1):
        body = phone.press(quiz_key(body, right=False))
    assert phone.press(quiz_key(body)) == "END " + t("quiz.failed", "en")
    assert phone.dial() == "END " + t("quiz.failed", "en")
    assert worker_row(kazi, phone.phone).qualified_at is None


def test_a_worker_who_declines_the_terms_is_not_registered(kazi: Flask) -> None:
    phone = Handset(kazi, "+254722000003")
    phone.dial()
    phone.press("2")
    phone.press("1")
    assert phone.press("2") == "END " + t("reg.declined", "sw", ussd_code="*384*12#")
    row = worker_row(kazi, phone.phone)
    assert (row.language, row.consented_at, row.registered_at) == ("sw", None, None)


def test_a_redial_after_a_drop_resumes_the_task_in_hand(kazi: Flask) -> None:
    registered(kazi, "+254722000004", "fr")
    phone = Handset(kazi, "+254722000004")
    phone.dial()
    assert TASKS[0] in phone.press("1")
    body = phone.dial()  # the call dropped; a new session id, the same phone
    assert body.startswith("CON " + t("task.resumed", "fr")) and TASKS[0] in body
    assert TASKS[1] in phone.press("1")  # the answer lands on the resumed task


def test_two_sessions_of_one_worker_at_once_keep_their_own_screens(kazi: Flask) -> None:
    registered(kazi, "+254722000005")
    first, second = Handset(kazi, "+254722000005"), Handset(kazi, "+254722000005")
    first.dial()
    second.dial()
    assert TASKS[0] in first.press("1")
    assert kes(0, "en") in second.press("2")  # earnings, while the first holds a task
    body = first.press("1")
    assert t("task.saved", "en", reward=REWARD_MONEY) in body and TASKS[1] in body
    assert t("menu.title", "en") in second.press("0")
    assert kes(REWARD.amount, "en") in second.press("2")
    with runtime_of(kazi).sessions() as session:
        statuses = session.scalars(select(Assignment.status).order_by(Assignment.id)).all()
    assert statuses == ["answered", "reserved"]


def test_a_reservation_expiring_on_the_task_screen_gives_a_clear_message_and_a_new_task(
    kazi: Flask,
) -> None:
    registered(kazi, "+254722000006", "sw")
    phone = Handset(kazi, "+254722000006")
    phone.dial()
    assert TASKS[0] in phone.press("1")
    now = utcnow()
    with runtime_of(kazi).sessions.begin() as session:
        # The worker left the screen open past the reservation; the expiry sweep ran.
        session.execute(update(Assignment).values(expires_at=now - timedelta(seconds=1)))
        assert expire_due(session, now) == 1
    body = phone.press("1")
    assert t("task.expired", "sw") in body and TASKS[1] in body


def test_flask_simulate_plays_a_script_through_the_webhooks(kazi: Flask) -> None:
    registered(kazi, "+254711000001")
    runner = kazi.test_cli_runner()
    args = ["simulate", "--phone", "0711000001", "--input", "1", "--input", "1"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert t("menu.title", "en") in result.output and TASKS[1] in result.output
    sms = runner.invoke(
        args=["simulate", "--phone", "+254711000001", "--channel", "sms", "--input", "BAL"]
    )
    assert (
        sms.exit_code == 0
        and f"SMS from Kazi: {t('earnings.show', 'en').split(':')[0]}" in sms.output
    )


def test_flask_simulate_sends_the_sms_its_hops_queued_and_ends_its_sessions(kazi: Flask) -> None:
    registered(kazi, "+254711000002")
    runner = kazi.test_cli_runner()
    result = runner.invoke(args=["simulate", "--phone", "+254711000002", "--input", "5"])
    assert result.exit_code == 0, result.output
    help_sms = t("help.sms", "en", ussd_code="*384*12#").split(":")[0]
    assert f"SMS from Kazi: {help_sms}" in result.output  # the help screen's SMS, sent
    with runtime_of(kazi).sessions() as session:
        sent = session.scalars(
            select(Message.status).where(
                Message.phone == "+254711000002", Message.direction == Direction.OUTBOUND
            )
        ).all()
        ended = session.scalars(
            select(UssdSession).where(UssdSession.phone == "+254711000002")
        ).all()
    assert sent and "queued" not in sent
    # Left on the help menu: hung up, as AT reports a session cut while a menu waited.
    assert [(s.end_status, s.hops) for s in ended] == [("incomplete", 2)]
    assert in_process_jobs(runtime_of(kazi)).drain(timeout=0.1)


def test_an_answer_held_for_a_quality_check_says_so_instead_of_a_reward(kazi: Flask) -> None:
    from tasks.models import Project

    with runtime_of(kazi).sessions.begin() as session:
        session.execute(update(Project).values(min_seconds_per_answer=60.0))
    registered(kazi, "+254722000007")
    phone = Handset(kazi, "+254722000007")
    phone.dial()
    phone.press("1")
    body = phone.press("1")  # far faster than 60 s: held for review, not paid
    assert t("task.saved_review", "en") in body and TASKS[1] in body


def test_on_redis_the_session_and_the_resume_point_live_in_redis_with_a_ttl(
    committed_url: str, redis_client: Redis, redis_url: str
) -> None:
    app = gateway_app(committed_url, redis_url=redis_url)
    try:
        with runtime_of(app).sessions.begin() as session:
            factories.project(session, texts=TASKS, reward=REWARD)
        worker = registered(app, "+254722000008")
        phone = Handset(app, "+254722000008")
        phone.dial()
        assert TASKS[0] in phone.press("1")
        keys = {
            k.decode() if isinstance(k, bytes) else k for k in redis_client.keys("kazi:flows:*")
        }
        assert keys == {
            f"kazi:flows:ussd:africastalking:{phone.session_id}",
            f"kazi:flows:resume:{worker.id}",
        }
        assert 0 < redis_client.ttl(f"kazi:flows:resume:{worker.id}") <= 10 * 60
        assert TASKS[0] in phone.dial()  # a new session finds the task in Redis
    finally:
        runtime_of(app).engine.dispose()  # rq holds the jobs: nothing runs in-process


def test_three_wrong_pins_on_ussd_lock_withdrawals(kazi: Flask) -> None:
    worker = registered(kazi, "+254722000009", "fr")
    fund(kazi, worker.id)
    phone = Handset(kazi, "+254722000009")
    phone.dial()
    phone.press("3")
    phone.press("1")
    body = phone.press("1111")
    assert body.startswith("CON " + t("withdraw.wrong_pin", "fr", attempts_left=2))
    assert t("withdraw.wrong_pin", "fr", attempts_left=1) in phone.press("2222")
    assert phone.press("3333") == "END " + t("withdraw.locked", "fr")
    in_process_jobs(runtime_of(kazi)).drain()
    sent = [m.body for m in messages(kazi) if m.direction == Direction.OUTBOUND]
    assert sent == [t("payout.pin_locked_minutes", "fr", minutes=30)]  # in French, by SMS
    for key in ("", "3", "1", PIN):  # even the right PIN, on a new session
        body = phone.press(key) if key else phone.dial()
    assert body == "END " + t("withdraw.locked", "fr")
    assert payouts_of(kazi, phone.phone) == []
