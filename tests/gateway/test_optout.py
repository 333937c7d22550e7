from __future__ import annotations

import pytest

from gateway.optout import START_KEYWORDS, STOP_KEYWORDS, OptIntent, normalize_keyword, opt_intent


@pytest.mark.parametrize(
    "text",
    ["STOP", "stop", " Stop ", "STOP!", "stop.", "UNSUBSCRIBE", "Cancel", "END", "quit",
     "STOPALL", "opt  out", "ACHA", "acha", "Sitisha", "ARRÊT", "arret", "Arrêter",
     "STOPPER", "désabonner", "ＳＴＯＰ"],
)  # fmt: skip
def test_opt_out_keywords(text: str) -> None:
    assert opt_intent(text) is OptIntent.OPT_OUT


@pytest.mark.parametrize(
    "text", ["START", "start", "Unstop", "ANZA", "anza!", "DÉMARRER", "demarrer", "Commencer"]
)
def test_opt_in_keywords(text: str) -> None:
    assert opt_intent(text) is OptIntent.OPT_IN


@pytest.mark.parametrize(
    "text",
    ["YES", "1", "TASK", "stop please", "don't stop", "END 3", "STOP 42", "", "   ", "stopp",
     "BAL", "PAY 100 1234"],
)  # fmt: skip
def test_other_messages_are_not_keywords(text: str) -> None:
    assert opt_intent(text) is None


def test_lists_are_normalised_and_disjoint() -> None:
    for keyword in STOP_KEYWORDS | START_KEYWORDS:
        assert normalize_keyword(keyword) == keyword
    assert not STOP_KEYWORDS & START_KEYWORDS
