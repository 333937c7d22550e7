"""Aggregation: Dawid-Skene (and majority vote, for scale) over a project's worth of answers."""

from __future__ import annotations

import random

from bench.harness import Row, Table, measure, row_from
from tasks.aggregation import Aggregator, Answer, dawid_skene, majority_vote

LABELS = ("Positive", "Negative", "Neutral")


def synthetic_answers(
    count: int, *, workers: int = 500, per_task: int = 3, seed: int = 11
) -> list[Answer]:
    """``count`` answers, ``per_task`` per task by distinct workers, most of them right."""
    rng = random.Random(seed)
    skill = [rng.uniform(0.55, 0.95) for _ in range(workers)]
    answers: list[Answer] = []
    for task in range(-(-count // per_task)):
        truth = rng.choice(LABELS)
        for worker in rng.sample(range(workers), per_task):
            label = truth if rng.random() < skill[worker] else rng.choice(LABELS)
            answers.append((task, worker, label))
    return answers[:count]


def run(*, answers: int, repeats: int, max_seconds: float) -> list[Row]:
    """Time Dawid-Skene and the majority vote over ``answers`` answers (pure, no database)."""
    data = synthetic_answers(answers)
    label = f"{answers:,} answers, {len(LABELS)} labels"
    rows = []
    for name, method in (("dawid_skene", dawid_skene), ("majority_vote", majority_vote)):

        def aggregate(i: int, method: Aggregator = method) -> None:
            results = method(data, LABELS)
            if not results:
                raise RuntimeError("aggregation returned no results")

        samples = measure(aggregate, n=repeats, max_seconds=max_seconds)
        rows.append(
            row_from("-", f"{label}: {name}", samples, unit="answers/s", items_per_sample=answers)
        )
    return rows


def table() -> Table:
    """The empty table this benchmark fills."""
    return Table(
        "Aggregation (tasks.aggregation)",
        "Pure functions over (task, worker, label) answers: three answers per task from 500 "
        "workers of 55-95% accuracy. Dawid-Skene runs EM to convergence (at most 100 rounds); "
        "the API's results download runs it over a whole dawid_skene project.",
    )
