"""Task screens that hold up in real use, through the real AT USSD webhook, in en, sw and fr:
a wrong key keeps the task on one page, and options never page away from their question."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from core.db import utcnow
from core.localtime import next_local_midnight, zone_of_country
from core.medium import USSD_MAX_TEXT
from core.money import Money
from kazi.intent_host import LANGUAGE_RETRY_HOURS
from tasks.models import Assignment, Task
from tests.gateway.journeys import REWARD, REWARD_MONEY, Handset, registered, t, worker_row
from tests.gateway.web import close_app, gateway_app, outbox, runtime_of
from tests.tasks import factories
from workers.models import Worker
from workers.services import set_blocked

FEELINGS = ["Very happy", "Happy", "Unhappy", "Angry"]
INSTRUCTIONS = "Pick the closest answer."
REVIEWS = [
    "Review: the food came hot and the driver was kind",
    "Review: the rice was cold and the order came late",
]
#: A question that fits a page alone, but not with its options.
LONG = (
    "Review: I ordered two meals for my family at noon and waited until three in the "
    "afternoon, and when the rider came he said the shop had"
)


@pytest.fixture
def screens(committed_url: str) -> Iterator[Flask]:
    app = gateway_app(committed_url, payout_sandbox_delay_seconds=0.0)
    with runtime_of(app).sessions.begin() as session:
        owner, _ = factories.requester(session)
        factories.project(
            session,
            owner,
            texts=REVIEWS,
            instructions=INSTRUCTIONS,
            options=FEELINGS,
            reward=REWARD,
            budget=Money(100_000, "KES"),
            languages=[],
        )
    yield app
    close_app(app)


def _options_of(body: str) -> list[str]:
    return [line for line in body.split("\n") if line[:2] in {"1 ", "2 ", "3 ", "4 "}]


@pytest.mark.parametrize("language", ["en", "sw", "fr"])
def test_a_wrong_key_after_saved_keeps_the_task_and_its_options_on_one_page(
    screens: Flask, language: str
) -> None:
    registered(screens, "+254722100001", language)
    phone = Handset(screens, "+254722100001")
    phone.dial()
    assert REVIEWS[0] in phone.press("1")
    body = phone.press("2")
    saved = t("task.saved", language, reward=REWARD_MONEY)
    assert saved in body and REVIEWS[1] in body and len(_options_of(body)) == 4
    error = t("error.choice", language, max=4)
    # Saved and the error both above the task would not fit one screen: the case at hand.
    assert len(body) - 4 + len(error) + 1 > USSD_MAX_TEXT
    body = phone.press("7")
    assert body.startswith(f"CON {error}\n"), body
    assert saved not in body and t("nav.more", language) not in body
    assert REVIEWS[1] in body and len(_options_of(body)) == 4


@pytest.mark.parametrize("language", ["en", "sw", "fr"])
def test_a_task_that_pages_shows_its_options_with_their_question(
    committed_url: str, language: str
) -> None:
    app = gateway_app(committed_url)
    try:
        with runtime_of(app).sessions.begin() as session:
            factories.project(
                session, texts=[LONG], instructions="", options=FEELINGS, languages=[]
            )
        registered(app, "+254722100002", language)
        phone = Handset(app, "+254722100002")
        phone.dial()
        first = phone.press("1")
        assert first.endswith(t("nav.more", language)) and not _options_of(first)
        second = phone.press("98")
        assert len(_options_of(second)) == 4
        assert second.split("\n")[0].startswith("CON ") and "the shop had" in second
        assert phone.press("99") == first
    finally:
        close_app(app)


# -- task content in the worker's language ------------------------------------------------

REVIEW_PROJECT: dict[str, Any] = {
    "name": "Reviews in three languages",
    "task_type": "single_choice",
    "instructions": "Is this review positive?",
    "options": ["Positive", "Negative"],
    "translations": {
        "sw": {"instructions": "Je, maoni haya ni mazuri?", "options": ["Mazuri", "Mabaya"]},
        "fr": {"instructions": "Cet avis est-il positif?", "options": ["Positif", "Negatif"]},
    },
    "reward": {"amount": 2000, "currency": "KES"},
    "budget": {"amount": 100_000, "currency": "KES"},
    "answers_per_task": 3,
    "gold_rate": 0,
    "min_seconds_per_answer": 0,
    "languages": ["en", "sw", "fr"],
    "countries": ["KE"],
}
#: One task per language, uploaded with its language field.
TEXT_IN = {"en": "Review: great food", "sw": "Maoni: chakula kizuri", "fr": "Avis: bonne cuisine"}
SHOWN = {
    "en": ("Is this review positive?", ["1 Positive", "2 Negative"]),
    "sw": ("Je, maoni haya ni mazuri?", ["1 Mazuri", "2 Mabaya"]),
    "fr": ("Cet avis est-il positif?", ["1 Positif", "2 Negatif"]),
}


def _requester_key(app: Flask) -> str:
    with runtime_of(app).sessions.begin() as session:
        requester, key = factories.requester(session)
        factories.fund(session, requester.id, Money(5_000_000, "KES"))
    return key


def _create_reviews(app: Flask) -> tuple[int, dict[str, str]]:
    """The project and its tasks, through the requester API as a requester would."""
    client, headers = app.test_client(), {"Authorization": f"Bearer {_requester_key(app)}"}
    created = client.post("/api/v1/projects", json=REVIEW_PROJECT, headers=headers)
    assert created.status_code == 201, created.json
    project = created.get_json()
    assert project["translations"] == REVIEW_PROJECT["translations"]
    rows = [{"text": text, "language": code} for code, text in TEXT_IN.items()]
    uploaded = client.post(f"/api/v1/projects/{project['id']}/tasks", json=rows, headers=headers)
    assert uploaded.status_code in (200, 201), uploaded.json
    return int(project["id"]), headers


def _answers(app: Flask) -> list[tuple[str, str | None]]:
    with runtime_of(app).sessions() as session:
        rows = session.execute(
            select(Task.text, Assignment.answer).join(Assignment, Assignment.task_id == Task.id)
        )
        return [(text, answer) for text, answer in rows]


@pytest.mark.parametrize("language", ["en", "sw", "fr"])
def test_a_worker_gets_tasks_in_their_language_with_its_instructions_and_options(
    web: Flask, language: str
) -> None:
    _create_reviews(web)
    registered(web, "+254722100010", language)  # task languages: the screen language
    phone = Handset(web, "+254722100010")
    phone.dial()
    body = phone.press("1")
    instructions, options = SHOWN[language]
    assert TEXT_IN[language] in body and instructions in body
    assert _options_of(body) == options
    others = [text for code, text in TEXT_IN.items() if code != language]
    assert not any(text in body for text in others)
    body = phone.press("1")
    # Recorded as the project's own option, whatever the label shown.
    assert _answers(web) == [(TEXT_IN[language], "Positive")]
    # The other two tasks are in languages this worker does not do tasks in.
    hours = LANGUAGE_RETRY_HOURS
    assert t("task.no_language", language, retry_hours=hours) in body, body


def test_a_project_refuses_translations_that_do_not_match_its_options(web: Flask) -> None:
    client, headers = web.test_client(), {"Authorization": f"Bearer {_requester_key(web)}"}
    bad = {**REVIEW_PROJECT, "translations": {"sw": {"options": ["Mazuri"]}}}
    response = client.post("/api/v1/projects", json=bad, headers=headers)
    # The tasks service names the field (the status follows its error class).
    assert response.status_code in (400, 422)
    assert "translations.sw.options" in response.get_data(True)
    bad = {**REVIEW_PROJECT, "translations": {"xx": {"instructions": "?"}}}
    response = client.post("/api/v1/projects", json=bad, headers=headers)
    assert response.status_code in (400, 422) and "ISO 639-1" in response.get_data(True)


def test_an_upload_refuses_a_language_that_is_not_iso_639_1(web: Flask) -> None:
    pid, headers = _create_reviews(web)
    rows = [{"text": "a", "language": "swahili"}, {"text": "b", "language": "de"}]
    response = web.test_client().post(f"/api/v1/projects/{pid}/tasks", json=rows, headers=headers)
    assert response.status_code == 422, response.json
    text = response.get_data(True)
    assert "ISO 639-1" in text and "not one of the project's languages" in text


@pytest.mark.parametrize(
    ("language", "key", "languages"),
    [("en", "3", ["en", "sw"]), ("sw", "5", ["sw", "en", "fr"]), ("fr", "1", ["fr"])],
)
def test_registration_asks_the_task_languages_and_the_terms_come_by_sms(
    kazi: Flask, language: str, key: str, languages: list[str]
) -> None:
    phone = Handset(kazi, "+254722100020")
    phone.dial()
    body = phone.press({"en": "1", "sw": "2", "fr": "3"}[language])
    assert t("reg.speaks", language) in body and t("lang.only", language) in body
    body = phone.press(key)
    assert worker_row(kazi, phone.phone).languages == languages
    # The key terms on the screen, and no URL a feature phone cannot open.
    assert t("reg.terms", language) in body and "http" not in body and "kazi.work" not in body
    body = phone.press("3")
    assert body.startswith(f"CON {t('reg.terms_sent', language)}\n{t('reg.terms', language)}")
    [(to, sms)] = outbox(kazi)
    assert to == phone.phone and sms == t("reg.terms_sms", language, terms_url="kazi.work/terms")
    assert phone.press("1").startswith("CON " + t("reg.pin", language))  # and on it goes


@pytest.mark.parametrize("language", ["en", "sw", "fr"])
def test_task_languages_change_in_the_language_menu(kazi: Flask, language: str) -> None:
    registered(kazi, "+254722100030", language)
    phone = Handset(kazi, "+254722100030")
    phone.dial()
    assert t("lang.tasks", language) in phone.press("4")
    assert t("lang.speaks", language) in phone.press("4")
    body = phone.press("5")
    assert t("lang.tasks_saved", language) in body and t("menu.title", language) in body
    assert worker_row(kazi, phone.phone).languages[0] == language
    assert sorted(worker_row(kazi, phone.phone).languages) == ["en", "fr", "sw"]


# -- refusals say why ----------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "sw", "fr"])
def test_a_blocked_worker_is_told_so(kazi: Flask, language: str) -> None:
    worker = registered(kazi, "+254722100040", language)
    with runtime_of(kazi).sessions.begin() as session:
        set_blocked(session, worker.id, blocked=True, reason="fraud review")
    phone = Handset(kazi, "+254722100040")
    phone.dial()
    body = phone.press("1")
    assert body == f"CON {t('task.blocked', language)}\n{t('nav.back', language)}"


@pytest.mark.parametrize("language", ["en", "sw", "fr"])
def test_a_worker_suspended_for_quality_is_told_why(kazi: Flask, language: str) -> None:
    worker = registered(kazi, "+254722100050", language)
    with runtime_of(kazi).sessions.begin() as session:
        row = session.get_one(Worker, worker.id)
        row.suspended_at, row.suspension_reason = utcnow(), "too_fast"
    phone = Handset(kazi, "+254722100050")
    assert t("suspended.too_fast", language) in phone.dial()


@pytest.mark.parametrize("language", ["en", "sw", "fr"])
def test_the_daily_cap_says_when_to_come_back(committed_url: str, language: str) -> None:
    app = gateway_app(committed_url, task_daily_cap=1)
    try:
        with runtime_of(app).sessions.begin() as session:
            factories.project(session, texts=REVIEWS, options=FEELINGS, languages=[])
        registered(app, "+254722100060", language)
        phone = Handset(app, "+254722100060")
        phone.dial()
        assert REVIEWS[0] in phone.press("1")
        body = phone.press("1")  # the day's one answer: the cap is reached
        now = utcnow()
        midnight = next_local_midnight(zone_of_country("KE"), now)
        hours = math.ceil((midnight - now).total_seconds() / 3600)
        assert any(t("task.daily_cap", language, retry_hours=h) in body for h in (hours, hours + 1))
        assert REVIEWS[1] not in body
    finally:
        close_app(app)
