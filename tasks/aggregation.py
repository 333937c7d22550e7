"""Aggregation of redundant answers into one result per task, with a confidence.

Pure functions over plain values: answers are ``(task_id, worker_id, label)``
triples, results are ``AggregateResult`` values keyed by task id. Categorical
methods (single choice, yes/no): majority vote, accuracy-weighted vote and
Dawid-Skene; ``choose_aggregator`` picks one by the project's setting. Free text
and numbers have their own: a normalised-text majority and a median.

Determinism: answers are put in a canonical order (task, worker, label position)
before any arithmetic, so the order in which a database returns them changes
nothing, not even the last bit of a confidence. Ties between labels go to the
label listed first in the task's label set (the project's option order), so the
same vote always gives the same answer. Task and worker ids must be ints or strs.
Answers are counted as given: one answer per (task, worker) is the caller's rule
(a unique constraint in the database), not something re-checked here.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import numpy as np

from tasks.errors import TaskError, UnknownAggregator, UnknownLabel
from tasks.quality import DEFAULT_PRIOR_MEAN

TaskId = int | str
WorkerId = int | str
Label = Hashable
Answer = tuple[TaskId, WorkerId, Label]

#: Accuracies are clipped here so a perfect gold record does not give infinite weight.
_ACCURACY_CLIP = 1e-3


@dataclass(frozen=True)
class AggregateResult:
    """One task's aggregated answer, the confidence in it (in [0, 1]) and the answers used."""

    label: Label
    confidence: float
    n_answers: int


class Decision(StrEnum):
    """Whether a task is done or should be served to another worker."""

    COMPLETE = "complete"
    NEEDS_MORE = "needs_more"


class Aggregator(Protocol):
    """The common signature of the categorical aggregators, so a setting can choose one."""

    def __call__(
        self,
        answers: Iterable[Answer],
        labels: Sequence[Label],
        *,
        accuracies: Mapping[WorkerId, float] | None = None,
        gold: Mapping[TaskId, Label] | None = None,
    ) -> dict[TaskId, AggregateResult]: ...


@dataclass(frozen=True)
class _Encoded:
    """Answers as index arrays in canonical order, ready for numpy."""

    tasks: list[TaskId]
    workers: list[WorkerId]
    t: np.ndarray
    w: np.ndarray
    lab: np.ndarray
    k: int


def _id_key(value: TaskId) -> tuple[str, TaskId]:
    # Type name first, so a mix of int and str ids still sorts instead of raising.
    return (type(value).__name__, value)


def _label_index(labels: Sequence[Label]) -> dict[Label, int]:
    if not labels:
        raise TaskError("the label set is empty")
    index = {label: i for i, label in enumerate(labels)}
    if len(index) != len(labels):
        raise TaskError("the label set has duplicates", details=[list(labels)])
    return index


def _encode(
    answers: Iterable[Answer], labels: Sequence[Label], gold: Mapping[TaskId, Label] | None
) -> _Encoded:
    index = _label_index(labels)
    for task_id, label in (gold or {}).items():
        if label not in index:
            raise UnknownLabel(f"gold answer {label!r} is not one of the labels", details=[task_id])
    rows = []
    for task_id, worker_id, label in answers:
        if label not in index:
            raise UnknownLabel(f"answer {label!r} is not one of the labels", details=[task_id])
        rows.append((_id_key(task_id), _id_key(worker_id), index[label]))
    rows.sort()
    tasks = sorted({r[0] for r in rows})
    workers = sorted({r[1] for r in rows})
    t_pos = {key: i for i, key in enumerate(tasks)}
    w_pos = {key: i for i, key in enumerate(workers)}
    return _Encoded(
        tasks=[key[1] for key in tasks],
        workers=[key[1] for key in workers],
        t=np.array([t_pos[r[0]] for r in rows], dtype=np.intp),
        w=np.array([w_pos[r[1]] for r in rows], dtype=np.intp),
        lab=np.array([r[2] for r in rows], dtype=np.intp),
        k=len(labels),
    )


def _vote_counts(enc: _Encoded) -> np.ndarray:
    counts = np.zeros((len(enc.tasks), enc.k))
    np.add.at(counts, (enc.t, enc.lab), 1.0)
    return counts


def _results(
    enc: _Encoded,
    labels: Sequence[Label],
    chosen: np.ndarray,
    confidence: np.ndarray,
    gold: Mapping[TaskId, Label] | None,
) -> dict[TaskId, AggregateResult]:
    n_answers = np.bincount(enc.t, minlength=len(enc.tasks))
    out = {}
    for i, task_id in enumerate(enc.tasks):
        # float() then clip: numpy rounding can land a hair outside [0, 1].
        conf = min(1.0, max(0.0, float(confidence[i])))
        out[task_id] = AggregateResult(labels[int(chosen[i])], conf, int(n_answers[i]))
    for task_id, label in (gold or {}).items():
        # A gold task's answer is known: report it, whatever the crowd said.
        if task_id in out:
            out[task_id] = AggregateResult(label, 1.0, out[task_id].n_answers)
    return out


