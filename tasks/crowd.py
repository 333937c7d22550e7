"""The shared ground of the aggregators: answer encoding, one-coin posteriors, results.

Answers are ``(task_id, worker_id, label)`` triples. They are encoded once into
numpy index arrays (``np.unique`` on the ids, never a Python sort per answer) and
put in a canonical order (task, then worker), so the order in which a database
returns them changes nothing, not even the last bit of a confidence. Task and
worker ids must be ints or strs.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from typing import NamedTuple, TypeVar

import numpy as np

from tasks.errors import TaskError, UnknownLabel

TaskId = int | str
WorkerId = int | str
Label = Hashable
Answer = tuple[TaskId, WorkerId, Label]

_T = TypeVar("_T")

#: Accuracies are clipped here so a perfect gold record does not give infinite weight.
ACCURACY_CLIP = 1e-3
#: A newcomer's accuracy is chance plus this share of the way from chance to perfect.
NEWCOMER_LIFT = 0.25
#: Two posteriors closer than this are a tie (float noise must not break one).
TIE_TOLERANCE = 1e-9


class AggregateResult(NamedTuple):
    """One task's aggregated answer, its posterior probability and the answers used.

    ``tied`` says that another label is exactly as probable: the stopping rule never
    completes such a task while it may still get more answers. A named tuple, not a
    frozen dataclass: a whole project builds 200,000 of them, and a frozen
    dataclass's ``__init__`` is several times slower to call.
    """

    label: Label
    confidence: float
    n_answers: int
    tied: bool = False


@dataclass(frozen=True)
class Encoded:
    """Answers as index arrays in canonical order, ready for numpy."""

    tasks: list[TaskId]
    workers: list[WorkerId]
    t: np.ndarray
    w: np.ndarray
    lab: np.ndarray
    k: int

    @property
    def n(self) -> int:
        """How many distinct tasks were answered."""
        return len(self.tasks)

    @property
    def m(self) -> int:
        """How many distinct workers answered."""
        return len(self.workers)


def newcomer_accuracy(k: int) -> float:
    """The accuracy the one-coin model assumes for a worker with no gold record, among ``k`` labels."""
    # Chance (1/k) plus a quarter of the way to perfect: a stranger is assumed a
    # little better than guessing, not a seasoned worker. With k = 3 that is 0.5,
    # so each vote multiplies its label's odds by a(k-1)/(1-a) = 0.5*2/0.5 = 2:
    #   two agreeing newcomers: 2^2 / (2^2 + 1 + 1) = 4/6 = 0.67 (the old 0.7
    #   prior gave (0.7*2/0.3)^2 / ((0.7*2/0.3)^2 + 2) = 21.8/23.8 = 0.92);
    #   three agreeing: 2^3 / (2^3 + 2) = 0.80; two against one: 4/(4+2+1) = 0.57.
    # With a 0.75 target, three agreeing newcomers complete a task and any
    # disagreement buys another answer. With k = 2 (a = 0.625, factor 5/3): two
    # agreeing give 0.74, three 0.82.
    if k < 2:
        raise TaskError("a label set needs at least two labels", details=[k])
    chance = 1.0 / k
    return chance + NEWCOMER_LIFT * (1.0 - chance)


def accuracy_weight(accuracy: float, k: int) -> float:
    """Give the log-odds vote weight of a worker with this accuracy among ``k`` labels."""
    # Under the "one-coin" model (right with probability a, otherwise uniformly
    # wrong) a vote multiplies the odds of its label by a * (k - 1) / (1 - a). A
    # worker at or below chance (a <= 1/k) gets weight 0 rather than a negative
    # weight: their errors may not be uniform (e.g. label swapping), and the
    # quality gate, not the aggregator, is the place to deal with them.
    a = min(1.0 - ACCURACY_CLIP, max(ACCURACY_CLIP, accuracy))
    return max(0.0, math.log(a * (k - 1) / (1.0 - a)))


def label_index(labels: Sequence[Label]) -> dict[Label, int]:
    """Each label's position in the project's option order (refusing empty or repeated sets)."""
    if not labels:
        raise TaskError("the label set is empty")
    index = {label: i for i, label in enumerate(labels)}
    if len(index) != len(labels):
        raise TaskError("the label set has duplicates", details=[list(labels)])
    return index


def _id_key(value: TaskId) -> tuple[str, TaskId]:
    # Type name first, so a mix of int and str ids still sorts instead of raising.
    return (type(value).__name__, value)


def _codes(values: list[TaskId]) -> tuple[list[TaskId], np.ndarray]:
    """The distinct ids in sorted order and each value's position among them."""
    array = np.asarray(values)
    if (
        array.dtype.kind in "iu"
        and len(array)
        and array.min() >= 0
        and array.max() < 4 * len(array)
    ):
        # Database ids are dense non-negative ints: mark the ones present and number them
        # in order, which is np.unique's answer in O(n) instead of a sort.
        present = np.zeros(int(array.max()) + 1, dtype=bool)
        present[array] = True
        position = np.cumsum(present) - 1
        distinct: list[TaskId] = list(np.flatnonzero(present).tolist())
        return distinct, position[array].astype(np.intp)
    if array.dtype.kind in "iu" or (
        array.dtype.kind == "U" and all(type(v) is str for v in values)
    ):
        uniq, inverse = np.unique(array, return_inverse=True)
        return uniq.tolist(), inverse.astype(np.intp).reshape(-1)
    # Mixed int and str ids (numpy would turn 1 into "1"): sort the distinct ones only.
    ordered = sorted(set(values), key=_id_key)
    pos = {v: i for i, v in enumerate(ordered)}
    return ordered, np.fromiter((pos[v] for v in values), dtype=np.intp, count=len(values))


