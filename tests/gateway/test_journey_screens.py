"""Task screens that hold up in real use, through the real AT USSD webhook, in en, sw and fr:
a wrong key keeps the task on one page, and options never page away from their question."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from core.medium import USSD_MAX_TEXT
from core.money import Money
from tests.gateway.journeys import REWARD, REWARD_MONEY, Handset, registered, t
from tests.gateway.web import close_app, gateway_app, runtime_of
from tests.tasks import factories

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
