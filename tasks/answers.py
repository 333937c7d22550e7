"""Validation and normalisation of a worker's raw answer, typed on a keypad, for each task type.

The flow layer handles navigation keys ("0 Skip", "98 More") before calling here;
everything that reaches ``normalise_answer`` is meant as an answer. A refusal is an
``InvalidAnswer`` with a machine-readable ``reason``, so the flow can re-prompt in
the worker's own language instead of showing an English error.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from tasks.errors import AnswerReason, InvalidAnswer, InvalidTaskSpec, UnknownTaskType

#: One SMS segment of GSM-7 text: a longer answer cannot arrive in one message.
DEFAULT_MAX_LENGTH = 160
#: Longer "numbers" are typos or abuse; also bounds the work of parsing them.
_MAX_NUMBER_CHARS = 30

YES = "yes"
NO = "no"

# Keypad digits as in the menu ("1 Yes / 2 No"), and words in English, Swahili, French.
_YES_WORDS = frozenset({"1", "yes", "y", "yeah", "yep", "ndiyo", "ndio", "ndyo", "oui", "ouais"})
_NO_WORDS = frozenset({"2", "no", "n", "nope", "hapana", "la", "non"})

# Languages that write 1,500.25 (comma groups thousands) vs 1.500,25 (comma is decimal).
_DECIMAL_POINT_LANGS = frozenset({"en", "sw"})
_DECIMAL_COMMA_LANGS = frozenset({"fr"})

_SPACES = re.compile(r"\s+")
_TRAILING_PUNCT = re.compile(r"[.!?)\s]+$")
_DIGITS = re.compile(r"[0-9]+")
_SPACE_GROUPED = re.compile(r"[0-9]{1,3}(?:[ \u00a0\u202f][0-9]{3})+(?:[.,][0-9]+)?")


class TaskType(StrEnum):
    """The kinds of task a project can have; each has its own answer rules."""

    SINGLE_CHOICE = "single_choice"
    YES_NO = "yes_no"
    FREE_TEXT = "free_text"
    NUMBER = "number"


CATEGORICAL_TYPES = frozenset({TaskType.SINGLE_CHOICE, TaskType.YES_NO})


@dataclass(frozen=True)
class AnswerSpec:
    """What a task accepts as an answer; built once from a project's settings."""

    task_type: TaskType
    options: tuple[str, ...] = ()
    max_length: int = DEFAULT_MAX_LENGTH
    min_value: float | None = None
    max_value: float | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "task_type", TaskType(self.task_type))
        except ValueError:
            raise UnknownTaskType(f"unknown task type {self.task_type!r}") from None
        object.__setattr__(self, "options", tuple(self.options))
        if self.task_type is TaskType.SINGLE_CHOICE:
            folded = {_fold(o) for o in self.options}
            if len(self.options) < 2 or len(folded) != len(self.options) or "" in folded:
                raise InvalidTaskSpec(
                    "a single choice needs two or more distinct, non-empty options"
                )
        if self.max_length < 1:
            raise InvalidTaskSpec(f"max_length must be at least 1, got {self.max_length}")
        lo, hi = self.min_value, self.max_value
        if lo is not None and hi is not None and lo > hi:
            raise InvalidTaskSpec(f"min_value {lo} is above max_value {hi}")


def labels_for(spec: AnswerSpec) -> tuple[str, ...]:
    """Give the label set a categorical task's answers are aggregated over, in menu order."""
    if spec.task_type is TaskType.SINGLE_CHOICE:
        return spec.options
    if spec.task_type is TaskType.YES_NO:
        return (YES, NO)
    raise InvalidTaskSpec(f"{spec.task_type} answers have no fixed label set")


def normalise_answer(spec: AnswerSpec, raw: str, *, lang: str | None = None) -> str | int | float:
    """Check a worker's raw answer against the task and return its canonical value."""
    # `lang` (the worker's language) only settles numbers like "1,500" (see below).
    text = _SPACES.sub(" ", raw).strip()
    if not text:
        raise InvalidAnswer(AnswerReason.EMPTY, "the answer is empty")
    if spec.task_type is TaskType.SINGLE_CHOICE:
        return _single_choice(spec.options, text)
    if spec.task_type is TaskType.YES_NO:
        return _yes_no(text)
    if spec.task_type is TaskType.FREE_TEXT:
        return _free_text(text, spec.max_length)
    return _number(text, spec.min_value, spec.max_value, lang)


def _fold(text: str) -> str:
    return _SPACES.sub(" ", text).strip().casefold()


def _single_choice(options: tuple[str, ...], text: str) -> str:
    # Keypads send digits; SMS users sometimes type the option itself ("Negative", "2.").
    key = _TRAILING_PUNCT.sub("", text)
    if _DIGITS.fullmatch(key):
        number = int(key)
        if 1 <= number <= len(options):
            return options[number - 1]
    else:
        for option in options:
            if _fold(option) == _fold(key):
                return option
    raise InvalidAnswer(
        AnswerReason.NOT_AN_OPTION, f"not one of options 1-{len(options)}", n_options=len(options)
    )


