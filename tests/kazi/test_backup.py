"""`flask db backup` and `flask db restore`: a round trip while the server keeps serving."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from config.settings import REPO_ROOT
from core.backup import backup, restore
from core.db import build_engine, build_sessionmaker
from core.migrate import upgrade
from tests.conftest import fresh_database_url
from tests.support.served import HttpHandset, Server, serving
from tests.test_serving import BIN
from workers.models import Worker


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Server, str]]:
    with serving(tmp_path) as running:
        yield running


def flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def workers_count(url: str) -> int:
    engine = build_engine(url)
    try:
        with build_sessionmaker(engine)() as session:
            return session.scalar(select(func.count()).select_from(Worker)) or 0
    finally:
        engine.dispose()


def test_backup_and_restore_round_trip_while_gunicorn_serves(
    served: tuple[Server, str], tmp_path: Path
) -> None:
    server, url = served
    HttpHandset(server, "+254755000001").dial()  # first contact: one worker row
    target = tmp_path / "backups" / "kazi.db"
    done = flask(server.env, "db", "backup", str(target))
    assert done.returncode == 0, done.stderr
    HttpHandset(server, "+254755000002").dial()  # after the backup
    assert workers_count(url) == 2
    assert flask(server.env, "db", "restore", str(target)).returncode != 0  # needs --yes
    done = flask(server.env, "db", "restore", str(target), "--yes")
    assert done.returncode == 0, done.stderr
    assert workers_count(url) == 1
    # The server never stopped: its next hops see the restored data and work on.
    body = HttpHandset(server, "+254755000003").dial()
    assert body.startswith("CON ")
    assert workers_count(url) == 2
    assert workers_count(f"sqlite:///{target}") == 1  # the backup itself is untouched


@pytest.mark.postgres
def test_postgres_round_trip_through_pg_dump(tmp_path: Path) -> None:
    url = fresh_database_url("postgresql", tmp_path, "backup")
    upgrade(url)
    engine = build_engine(url)
    sessions = build_sessionmaker(engine)
    with sessions.begin() as session:
        session.add(Worker(msisdn="+254755000009", country="KE"))
    dump = tmp_path / "kazi.dump"
    backup(engine, dump)
    with sessions.begin() as session:
        session.add(Worker(msisdn="+254755000010", country="KE"))
    restore(engine, dump)
    with sessions() as session:
        phones = list(session.scalars(select(Worker.msisdn)))
    engine.dispose()
    assert phones == ["+254755000009"]
