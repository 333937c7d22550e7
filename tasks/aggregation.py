"""Aggregation of redundant answers into one result per task, with a calibrated confidence.

Pure functions over plain values: answers are ``(task_id, worker_id, label)``
triples, results are ``AggregateResult`` values keyed by task id, and every
confidence is a posterior probability of the reported label. Categorical methods
(single choice, yes/no): majority vote and accuracy-weighted vote (both the
one-coin model, majority vote with every worker a newcomer), Dawid-Skene and MACE
(``tasks.latent``); ``choose_aggregator`` picks one by the project's setting. Free
text and numbers have their own (``tasks.free_text``). ``decide`` is the stopping
rule built on the confidence.

Determinism: answers are put in a canonical order before any arithmetic
(``tasks.crowd.encode``). Ties between labels go to the label with more raw votes,
then to the label listed first in the task's label set (the project's option
order), and are flagged so the stopping rule can ask for another answer. Answers
are counted as given: one answer per (task, worker) is the caller's rule (a unique
constraint in the database), not something re-checked here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Protocol

import numpy as np

from tasks.crowd import (
    AggregateResult,
    Answer,
    Label,
    TaskId,
    WorkerId,
    accuracy_weight,
    encode,
    newcomer_accuracy,
    results,
    softmax_rows,
    vote_counts,
)
from tasks.errors import UnknownAggregator
from tasks.free_text import normalise_text, numeric_median, text_majority
from tasks.latent import dawid_skene, mace

__all__ = [
    "AGGREGATORS",
    "AggregateResult",
    "Aggregator",
    "Answer",
    "Decision",
    "Label",
    "TaskId",
    "WorkerId",
    "accuracy_weight",
    "choose_aggregator",
    "dawid_skene",
    "decide",
    "mace",
    "majority_vote",
    "newcomer_accuracy",
    "normalise_text",
    "numeric_median",
    "text_majority",
    "weighted_vote",
]


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


def majority_vote(
    answers: Iterable[Answer],
    labels: Sequence[Label],
    *,
    accuracies: Mapping[WorkerId, float] | None = None,
    gold: Mapping[TaskId, Label] | None = None,
) -> dict[TaskId, AggregateResult]:
    """Pick each task's most frequent label; confidence is its one-coin posterior with newcomers."""
    # `accuracies` is accepted (and ignored) so every aggregator has one signature:
    # every voter counts as a newcomer, so the label is the plurality and the
    # confidence what that many agreeing strangers are worth (not the vote share,
    # which calls two agreeing strangers certain).
    return weighted_vote(answers, labels, gold=gold, accuracies=None)


def weighted_vote(
    answers: Iterable[Answer],
    labels: Sequence[Label],
    *,
    accuracies: Mapping[WorkerId, float] | None = None,
    gold: Mapping[TaskId, Label] | None = None,
    default_accuracy: float | None = None,
) -> dict[TaskId, AggregateResult]:
    """Vote with each worker weighted by the log-odds of their accuracy (one-coin posterior)."""
    # Workers missing from `accuracies` have no record: they vote as newcomers.
    enc = encode(answers, labels, gold)
    k = enc.k
    acc = accuracies or {}
    newcomer = newcomer_accuracy(k) if default_accuracy is None else default_accuracy
    weights = np.array([accuracy_weight(acc.get(w, newcomer), k) for w in enc.workers])
    scores = vote_counts(enc, weights[enc.w] if enc.m else None)
    # Softmax of the scores is the posterior under the one-coin model, uniform prior.
    # Ties on score (e.g. only zero-weight workers) fall back to raw counts, then to
    # label order, so a unanimous task keeps its label even with no trusted voter.
    return results(enc, labels, softmax_rows(scores), gold, tiebreak=vote_counts(enc))


AGGREGATORS: dict[str, Aggregator] = {
    "majority": majority_vote,
    "weighted": weighted_vote,
    "dawid_skene": dawid_skene,
    "mace": mace,
}
#: Aggregators that learn from a whole project; per answer the weighted vote stands in.
WHOLE_PROJECT = frozenset({"dawid_skene", "mace"})


def choose_aggregator(name: str) -> Aggregator:
    """Return the categorical aggregator a project setting names."""
    try:
        return AGGREGATORS[name]
    except KeyError:
        raise UnknownAggregator(
            f"unknown aggregator {name!r}", details=sorted(AGGREGATORS)
        ) from None


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
    if result is None or result.tied:
        # A tie is no answer: while another answer may be bought, buy it.
        return Decision.NEEDS_MORE
    if n_answers >= answers_per_task and result.confidence >= target_confidence:
        return Decision.COMPLETE
    return Decision.NEEDS_MORE