def majority_vote(
    answers: Iterable[Answer],
    labels: Sequence[Label],
    *,
    accuracies: Mapping[WorkerId, float] | None = None,
    gold: Mapping[TaskId, Label] | None = None,
) -> dict[TaskId, AggregateResult]:
    """Pick each task's most frequent label; confidence is its share of the votes."""
    # `accuracies` is accepted (and ignored) so every aggregator has one signature.
    enc = _encode(answers, labels, gold)
    counts = _vote_counts(enc)
    chosen = counts.argmax(axis=1)  # first maximum: ties go to the earlier label
    share = counts[np.arange(len(chosen)), chosen] / counts.sum(axis=1)
    return _results(enc, labels, chosen, share, gold)


def accuracy_weight(accuracy: float, k: int) -> float:
    """Give the log-odds vote weight of a worker with this accuracy among ``k`` labels."""
    # Under the "one-coin" model (right with probability a, otherwise uniformly
    # wrong) a vote multiplies the odds of its label by a * (k - 1) / (1 - a). A
    # worker at or below chance (a <= 1/k) gets weight 0 rather than a negative
    # weight: their errors may not be uniform (e.g. label swapping), and the
    # quality gate, not the aggregator, is the place to deal with them.
    a = min(1.0 - _ACCURACY_CLIP, max(_ACCURACY_CLIP, accuracy))
    return max(0.0, math.log(a * (k - 1) / (1.0 - a)))


def weighted_vote(
    answers: Iterable[Answer],
    labels: Sequence[Label],
    *,
    accuracies: Mapping[WorkerId, float] | None = None,
    gold: Mapping[TaskId, Label] | None = None,
    default_accuracy: float = DEFAULT_PRIOR_MEAN,
) -> dict[TaskId, AggregateResult]:
    """Vote with each worker weighted by the log-odds of their gold accuracy."""
    # Workers missing from `accuracies` are new: they vote with the prior's accuracy.
    enc = _encode(answers, labels, gold)
    acc = accuracies or {}
    k = enc.k
    weights = np.array([accuracy_weight(acc.get(w, default_accuracy), k) for w in enc.workers])
    scores = np.zeros((len(enc.tasks), k))
    np.add.at(scores, (enc.t, enc.lab), weights[enc.w] if len(enc.w) else 0.0)
    # Ties on score (e.g. only zero-weight workers) fall back to raw counts, then to
    # label order, so a unanimous task keeps its label even with no trusted voter.
    counts = _vote_counts(enc)
    tied = scores == scores.max(axis=1, keepdims=True)
    chosen = np.where(tied, counts, -1.0).argmax(axis=1)
    # Softmax of the scores is the posterior under the one-coin model, uniform prior.
    post = np.exp(scores - scores.max(axis=1, keepdims=True))
    post /= post.sum(axis=1, keepdims=True)
    return _results(enc, labels, chosen, post[np.arange(len(chosen)), chosen], gold)


def dawid_skene(
    answers: Iterable[Answer],
    labels: Sequence[Label],
    *,
    accuracies: Mapping[WorkerId, float] | None = None,
    gold: Mapping[TaskId, Label] | None = None,
    max_iter: int = 100,
    tol: float = 1e-6,
    smoothing: float = 0.01,
) -> dict[TaskId, AggregateResult]:
    """Estimate each worker's confusion matrix and each task's label jointly by EM."""
    # Dawid & Skene (1979). `accuracies` is ignored: confusion matrices are learnt
    # from the answers themselves (and from `gold`, whose tasks are held at their
    # known label, which anchors the matrices of workers who answered gold).
    if max_iter < 1 or tol <= 0 or smoothing <= 0:
        raise ValueError("need max_iter >= 1, tol > 0 and smoothing > 0")
    enc = _encode(answers, labels, gold)
    n, m = len(enc.tasks), len(enc.workers)
    clamp = _gold_rows(enc, labels, gold)
    counts = _vote_counts(enc)
    # Start from the majority vote (soft): EM needs a sensible start, and with more
    # honest than dishonest workers this lets it recognise label swappers.
    post = counts / counts.sum(axis=1, keepdims=True)
    post = _apply_clamp(post, clamp)
    for _ in range(max_iter):
        log_prior, log_conf = _m_step(enc, post, m, smoothing)
        new_post = _apply_clamp(_e_step(enc, log_prior, log_conf, n), clamp)
        delta = float(np.abs(new_post - post).max()) if n else 0.0
        post = new_post
        if delta < tol:
            break
    chosen = post.argmax(axis=1)  # first maximum: ties go to the earlier label
    return _results(enc, labels, chosen, post[np.arange(n), chosen], gold)


