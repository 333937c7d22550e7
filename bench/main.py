"""Run every benchmark against PostgreSQL and SQLite and write docs/benchmarks.md."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import aggregation, assignment, http_load, ledger, outbound, scale, upload, ussd
from bench.assignment import Dataset
from bench.harness import (
    BENCH_DATABASE,
    BenchDatabase,
    Table,
    bench_database,
    postgres_version,
)
from bench.report import Machine, render, replace_section
from bench.soak import kept_section
from config.settings import REPO_ROOT

OUTPUT = REPO_ROOT / "docs" / "benchmarks.md"


@dataclass(frozen=True)
class Scale:
    """Dataset sizes and loop bounds of one run (the full one, or the smoke test's)."""

    ussd_workers: list[int] = field(default_factory=lambda: [10_000, 100_000])
    ussd_hops: int = 300
    assignment_datasets: list[Dataset] = field(
        default_factory=lambda: [
            Dataset(1_000, 0),
            Dataset(100_000, 0),
            Dataset(1_000, 100_000),
            Dataset(100_000, 100_000),
        ]
    )
    picks: int = 200
    threads: int = 8
    picks_per_thread: int = 100
    upload_rows: int = 10_000
    upload_repeats: int = 3
    ledger_workers: int = 1_000
    credits: int = 800
    wallet_entries: list[int] = field(default_factory=lambda: [10, 10_000])
    wallet_workers: int = 5
    withdrawals: int = 100
    crowd_tasks: int = 200_000  # five answers each: a million answers
    decision_tasks: int = 2_000
    max_seconds: float = 6.0


SMOKE = Scale(
    ussd_workers=[20, 40],
    ussd_hops=3,
    assignment_datasets=[Dataset(5, 0), Dataset(20, 12)],
    picks=3,
    threads=2,
    picks_per_thread=2,
    upload_rows=5,
    upload_repeats=1,
    ledger_workers=3,
    credits=4,
    wallet_entries=[2],
    wallet_workers=2,
    withdrawals=2,
    crowd_tasks=60,
    decision_tasks=5,
    max_seconds=5.0,
)

Progress = Callable[[str], None]


def run_database(db: BenchDatabase, scale: Scale, tables: dict[str, Table], say: Progress) -> None:
    """Every database benchmark on one database, each on an emptied schema."""
    steps: list[tuple[str, Callable[[], list]]] = [
        (
            "ussd",
            lambda: ussd.run(
                db, sizes=scale.ussd_workers, hops=scale.ussd_hops, max_seconds=scale.max_seconds
            ),
        ),
        ("assignment", lambda: _assignment(db, scale)),
        (
            "upload",
            lambda: upload.run(
                db,
                rows=scale.upload_rows,
                repeats=scale.upload_repeats,
                max_seconds=scale.max_seconds * 3,
            ),
        ),
        ("ledger", lambda: _ledger(db, scale)),
    ]
    for name, step in steps:
        began = time.perf_counter()
        db.reset()
        tables[name].rows.extend(step())
        say(f"{db.kind}: {name} done in {time.perf_counter() - began:,.1f} s")


def _assignment(db: BenchDatabase, scale: Scale) -> list:
    rows = assignment.run(
        db, datasets=scale.assignment_datasets, picks=scale.picks, max_seconds=scale.max_seconds
    )
    if db.kind == "postgresql":
        # SQLite serialises writers: a parallel run there measures its lock, not Kazi.
        # It runs on the last dataset's project, still the active one.
        rows.append(
            assignment.run_concurrent(
                db,
                label=scale.assignment_datasets[-1].label,
                threads=scale.threads,
                per_thread=scale.picks_per_thread,
                max_seconds=scale.max_seconds,
            )
        )
    return rows


def _ledger(db: BenchDatabase, scale: Scale) -> list:
    threads = scale.threads if db.kind == "postgresql" else 1
    rows = ledger.run_credits(
        db,
        workers=scale.ledger_workers,
        credits=scale.credits,
        threads=threads,
        max_seconds=scale.max_seconds,
    )
    db.reset()
    rows += ledger.run_withdrawals(
        db,
        entry_counts=scale.wallet_entries,
        workers=scale.wallet_workers,
        withdrawals=scale.withdrawals,
        max_seconds=scale.max_seconds,
    )
    return rows


def run_all(
    scale: Scale,
    *,
    kinds: tuple[str, ...] = ("postgresql", "sqlite"),
    database: str = BENCH_DATABASE,
    say: Progress = print,
) -> list[Table]:
    """Run every benchmark at this scale; returns the filled tables in page order."""
    tables = {
        "ussd": ussd.table(),
        "assignment": assignment.table(),
        "upload": upload.table(),
        "ledger": ledger.table(),
        "aggregation": aggregation.table(),
    }
    for kind in kinds:
        with bench_database(kind, database) as db:
            run_database(db, scale, tables, say)
    tables["ledger"].rows.append(ledger.pin_check(checks=20, max_seconds=scale.max_seconds))
    say("aggregation")
    tables["aggregation"] = aggregation_table(scale)
    return list(tables.values())


def aggregation_table(scale: Scale) -> Table:
    """The aggregation benchmark (pure, no database) at this scale, filled."""
    table = aggregation.table()
    rows, extra = aggregation.run(tasks=scale.crowd_tasks, decisions=scale.decision_tasks)
    table.rows.extend(rows)
    table.extra.extend(extra)
    return table


def _http(smoke: bool, say: Progress) -> Table:
    return http_load.run(http_load.SMOKE if smoke else http_load.HttpScale(), say=say)


def _scale(smoke: bool, say: Progress) -> Table:
    return scale.run(scale.SMOKE if smoke else scale.ScaleSizes(), say=say)


def _outbound(smoke: bool, say: Progress) -> Table:
    return outbound.run(outbound.SMOKE if smoke else outbound.OutboundSizes(), say=say)


#: Benchmarks ``--only`` runs alone; each returns its filled table.
ALONE: dict[str, Callable[[bool, Progress], Table]] = {
    "aggregation": lambda smoke, say: aggregation_table(SMOKE if smoke else Scale()),
    "http": _http,
    "scale": _scale,
    "outbound": _outbound,
}
#: Those the full run adds after ``run_all``'s tables (own databases, servers, workers).
SEPARATE = ("http", "scale", "outbound")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and write the results page; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where to write the markdown")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes: checks the code, not speed"
    )
    parser.add_argument(
        "--only",
        choices=sorted(ALONE),
        help="run this benchmark alone and replace its section of the page",
    )
    args = parser.parse_args(argv)
    # The app logs each request at info; thousands of hops would drown the progress lines.
    logging.basicConfig(level=logging.WARNING)

    def say(message: str) -> None:
        print(f"bench: {message}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    scale = SMOKE if args.smoke else Scale()
    if args.only:
        only = ALONE[args.only](args.smoke, say)
        page = args.output.read_text() if args.output.exists() else ""
        args.output.write_text(replace_section(page, only, Machine.here(postgres_version())))
        say(f"updated {args.output} in {time.perf_counter() - started:,.0f} s")
        return 0
    tables = run_all(scale, say=say)
    for name in SEPARATE:
        say(name)
        tables.append(ALONE[name](args.smoke, say))
    machine = Machine.here(postgres_version())
    page = render(tables, machine, total_seconds=time.perf_counter() - started)
    # The soak (bench/soak.py) runs apart, for minutes, and the hot path profile is
    # written by hand: their sections survive this run.
    old = args.output.read_text() if args.output.exists() else ""
    kept = [section for section in (kept_section(old), _hand_written(old)) if section]
    args.output.write_text(page + "".join("\n\n" + section.rstrip("\n") for section in kept) + "\n")
    say(f"wrote {args.output} in {time.perf_counter() - started:,.0f} s")
    return 0


def _hand_written(page: str) -> str:
    """The page's ``## Hot path profile`` section ("" if none): profiled by hand."""
    _, marker, rest = page.partition(HOT_PATH_HEADING)
    return marker + rest.split("\n## ", 1)[0] if marker else ""


HOT_PATH_HEADING = "## Hot path profile\n"
