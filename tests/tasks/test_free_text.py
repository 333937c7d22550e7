"""Free-text and number answers: normalisation, near-identical grouping, open-set confidence."""

from __future__ import annotations

from collections import Counter

import pytest

from tasks.aggregation import decide, numeric_median, text_majority
from tasks.answers import AnswerSpec, TaskType, normalise_answer
from tasks.free_text import group_similar, normalise_text, open_posterior


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("  Nairobi. ", "nairobi"),
        ("NAIROBI!", "nairobi"),
        ("Café", "cafe"),
        ("Mũrang'a", "murang a"),
        ("Ｎａｉｒｏｂｉ", "nairobi"),  # full-width letters fold to ASCII
        ("1,000", "1000"),
        ("1 000", "1000"),
        ("1000.0", "1000"),
        ("1000.00 shillings", "1000 shillings"),
        ("2,5", "2.5"),  # a decimal comma
        ("12,345,678", "12345678"),
        ("3.14", "3.14"),
        ("*", "*"),  # only symbols: kept, not emptied
        ("#", "#"),
        ("5*3", "5 3"),
    ],
)
def test_normalise_text(raw: str, folded: str) -> None:
    assert normalise_text(raw) == folded


def test_number_formats_vote_together() -> None:
    answers = [(1, "a", "1,000"), (1, "b", "1 000"), (1, "c", "1000.0"), (1, "d", "999")]
    result = text_majority(answers)[1]
    assert (result.label, result.n_answers) == ("1000", 4)
    assert result.confidence == pytest.approx(8 / 11)  # 3 of 4 agree: 2^3 / (2^3 + 2 + 1)


def test_near_identical_answers_group_but_different_ones_do_not() -> None:
    groups = group_similar(Counter({"kisumu town": 2, "kisumu tow": 1, "kisii": 1, "nakru": 1}))
    assert groups == Counter({"kisumu town": 3, "kisii": 1, "nakru": 1})
    assert group_similar(Counter({"10": 1, "100": 1})) == Counter({"10": 1, "100": 1})
    answers = [(1, "a", "Nakuru"), (1, "b", "nakru"), (1, "c", "Eldoret"), (1, "d", "Meru")]
    grouped = text_majority(answers)[1]
    assert (grouped.label, grouped.tied) == ("nakru", False)  # 1-1 named alphabetically
    # The misspelt vote joined: 2 of 4 in three groups, so k = 4 and each vote weighs
    # 7/3: (7/3)^2 / ((7/3)^2 + 7/3 + 7/3 + 1) = 0.49.
    assert grouped.confidence == pytest.approx(0.49)
    assert text_majority(answers, threshold=1.0)[1].tied  # exact matching only: a tie


def test_grouping_does_not_depend_on_answer_order() -> None:
    answers = [(1, "a", "kisumu tow"), (1, "b", "Kisumu town"), (1, "c", "kisumu town")]
    assert text_majority(answers) == text_majority(list(reversed(answers)))
    assert text_majority(answers)[1].label == "kisumu town"


def test_open_posterior_is_calibrated_like_three_options() -> None:
    assert open_posterior([2]) == pytest.approx([4 / 6])  # two agreeing newcomers
    assert open_posterior([3]) == pytest.approx([8 / 10])
    assert sum(open_posterior([2, 1, 1])) < 1  # room for an answer nobody gave
    two = text_majority([(1, "a", "Ndiyo"), (1, "b", "ndiyo")])[1]
    assert decide(two, 2, 2, 4, 0.75).value == "needs_more"


def test_text_ties_and_split_numbers_never_complete_below_the_cap() -> None:
    tie = text_majority([(1, "a", "Mombasa"), (1, "b", "Nairobi")])[1]
    assert tie.tied and decide(tie, 2, 2, 4, 0.0).value == "needs_more"
    split = numeric_median([(1, "a", 3.0), (1, "b", 5.0)])[1]
    assert split.tied and split.confidence == 0.0


def test_a_text_answer_may_hold_ussd_keys() -> None:
    # USSD joins inputs with "*" and ends dial strings with "#"; the gateway's seen-text
    # tracking (gateway.inbound.new_ussd_input) cuts only what it has seen, so an answer
    # like this arrives whole, and nothing here refuses it.
    spec = AnswerSpec(TaskType.FREE_TEXT)
    assert normalise_answer(spec, "5*3 #2") == "5*3 #2"
    assert normalise_answer(spec, "#") == "#"
