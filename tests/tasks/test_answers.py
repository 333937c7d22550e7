"""Answer validation tables: every task type, the three worker languages, every refusal."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasks.answers import (
    NO,
    YES,
    AnswerSpec,
    TaskType,
    labels_for,
    normalise_answer,
    parse_number,
)
from tasks.errors import AnswerReason, InvalidAnswer, InvalidTaskSpec, TaskError, UnknownTaskType

CHOICE = AnswerSpec(TaskType.SINGLE_CHOICE, options=("Positive", "Negative", "Neutral"))
YES_NO = AnswerSpec(TaskType.YES_NO)
TEXT = AnswerSpec(TaskType.FREE_TEXT, max_length=20)
NUMBER = AnswerSpec(TaskType.NUMBER)
BOUNDED = AnswerSpec(TaskType.NUMBER, min_value=0, max_value=100)


@pytest.mark.parametrize(
    ("spec", "raw", "expected"),
    [
        (CHOICE, "1", "Positive"),
        (CHOICE, "2", "Negative"),
        (CHOICE, " 3 ", "Neutral"),
        (CHOICE, "2.", "Negative"),
        (CHOICE, "negative", "Negative"),
        (CHOICE, "  NEUTRAL ", "Neutral"),
        (YES_NO, "1", YES),
        (YES_NO, "2", NO),
        (YES_NO, "Yes", YES),
        (YES_NO, "y", YES),
        (YES_NO, "no", NO),
        (YES_NO, "NO!", NO),
        (YES_NO, "ndiyo", YES),  # Swahili
        (YES_NO, "Ndio", YES),
        (YES_NO, "hapana", NO),
        (YES_NO, "La", NO),
        (YES_NO, "oui", YES),  # French
        (YES_NO, "Non.", NO),
        (TEXT, "  Nairobi   CBD ", "Nairobi CBD"),
        (TEXT, "Mama\nMboga", "Mama Mboga"),
        (TEXT, "café\x00", "café"),
        (NUMBER, "12", 12),
        (NUMBER, "-4", -4),
        (NUMBER, "+7", 7),
        (NUMBER, "1.5", 1.5),
        (NUMBER, "1,5", 1.5),
        (NUMBER, ".5", 0.5),
        (NUMBER, "0,500", 0.5),
        (NUMBER, "2.0", 2),
        (NUMBER, "1 500", 1500),
        (NUMBER, "1\u00a0500,25", 1500.25),  # French: no-break space groups, comma decimal
        (NUMBER, "1,500.25", 1500.25),
        (NUMBER, "1.500,25", 1500.25),
        (NUMBER, "1,000,000", 1000000),
        (NUMBER, "1234,567", 1234.567),
        (BOUNDED, "0", 0),
        (BOUNDED, "100", 100),
    ],
)
def test_valid_answers_are_normalised(spec: AnswerSpec, raw: str, expected) -> None:
    value = normalise_answer(spec, raw)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("spec", "raw", "reason"),
    [
        (CHOICE, "", AnswerReason.EMPTY),
        (CHOICE, "   ", AnswerReason.EMPTY),
        (CHOICE, "0", AnswerReason.NOT_AN_OPTION),
        (CHOICE, "4", AnswerReason.NOT_AN_OPTION),
        (CHOICE, "12", AnswerReason.NOT_AN_OPTION),
        (CHOICE, "good", AnswerReason.NOT_AN_OPTION),
        (CHOICE, "١", AnswerReason.NOT_AN_OPTION),  # non-ASCII digit is not a keypad key
        (YES_NO, "3", AnswerReason.NOT_YES_NO),
        (YES_NO, "maybe", AnswerReason.NOT_YES_NO),
        (YES_NO, "yes no", AnswerReason.NOT_YES_NO),
        (TEXT, "x" * 21, AnswerReason.TOO_LONG),
        (TEXT, "\x00\x01", AnswerReason.EMPTY),
        (NUMBER, "abc", AnswerReason.NOT_A_NUMBER),
        (NUMBER, "1e5", AnswerReason.NOT_A_NUMBER),
        (NUMBER, "nan", AnswerReason.NOT_A_NUMBER),
        (NUMBER, "1,2,3", AnswerReason.NOT_A_NUMBER),
        (NUMBER, "1.2.3.4", AnswerReason.NOT_A_NUMBER),
        (NUMBER, "1,50.5", AnswerReason.NOT_A_NUMBER),
        (NUMBER, "--1", AnswerReason.NOT_A_NUMBER),
        (NUMBER, ",", AnswerReason.NOT_A_NUMBER),
        (NUMBER, "1 5", AnswerReason.NOT_A_NUMBER),
        (NUMBER, "9" * 31, AnswerReason.NOT_A_NUMBER),
        (NUMBER, "1,500", AnswerReason.AMBIGUOUS_NUMBER),
        (NUMBER, "2.250", AnswerReason.AMBIGUOUS_NUMBER),
        (BOUNDED, "-1", AnswerReason.TOO_SMALL),
        (BOUNDED, "100.5", AnswerReason.TOO_LARGE),
    ],
)
def test_invalid_answers_give_a_reason(spec: AnswerSpec, raw: str, reason: AnswerReason) -> None:
    with pytest.raises(InvalidAnswer) as err:
        normalise_answer(spec, raw)
    assert err.value.reason is reason
    assert err.value.details[0]["reason"] == reason.value
    assert isinstance(err.value, TaskError)


@pytest.mark.parametrize(
    ("raw", "lang", "expected"),
    [
        ("1,500", "en", 1500),
        ("1,500", "sw", 1500),
        ("1,500", "fr", 1.5),
        ("1.500", "en", 1.5),
        ("1.500", "fr", 1500),
    ],
)
def test_the_workers_language_settles_ambiguous_numbers(raw: str, lang: str, expected) -> None:
    assert normalise_answer(NUMBER, raw, lang=lang) == expected


def test_refusals_carry_what_would_be_accepted() -> None:
    with pytest.raises(InvalidAnswer) as err:
        normalise_answer(CHOICE, "9")
    assert err.value.params == {"n_options": 3}
    with pytest.raises(InvalidAnswer) as err:
        normalise_answer(TEXT, "y" * 30)
    assert err.value.params == {"max_length": 20}
    with pytest.raises(InvalidAnswer) as err:
        normalise_answer(BOUNDED, "101")
    assert err.value.params == {"min_value": 0, "max_value": 100}
    assert err.value.to_dict()["error"]["code"] == "invalid_answer"


@given(st.integers(-(10**12), 10**12))
def test_plain_integers_round_trip(n: int) -> None:
    assert parse_number(str(n)) == n


@given(st.integers(0, 10**6), st.integers(1, 99))
def test_decimal_comma_and_point_agree(whole: int, cents: int) -> None:
    frac = f"{cents:02d}"
    assert parse_number(f"{whole},{frac}") == parse_number(f"{whole}.{frac}")


@given(st.text(max_size=40))
def test_any_text_is_either_accepted_or_refused_with_a_reason(raw: str) -> None:
    for spec in (CHOICE, YES_NO, TEXT, NUMBER):
        try:
            normalise_answer(spec, raw)
        except InvalidAnswer as err:
            assert err.reason in AnswerReason


def test_labels_for_categorical_types() -> None:
    assert labels_for(CHOICE) == ("Positive", "Negative", "Neutral")
    assert labels_for(YES_NO) == (YES, NO)
    with pytest.raises(InvalidTaskSpec):
        labels_for(TEXT)


def test_spec_accepts_type_names_as_strings() -> None:
    spec = AnswerSpec("single_choice", options=["A", "B"])  # type: ignore[arg-type]  # a str and a list, as JSON gives
    assert spec.task_type is TaskType.SINGLE_CHOICE
    assert spec.options == ("A", "B")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"task_type": "single_choice", "options": ("Only",)},
        {"task_type": "single_choice", "options": ("Yes", " yes")},
        {"task_type": "single_choice", "options": ("A", " ")},
        {"task_type": "free_text", "max_length": 0},
        {"task_type": "number", "min_value": 5, "max_value": 1},
    ],
)
def test_unanswerable_specs_are_refused(kwargs) -> None:
    with pytest.raises(InvalidTaskSpec):
        AnswerSpec(**kwargs)


def test_unknown_task_type_is_refused() -> None:
    with pytest.raises(UnknownTaskType):
        AnswerSpec("essay")  # type: ignore[arg-type]  # an unknown type, on purpose