def _label_codes(
    values: list[Label], labels: Sequence[Label], task_ids: list[TaskId]
) -> np.ndarray:
    # A dict lookup per answer (k labels, no sort): faster than np.unique on strings.
    index = label_index(labels)
    codes = np.fromiter(map(index.get, values, repeat(-1)), dtype=np.intp, count=len(values))
    if (codes < 0).any():
        where = int(np.argmax(codes < 0))
        raise UnknownLabel(
            f"answer {values[where]!r} is not one of the labels", details=[task_ids[where]]
        )
    return codes


def encode(
    answers: Iterable[Answer], labels: Sequence[Label], gold: Mapping[TaskId, Label] | None
) -> Encoded:
    """Encode answers (and check gold labels) into index arrays in canonical order."""
    index = label_index(labels)
    for task_id, label in (gold or {}).items():
        if label not in index:
            raise UnknownLabel(f"gold answer {label!r} is not one of the labels", details=[task_id])
    rows = answers if isinstance(answers, list) else list(answers)
    if not rows:
        empty = np.zeros(0, dtype=np.intp)
        return Encoded([], [], empty, empty, empty, len(labels))
    # itemgetter over the list, not zip(*rows): unpacking a million arguments is slow.
    task_ids, worker_ids, given = (list(map(itemgetter(i), rows)) for i in range(3))
    tasks, t = _codes(task_ids)
    workers, w = _codes(worker_ids)
    lab = _label_codes(given, labels, task_ids)
    # Canonical order by (task, worker), unique per answer; a database's rows often
    # come in it already, and checking is cheaper than sorting.
    key = t.astype(np.int64) * max(1, len(workers)) + w
    if not (key[1:] >= key[:-1]).all():
        order = np.argsort(key, kind="stable")
        t, w, lab = t[order], w[order], lab[order]
    return Encoded(tasks, workers, t, w, lab, len(labels))


def vote_counts(enc: Encoded, weights: np.ndarray | None = None) -> np.ndarray:
    """Per task and label, the (weighted) number of votes, as an [n, k] array."""
    flat = np.bincount(enc.t * enc.k + enc.lab, weights=weights, minlength=enc.n * enc.k)
    return flat.astype(float).reshape(enc.n, enc.k)


def softmax_rows(scores: np.ndarray) -> np.ndarray:
    """Each row of log-scores turned into probabilities."""
    post = np.exp(scores - scores.max(axis=1, keepdims=True))
    return post / post.sum(axis=1, keepdims=True)


def results(
    enc: Encoded,
    labels: Sequence[Label],
    post: np.ndarray,
    gold: Mapping[TaskId, Label] | None,
    *,
    tiebreak: np.ndarray | None = None,
) -> dict[TaskId, AggregateResult]:
    """Results from per-task posteriors: the most probable label, its probability, ties flagged."""
    top = post.max(axis=1, keepdims=True) if enc.n else post
    best = post >= top - TIE_TOLERANCE
    # Among equally probable labels the one with more raw votes, then the earlier one.
    chosen = np.where(best, tiebreak if tiebreak is not None else 0.0, -1.0).argmax(axis=1)
    tied = (best.sum(axis=1) > 1).tolist()
    n_answers = np.bincount(enc.t, minlength=enc.n).tolist()
    # np.clip: numpy rounding can land a hair outside [0, 1]. Whole columns go to
    # Python at once (.tolist()): indexing numpy once per task is slow at 200,000 tasks.
    conf = np.clip(post[np.arange(enc.n), chosen], 0.0, 1.0).tolist() if enc.n else []
    names = [labels[i] for i in chosen.tolist()]
    out = _without_gc(
        lambda: dict(
            zip(
                enc.tasks,
                map(AggregateResult._make, zip(names, conf, n_answers, tied, strict=True)),
                strict=True,
            )
        )
    )
    for task_id, label in (gold or {}).items():
        # A gold task's answer is known: report it, whatever the crowd said.
        if task_id in out:
            out[task_id] = AggregateResult(label, 1.0, out[task_id].n_answers)
    return out


def _without_gc(build: Callable[[], _T]) -> _T:
    """Run ``build`` with the cyclic garbage collector paused."""
    # Building 200,000 result tuples next to a million answer tuples triggers a
    # collection every 700 allocations, each scanning the answers again: most of the
    # time of a whole-project vote. Tuples of numbers and labels hold no cycles, so
    # pausing the collector here loses nothing.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return build()
    finally:
        if enabled:
            gc.enable()


def gold_rows(
    enc: Encoded, labels: Sequence[Label], gold: Mapping[TaskId, Label] | None
) -> dict[int, int]:
    """Row of each answered gold task and the index of its known label."""
    index = label_index(labels)
    positions = {task_id: i for i, task_id in enumerate(enc.tasks)}
    return {positions[t]: index[label] for t, label in (gold or {}).items() if t in positions}


def clamp(post: np.ndarray, rows: dict[int, int]) -> np.ndarray:
    """Hold gold tasks at their known label (in place), so they anchor what EM learns."""
    if rows:
        idx = np.fromiter(rows, dtype=np.intp, count=len(rows))
        post[idx] = 0.0
        post[idx, np.fromiter(rows.values(), dtype=np.intp, count=len(rows))] = 1.0
    return post
