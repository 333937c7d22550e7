"""Aggregators on seeded synthetic crowds with known truth, and on small hand-made cases."""

from __future__ import annotations

from typing import Any

import pytest

from tasks.aggregation import (
    AGGREGATORS,
    AggregateResult,
    Decision,
    Label,
    TaskId,
    WorkerId,
    accuracy_weight,
    choose_aggregator,
    dawid_skene,
    decide,
    majority_vote,
    newcomer_accuracy,
    numeric_median,
    text_majority,
    weighted_vote,
)
from tasks.errors import TaskError, UnknownAggregator, UnknownLabel
from tasks.quality import smoothed_accuracy
from tests.tasks.synthetic import LABELS, hit_rate, make_crowd

SEEDS = [0, 1, 2]


def fields(result: AggregateResult) -> tuple[Any, ...]:
    """A result as a plain tuple, to compare with pytest.approx inside."""
    return tuple(result)


SWAPPERS = frozenset({0, 3, 6})  # a third of ten workers, mixed among the honest ones


def gold_accuracies(crowd, n_gold: int = 40) -> dict[WorkerId, float]:
    """Smoothed accuracy per worker, measured on the first ``n_gold`` tasks as gold."""
    counts: dict[int, list[int]] = {}
    for task, worker, label in crowd.answers:
        if task < n_gold:
            c = counts.setdefault(worker, [0, 0])
            c[0] += label == crowd.truth[task]
            c[1] += 1
    return {w: smoothed_accuracy(c, n) for w, (c, n) in counts.items()}


@pytest.mark.parametrize("seed", SEEDS)
def test_majority_recovers_truth_from_honest_workers(seed: int) -> None:
    crowd = make_crowd(seed)
    assert hit_rate(majority_vote(crowd.answers, LABELS), crowd.truth) >= 0.85


@pytest.mark.parametrize("seed", SEEDS)
def test_dawid_skene_beats_majority_against_label_swappers(seed: int) -> None:
    crowd = make_crowd(seed, accuracies=(0.85,) * 10, swappers=SWAPPERS)
    mv = hit_rate(majority_vote(crowd.answers, LABELS), crowd.truth)
    ds = hit_rate(dawid_skene(crowd.answers, LABELS), crowd.truth)
    assert ds >= 0.95
    assert ds - mv >= 0.10, (ds, mv)


@pytest.mark.parametrize("seed", SEEDS)
def test_dawid_skene_is_not_worse_than_majority_with_honest_workers(seed: int) -> None:
    crowd = make_crowd(seed)
    mv = hit_rate(majority_vote(crowd.answers, LABELS), crowd.truth)
    ds = hit_rate(dawid_skene(crowd.answers, LABELS), crowd.truth)
    assert ds >= mv - 0.02


@pytest.mark.parametrize("seed", SEEDS)
def test_weighted_vote_with_gold_accuracies_beats_majority(seed: int) -> None:
    # Swappers are far below chance on gold, so they get no weight.
    crowd = make_crowd(seed, accuracies=(0.85,) * 10, swappers=SWAPPERS)
    acc = gold_accuracies(crowd)
    assert all(acc[w] < 0.3 for w in SWAPPERS)
    mv = hit_rate(majority_vote(crowd.answers, LABELS), crowd.truth)
    wv = hit_rate(weighted_vote(crowd.answers, LABELS, accuracies=acc), crowd.truth)
    assert wv - mv >= 0.05, (wv, mv)


def test_weighted_vote_lets_two_experts_outvote_three_weak_workers() -> None:
    answers = [
        (1, "e1", "pos"),
        (1, "e2", "pos"),
        (1, "w1", "neg"),
        (1, "w2", "neg"),
        (1, "w3", "neg"),
    ]
    experts: dict[WorkerId, float] = {"e1": 0.95, "e2": 0.95, "w1": 0.4, "w2": 0.4, "w3": 0.4}
    weak_experts: dict[WorkerId, float] = {"e1": 0.4, "e2": 0.4, "w1": 0.95, "w2": 0.95, "w3": 0.95}
    assert majority_vote(answers, LABELS)[1].label == "neg"
    assert weighted_vote(answers, LABELS, accuracies=experts)[1].label == "pos"
    assert weighted_vote(answers, LABELS, accuracies=weak_experts)[1].label == "neg"


def test_weighted_confidence_is_the_one_coin_posterior() -> None:
    # Two workers at 0.8 and 0.6 with three labels, disagreeing.
    answers = [(1, "a", "pos"), (1, "b", "neg")]
    result = weighted_vote(answers, LABELS, accuracies={"a": 0.8, "b": 0.6})[1]
    like = {"pos": 0.8 * 0.2, "neg": 0.1 * 0.6, "neu": 0.1 * 0.2}  # P(answers | truth)
    assert result.label == "pos"
    assert result.confidence == pytest.approx(like["pos"] / sum(like.values()))


def test_accuracy_weight() -> None:
    assert accuracy_weight(1 / 3, 3) == pytest.approx(0.0)
    assert accuracy_weight(0.2, 3) == 0.0  # below chance: no vote, not a negative one
    assert accuracy_weight(0.9, 2) > accuracy_weight(0.7, 2) > 0
    assert accuracy_weight(1.0, 3) < 10  # clipped, finite


