"""Quality gates and fair-pay numbers: smoothing, below-chance, gold rate, wages."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasks import quality as q


@pytest.mark.parametrize("mean", [0.3, 0.5, 0.7, 0.9])
def test_smoothed_accuracy_with_no_answers_is_the_prior(mean: float) -> None:
    assert q.smoothed_accuracy(0, 0, prior_mean=mean) == pytest.approx(mean)


def test_laplace_rule_of_succession() -> None:
    # mean 0.5, strength 2 is Laplace: (c + 1) / (n + 2).
    assert q.smoothed_accuracy(3, 4, prior_mean=0.5, prior_strength=2) == pytest.approx(4 / 6)


def test_smoothing_shrinks_small_counts_and_fades_with_evidence() -> None:
    one_wrong = q.smoothed_accuracy(0, 1)
    assert 0.5 < one_wrong < q.DEFAULT_PRIOR_MEAN  # one miss moves it, but not to 0
    assert q.smoothed_accuracy(90, 100) == pytest.approx(0.9, abs=0.01)


@given(st.integers(0, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_smoothed_accuracy_is_between_raw_rate_and_prior(counts: tuple[int, int]) -> None:
    correct, total = counts
    est = q.smoothed_accuracy(correct, total)
    raw = correct / total if total else q.DEFAULT_PRIOR_MEAN
    lo, hi = sorted((raw, q.DEFAULT_PRIOR_MEAN))
    assert lo - 1e-12 <= est <= hi + 1e-12


@pytest.mark.parametrize("bad", [(-1, 0), (3, 2), (1, -1)])
def test_smoothed_accuracy_refuses_impossible_counts(bad: tuple[int, int]) -> None:
    with pytest.raises(ValueError):
        q.smoothed_accuracy(*bad)


def test_p_value_matches_the_binomial_cdf() -> None:
    n, p = 12, 1 / 3
    expected = sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(3))
    assert q.below_chance_p_value(2, n, 3) == pytest.approx(expected)
    assert q.below_chance_p_value(n, n, 3) == pytest.approx(1.0)


def test_p_value_survives_thousands_of_answers() -> None:
    assert 0.0 < q.below_chance_p_value(1500, 5000, 3) < 1e-6


@pytest.mark.parametrize(
    ("correct", "total", "n_options", "below"),
    [
        (0, 1, 3, False),  # one unlucky answer bans no one
        (0, 5, 3, False),  # nor five: below the minimum sample
        (0, 9, 2, False),
        (0, 10, 3, True),  # zero of ten with three options: p = 0.017
        (1, 20, 3, True),
        (6, 20, 3, False),  # 30 % vs 33 % chance: not evidence
        (40, 100, 2, True),  # 40 % on yes/no
        (45, 100, 2, False),
        (30, 100, 3, False),
        (20, 100, 3, True),
    ],
)
def test_is_below_chance_needs_enough_evidence(
    correct: int, total: int, n_options: int, below: bool
) -> None:
    assert q.is_below_chance(correct, total, n_options) is below


def test_below_chance_minimum_is_configurable() -> None:
    assert not q.is_below_chance(0, 6, 3)
    assert q.is_below_chance(0, 8, 3, min_answers=5)


@pytest.mark.parametrize(
    ("seconds", "minimum", "fast"),
    [(0.5, 2.0, True), (2.0, 2.0, False), (9.0, 2.0, False), (-1, 0, True)],
)
def test_is_too_fast(seconds: float, minimum: float, fast: bool) -> None:
    assert q.is_too_fast(seconds, minimum) is fast


def test_eligibility() -> None:
    assert q.eligible_for_project(0.9, 0.7, 50)
    assert not q.eligible_for_project(0.6, 0.7, 50)
    # New workers are let in whatever their early accuracy, unless below chance.
    assert q.eligible_for_project(0.4, 0.7, 3)
    assert not q.eligible_for_project(0.4, 0.7, 3, below_chance=True)
    assert not q.eligible_for_project(0.9, 0.7, 50, below_chance=True)
    assert not q.eligible_for_project(0.4, 0.7, 3, probation_gold=2)


def test_gold_rate_starts_high_and_decays_to_the_project_rate() -> None:
    rates = [q.gold_rate_for(n, 0.1) for n in range(0, 15)]
    assert rates[0] == pytest.approx(q.DEFAULT_NEW_WORKER_GOLD_RATE)
    assert all(a >= b for a, b in zip(rates, rates[1:], strict=False))
    assert rates[q.DEFAULT_PROBATION_GOLD] == pytest.approx(0.1)
    assert rates[-1] == pytest.approx(0.1)
    assert rates[3] > 0.1


def test_gold_rate_never_drops_below_a_project_that_asks_for_more() -> None:
    assert q.gold_rate_for(0, 0.8) == pytest.approx(0.8)
    assert q.gold_rate_for(100, 0.8) == pytest.approx(0.8)


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_gold_rate_refuses_bad_rates(bad: float) -> None:
    with pytest.raises(ValueError):
        q.gold_rate_for(0, bad)


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.5, 1.0])
def test_should_serve_gold_follows_the_rate(rate: float) -> None:
    rng = random.Random(7)
    served = sum(q.should_serve_gold(rng, rate) for _ in range(4000)) / 4000
    assert served == pytest.approx(rate, abs=0.03)


def test_should_serve_gold_takes_a_numpy_generator() -> None:
    a = [q.should_serve_gold(np.random.default_rng(3), 0.5) for _ in range(3)]
    b = [q.should_serve_gold(np.random.default_rng(3), 0.5) for _ in range(3)]
    assert a == b


@pytest.mark.parametrize(
    ("reward", "seconds", "hourly"),
    [(150, 30, 18000), (100, 45, 8000), (10, 7, 5142), (0, 10, 0)],  # 5142.86 rounds down
)
def test_effective_hourly_wage(reward: int, seconds: float, hourly: int) -> None:
    wage = q.effective_hourly_wage(reward, seconds)
    assert wage == hourly
    assert isinstance(wage, int)


@pytest.mark.parametrize("seconds", [0, -3])
def test_effective_hourly_wage_refuses_no_time(seconds: float) -> None:
    with pytest.raises(ValueError):
        q.effective_hourly_wage(100, seconds)


def test_wage_floor_and_worker_share() -> None:
    assert q.below_wage_floor(8000, 9000)
    assert not q.below_wage_floor(9000, 9000)
    assert q.worker_share(150, 200) == pytest.approx(0.75)
    with pytest.raises(ValueError):
        q.worker_share(150, 0)
