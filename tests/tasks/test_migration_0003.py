"""Migration 0003 upgrades a database that already holds projects, tasks and ledger rows."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from core.db import build_engine
from core.migrate import upgrade
from tests.conftest import fresh_database_url

ROWS = [
    "INSERT INTO requesters (id, name, api_key_hash, api_key_prefix, active, created_at)"
    " VALUES (1, 'a', 'h', 'p', :yes, :now)",
    "INSERT INTO projects (id, requester_id, name, task_type, instructions, options, reward_minor,"
    " currency, budget_minor, answers_per_task, gold_rate, min_accuracy, languages, countries,"
    " priority, status, created_at, updated_at) VALUES (1, 1, 'p', 'yes_no', 'i', '[]', 100,"
    " 'KES', 1000, 2, 0.1, 0, '[]', '[]', 0, 'active', :now, :now)",
    "INSERT INTO tasks (id, project_id, text, gold_answer, status, answers_count, extra, created_at)"
    " VALUES (1, 1, 't', 'yes', 'open', 0, '{}', :now), (2, 1, 'u', NULL, 'open', 0, '{}', :now)",
    "INSERT INTO ledger_accounts (id, kind, currency, project_id, created_at)"
    " VALUES (1, 'project_budget', 'KES', 1, :now)",
]


def test_upgrade_keeps_and_backfills_existing_rows(db_kind: str, tmp_path: Path) -> None:
    url = fresh_database_url(db_kind, tmp_path, "upgrade0003")
    upgrade(url, "0002")
    engine = build_engine(url)
    try:
        with engine.begin() as connection:
            for statement in ROWS:
                connection.execute(text(statement), {"yes": True, "now": "2026-01-01 00:00:00"})
        upgrade(url)
        with engine.begin() as connection:
            tasks = connection.execute(
                text("SELECT id, is_gold, wanted_answers, reserved_count FROM tasks ORDER BY id")
            ).all()
            project = connection.execute(text("SELECT max_answers, paid_minor FROM projects")).one()
    finally:
        engine.dispose()
    assert [(t[0], bool(t[1]), t[2], t[3]) for t in tasks] == [(1, True, 2, 0), (2, False, 2, 0)]
    assert tuple(project) == (2, 0)
