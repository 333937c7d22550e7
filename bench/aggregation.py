"""Aggregation: Kazi against crowd-kit on one synthetic crowd, and the per-answer decision."""

from __future__ import annotations

from bench.crowd import (
    REFERENCE_PYTHON,
    Outcome,
    decision_latencies,
    make_crowd,
    run_kazi,
    run_reference,
)
from bench.harness import Row, Table, row_from

WORKERS = 2000
PER_TASK = 5


def run(*, tasks: int, decisions: int) -> tuple[list[Row], list[str]]:
    """Time the whole-project methods side by side and the per-answer decision."""
    crowd = make_crowd(tasks=tasks, per_task=PER_TASK, workers=WORKERS)
    outcomes = run_kazi(crowd)
    if REFERENCE_PYTHON.exists():
        outcomes += run_reference(crowd)
    latencies = decision_latencies(crowd, tasks=decisions)
    rows = [
        row_from(
            "-",
            "per-answer decision: weighted vote over one task's answers + stopping rule",
            [ms / 1000 for ms in latencies],
            unit="decisions/s",
        )
    ]
    return rows, comparison(
        outcomes, answers=int(crowd.t.size), installed=REFERENCE_PYTHON.exists()
    )


def comparison(outcomes: list[Outcome], *, answers: int, installed: bool) -> list[str]:
    """The side-by-side markdown table, each Kazi row against crowd-kit's same method."""
    lines = [
        f"Whole-project aggregation of {answers:,} answers ({PER_TASK} per task, 3 classes, "
        f"{WORKERS:,} workers, a tenth adversarial), each library in one run on the same crowd:",
        "",
        "| library | method | seconds | peak MiB | accuracy | time vs crowd-kit |",
        "|---|---|---:|---:|---:|---:|",
    ]
    reference = {o.method: o for o in outcomes if o.library == "crowd-kit"}
    for o in outcomes:
        ref = reference.get(o.method)
        ratio = f"{o.seconds / ref.seconds:.2f}x" if ref and o.library == "Kazi" else ""
        lines.append(
            f"| {o.library} | {o.method} | {o.seconds:,.2f} | {o.peak_mib:,.0f} | "
            f"{o.accuracy:.2%} | {ratio} |"
        )
    if not installed:
        lines += ["", "crowd-kit was not installed (bench/run installs it into .venv-bench)."]
    return lines + [""]


def table() -> Table:
    """The empty table this benchmark fills."""
    return Table(
        "Aggregation (tasks.aggregation)",
        "Pure functions, no database. The row below is the decision tasks.progress makes "
        "after each answer (aggregate the task's answers so far, then the stopping rule), "
        "replayed answer by answer over the first tasks of the crowd. Whole-project models "
        "(Dawid-Skene, MACE) run in the tasks.jobs.refresh_results job, never in a request; "
        "Dawid-Skene stops when the log-likelihood changes by under 1e-5 of itself. "
        "Peak memory is what tracemalloc saw allocated during a second, untimed call.",
    )
