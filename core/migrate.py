"""Schema migrations through Alembic, for the CLI and the tests."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from config.settings import REPO_ROOT


def alembic_config(url: str) -> Config:
    """Alembic's configuration for Kazi's migrations against ``url``."""
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    # ConfigParser treats % as interpolation; a password may contain one.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision`` (from empty or any earlier one)."""
    command.upgrade(alembic_config(url), revision)
