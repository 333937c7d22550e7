"""Impact commands: ``flask --app wsgi impact invite`` sends due follow-up survey invitations."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from core.db import utcnow
from impact.surveys import invite_due_followups

impact_cli = AppGroup("impact", help="Impact surveys.")


@impact_cli.command("invite")
def invite() -> None:
    """Invite by SMS each worker whose follow-up survey is due, once per wave (run daily)."""
    runtime = current_app.extensions["kazi"]
    with runtime.sessions.begin() as session:
        invited = invite_due_followups(session, runtime.store, runtime.settings, utcnow())
    click.echo(f"queued {invited} follow-up invitation(s)")