def _yes_no(text: str) -> str:
    word = _TRAILING_PUNCT.sub("", text).casefold()
    if word in _YES_WORDS:
        return YES
    if word in _NO_WORDS:
        return NO
    raise InvalidAnswer(AnswerReason.NOT_YES_NO, "expected 1 (yes) or 2 (no)")


def _free_text(text: str, max_length: int) -> str:
    # Control characters are dropped: they are never meant and break CSV exports.
    clean = _SPACES.sub(" ", "".join(ch for ch in text if ch.isprintable() or ch.isspace()))
    clean = clean.strip()
    if not clean:
        raise InvalidAnswer(AnswerReason.EMPTY, "the answer is empty")
    if len(clean) > max_length:
        raise InvalidAnswer(
            AnswerReason.TOO_LONG, f"longer than {max_length} characters", max_length=max_length
        )
    return clean


def _number(text: str, lo: float | None, hi: float | None, lang: str | None) -> int | float:
    value = parse_number(text, lang=lang)
    if lo is not None and value < lo:
        raise InvalidAnswer(AnswerReason.TOO_SMALL, f"below {lo}", min_value=lo, max_value=hi)
    if hi is not None and value > hi:
        raise InvalidAnswer(AnswerReason.TOO_LARGE, f"above {hi}", min_value=lo, max_value=hi)
    return value


def parse_number(text: str, *, lang: str | None = None) -> int | float:
    """Read a number typed by a worker ("12", "1,5", "1.5", "1 500", "1,500.25") as int or float."""
    s = text.strip()
    if len(s) > _MAX_NUMBER_CHARS:
        raise InvalidAnswer(AnswerReason.NOT_A_NUMBER, "not a number")
    sign = ""
    if s[:1] in "+-":
        sign, s = ("-" if s[0] == "-" else ""), s[1:].strip()
    canonical = _canonical_digits(s, lang)
    try:
        value = Decimal(sign + canonical)
    except InvalidOperation:
        raise InvalidAnswer(AnswerReason.NOT_A_NUMBER, "not a number") from None
    if value == value.to_integral_value():
        return int(value)
    result = float(value)
    if not math.isfinite(result):
        raise InvalidAnswer(AnswerReason.NOT_A_NUMBER, "not a number")
    return result


def _canonical_digits(s: str, lang: str | None) -> str:
    """Turn the unsigned part into plain digits with an optional "." decimal point."""
    if _DIGITS.fullmatch(s):
        return s
    if _SPACE_GROUPED.fullmatch(s):
        # "1 500" / "1 500,5": spaces (incl. the French no-break ones) group thousands.
        return _decimal(re.sub(r"[ \u00a0\u202f]", "", s).replace(",", "."))
    commas, dots = s.count(","), s.count(".")
    if commas and dots:
        # Both present: the last one is the decimal mark, the other groups thousands.
        decimal, group = (",", ".") if s.rfind(",") > s.rfind(".") else (".", ",")
        whole, _, frac = s.rpartition(decimal)
        return _grouped(whole, group) + "." + _decimal(frac)
    if commas + dots == 0:
        raise InvalidAnswer(AnswerReason.NOT_A_NUMBER, "not a number")
    mark = "," if commas else "."
    if commas + dots > 1:
        return _grouped(s, mark)  # "1,000,000": only grouping repeats
    whole, _, frac = s.partition(mark)
    if len(frac) == 3 and whole and whole != "0" and len(whole) <= 3:
        return _ambiguous(whole, frac, mark, lang)
    return _decimal((whole or "0") + "." + frac) if frac else _decimal(whole)


def _ambiguous(whole: str, frac: str, mark: str, lang: str | None) -> str:
    # "1,500" is fifteen hundred in Nairobi and one and a half in Abidjan; only the
    # worker's language can tell, and without it we ask rather than guess 1000x wrong.
    if lang in _DECIMAL_POINT_LANGS:
        return _decimal(whole + frac if mark == "," else whole + "." + frac)
    if lang in _DECIMAL_COMMA_LANGS:
        return _decimal(whole + "." + frac if mark == "," else whole + frac)
    raise InvalidAnswer(AnswerReason.AMBIGUOUS_NUMBER, f"{whole}{mark}{frac} is ambiguous")


def _grouped(whole: str, group: str) -> str:
    parts = whole.split(group)
    head_ok = 1 <= len(parts[0]) <= 3 and _DIGITS.fullmatch(parts[0])
    if not head_ok or not all(len(p) == 3 and _DIGITS.fullmatch(p) for p in parts[1:]):
        raise InvalidAnswer(AnswerReason.NOT_A_NUMBER, "not a number")
    return "".join(parts)


def _decimal(s: str) -> str:
    """Accept only digits with at most one "." between or before them."""
    if not re.fullmatch(r"[0-9]*\.?[0-9]+|[0-9]+\.?", s):
        raise InvalidAnswer(AnswerReason.NOT_A_NUMBER, "not a number")
    return s
