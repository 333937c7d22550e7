"""Worker quality and fair pay as pure functions: gold accuracy, gates, gold rate, wages.

Nothing here touches the database; services pass in counts and durations they have
already loaded. Accuracy is always estimated from gold tasks (tasks with a known
answer), never from agreement with other workers, so a worker cannot be punished
for being right when the crowd is wrong.
"""

from __future__ import annotations

import math
from typing import Protocol

#: Prior mean of a worker's gold accuracy before any evidence. A typical crowd
#: worker on short tasks is right roughly 70-90 % of the time, so 0.7 is a
#: deliberately modest guess: new workers get some weight, not an expert's.
DEFAULT_PRIOR_MEAN = 0.7
#: How many gold answers the prior is worth. Small, so real evidence wins quickly.
DEFAULT_PRIOR_STRENGTH = 4.0
#: A worker with fewer gold answers than this is "new": allowed in, served more gold.
DEFAULT_PROBATION_GOLD = 10
#: Gold rate served to a brand-new worker; decays to the project's rate.
DEFAULT_NEW_WORKER_GOLD_RATE = 0.5
#: Minimum gold answers before a below-chance verdict, so bad luck cannot ban anyone.
DEFAULT_MIN_GOLD_FOR_VERDICT = 10
#: Significance of the one-sided binomial test behind ``is_below_chance``.
DEFAULT_BELOW_CHANCE_ALPHA = 0.05

SECONDS_PER_HOUR = 3600


class RandomSource(Protocol):
    """Anything with ``random() -> float`` in [0, 1): ``random.Random`` or numpy's Generator."""

    def random(self) -> float: ...


def smoothed_accuracy(
    correct: int,
    total: int,
    *,
    prior_mean: float = DEFAULT_PRIOR_MEAN,
    prior_strength: float = DEFAULT_PRIOR_STRENGTH,
) -> float:
    """Estimate a worker's accuracy from gold answers as a Beta-posterior mean."""
    # Beta(a, b) prior with a = mean * strength, b = (1 - mean) * strength; after
    # `correct` successes in `total` trials the posterior mean is below. At zero
    # answers it is exactly the prior mean; with mean 0.5 and strength 2 it is
    # Laplace's rule of succession, (correct + 1) / (total + 2).
    _check_counts(correct, total)
    if not 0.0 < prior_mean < 1.0:
        raise ValueError(f"prior_mean must be in (0, 1), got {prior_mean}")
    if prior_strength <= 0:
        raise ValueError(f"prior_strength must be positive, got {prior_strength}")
    return (correct + prior_mean * prior_strength) / (total + prior_strength)


def below_chance_p_value(correct: int, total: int, n_options: int) -> float:
    """One-sided binomial p-value of getting at most ``correct`` right by guessing."""
    _check_counts(correct, total)
    if n_options < 2:
        raise ValueError(f"n_options must be at least 2, got {n_options}")
    p = 1.0 / n_options
    # Summed in log space: pmf terms underflow to 0.0 for a few thousand answers.
    logs = [_log_binom_pmf(i, total, p) for i in range(correct + 1)]
    top = max(logs)
    return min(1.0, math.exp(top) * math.fsum(math.exp(v - top) for v in logs))


def is_below_chance(
    correct: int,
    total: int,
    n_options: int,
    *,
    min_answers: int = DEFAULT_MIN_GOLD_FOR_VERDICT,
    alpha: float = DEFAULT_BELOW_CHANCE_ALPHA,
) -> bool:
    """Tell whether gold answers show, with enough evidence, a worker doing worse than guessing."""
    # Two guards against banning an honest but unlucky worker: a minimum number of
    # gold answers, and a significance test rather than a raw ratio (3 wrong of 3
    # is likely enough by chance with 3 options: (2/3)^3 = 0.30).
    if total < min_answers:
        return False
    return below_chance_p_value(correct, total, n_options) < alpha


def is_too_fast(seconds: float, min_seconds: float) -> bool:
    """Tell whether an answer came faster than a human could read the task."""
    # A negative duration (clock skew, tampering) is impossible, hence suspicious too.
    return seconds < min_seconds


def eligible_for_project(
    accuracy: float,
    min_accuracy: float,
    gold_answered: int,
    *,
    below_chance: bool = False,
    probation_gold: int = DEFAULT_PROBATION_GOLD,
) -> bool:
    """Tell whether a worker may take a project's tasks, given their smoothed gold accuracy."""
    # Below chance on enough gold is disqualifying whatever the accuracy says.
    if below_chance:
        return False
    # New workers are let in on probation: `gold_rate_for` serves them extra gold, so
    # their accuracy is known after a handful of answers rather than guessed.
    if gold_answered < probation_gold:
        return True
    return accuracy >= min_accuracy


def gold_rate_for(
    worker_gold_answered: int,
    project_gold_rate: float,
    *,
    new_worker_rate: float = DEFAULT_NEW_WORKER_GOLD_RATE,
    probation_gold: int = DEFAULT_PROBATION_GOLD,
) -> float:
    """Give the share of tasks served as gold to this worker: high when new, the project's later."""
    for rate in (project_gold_rate, new_worker_rate):
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"gold rates must be in [0, 1], got {rate}")
    if worker_gold_answered < 0:
        raise ValueError(f"worker_gold_answered must be >= 0, got {worker_gold_answered}")
    start = max(new_worker_rate, project_gold_rate)
    # Linear decay reaching the project's rate exactly when probation ends, so a
    # veteran is never charged (in unpaid-looking gold) more than the project asks.
    progress = min(1.0, worker_gold_answered / probation_gold) if probation_gold > 0 else 1.0
    return start - (start - project_gold_rate) * progress


def should_serve_gold(rng: RandomSource, rate: float) -> bool:
    """Draw whether the next task served is a gold task, with probability ``rate``."""
    # The generator is injected so tests and replays are deterministic.
    return rng.random() < rate


def effective_hourly_wage(reward_minor: int, median_seconds_per_answer: float) -> int:
    """Turn a per-answer reward and the median time per answer into minor units per hour."""
    if median_seconds_per_answer <= 0:
        raise ValueError(f"median seconds must be positive, got {median_seconds_per_answer}")
    if reward_minor < 0:
        raise ValueError(f"reward_minor must be >= 0, got {reward_minor}")
    # Rounded down: a published wage must never overstate what a worker earns.
    return math.floor(reward_minor * SECONDS_PER_HOUR / median_seconds_per_answer)


def below_wage_floor(hourly_wage_minor: int, floor_minor_per_hour: int) -> bool:
    """Tell whether a project's effective hourly wage falls below a country's living-wage floor."""
    return hourly_wage_minor < floor_minor_per_hour


def worker_share(reward_minor: int, requester_price_minor: int) -> float:
    """Give the fraction of what the requester pays per answer that reaches the worker."""
    if requester_price_minor <= 0:
        raise ValueError(f"requester_price_minor must be positive, got {requester_price_minor}")
    if reward_minor < 0:
        raise ValueError(f"reward_minor must be >= 0, got {reward_minor}")
    return reward_minor / requester_price_minor


def _check_counts(correct: int, total: int) -> None:
    if total < 0 or not 0 <= correct <= total:
        raise ValueError(f"need 0 <= correct <= total, got correct={correct}, total={total}")


def _log_binom_pmf(k: int, n: int, p: float) -> float:
    log_comb = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
    return log_comb + k * math.log(p) + (n - k) * math.log1p(-p)
