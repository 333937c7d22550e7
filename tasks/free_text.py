"""Aggregation of open answers: free text (normalised, near-identical answers grouped) and numbers.

Open answers have no label set, so their confidence is the one-coin posterior over
the distinct answers given plus "something nobody said", each voter at the
newcomer accuracy (see ``tasks.crowd.newcomer_accuracy``): three agreeing answers
are as convincing as three agreeing votes on a three-option task, not more.
"""

from __future__ import annotations

import difflib
import math
import re
import statistics
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from tasks.crowd import AggregateResult, TaskId, WorkerId, accuracy_weight, newcomer_accuracy

#: Two normalised answers at least this similar (difflib's ratio) vote together.
#: 0.85 joins "kisumu town" and "kisumu tow" (0.95) or "nakuru" and "nakru" (0.91),
#: but keeps "kisii" and "kisumu" (0.55) and "10" and "100" (0.8) apart.
SIMILARITY_THRESHOLD = 0.85
#: Answers shorter than this must match exactly: one letter is a big change in "2a".
MIN_FUZZY_LENGTH = 4

_SPACES = re.compile(r"\s+")
# A number with optional thousands groups ("1,000", "1 000", "1.000.000" is left
# alone) and an optional decimal part with "." or "," ("1000.0", "2,5").
_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:[ ,]\d{3})+|\d+)(?:[.,](\d+))?(?![\w])")


def _fold_number(match: re.Match[str]) -> str:
    whole, fraction = match.group(1), match.group(2)
    digits = re.sub(r"[ ,]", "", whole)
    if fraction is not None and "," in whole and match.group(0)[len(whole)] == ",":
        return match.group(0)  # "1,000,5": not a number format we can read safely
    try:
        value = Decimal(f"{digits}.{fraction}" if fraction else digits)
    except InvalidOperation:
        return match.group(0)
    # "1000.0", "1000.00" and "1000" are one number; a real fraction keeps its digits.
    return format(value.normalize(), "f")


def _decimal_point(text: str, i: int) -> bool:
    # The point of "3.14" (after number folding, the only decimal mark left) stays.
    return (
        text[i] == "." and 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit()
    )


def normalise_text(text: str) -> str:
    """Fold a free-text answer for comparison: accents, case, punctuation, spaces, numbers."""
    # NFKD splits "é" into "e" + a combining accent (dropped) and folds compatibility
    # forms ("１" to "1", "ﬁ" to "fi"); see https://docs.python.org/3/library/unicodedata.html
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    plain = _SPACES.sub(" ", plain).strip()
    plain = _NUMBER.sub(_fold_number, plain)
    # Punctuation and symbols (Unicode categories P* and S*) become spaces, so
    # "Nairobi." and "nairobi!" agree; an answer made only of them (say "*" or "#",
    # which a USSD keypad types) keeps them rather than becoming empty.
    words = "".join(
        " " if unicodedata.category(c)[0] in "PS" and not _decimal_point(plain, i) else c
        for i, c in enumerate(plain)
    )
    folded = _SPACES.sub(" ", words).strip()
    return folded or plain


def _similar(a: str, b: str, threshold: float) -> bool:
    if a == b:
        return True
    if min(len(a), len(b)) < MIN_FUZZY_LENGTH:
        return False
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= threshold


def group_similar(counts: Counter[str], threshold: float = SIMILARITY_THRESHOLD) -> Counter[str]:
    """Merge near-identical answers: each joins the most voted similar one, which names the group."""
    groups: Counter[str] = Counter()
    # Most voted first (then alphabetical), so a group is named by its commonest form
    # and the outcome does not depend on the order answers arrived in.
    for text, votes in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        home = next((g for g in groups if _similar(g, text, threshold)), text)
        groups[home] += votes
    return groups


def open_posterior(votes: list[int]) -> list[float]:
    """One-coin posterior of each distinct answer, with newcomer voters and room for an unsaid one."""
    k = max(3, len(votes) + 1)
    weight = accuracy_weight(newcomer_accuracy(k), k)
    # Scores are relative to the unsaid answer's score, 0 (the +1 label above).
    top = max(votes) * weight
    exp = [math.exp(v * weight - top) for v in votes]
    rest = (k - len(votes)) * math.exp(-top)
    total = sum(exp) + rest
    return [e / total for e in exp]


def _pick(groups: Counter[str]) -> AggregateResult:
    ranked = sorted(groups.items(), key=lambda kv: (-kv[1], kv[0]))
    votes = [v for _, v in ranked]
    post = open_posterior(votes)
    tied = len(votes) > 1 and votes[0] == votes[1]
    # Ties go to the alphabetically first text: arbitrary but order-independent.
    return AggregateResult(ranked[0][0], post[0], sum(votes), tied)


def text_majority(
    answers: Iterable[tuple[TaskId, WorkerId, str]], *, threshold: float = SIMILARITY_THRESHOLD
) -> dict[TaskId, AggregateResult]:
    """Pick each task's most voted group of near-identical normalised texts."""
    by_task: dict[TaskId, Counter[str]] = defaultdict(Counter)
    for task_id, _worker, text in answers:
        by_task[task_id][normalise_text(text)] += 1
    return {t: _pick(group_similar(counts, threshold)) for t, counts in by_task.items()}


def numeric_median(
    answers: Iterable[tuple[TaskId, WorkerId, float]],
    *,
    abs_tol: float = 0.0,
    rel_tol: float = 0.0,
) -> dict[TaskId, AggregateResult]:
    """Take each task's median number; confidence counts the answers within tolerance of it."""
    # The median, not the mean: one worker typing 10000 for 10 must not move the result.
    by_task: dict[TaskId, list[float]] = defaultdict(list)
    for task_id, _worker, value in answers:
        by_task[task_id].append(value)
    out = {}
    for task_id, values in by_task.items():
        median = statistics.median(sorted(values))
        close = sum(math.isclose(v, median, rel_tol=rel_tol, abs_tol=abs_tol) for v in values)
        # Answers away from the median count as one rival answer each.
        post = open_posterior([close] + [1] * (len(values) - close)) if close else [0.0]
        # An integral median is reported as an int so "3 cows" does not read "3.0".
        label = int(median) if float(median).is_integer() else float(median)
        # No majority within tolerance is as undecided as a tie.
        out[task_id] = AggregateResult(label, post[0], len(values), close * 2 <= len(values))
    return out
