"""Shared fixtures: real databases (SQLite and PostgreSQL), real Redis, apps from the factory.

Each database is created and migrated once per run. A test's ``session`` runs inside
an outer transaction that is rolled back afterwards (SQLAlchemy's recipe), so tests
stay fast and independent. Tests that need real commits (jobs seen by another
process) use ``committed_runtime`` instead, whose tables are emptied after each test.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import hypothesis
import psycopg
import pytest
from redis import Redis
from sqlalchemy import Connection, Engine, delete, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from config.settings import REPO_ROOT, Settings, normalise_database_url
from core.db import Base, build_engine
from core.jobs import JobSpec, bind_jobs_to_sessions
from core.migrate import upgrade
from core.runtime import Runtime
from kazi.app import build_kazi_runtime, create_app
from tests.emulators.at_airtime import AirtimeEmulator

POSTGRES_ADMIN_URL = os.environ.get(
    "KAZI_TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("KAZI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
DATABASE_KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

# By default Hypothesis fails an example that takes over 200 ms, and calls the test flaky
# when the rerun is quick: on a loaded machine that is the machine, not the code. Our
# property tests check behaviour; speed has its own tests (and bench/).
hypothesis.settings.register_profile("kazi", deadline=None)
hypothesis.settings.load_profile("kazi")


def create_postgres_database(name: str) -> str:
    """Create (or re-create) an empty PostgreSQL database and return its SQLAlchemy URL."""
    admin = make_url(POSTGRES_ADMIN_URL)
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return normalise_database_url(admin.set(database=name).render_as_string(hide_password=False))


def fresh_database_url(kind: str, tmp_dir: Path, label: str) -> str:
    """An empty database of this kind, for tests that build the schema themselves."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_dir / f'{label}.db'}"
    # Several checkouts (and xdist workers) may test against one server at once.
    checkout = hashlib.sha1(str(REPO_ROOT).encode()).hexdigest()[:6]
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return create_postgres_database(f"kazi_test_{label}_{checkout}_{worker}")


@pytest.fixture(scope="session")
def migrated_engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Engine]]:
    """One migrated database per kind for the whole run, created lazily."""
    engines: dict[str, Engine] = {}
    yield engines
    for engine in engines.values():
        engine.dispose()


def _migrated_engine(
    kind: str, engines: dict[str, Engine], tmp_path_factory: pytest.TempPathFactory, label: str
) -> Engine:
    if kind not in engines:
        url = fresh_database_url(kind, tmp_path_factory.mktemp(label), label)
        upgrade(url)
        engines[kind] = build_engine(url)
    return engines[kind]


@pytest.fixture(params=DATABASE_KINDS)
def db_kind(request: pytest.FixtureRequest) -> str:
    """Each test using the database runs once on SQLite and once on PostgreSQL."""
    return request.param


@pytest.fixture
def engine(
    db_kind: str, migrated_engines: dict[str, Engine], tmp_path_factory: pytest.TempPathFactory
) -> Engine:
    return _migrated_engine(db_kind, migrated_engines, tmp_path_factory, "rollback")


class RecordingJobQueue:
    """A job queue that only remembers what was sent, for service tests."""

    def __init__(self) -> None:
        self.sent: list[JobSpec] = []

    def submit(self, spec: JobSpec) -> None:
        self.sent.append(spec)


@pytest.fixture
def sent_jobs() -> RecordingJobQueue:
    return RecordingJobQueue()


@pytest.fixture
def session(engine: Engine, sent_jobs: RecordingJobQueue) -> Iterator[Session]:
    """A session whose work is rolled back after the test, even what it committed."""
    with engine.connect() as connection:
        outer = connection.begin()
        if connection.dialect.name == "sqlite":
            # pysqlite sends BEGIN only before a write, so the session's first SAVEPOINT
            # would open the transaction itself and a test's session.commit() (RELEASE)
            # would really commit. A write that changes nothing opens it first.
            connection.exec_driver_sql("DELETE FROM alembic_version WHERE 0")
        factory = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        bind_jobs_to_sessions(factory, sent_jobs)
        with factory() as s:
            yield s
        outer.rollback()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis database, emptied once at the start of the run."""
    Redis.from_url(REDIS_URL).flushdb()
    return REDIS_URL


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def committed_urls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Migrated databases for tests whose data must really commit (one per kind, lazily)."""
    return {}


@pytest.fixture
def committed_url(
    db_kind: str, committed_urls: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if db_kind not in committed_urls:
        url = fresh_database_url(db_kind, tmp_path_factory.mktemp("committed"), "committed")
        upgrade(url)
        committed_urls[db_kind] = url
    url = committed_urls[db_kind]
    yield url
    engine = build_engine(url)
    # A job thread the test started may still be committing its last row; PostgreSQL then
    # picks one side of the lock wait as a deadlock victim. Ours is retried: the job's
    # work is done by then and the tables empty.
    for attempt in range(5):
        try:
            with engine.begin() as connection:
                empty_tables(connection)
            break
        except OperationalError as error:
            if "deadlock" not in str(error) or attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))
    engine.dispose()


def empty_tables(connection: Connection) -> None:
    """Delete every row of every table (a test's committed data)."""
    if connection.dialect.name == "postgresql":
        # The ledger refuses DELETE (an append-only trigger); TRUNCATE fires no row trigger.
        names = ", ".join(t.name for t in Base.metadata.sorted_tables)
        connection.execute(text(f"TRUNCATE {names}"))
        return
    for table in reversed(Base.metadata.sorted_tables):
        connection.execute(delete(table))


def make_settings(**overrides: Any) -> Settings:
    """Settings for tests: the embedded default unless overridden."""
    # No background reconcile timer unless a test asks for one.
    base = Settings(
        secret_key="test-secret-" + uuid.uuid4().hex,
        payout_reconcile_timer=False,
        reservation_sweep_seconds=0,
    )
    return replace(base, **overrides)


@pytest.fixture
def committed_runtime(committed_url: str, redis_url: str) -> Iterator[Runtime]:
    """A production-shaped runtime (real database, rq on real Redis) whose commits are real."""
    runtime = build_kazi_runtime(make_settings(database_url=committed_url, redis_url=redis_url))
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def app(committed_url: str) -> Any:
    """A Flask app from the factory on a real migrated database (embedded job runner)."""
    flask_app = create_app(make_settings(database_url=committed_url))
    flask_app.config["TESTING"] = True
    yield flask_app
    flask_app.extensions["kazi"].engine.dispose()


@pytest.fixture
def airtime() -> Iterator[AirtimeEmulator]:
    """Africa's Talking's airtime API, emulated on 127.0.0.1 for one test."""
    emu = AirtimeEmulator()
    emu.start()
    yield emu
    emu.stop()
