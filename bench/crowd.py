"""Kazi's aggregators against crowd-kit's on one synthetic crowd, in one run.

The crowd: ``tasks`` tasks, ``per_task`` answers each from distinct workers out of
``workers``, three classes; honest workers are right 55-95 % of the time, a tenth
are adversarial (they give the next label round from the truth 90 % of the time).
It is written once to a ``.npz`` file; Kazi's methods run here and crowd-kit's
(https://github.com/Toloka/crowd-kit) run in ``bench/crowd_reference.py`` under the
benchmark's own environment (``.venv-bench``, made by ``bench/run``), since
crowd-kit is never a dependency of Kazi. Each method is timed on its own input
shape (Kazi: a list of answer tuples, what the database gives; crowd-kit: a pandas
DataFrame) with the input built before the clock starts; peak memory is what
``tracemalloc`` saw allocated during a second, untimed call (numpy and pandas
report theirs; tracing slows the call, so it is not the timed one).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from config.settings import REPO_ROOT
from tasks.aggregation import (
    AggregateResult,
    Aggregator,
    TaskId,
    WorkerId,
    dawid_skene,
    decide,
    majority_vote,
    weighted_vote,
)

LABELS = ("a", "b", "c")
REFERENCE_PYTHON = REPO_ROOT / ".venv-bench" / "bin" / "python"
REFERENCE_SCRIPT = Path(__file__).with_name("crowd_reference.py")


@dataclass(frozen=True)
class Crowd:
    """Answers as arrays (task, worker, label index) and each task's true label index."""

    t: np.ndarray
    w: np.ndarray
    lab: np.ndarray
    truth: np.ndarray


@dataclass(frozen=True)
class Outcome:
    """One method's run: wall seconds, peak memory allocated during it, accuracy."""

    library: str
    method: str
    seconds: float
    peak_mib: float
    accuracy: float


def make_crowd(
    *, tasks: int, per_task: int = 5, workers: int = 2000, adversarial: float = 0.1, seed: int = 7
) -> Crowd:
    """The synthetic crowd described above, vectorised (a million answers in a second)."""
    rng = np.random.default_rng(seed)
    k = len(LABELS)
    truth = rng.integers(0, k, size=tasks)
    chosen = rng.integers(0, workers, size=(tasks, per_task))
    while True:  # redraw the rows where a worker would answer one task twice
        ordered = np.sort(chosen, axis=1)
        clash = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
        if not clash.any():
            break
        chosen[clash] = rng.integers(0, workers, size=(int(clash.sum()), per_task))
    skill = rng.uniform(0.55, 0.95, size=workers)
    bad = np.zeros(workers, dtype=bool)
    bad[rng.choice(workers, size=int(workers * adversarial), replace=False)] = True
    t = np.repeat(np.arange(tasks), per_task)
    w = chosen.reshape(-1)
    true = truth[t]
    target = np.where(bad[w], (true + 1) % k, true)
    hit = rng.random(t.size) < np.where(bad[w], 0.9, skill[w])
    wrong = (target + rng.integers(1, k, size=t.size)) % k  # any label but the target
    return Crowd(t, w, np.where(hit, target, wrong), truth)


def _accuracy(results: dict[TaskId, AggregateResult], truth: np.ndarray) -> float:
    hits = sum(LABELS[int(truth[int(t)])] == r.label for t, r in results.items())
    return hits / len(truth)


def _measure(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """Run twice: once timed, once under tracemalloc (whose tracing would skew the time)."""
    began = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - began
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, seconds, peak / 2**20


def run_kazi(crowd: Crowd) -> list[Outcome]:
    """Kazi's majority vote and Dawid-Skene over the crowd's answers as tuples."""
    answers = list(
        zip(crowd.t.tolist(), crowd.w.tolist(), (LABELS[i] for i in crowd.lab), strict=True)
    )
    out = []
    for name, method in (("majority vote", majority_vote), ("Dawid-Skene", dawid_skene)):

        def call(method: Aggregator = method) -> dict[TaskId, AggregateResult]:
            return method(answers, LABELS)

        results, seconds, peak = _measure(call)
        out.append(Outcome("Kazi", name, seconds, peak, _accuracy(results, crowd.truth)))
    return out


def run_reference(crowd: Crowd) -> list[Outcome]:
    """crowd-kit's majority vote and Dawid-Skene in the benchmark's own environment."""
    if not REFERENCE_PYTHON.exists():
        raise RuntimeError(f"{REFERENCE_PYTHON} is missing: bench/run creates it")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "crowd.npz"
        np.savez(data, t=crowd.t, w=crowd.w, lab=crowd.lab, truth=crowd.truth)
        done = subprocess.run(
            [str(REFERENCE_PYTHON), str(REFERENCE_SCRIPT), str(data)],
            check=True,
            capture_output=True,
            text=True,
        )
    return [Outcome(**row) for row in json.loads(done.stdout)]


def decision_latencies(crowd: Crowd, *, tasks: int = 2000) -> list[float]:
    """Milliseconds of each per-answer "is this task done?" decision, replayed answer by answer."""
    # What tasks.progress does after each answer, minus the database: aggregate the
    # task's answers so far (weighted vote, reputations known for half the workers)
    # and apply the stopping rule.
    reputation: dict[WorkerId, float] = {int(w): 0.8 for w in range(0, int(crowd.w.max()) + 1, 2)}
    per_task = int(np.bincount(crowd.t).max())
    samples = []
    for task in range(min(tasks, len(crowd.truth))):
        rows = [
            (task, int(crowd.w[i]), LABELS[int(crowd.lab[i])])
            for i in range(task * per_task, (task + 1) * per_task)
        ]
        for n in range(1, len(rows) + 1):
            began = time.perf_counter()
            result = weighted_vote(rows[:n], LABELS, accuracies=reputation).get(task)
            decide(result, n, 3, 5, 0.75)
            samples.append((time.perf_counter() - began) * 1000)
    return samples


def main() -> None:
    """Print the outcomes of a small crowd as JSON (a quick look without bench/run)."""
    crowd = make_crowd(tasks=int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
    rows = run_kazi(crowd) + run_reference(crowd)
    print(json.dumps([r.__dict__ for r in rows], indent=2))


if __name__ == "__main__":
    main()
