"""Tasks commands: ``flask --app wsgi tasks expire`` releases reservations past their window."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from core.db import utcnow
from tasks.assignment import expire_due

tasks_cli = AppGroup("tasks", help="Tasks: reservations.")


@tasks_cli.command("expire")
@click.option("--limit", default=10_000, show_default=True, help="At most this many at once.")
def expire(limit: int) -> None:
    """Release reservations past their expiry (each is also released by its own job)."""
    with current_app.extensions["kazi"].sessions.begin() as session:
        released = expire_due(session, utcnow(), limit=limit)
    click.echo(f"released {released} expired reservation(s)")
