"""False-positive rates of the spam detectors on simulated honest workers (docs/quality.md).

An honest worker is right 80 % of the time on gold, answers a batch whose true
labels are skewed (the first option 60 % of the time, the rest shared), takes a
log-normal time per answer (median 12 s, a long right tail), and sees one gold task
in five. Each worker answers 200 tasks; the table gives the share of workers that
each detector ever flags (and, for the chance test, that it suspends). A guesser
(uniform at random) and a rote bot (always option 1) are run for comparison.

    .venv/bin/python -m bench.detector_false_positives
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from tasks import detection as d
from tasks.detection import QualityRules, RecentAnswer

RULES = QualityRules()
MIN_SECONDS = 3.0
TASKS = 200
GOLD_SHARE = 0.2


def _truth(rng: random.Random, k: int) -> int:
    return 0 if rng.random() < 0.6 else rng.randrange(1, k)


def honest(rng: random.Random, truth: int, k: int) -> int:
    """Right 80 % of the time, otherwise one of the wrong options."""
    if rng.random() < 0.8:
        return truth
    return rng.choice([o for o in range(k) if o != truth])


def guesser(rng: random.Random, truth: int, k: int) -> int:
    return rng.randrange(k)


def rote(rng: random.Random, truth: int, k: int) -> int:
    return 0


def simulate(
    answer: Callable[[random.Random, int, int], int], k: int, rng: random.Random
) -> set[str]:
    """The detectors (and holds) that fire at least once on one worker's 200 answers."""
    fired: set[str] = set()
    recent: list[RecentAnswer] = []
    correct = answered = 0
    for _ in range(TASKS):
        truth = _truth(rng, k)
        value = answer(rng, truth, k)
        gold = rng.random() < GOLD_SHARE
        seconds = math.exp(rng.gauss(math.log(12), 0.5))
        if gold:
            answered += 1
            correct += value == truth
        recent.insert(
            0, RecentAnswer(str(value), seconds < MIN_SECONDS, (value == truth) if gold else None)
        )
        del recent[max(RULES.same_option_run, RULES.fast_streak) :]
        fired.update(d.flags_for(recent, (correct, answered), k, RULES))
        if d.is_unproven(correct, answered, k, RULES):
            fired.add("unproven (held)")
    return fired


def main(workers: int = 2000) -> None:
    rng = random.Random(2026)
    names = [d.FLAG_CHANCE, d.FLAG_PATTERN, d.FLAG_TOO_FAST, "unproven (held)"]
    print("| worker | options | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for label, answer, n in (
        ("honest 80 %", honest, workers),
        ("guesser", guesser, 500),
        ("rote bot", rote, 500),
    ):
        for k in (2, 3, 4):
            counts = dict.fromkeys(names, 0)
            for _ in range(n):
                for name in simulate(answer, k, rng):
                    counts[name] += 1
            cells = " | ".join(f"{100 * counts[name] / n:.1f} %" for name in names)
            print(f"| {label} | {k} | {cells} |")


if __name__ == "__main__":
    main()