def test_workers_without_accuracy_vote_with_the_prior() -> None:
    answers = [(1, "new", "pos"), (1, "weak", "neg")]
    assert weighted_vote(answers, LABELS, accuracies={"weak": 0.5})[1].label == "pos"
    assert weighted_vote(answers, LABELS, accuracies={"weak": 0.9})[1].label == "neg"


def test_zero_weight_workers_fall_back_to_counts_then_label_order() -> None:
    answers = [(1, "a", "neu"), (1, "b", "neu"), (1, "c", "neg")]
    result = weighted_vote(answers, LABELS, accuracies={"a": 0.1, "b": 0.1, "c": 0.1})[1]
    assert result.label == "neu"
    assert result.confidence == pytest.approx(1 / 3)  # no trusted voter: no information


def test_majority_confidence_is_the_newcomer_posterior() -> None:
    # Three labels: a newcomer is right half the time, so a vote doubles its label's odds.
    answers = [(7, 1, "neg"), (7, 2, "neg"), (7, 3, "pos"), (8, 1, "neu")]
    results = majority_vote(answers, LABELS)
    assert newcomer_accuracy(3) == pytest.approx(0.5)
    assert fields(results[7]) == ("neg", pytest.approx(4 / 7), 3, False)
    assert fields(results[8]) == ("neu", pytest.approx(2 / 4), 1, False)


@pytest.mark.parametrize("aggregate", [majority_vote, weighted_vote])
def test_two_agreeing_newcomers_are_not_confident(aggregate) -> None:
    two = aggregate([(1, "a", "pos"), (1, "b", "pos")], LABELS)[1]
    three = aggregate([(1, "a", "pos"), (1, "b", "pos"), (1, "c", "pos")], LABELS)[1]
    assert two.confidence == pytest.approx(4 / 6)  # not the 0.92 of a 0.7 prior
    assert three.confidence == pytest.approx(8 / 10)
    assert decide(two, 2, 2, 4, 0.75) is Decision.NEEDS_MORE
    assert decide(three, 3, 3, 5, 0.75) is Decision.COMPLETE


@pytest.mark.parametrize("aggregate", list(AGGREGATORS.values()))
def test_a_tie_is_flagged_and_never_completes_below_the_cap(aggregate) -> None:
    result = aggregate([(1, "a", "pos"), (1, "b", "neg")], LABELS)[1]
    assert result.tied
    assert decide(result, 2, 2, 4, 0.0) is Decision.NEEDS_MORE  # even with no target
    assert decide(result, 4, 2, 4, 0.0) is Decision.COMPLETE  # the cap ends it
    assert not aggregate([(1, "a", "pos"), (1, "b", "pos")], LABELS)[1].tied


@pytest.mark.parametrize("aggregate", list(AGGREGATORS.values()))
def test_ties_go_to_the_earlier_label(aggregate) -> None:
    answers = [(1, "a", "neu"), (1, "b", "neg")]
    assert aggregate(answers, LABELS)[1].label == "neg"
    assert aggregate(answers, ("neu", "neg", "pos"))[1].label == "neu"


@pytest.mark.parametrize("aggregate", list(AGGREGATORS.values()))
def test_gold_tasks_report_their_known_answer(aggregate) -> None:
    answers = [(1, "a", "neg"), (1, "b", "neg"), (2, "a", "pos")]
    results = aggregate(answers, LABELS, gold={1: "pos", 99: "neu"})
    assert results[1] == AggregateResult("pos", 1.0, 2)
    assert 99 not in results  # gold for a task with no answers adds nothing


@pytest.mark.parametrize(("n_gold", "at_least"), [(10, 0.55), (60, 0.85)])
def test_dawid_skene_learns_from_gold(n_gold: int, at_least: float) -> None:
    # Worker "s" always swaps pos<->neg; the gold tasks prove it. The last task has only
    # s. Ten gold answers half convince (the confusion rows' newcomer prior weighs ten
    # pseudo-answers), sixty nearly settle it.
    answers = [(t, "s", "neg" if t % 2 else "pos") for t in range(n_gold)]
    answers.append((n_gold, "s", "neg"))
    gold: dict[TaskId, Label] = {t: ("pos" if t % 2 else "neg") for t in range(n_gold)}
    assert dawid_skene(answers, LABELS)[n_gold].label == "neg"
    result = dawid_skene(answers, LABELS, gold=gold)[n_gold]
    assert result.label == "pos"
    assert result.confidence > at_least


@pytest.mark.parametrize("aggregate", list(AGGREGATORS.values()))
def test_unknown_labels_are_refused(aggregate) -> None:
    with pytest.raises(UnknownLabel):
        aggregate([(1, "a", "maybe")], LABELS)
    with pytest.raises(UnknownLabel):
        aggregate([(1, "a", "pos")], LABELS, gold={1: "maybe"})


@pytest.mark.parametrize("labels", [(), ("pos", "pos")])
def test_bad_label_sets_are_refused(labels) -> None:
    with pytest.raises(TaskError):
        majority_vote([], labels)


