"""Seeded synthetic crowds with known truth, for testing aggregators."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LABELS = ("pos", "neg", "neu")


@dataclass(frozen=True)
class Crowd:
    """Answers from simulated workers, with each task's true label and each worker's accuracy."""

    answers: list[tuple[int, int, str]]
    truth: dict[int, str]
    accuracy: dict[int, float]


def make_crowd(
    seed: int,
    *,
    n_tasks: int = 200,
    accuracies: tuple[float, ...] = (0.9, 0.85, 0.8, 0.75, 0.7, 0.7, 0.65, 0.6, 0.6, 0.55),
    swappers: frozenset[int] = frozenset(),
    per_task: int = 5,
    labels: tuple[str, ...] = LABELS,
) -> Crowd:
    """Build a crowd: honest workers err uniformly; swappers answer truth+1 with their accuracy."""
    rng = np.random.default_rng(seed)
    k = len(labels)
    truth_idx = rng.integers(0, k, size=n_tasks)
    answers = []
    for task in range(n_tasks):
        for worker in rng.choice(len(accuracies), size=per_task, replace=False):
            true = int(truth_idx[task])
            # A swapper is "right" about a shifted label: systematic, not random, error.
            target = (true + 1) % k if worker in swappers else true
            if rng.random() < accuracies[worker]:
                given = target
            else:
                given = int(rng.choice([c for c in range(k) if c != target]))
            answers.append((task, int(worker), labels[given]))
    truth = {task: labels[int(c)] for task, c in enumerate(truth_idx)}
    return Crowd(answers, truth, {w: a for w, a in enumerate(accuracies)})


def hit_rate(results: dict, truth: dict) -> float:
    """Share of tasks whose aggregated label equals the truth."""
    return sum(results[t].label == truth[t] for t in truth) / len(truth)
