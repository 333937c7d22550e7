"""The benchmarks at toy sizes, so their code keeps working; speed is bench/'s job, not this."""

from __future__ import annotations

import hashlib

import pytest

from bench.harness import percentile, row_from
from bench.main import SMOKE, run_all
from bench.report import HEADER, Machine, render, replace_section
from config.settings import REPO_ROOT
from tests.conftest import POSTGRES_ADMIN_URL

TITLES = {
    "USSD hop latency",
    "Task assignment (get_next_task)",
    "Task upload (requester API)",
    "Ledger: wages and withdrawals",
    "Aggregation (tasks.aggregation)",
}


def test_percentiles_are_nearest_rank() -> None:
    samples = [float(i) for i in range(1, 101)]
    assert (percentile(samples, 50), percentile(samples, 99)) == (50.0, 99.0)
    row = row_from("sqlite", "d", [0.002, 0.001], unit="x/s")
    assert (row.n, row.p50_ms, row.p99_ms) == (2, 1.0, 2.0)
    assert row.throughput == pytest.approx(2 / 0.003)


@pytest.mark.postgres
def test_every_benchmark_runs_and_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAZI_BENCH_POSTGRES_URL", POSTGRES_ADMIN_URL)
    checkout = hashlib.sha1(str(REPO_ROOT).encode()).hexdigest()[:6]
    tables = run_all(SMOKE, database=f"kazi_bench_smoke_{checkout}", say=lambda _: None)

    assert {t.title for t in tables} == TITLES
    for table in tables:
        assert table.rows, table.title
        for row in table.rows:
            assert row.n > 0 and row.throughput > 0, row
            assert 0 < row.p50_ms <= row.p95_ms <= row.p99_ms, row
    by_title = {t.title: {r.database for r in t.rows} for t in tables}
    for title in TITLES - {"Aggregation (tasks.aggregation)"}:
        assert {"postgresql", "sqlite"} <= by_title[title], title
    assign = next(t for t in tables if t.title.startswith("Task assignment"))
    assert any("threads" in r.dataset and r.database == "postgresql" for r in assign.rows)

    page = render(tables, Machine.here("15"), total_seconds=1.0)
    assert page.count(HEADER) == len(TITLES)
    for title in TITLES:
        assert f"## {title}" in page
    assert "PostgreSQL 15" in page and "CPUs" in page


def test_one_section_is_replaced_and_the_rest_kept() -> None:
    from bench.harness import Table

    machine = Machine.here("15")
    old = render([Table("A", "first"), Table("B", "second")], machine, total_seconds=1.0)
    fresh = Table("A", "rerun", extra=["extra line"])
    page = replace_section(old, fresh, machine)
    assert page.count("## A") == 1 and "rerun" in page and "extra line" in page
    assert "first" not in page and "## B" in page and "second" in page
    assert page.index("## A") < page.index("## B")
    assert "\n\n## B" in page  # the next section keeps its blank line (Markdown headings)
    assert "## C" in replace_section(page, Table("C", "new"), machine)  # appended


def test_aggregation_compares_with_the_reference_when_installed() -> None:
    from bench import aggregation
    from bench.crowd import REFERENCE_PYTHON

    rows, extra = aggregation.run(tasks=40, decisions=3)
    assert rows[0].n == 15 and rows[0].p50_ms > 0  # 3 tasks of 5 answers, one per answer
    table = "\n".join(extra)
    assert "| Kazi | majority vote |" in table and "| Kazi | Dawid-Skene |" in table
    assert ("| crowd-kit | Dawid-Skene |" in table) == REFERENCE_PYTHON.exists()