def _m_step(
    enc: _Encoded, post: np.ndarray, m: int, smoothing: float
) -> tuple[np.ndarray, np.ndarray]:
    """Class priors and per-worker confusion matrices [worker, true, observed], in logs."""
    k = enc.k
    prior = (post.sum(axis=0) + smoothing) / (post.shape[0] + k * smoothing)
    conf = np.full((m, k, k), smoothing)
    # conf[w, :, l] += post[t]: each answer spreads over the task's possible truths.
    np.add.at(conf, (enc.w, slice(None), enc.lab), post[enc.t])  # type: ignore[arg-type]  # numpy's stub omits tuple indices
    # Smoothing keeps every probability positive; a row with no evidence is uniform.
    conf /= conf.sum(axis=2, keepdims=True)
    return np.log(prior), np.log(conf)


def _e_step(enc: _Encoded, log_prior: np.ndarray, log_conf: np.ndarray, n: int) -> np.ndarray:
    """Each task's posterior over the true label given the current parameters."""
    log_post = np.tile(log_prior, (n, 1))
    np.add.at(log_post, enc.t, log_conf[enc.w, :, enc.lab])
    log_post -= log_post.max(axis=1, keepdims=True)
    post = np.exp(log_post)
    return post / post.sum(axis=1, keepdims=True)


def _gold_rows(
    enc: _Encoded, labels: Sequence[Label], gold: Mapping[TaskId, Label] | None
) -> dict[int, int]:
    index = _label_index(labels)
    positions = {task_id: i for i, task_id in enumerate(enc.tasks)}
    rows = {}
    for task_id, label in (gold or {}).items():
        if task_id in positions:
            rows[positions[task_id]] = index[label]
    return rows


def _apply_clamp(post: np.ndarray, clamp: dict[int, int]) -> np.ndarray:
    for row, label in clamp.items():
        post[row] = 0.0
        post[row, label] = 1.0
    return post


AGGREGATORS: dict[str, Aggregator] = {
    "majority": majority_vote,
    "weighted": weighted_vote,
    "dawid_skene": dawid_skene,
}


def choose_aggregator(name: str) -> Aggregator:
    """Return the categorical aggregator a project setting names."""
    try:
        return AGGREGATORS[name]
    except KeyError:
        raise UnknownAggregator(
            f"unknown aggregator {name!r}", details=sorted(AGGREGATORS)
        ) from None


_SPACES = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """Fold a free-text answer for comparison: casefold and collapse whitespace."""
    return _SPACES.sub(" ", text).strip().casefold()


def text_majority(answers: Iterable[tuple[TaskId, WorkerId, str]]) -> dict[TaskId, AggregateResult]:
    """Pick each task's most frequent normalised text; confidence is its share of answers."""
    by_task: dict[TaskId, Counter[str]] = defaultdict(Counter)
    for task_id, _worker, text in answers:
        by_task[task_id][normalise_text(text)] += 1
    out = {}
    for task_id, counts in by_task.items():
        # Ties go to the alphabetically first text: arbitrary but order-independent.
        label, votes = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        total = sum(counts.values())
        out[task_id] = AggregateResult(label, votes / total, total)
    return out


def numeric_median(
    answers: Iterable[tuple[TaskId, WorkerId, float]],
    *,
    abs_tol: float = 0.0,
    rel_tol: float = 0.0,
) -> dict[TaskId, AggregateResult]:
    """Take each task's median number; confidence is the share of answers within tolerance of it."""
    # The median, not the mean: one worker typing 10000 for 10 must not move the result.
    by_task: dict[TaskId, list[float]] = defaultdict(list)
    for task_id, _worker, value in answers:
        by_task[task_id].append(value)
    out = {}
    for task_id, values in by_task.items():
        median = statistics.median(sorted(values))
        close = sum(math.isclose(v, median, rel_tol=rel_tol, abs_tol=abs_tol) for v in values)
        # An integral median is reported as an int so "3 cows" does not read "3.0".
        label = int(median) if float(median).is_integer() else float(median)
        out[task_id] = AggregateResult(label, close / len(values), len(values))
    return out


def decide(
    result: AggregateResult | None,
    n_answers: int,
    answers_per_task: int,
    max_answers: int,
    target_confidence: float,
) -> Decision:
    """Decide after an answer whether a task is complete or should get another answer."""
    if not 1 <= answers_per_task <= max_answers:
        raise ValueError(
            f"need 1 <= answers_per_task ({answers_per_task}) <= max_answers ({max_answers})"
        )
    # The cap bounds what a hard task can cost the requester: at it, the task is
    # done with whatever confidence it has (which the results report).
    if n_answers >= max_answers:
        return Decision.COMPLETE
    confident = result is not None and result.confidence >= target_confidence
    if n_answers >= answers_per_task and confident:
        return Decision.COMPLETE
    return Decision.NEEDS_MORE
