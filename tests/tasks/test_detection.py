"""The spam detectors as pure functions, and their false-positive rates on honest workers."""

from __future__ import annotations

import random

import pytest

from tasks import detection as d
from tasks.detection import QualityRules, RecentAnswer

RULES = QualityRules()


def _answers(
    values: str, *, wrong_gold_at: tuple[int, ...] = (), fast: bool = False
) -> list[RecentAnswer]:
    return [
        RecentAnswer(v, fast, False if i in wrong_gold_at else None) for i, v in enumerate(values)
    ]


def test_the_chance_test_needs_min_gold_and_convicts_a_guesser() -> None:
    assert not d.is_chance_level(0, RULES.min_gold - 1, 3, RULES)  # too little evidence
    assert d.is_chance_level(1, 8, 3, RULES)  # 1 of 8 with 3 options: guessing
    assert not d.is_chance_level(6, 8, 3, RULES)  # 6 of 8: clearly better


def test_a_record_exactly_between_guessing_and_competence_is_not_unproven() -> None:
    # 2 of 4 with 3 options: the likelihood ratio is exactly 1 (up to rounding).
    assert not d.is_unproven(2, 4, 3, RULES)
    assert d.is_unproven(1, 4, 3, RULES)
    assert not d.is_unproven(0, RULES.unproven_after - 1, 3, RULES)


def test_fixed_pattern_needs_one_option_and_two_wrong_gold() -> None:
    run = RULES.same_option_run
    assert d.is_fixed_pattern(_answers("A" * run, wrong_gold_at=(2, 5)), RULES)
    assert not d.is_fixed_pattern(_answers("A" * run), RULES)  # a skewed batch, no gold wrong
    assert not d.is_fixed_pattern(_answers("A" * run, wrong_gold_at=(2,)), RULES)  # one slip
    assert not d.is_fixed_pattern(_answers("A" * (run - 1) + "B", wrong_gold_at=(2, 5)), RULES)
    assert not d.is_fixed_pattern(_answers("A" * (run - 1), wrong_gold_at=(2, 5)), RULES)


def test_fast_streak_counts_only_consecutive_latest_answers() -> None:
    streak = RULES.fast_streak
    assert d.is_fast_streak(_answers("ABC"[:1] * streak, fast=True), RULES)
    slow_first = [RecentAnswer("A", False, None)] + _answers("A" * streak, fast=True)
    assert not d.is_fast_streak(slow_first, RULES)


def test_minimum_accuracy_never_sits_near_chance() -> None:
    assert d.minimum_accuracy(0.0, 3, RULES) == pytest.approx(1 / 3 + RULES.min_margin)
    assert d.minimum_accuracy(0.9, 3, RULES) == 0.9


def test_flags_for_free_text_only_check_speed() -> None:
    fast = _answers("x" * RULES.same_option_run, fast=True, wrong_gold_at=(0, 1))
    assert d.flags_for(fast, (0, 20), None, RULES) == [d.FLAG_TOO_FAST]
    assert d.flags_for(fast, (0, 20), 3, RULES) == [d.FLAG_CHANCE, d.FLAG_PATTERN, d.FLAG_TOO_FAST]


def _ever_flagged(accuracy: float, k: int, rng: random.Random, n_gold: int = 100) -> bool:
    correct = 0
    for n in range(1, n_gold + 1):
        correct += rng.random() < accuracy
        if d.is_chance_level(correct, n, k, RULES):
            return True
    return False


@pytest.mark.parametrize("k", [2, 3, 4])
def test_honest_workers_are_rarely_flagged_and_guessers_nearly_always(k: int) -> None:
    rng = random.Random(k)
    honest = sum(_ever_flagged(0.8, k, rng) for _ in range(2000)) / 2000
    guessers = sum(_ever_flagged(1 / k, k, rng) for _ in range(500)) / 500
    # Wald's bound: about alpha of honest workers at most (docs/quality.md has the table).
    assert honest <= RULES.alpha
    assert guessers >= 0.95
