"""Timing, percentiles and throwaway databases shared by the benchmarks.

Every loop is bounded twice, by a count and by a time budget, so a slow machine
makes a benchmark report fewer samples rather than run for minutes.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from config.settings import REPO_ROOT, normalise_database_url
from core.db import Base, build_engine, build_sessionmaker
from core.jobs import JobSpec, bind_jobs_to_sessions
from core.migrate import upgrade

DEFAULT_POSTGRES_URL = "postgresql://root@127.0.0.1:5432/test"
BENCH_DATABASE = "kazi_bench"


@dataclass(frozen=True)
class Row:
    """One line of a results table: latency percentiles and throughput of one dataset."""

    database: str
    dataset: str
    n: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    throughput: float
    unit: str


@dataclass
class Table:
    """One benchmark's results, with a sentence on what it measures."""

    title: str
    note: str
    rows: list[Row] = field(default_factory=list)
    # Markdown lines after the table, for results that are not latencies.
    extra: list[str] = field(default_factory=list)


def percentile(samples: list[float], q: float) -> float:
    """The nearest-rank percentile ``q`` (0-100) of the samples."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def row_from(
    database: str,
    dataset: str,
    samples: list[float],
    *,
    unit: str,
    items_per_sample: int = 1,
    wall_seconds: float | None = None,
) -> Row:
    """A table row from per-call durations in seconds (throughput over ``wall_seconds`` if given)."""
    if not samples:
        raise ValueError(f"{dataset}: no samples")
    elapsed = wall_seconds if wall_seconds is not None else sum(samples)
    return Row(
        database=database,
        dataset=dataset,
        n=len(samples),
        p50_ms=percentile(samples, 50) * 1000,
        p95_ms=percentile(samples, 95) * 1000,
        p99_ms=percentile(samples, 99) * 1000,
        throughput=len(samples) * items_per_sample / elapsed if elapsed > 0 else 0.0,
        unit=unit,
    )


def measure(
    call: Callable[[int], Any], *, n: int, max_seconds: float, warmup: int = 0
) -> list[float]:
    """Time ``call(i)`` up to ``n`` times or until ``max_seconds`` pass (at least once).

    The first ``warmup`` calls (``i`` from 0) are not timed: they pay for first-use
    costs (statement compilation, connections) no steady-state request pays.
    """
    for i in range(warmup):
        call(i)
    samples: list[float] = []
    deadline = time.perf_counter() + max_seconds
    for i in range(warmup, warmup + n):
        start = time.perf_counter()
        call(i)
        samples.append(time.perf_counter() - start)
        if time.perf_counter() >= deadline:
            break
    return samples


def measure_threads(
    call: Callable[[int], Any], *, threads: int, per_thread: int, start: int, max_seconds: float
) -> tuple[list[float], float]:
    """Time ``call(i)`` from ``threads`` threads at once; per-call durations and wall time.

    Thread ``t`` takes ``i`` from ``start + t * per_thread`` on, so no two calls share
    an index; each thread stops early when ``max_seconds`` have passed.
    """
    samples: list[list[float]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []
    deadline = time.perf_counter() + max_seconds

    def work(t: int) -> None:
        try:
            for i in range(start + t * per_thread, start + (t + 1) * per_thread):
                began = time.perf_counter()
                call(i)
                samples[t].append(time.perf_counter() - began)
                if time.perf_counter() >= deadline:
                    return
        except BaseException as error:  # re-raised after join: a thread must not fail silently
            errors.append(error)

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    began = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    wall = time.perf_counter() - began
    if errors:
        raise errors[0]
    return [s for per in samples for s in per], wall


class DiscardJobs:
    """A job queue that counts jobs and runs none: benchmarks time the request, not the jobs."""

    def __init__(self) -> None:
        self.sent = 0

    def submit(self, spec: JobSpec) -> None:
        self.sent += 1


@dataclass
class BenchDatabase:
    """A migrated throwaway database and sessions on it whose jobs are discarded."""

    kind: str
    url: str
    engine: Engine
    sessions: sessionmaker[Session]
    jobs: DiscardJobs

    def reset(self) -> None:
        """Empty every table, so each benchmark seeds exactly its own dataset."""
        with self.engine.begin() as conn:
            if self.kind == "postgresql":
                names = ", ".join(t.name for t in Base.metadata.sorted_tables)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in reversed(Base.metadata.sorted_tables):
                    conn.execute(table.delete())

    def analyze(self) -> None:
        """Refresh planner statistics after a bulk load, as autovacuum would in production."""
        with self.engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def checkout_database(prefix: str) -> str:
    """A database name of this checkout's own, so two checkouts' runs never drop each other's."""
    return f"{prefix}_{hashlib.sha1(str(REPO_ROOT).encode()).hexdigest()[:6]}"


def postgres_admin_url() -> str:
    """The server URL benchmarks create their database through (KAZI_BENCH_POSTGRES_URL)."""
    return os.environ.get("KAZI_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _admin(sql: str) -> None:
    admin = make_url(postgres_admin_url()).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(sql)


def postgres_version() -> str:
    """The PostgreSQL server's version string (e.g. ``15.20``)."""
    admin = make_url(postgres_admin_url()).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False)) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]).split()[0] if row else "unknown"


@contextmanager
def bench_database(kind: str, name: str = BENCH_DATABASE) -> Iterator[BenchDatabase]:
    """A freshly created and migrated database of this kind, dropped afterwards."""
    with tempfile.TemporaryDirectory(prefix="kazi-bench-") as tmp:
        if kind == "postgresql":
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            _admin(f'CREATE DATABASE "{name}"')
            url = normalise_database_url(
                make_url(postgres_admin_url()).set(database=name).render_as_string(False)
            )
        else:
            url = f"sqlite:///{Path(tmp) / f'{name}.db'}"
        try:
            upgrade(url)
            engine = build_engine(url)
            sessions = build_sessionmaker(engine)
            jobs = DiscardJobs()
            bind_jobs_to_sessions(sessions, jobs)
            try:
                yield BenchDatabase(kind, url, engine, sessions, jobs)
            finally:
                engine.dispose()
        finally:
            if kind == "postgresql":
                _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
