"""A worker's work record and learning from mistakes, through the real USSD and SMS webhooks:
a missed gold task shows its right answer and reason, RECORD sends the record with a code,
and ``/verify/<code>`` shows an employer the same facts, and nothing else."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import inspect, select, update

from core.medium import sms_segments
from tasks import reputation
from tasks.answers import TaskType
from tasks.models import Task, WorkRecord
from tasks.work_record import accuracy_band, normalise_code
from tests.gateway.journeys import PIN, REWARD, Handset, registered, t, worker_row
from tests.gateway.web import close_app, gateway_app, runtime_of
from tests.support.embedded import console_sms
from tests.tasks import factories

GOLD_A = "Gold: the first letter"
GOLD_B = "Gold: the second letter"
REASONS = {GOLD_A: "A comes first in the alphabet.", GOLD_B: "B follows A."}
SKY = "Is the sky blue on a clear day?"
URL = re.compile(r"https://kazi\.example\.org/verify/([0-9A-Z]{10})")


def _with_reasons(app: Flask, reasons: dict[str, str]) -> None:
    with runtime_of(app).sessions.begin() as session:
        for text, reason in reasons.items():
            session.execute(update(Task).where(Task.text == text).values(gold_reason=reason))


@pytest.fixture
def gold_app(committed_url: str) -> Iterator[Flask]:
    """The app with a project that serves its gold first, each gold task with a reason."""
    app = gateway_app(committed_url, payout_sandbox_delay_seconds=0.0, verify_lookups_per_minute=5)
    with runtime_of(app).sessions.begin() as session:
        owner, _ = factories.requester(session)
        factories.project(
            session,
            owner,
            gold={GOLD_A: "A", GOLD_B: "B"},
            gold_rate=1.0,
            reward=REWARD,
            languages=["en", "sw", "fr"],
        )
    _with_reasons(app, REASONS)
    yield app
    close_app(app)


def _worker_answers_both_gold(app: Flask, phone: str, language: str) -> list[str]:
    """Answer the two gold tasks, the first right and the second wrong; the screens seen."""
    registered(app, phone, language)
    handset = Handset(app, phone)
    handset.dial()
    first = handset.press("1")
    assert GOLD_A in first, first
    second = handset.press("1")  # A: right
    assert GOLD_B in second, second
    after = handset.press("3")  # C: wrong, B was right
    return [second, after]


@pytest.mark.parametrize("language", ["en", "sw", "fr"])
def test_a_missed_gold_task_shows_the_right_answer_and_the_reason_next(
    gold_app: Flask, language: str
) -> None:
    right, wrong = _worker_answers_both_gold(gold_app, "+254745000001", language)
    missed = t("task.missed", language, right_answer="B", gold_reason=REASONS[GOLD_B])
    assert missed in wrong
    assert t("task.missed", language, right_answer="A", gold_reason=REASONS[GOLD_A]) not in right
    assert t("task.saved", language, reward={"amount": REWARD.amount, "currency": "KES"}) in right


def test_a_missed_yes_no_gold_names_the_answer_in_the_workers_language(
    committed_url: str,
) -> None:
    app = gateway_app(committed_url)
    try:
        with runtime_of(app).sessions.begin() as session:
            factories.project(
                session,
                task_type=TaskType.YES_NO,
                options=[],
                gold={SKY: "yes"},
                gold_rate=1.0,
                languages=["sw"],
            )
        registered(app, "+254745000002", "sw")
        handset = Handset(app, "+254745000002")
        handset.dial()
        assert SKY in handset.press("1")
        body = handset.press("2")  # "no"; the gold says yes
        assert t("task.missed", "sw", right_answer=t("task.yes", "sw"), gold_reason="") in body
    finally:
        close_app(app)


def test_the_earnings_screen_shows_accuracy_and_offers_a_tip(gold_app: Flask) -> None:
    _worker_answers_both_gold(gold_app, "+254745000003", "en")
    handset = Handset(gold_app, "+254745000003")
    handset.dial()
    body = handset.press("2")
    assert "Accuracy: " in body and "Accuracy: -" not in body
    assert t("earnings.tip", "en") in body
    tip = handset.press("2")
    assert any(t(f"earnings.tip_{k}", "en") in tip for k in ("low", "good")), tip


def test_a_new_workers_tip_says_test_tasks_exist(gold_app: Flask) -> None:
    registered(gold_app, "+254745000004", "fr")
    handset = Handset(gold_app, "+254745000004")
    handset.dial()
    handset.press("2")
    assert t("earnings.tip_new", "fr") in handset.press("2")


def _expected_record(app: Flask, phone: str, language: str, code: str) -> str:
    worker = worker_row(app, phone)
    with runtime_of(app).sessions() as session:
        band = accuracy_band(reputation.headline(session, worker.id))
    return t(
        "record.sms",
        language,
        tasks=2,
        months=1,
        accuracy_band=band,
        earned=[{"amount": 2 * REWARD.amount, "currency": "KES"}],
        verify_url=f"https://kazi.example.org/verify/{code}",
    )


@pytest.mark.parametrize("language", ["en", "sw", "fr"])
def test_record_by_sms_sends_the_facts_with_a_code_that_verifies_them(
    gold_app: Flask, language: str
) -> None:
    phone = "+254745000005"
    _worker_answers_both_gold(gold_app, phone, language)
    [reply] = Handset(gold_app, phone).sms("RECORD")
    [code] = URL.findall(reply)
    assert reply == _expected_record(gold_app, phone, language, code)
    assert sms_segments(reply) <= 2
    client = gold_app.test_client()
    page = client.get(f"/verify/{code}")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "Tasks done</dt><dd>2<" in html and "KES 40.00" in html
    assert "254745000005" not in html
    shown = client.get(f"/verify/{code.lower()}", headers={"Accept": "application/json"})
    assert shown.status_code == 200
    body = shown.json or {}
    assert body["tasks_done"] == 2 and body["months_active"] == 1
    assert body["earned"] == [{"amount": 2 * REWARD.amount, "currency": "KES"}]
    assert set(body) == {
        "tasks_done",
        "months_active",
        "accuracy_band",
        "earned",
        "issued_at",
    }


def test_the_record_keeps_no_phone_number_and_only_a_digest_of_the_code(
    gold_app: Flask,
) -> None:
    _worker_answers_both_gold(gold_app, "+254745000006", "en")
    [reply] = Handset(gold_app, "+254745000006").sms("RECORD")
    [code] = URL.findall(reply)
    with runtime_of(gold_app).sessions() as session:
        [row] = session.scalars(select(WorkRecord))
        values = [str(getattr(row, c.key)) for c in inspect(WorkRecord).columns]
    assert not any(code in v or "254745000006" in v for v in values)


def test_my_record_from_the_ussd_help_screen_arrives_by_sms(gold_app: Flask) -> None:
    phone = "+254745000007"
    _worker_answers_both_gold(gold_app, phone, "sw")
    handset = Handset(gold_app, phone)
    handset.dial()
    assert t("menu.record", "sw") in handset.press("5")
    assert t("record.sent", "sw") in handset.press("1")
    handset.replies()
    sent = [m.body for m in console_sms(runtime_of(gold_app)).outbox if m.to == phone]
    assert sent[0] == t("help.sms", "sw", ussd_code="*384*12#")  # the help screen's own SMS
    [sms] = sent[1:]
    [code] = URL.findall(sms)
    assert sms == _expected_record(gold_app, phone, "sw", code)


@pytest.mark.parametrize("code", ["ZZZZZZZZZZ", "short", "ABCDEFGHJK-extra", "%00"])
def test_unknown_or_malformed_codes_are_404_in_html_and_json(gold_app: Flask, code: str) -> None:
    client = gold_app.test_client()
    assert client.get(f"/verify/{code}").status_code == 404
    response = client.get(f"/verify/{code}", headers={"Accept": "application/json"})
    assert response.status_code == 404 and (response.json or {})["error"]["code"] == "not_found"


def test_lookups_are_limited_per_client_address(gold_app: Flask) -> None:
    client = gold_app.test_client()
    here = {"REMOTE_ADDR": "198.51.100.7"}
    codes = [client.get("/verify/ZZZZZZZZZZ", environ_base=here).status_code for _ in range(6)]
    assert codes == [404] * 5 + [429]
    elsewhere = client.get("/verify/ZZZZZZZZZZ", environ_base={"REMOTE_ADDR": "198.51.100.8"})
    assert elsewhere.status_code == 404


def test_codes_read_as_crockford_base32() -> None:
    assert normalise_code("abcd-efgh-jk") == "ABCDEFGHJK"
    assert normalise_code("O1IL000000") == "0111000000"
    assert normalise_code("ABCDEFGHJU") is None  # U is not in the alphabet
    assert accuracy_band(0.9) == "90%+" and accuracy_band(0.89) == "75-89%"
    assert accuracy_band(0.1) == "<50%" and accuracy_band(None) is None


def test_a_forgotten_workers_record_no_longer_verifies(gold_app: Flask) -> None:
    phone = "+254745000008"
    _worker_answers_both_gold(gold_app, phone, "en")
    handset = Handset(gold_app, phone)
    [reply] = handset.sms("RECORD")
    [code] = URL.findall(reply)
    assert gold_app.test_client().get(f"/verify/{code}").status_code == 200
    handset.sms(f"DELETE {PIN}")
    assert gold_app.test_client().get(f"/verify/{code}").status_code == 404
