"""The WSGI entry point: ``gunicorn wsgi:app`` and ``flask --app wsgi <command>``."""

from __future__ import annotations

import logging
import sys

from config.settings import Settings, SettingsError
from kazi.app import create_app

try:
    settings = Settings.from_env()
except SettingsError as error:
    # One clear line naming the setting, not a traceback.
    sys.exit(f"kazi: configuration error: {error}")

logging.basicConfig(
    level=settings.log_level.upper(),
    format="%(asctime)s %(levelname)s %(name)s %(message)s",
)
# Alembic announces every plugin it loads at INFO; only its migration lines are news.
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
app = create_app(settings)
