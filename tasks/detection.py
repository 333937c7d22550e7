"""Spam detection: guessers, rote answerers and too-fast streaks, caught from their answers.

Three detectors, each a pure function over what a worker has already answered:

* **chance level**: the binomial likelihood of the worker's pooled gold record
  (every project of the task type, ``tasks.reputation``) under guessing, 1/k,
  against its likelihood under competent work, halfway from chance to certainty.
  This is Wald's sequential probability ratio test
  (https://en.wikipedia.org/wiki/Sequential_probability_ratio_test): it flags
  when guessing is ``1/alpha`` times likelier, so an honest worker is flagged with
  probability at most about ``alpha`` however long they work, while a guesser is
  caught after a dozen gold answers. A record that leans towards guessing
  (ratio below 1) is *unproven*: its answers are held for review and it is
  served gold only until gold clears or convicts it, so a guesser is not paid
  blindly while the evidence builds up.
* **fixed pattern**: the same option on the last dozen answers, while at least
  two of them were gold tasks answered wrong (an honest worker on a skewed batch
  gets gold right, so a run of one option alone convicts no one).
* **too-fast streak**: several answers in a row under the project's minimum time.

Each detection is a *flag*. A chance-level verdict suspends at once (it is a
significance test already); pattern and speed flags suspend after
``flags_to_suspend`` of them. A suspended worker gets no paid work
(``workers.services.record_flag``), and their tasks are
reweighed (``tasks.jobs.reweigh_worker``). False-positive rates on simulated
honest workers are in docs/quality.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from config.settings import Settings

FLAG_CHANCE = "chance"
FLAG_PATTERN = "pattern"
FLAG_TOO_FAST = "too_fast"
#: A hold reason, not a flag: the gold record leans towards guessing but proves nothing yet.
HOLD_UNPROVEN = "unproven"
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class QualityRules:
    """The detectors' thresholds (settings ``QUALITY_*``), with defaults that protect requesters."""

    min_gold: int = 6
    alpha: float = 0.05
    min_margin: float = 0.15
    unproven_after: int = 3
    same_option_run: int = 12
    fast_streak: int = 3
    flags_to_suspend: int = 2
    max_held: int = 15

    @classmethod
    def from_settings(cls, settings: Settings) -> QualityRules:
        """The rules as configured."""
        return cls(
            min_gold=settings.quality_min_gold,
            alpha=settings.quality_chance_alpha,
            min_margin=settings.quality_min_margin,
            unproven_after=settings.quality_unproven_after,
            same_option_run=settings.quality_same_option_run,
            fast_streak=settings.quality_fast_streak,
            flags_to_suspend=settings.quality_flags_to_suspend,
            max_held=settings.quality_max_held,
        )


@dataclass(frozen=True)
class RecentAnswer:
    """One of a worker's latest answers, as the pattern and speed detectors see it."""

    value: str
    too_fast: bool
    gold_correct: bool | None  # None for a task without a known answer


def competent_accuracy(num_options: int) -> float:
    """The accuracy the chance test weighs guessing against: halfway from chance to certainty."""
    base = 1.0 / num_options
    return base + (1.0 - base) / 2


def log_likelihood_ratio(correct: int, answered: int, num_options: int) -> float:
    """Log of how much likelier a gold record is from competent work than from guessing."""
    if num_options < 2:
        raise ValueError(f"num_options must be at least 2, got {num_options}")
    if answered < 0 or not 0 <= correct <= answered:
        raise ValueError(f"need 0 <= correct <= answered, got {correct}, {answered}")
    p0, p1 = 1.0 / num_options, competent_accuracy(num_options)
    wrong = answered - correct
    return correct * math.log(p1 / p0) + wrong * math.log((1 - p1) / (1 - p0))


def is_chance_level(correct: int, answered: int, num_options: int, rules: QualityRules) -> bool:
    """Tell whether enough gold shows a worker answering no better than guessing."""
    if answered < rules.min_gold:
        return False
    return log_likelihood_ratio(correct, answered, num_options) < math.log(rules.alpha)


def is_unproven(correct: int, answered: int, num_options: int, rules: QualityRules) -> bool:
    """Tell whether a gold record leans towards guessing (answers then wait for review)."""
    if answered < rules.unproven_after:
        return False
    # A record exactly between the two (e.g. 2 of 4 with 3 options) leans nowhere; the
    # tolerance keeps floating-point rounding from calling it "towards guessing".
    return log_likelihood_ratio(correct, answered, num_options) < -_TOLERANCE


def is_proven(correct: int, answered: int, num_options: int, rules: QualityRules) -> bool:
    """Tell whether gold shows competent work beyond doubt (probation is over)."""
    return log_likelihood_ratio(correct, answered, num_options) >= -math.log(rules.alpha)


def is_fixed_pattern(recent: Sequence[RecentAnswer], rules: QualityRules) -> bool:
    """Tell whether the latest answers are all one option, with two gold tasks among them wrong."""
    run = recent[: rules.same_option_run]
    if len(run) < rules.same_option_run or len({a.value for a in run}) != 1:
        return False
    # Two wrong gold answers: one alone is an honest slip on a batch skewed to one option.
    return sum(a.gold_correct is False for a in run) >= 2


def is_fast_streak(recent: Sequence[RecentAnswer], rules: QualityRules) -> bool:
    """Tell whether the latest answers were all faster than a person can read the task."""
    run = recent[: rules.fast_streak]
    return len(run) == rules.fast_streak and all(a.too_fast for a in run)


def minimum_accuracy(project_min_accuracy: float, num_options: int, rules: QualityRules) -> float:
    """The accuracy a worker needs after probation: the project's, and never near chance."""
    return max(project_min_accuracy, 1.0 / num_options + rules.min_margin)


def flags_for(
    recent: Sequence[RecentAnswer],
    gold: tuple[int, int] | None,
    k: int | None,
    rules: QualityRules,
) -> list[str]:
    """Every detector that fires on the latest answers and pooled (correct, answered) gold.

    ``k`` is the number of options; None (free text, numbers) leaves only the speed check.
    """
    found = []
    if k is not None and gold is not None and is_chance_level(gold[0], gold[1], k, rules):
        found.append(FLAG_CHANCE)
    if k is not None and is_fixed_pattern(recent, rules):
        found.append(FLAG_PATTERN)
    if is_fast_streak(recent, rules):
        found.append(FLAG_TOO_FAST)
    return found
