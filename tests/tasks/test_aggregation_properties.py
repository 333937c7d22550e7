"""Properties every categorical aggregator must have, checked on generated answer sets."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.aggregation import AGGREGATORS, Label, numeric_median, text_majority

LABELS = ("a", "b", "c")
NAMES = sorted(AGGREGATORS)

# One answer per (task, worker): the database enforces that, so generate it that way.
answer_sets = st.dictionaries(
    keys=st.tuples(st.integers(0, 8), st.integers(0, 5)),
    values=st.sampled_from(LABELS),
    max_size=40,
).map(lambda d: [(t, w, label) for (t, w), label in d.items()])
accuracy_maps = st.dictionaries(st.integers(0, 5), st.floats(0.0, 1.0), max_size=6)
names = st.sampled_from(NAMES)

fast = settings(max_examples=60, deadline=None)


@fast
@given(names, answer_sets, accuracy_maps)
def test_every_task_gets_one_result_with_a_confidence_in_0_1(name, answers, acc) -> None:
    results = AGGREGATORS[name](answers, LABELS, accuracies=acc)
    assert set(results) == {t for t, _, _ in answers}
    for task_id, result in results.items():
        assert result.label in LABELS
        assert 0.0 <= result.confidence <= 1.0
        assert result.n_answers == sum(t == task_id for t, _, _ in answers)


@fast
@given(names, answer_sets, accuracy_maps, st.randoms(use_true_random=False))
def test_answer_order_changes_nothing(name, answers, acc, rnd) -> None:
    shuffled = list(answers)
    rnd.shuffle(shuffled)
    aggregate = AGGREGATORS[name]
    assert aggregate(shuffled, LABELS, accuracies=acc) == aggregate(answers, LABELS, accuracies=acc)


@fast
@given(names, answer_sets, accuracy_maps, st.permutations(["x", "y", "z"]))
def test_relabelling_classes_permutes_the_results(name, answers, acc, new_names) -> None:
    rename: dict[Label, str] = dict(zip(LABELS, new_names, strict=True))
    renamed = [(t, w, rename[label]) for t, w, label in answers]
    aggregate = AGGREGATORS[name]
    before = aggregate(answers, LABELS, accuracies=acc)
    after = aggregate(renamed, tuple(new_names), accuracies=acc)
    assert {t: rename[r.label] for t, r in before.items()} == {t: r.label for t, r in after.items()}
    for t in before:
        assert abs(before[t].confidence - after[t].confidence) < 1e-12


@fast
@given(
    st.sampled_from(["majority", "weighted"]),
    answer_sets,
    accuracy_maps,
    st.sampled_from(LABELS),
)
def test_a_unanimous_task_gets_that_label(name, answers, acc, label) -> None:
    # Task 100 is answered by every worker with the same label, whatever else happens.
    unanimous = answers + [(100, w, label) for w in range(4)]
    assert AGGREGATORS[name](unanimous, LABELS, accuracies=acc)[100].label == label


@fast
@given(
    st.sets(st.tuples(st.integers(0, 8), st.integers(0, 5)), min_size=1, max_size=40),
    st.sampled_from(LABELS),
)
def test_dawid_skene_keeps_a_unanimous_crowd(pairs, label) -> None:
    # Dawid-Skene may rightly overrule one task's unanimity using what it learnt
    # about the workers elsewhere, but not when every answer says the same.
    results = AGGREGATORS["dawid_skene"]([(t, w, label) for t, w in pairs], LABELS)
    assert {r.label for r in results.values()} == {label}
    assert all(r.confidence > 0.5 for r in results.values())


@fast
@given(answer_sets)
def test_majority_confidence_is_at_least_one_over_k(answers) -> None:
    for result in AGGREGATORS["majority"](answers, LABELS).values():
        assert result.confidence >= 1 / len(LABELS) - 1e-12


texts = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 5), st.sampled_from(["Yes", " yes", "NO", "n o"])),
    max_size=30,
)


@fast
@given(texts, st.randoms(use_true_random=False))
def test_text_majority_is_order_free_and_covers_every_task(answers, rnd) -> None:
    shuffled = list(answers)
    rnd.shuffle(shuffled)
    results = text_majority(answers)
    assert results == text_majority(shuffled)
    assert set(results) == {t for t, _, _ in answers}
    assert all(0 < r.confidence <= 1 for r in results.values())


numbers = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(-1000, 1000)),
    max_size=30,
)


@fast
@given(numbers, st.randoms(use_true_random=False))
def test_numeric_median_is_order_free_and_within_the_answers(answers, rnd) -> None:
    shuffled = list(answers)
    rnd.shuffle(shuffled)
    results = numeric_median(answers)
    assert results == numeric_median(shuffled)
    for task_id, result in results.items():
        values = [v for t, _, v in answers if t == task_id]
        assert min(values) <= result.label <= max(values)
        assert 0 <= result.confidence <= 1
