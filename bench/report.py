"""The results page: one markdown table per benchmark, and the machine it ran on."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from datetime import UTC, datetime

from bench.harness import Table

HEADER = "| database | dataset | n | p50 ms | p95 ms | p99 ms | throughput |"
RULE = "|---|---|---:|---:|---:|---:|---:|"


@dataclass(frozen=True)
class Machine:
    """Where the numbers came from."""

    cpus: int
    python: str
    postgres: str
    platform: str
    date: str
    load: str

    @classmethod
    def here(cls, postgres: str) -> Machine:
        """This machine, now."""
        return cls(
            cpus=os.cpu_count() or 0,
            python=platform.python_version(),
            postgres=postgres,
            platform=platform.platform(terse=True),
            date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            # Other work on the machine skews the numbers: say how busy it was.
            load=" / ".join(f"{x:.1f}" for x in os.getloadavg()),
        )


def _ms(value: float) -> str:
    return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"


def render(tables: list[Table], machine: Machine, *, total_seconds: float) -> str:
    """The whole markdown page."""
    lines = [
        "# Benchmarks",
        "",
        "Written by `bash bench/run` (or `python -m bench`); every run overwrites this page.",
        "Latencies are per call in milliseconds (nearest-rank percentiles); throughput is calls",
        "(or rows, answers) per second of measured time, or of wall time for the threaded rows.",
        "",
        f"- date: {machine.date}",
        f"- machine: {machine.cpus} CPUs, {machine.platform}; load average at the end "
        f"(1 / 5 / 15 min): {machine.load}. A busy machine makes p95/p99 noisy: compare "
        "rows of one run, and run again when in doubt.",
        f"- Python {machine.python}, PostgreSQL {machine.postgres}, SQLite (Python's sqlite3)",
        f"- whole run: {total_seconds:,.0f} s",
        "",
    ]
    for table in tables:
        lines += render_table(table)
    return "\n".join(lines)


def render_table(table: Table) -> list[str]:
    """One benchmark's section: its heading, note, latency table and any extra lines."""
    lines = [f"## {table.title}", "", table.note, ""]
    # A benchmark of rates, not latencies, has no rows: its results are the extra lines.
    lines += [HEADER, RULE] if table.rows else []
    for row in table.rows:
        lines.append(
            f"| {row.database} | {row.dataset} | {row.n:,} | {_ms(row.p50_ms)} | "
            f"{_ms(row.p95_ms)} | {_ms(row.p99_ms)} | {row.throughput:,.0f} {row.unit} |"
        )
    return [*lines, "", *table.extra]


def replace_section(page: str, table: Table, machine: Machine) -> str:
    """The page with one benchmark's section replaced by a fresh run of it alone."""
    heading = f"## {table.title}"
    note = (
        f"This section alone was re-run on {machine.date} (load average "
        f"{machine.load}); the rest of the page is from the run dated above."
    )
    fresh = "\n".join([*render_table(table), note, "", ""])  # a blank line before the next
    start = page.find(heading)
    if start < 0:
        return page.rstrip("\n") + "\n\n" + fresh
    end = page.find("\n## ", start + len(heading))
    return page[:start] + fresh + (page[end + 1 :] if end >= 0 else "")