@pytest.mark.parametrize("aggregate", list(AGGREGATORS.values()))
def test_no_answers_give_no_results(aggregate) -> None:
    assert aggregate([], LABELS) == {}


def test_dawid_skene_is_fast_enough_for_a_request() -> None:
    import time

    crowd = make_crowd(5, n_tasks=2000, swappers=SWAPPERS)
    # CPU time, not wall time: what the work costs, not how busy the machine is (about
    # 0.1 s here; a loaded machine stretches the wall clock, not this).
    start = time.process_time()
    dawid_skene(crowd.answers, LABELS)
    assert time.process_time() - start < 2.0


def test_choose_aggregator_by_name() -> None:
    assert choose_aggregator("majority") is majority_vote
    assert choose_aggregator("weighted") is weighted_vote
    assert choose_aggregator("dawid_skene") is dawid_skene
    with pytest.raises(UnknownAggregator) as err:
        choose_aggregator("median")
    assert err.value.details == ["dawid_skene", "mace", "majority", "weighted"]


def test_text_majority_normalises_case_and_spaces() -> None:
    answers = [
        (1, "a", "Nairobi "),
        (1, "b", "nairobi"),
        (1, "c", "  NAIROBI"),
        (1, "d", "Mombasa"),
    ]
    answers += [(2, "a", "Kisumu  town"), (2, "b", "kisumu town"), (2, "c", "Eldoret")]
    results = text_majority(answers)
    # One-coin posterior over the answers given plus an unsaid one, newcomer voters.
    assert fields(results[1]) == ("nairobi", pytest.approx(8 / 11), 4, False)
    assert fields(results[2]) == ("kisumu town", pytest.approx(4 / 7), 3, False)


def test_text_majority_breaks_ties_by_text_not_order() -> None:
    forward = [(1, "a", "zebra"), (1, "b", "apple")]
    assert text_majority(forward)[1].label == "apple"
    assert text_majority(list(reversed(forward)))[1].label == "apple"


def test_numeric_median_resists_outliers() -> None:
    results = numeric_median([(1, "a", 10), (1, "b", 11), (1, "c", 10000)])
    # Three different numbers: no majority, flagged like a tie (k = 4, weight 7/3).
    assert fields(results[1]) == (11, pytest.approx(7 / 24), 3, True)


def test_numeric_median_confidence_uses_tolerance() -> None:
    answers = [(1, "a", 10.0), (1, "b", 10.4), (1, "c", 12.0), (1, "d", 9.8)]
    exact = numeric_median(answers)[1]
    loose = numeric_median(answers, abs_tol=0.5)[1]
    assert exact.label == pytest.approx(10.2)
    assert exact.confidence == 0.0
    assert loose.confidence == pytest.approx(8 / 11)  # three agree, one apart
    assert numeric_median(answers, rel_tol=0.2)[1].confidence == pytest.approx(16 / 18)


def test_numeric_median_reports_integral_values_as_int() -> None:
    result = numeric_median([(1, "a", 3), (1, "b", 5)])[1]
    assert result.label == 4
    assert isinstance(result.label, int)


@pytest.mark.parametrize(
    ("confidence", "n", "expected"),
    [
        (0.95, 3, Decision.COMPLETE),  # enough answers, confident
        (0.95, 2, Decision.NEEDS_MORE),  # confident but short of answers_per_task
        (0.60, 3, Decision.NEEDS_MORE),  # enough answers, not confident: buy another
        (0.60, 4, Decision.NEEDS_MORE),
        (0.60, 5, Decision.COMPLETE),  # the cap ends it whatever the confidence
        (0.90, 4, Decision.COMPLETE),  # exactly the target counts
    ],
)
def test_decide(confidence: float, n: int, expected: Decision) -> None:
    result = AggregateResult("pos", confidence, n)
    assert decide(result, n, answers_per_task=3, max_answers=5, target_confidence=0.9) is expected


def test_decide_without_a_result_needs_more_until_the_cap() -> None:
    assert decide(None, 0, 3, 5, 0.9) is Decision.NEEDS_MORE
    assert decide(None, 5, 3, 5, 0.9) is Decision.COMPLETE


@pytest.mark.parametrize(("per_task", "cap"), [(0, 3), (4, 3)])
def test_decide_refuses_inconsistent_settings(per_task: int, cap: int) -> None:
    with pytest.raises(ValueError):
        decide(None, 0, per_task, cap, 0.9)


def test_incremental_answers_stop_when_confident() -> None:
    # Three agreeing experts complete a task at 3 answers; a split one needs more.
    acc: dict[WorkerId, float] = {w: 0.9 for w in "abcdef"}
    agree = [(1, w, "pos") for w in "abc"]
    split = [(2, "a", "pos"), (2, "b", "neg"), (2, "c", "pos")]
    results = weighted_vote(agree + split, LABELS, accuracies=acc)
    assert decide(results[1], 3, 3, 7, 0.95) is Decision.COMPLETE
    assert decide(results[2], 3, 3, 7, 0.95) is Decision.NEEDS_MORE
