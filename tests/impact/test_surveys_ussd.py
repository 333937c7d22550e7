"""Impact surveys through the real AT USSD webhook: the baseline (taken, skipped) at
registration, and a follow-up offered on a dial once due, its fee credited once."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select, update

from core.db import utcnow
from core.localtime import zone_of_country
from core.money import Money
from impact import surveys
from impact.models import SurveyKind, SurveyResponse
from ledger import services as ledger
from ledger.models import LedgerTransaction
from tests.gateway.journeys import PIN, Handset, quiz_key, registered, t, worker_row
from tests.gateway.web import runtime_of
from workers.models import Worker

FEE = {"amount": 2_000, "currency": "KES"}  # IMPACT_SURVEY_FEES' default for KES


def responses(app: Flask, worker_id: int) -> list[SurveyResponse]:
    with runtime_of(app).sessions() as session:
        stmt = select(SurveyResponse).where(SurveyResponse.worker_id == worker_id)
        return list(session.scalars(stmt.order_by(SurveyResponse.id)))


def wallet(app: Flask, worker_id: int) -> int:
    with runtime_of(app).sessions() as session:
        return ledger.balance(session, ledger.worker_wallet(session, worker_id, "KES")).amount


def register_to_baseline(phone: Handset) -> str:
    """Language (English), terms accepted, the PIN twice: the screen after the PIN."""
    phone.dial()
    phone.press("1")  # English
    phone.press("1")  # tasks in English only
    phone.press("1")  # the terms accepted
    phone.press(PIN)
    return phone.press(PIN)


def test_a_new_worker_answers_the_baseline_then_takes_the_quiz(kazi: Flask) -> None:
    phone = Handset(kazi, "+254722000101")
    body = register_to_baseline(phone)
    assert body == "CON " + t("survey.baseline_offer", "en") + "\n1 Yes\n2 Skip"
    assert t("survey.q_source", "en") in phone.press("1")
    body = phone.press("2")  # own business
    assert t("survey.q_band", "en", cur="KES") in body and "2 KES" not in body
    assert "1 Under 2,000" in body and "5 Over 20,000" in body
    assert t("survey.q_hours", "en") in phone.press("3")  # KES 5,000-10,000
    assert t("survey.q_household", "en") in phone.press("4")  # 21-40 hours
    assert "1 to 30" in phone.press("31")  # more than the household limit
    body = phone.press("5")
    assert t("survey.thanks", "en") in body and "Gold " in body  # on to the quiz

    worker = worker_row(kazi, phone.phone)
    [row] = responses(kazi, worker.id)
    assert (row.kind, row.wave, row.consent, row.survey_version) == ("baseline", 0, True, "1")
    assert (row.income_source, row.income_band, row.income_currency) == ("business", 3, "KES")
    assert (row.hours_band, row.household_size, row.new_work) == (3, 5, None)
    assert row.fee_reference is None
    assert wallet(kazi, worker.id) == 0  # the baseline pays no fee


def test_skipping_the_baseline_records_the_refusal_and_goes_on_to_the_quiz(kazi: Flask) -> None:
    phone = Handset(kazi, "+254722000102")
    register_to_baseline(phone)
    body = phone.press("2")
    assert "Gold " in body and t("survey.thanks", "en") not in body
    for _ in range(5):
        body = phone.press(quiz_key(body))
    assert t("quiz.passed", "en") in body  # skipping cost nothing
    [row] = responses(kazi, worker_row(kazi, phone.phone).id)
    assert row.consent is False and row.consented_at is not None
    assert row.income_band is None and row.income_source is None and row.household_size is None


def _registered_days_ago(app: Flask, phone: str, days: int) -> Worker:
    worker = registered(app, phone)
    with runtime_of(app).sessions.begin() as session:
        since = utcnow() - timedelta(days=days)
        session.execute(update(Worker).where(Worker.id == worker.id).values(registered_at=since))
    return worker


def test_no_follow_up_is_offered_before_the_configured_time(kazi: Flask) -> None:
    _registered_days_ago(kazi, "+254722000103", 89)
    assert Handset(kazi, "+254722000103").dial().startswith("CON " + t("menu.title", "en"))


def test_a_due_follow_up_is_offered_once_a_day_and_pays_its_fee_once(kazi: Flask) -> None:
    worker = _registered_days_ago(kazi, "+254722000104", 91)
    phone = Handset(kazi, worker.msisdn)
    body = phone.dial()
    assert body.startswith("CON " + t("survey.followup_offer_paid", "en", fee=FEE))
    assert t("menu.title", "en") in phone.press("2")  # Later
    # Put off: not asked again today.
    assert phone.dial().startswith("CON " + t("menu.title", "en"))
    assert responses(kazi, worker.id) == []

    # The next local day it is offered again (the day's mark is what a day lapsing clears).
    day = utcnow().astimezone(zone_of_country("KE")).date().isoformat()
    runtime_of(kazi).store.delete(surveys.OFFER_KEY.format(worker_id=worker.id, day=day))
    assert t("survey.followup_offer_paid", "en", fee=FEE) in phone.dial()
    assert t("survey.q_source", "en") in phone.press("1")
    assert t("survey.q_band", "en", cur="KES") in phone.press("3")  # casual work
    assert t("survey.q_hours", "en") in phone.press("4")
    assert t("survey.q_new_work", "en") in phone.press("5")
    body = phone.press("2")  # studies or training
    assert t("survey.paid", "en", paid=FEE) in body and t("menu.task", "en") in body
    [row] = responses(kazi, worker.id)
    assert (row.kind, row.wave, row.consent) == ("followup", 90, True)
    assert (row.income_source, row.income_band, row.hours_band, row.new_work) == (
        "casual",
        4,
        4,
        "study",
    )
    assert row.household_size is None and row.fee_reference
    assert wallet(kazi, worker.id) == FEE["amount"]

    # Answered: no second offer, and completing it again pays nothing more.
    assert phone.dial().startswith("CON " + t("menu.title", "en"))
    answers = surveys.SurveyAnswers(SurveyKind.FOLLOWUP, 90, True, "KES", income_band=4)
    with runtime_of(kazi).sessions.begin() as session:
        again = surveys.save_response(
            session, session.get_one(Worker, worker.id), answers, utcnow(), Money(2_000, "KES")
        )
        assert again.paid is None and again.response.id == row.id
    assert wallet(kazi, worker.id) == FEE["amount"]
    with runtime_of(kazi).sessions() as session:
        fees = session.scalars(
            select(LedgerTransaction).where(LedgerTransaction.kind == ledger.SURVEY_FEE)
        )
        assert len(list(fees)) == 1


def test_the_latest_due_wave_is_asked_and_earlier_ones_are_not(kazi: Flask) -> None:
    worker = _registered_days_ago(kazi, "+254722000105", 200)
    phone = Handset(kazi, worker.msisdn)
    phone.dial()
    for key in ("1", "1", "1", "1", "4"):
        body = phone.press(key)
    assert t("survey.paid", "en", paid=FEE) in body
    [row] = responses(kazi, worker.id)
    assert row.wave == 180
    assert phone.dial().startswith("CON " + t("menu.title", "en"))  # 90 is not asked after 180
