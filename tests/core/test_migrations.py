"""Migrations build the schema from empty on both databases, and cannot drift from the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from core.db import Base, build_engine
from core.migrate import alembic_config, upgrade
from tests.conftest import fresh_database_url


@pytest.fixture
def empty_url(db_kind: str, tmp_path: Path) -> str:
    return fresh_database_url(db_kind, tmp_path, "migrations")


def test_upgrade_from_empty_builds_every_table_and_stops_at_head(empty_url: str) -> None:
    upgrade(empty_url)
    engine = build_engine(empty_url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
        head = ScriptDirectory.from_config(alembic_config(empty_url)).get_current_head()
        assert current == head
    finally:
        engine.dispose()


def test_models_and_migrations_do_not_drift(empty_url: str) -> None:
    upgrade(empty_url)
    engine = build_engine(empty_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
        assert differences == [], "models changed without a migration: " + repr(differences)
    finally:
        engine.dispose()


def test_upgrade_twice_is_a_no_op(empty_url: str) -> None:
    upgrade(empty_url)
    upgrade(empty_url)  # an already-current database must not fail


def test_migration_history_is_one_line() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1, "several migration heads: merge them"
