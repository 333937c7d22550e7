"""Kazi's commands, all under Flask's CLI: ``flask --app wsgi <command>``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from console.models import OperatorRole
from console.services import create_operator
from core.backup import BackupError, backup, restore
from core.db import utcnow
from core.jobs import QUEUE_NAMES
from core.migrate import upgrade
from core.runtime import Runtime
from core.worker import run_worker
from demo.seed import DEMO_WORKER_PIN, seed_demo
from gateway.cli import simulate, sms_cli
from impact.cli import impact_cli
from kazi.demo_traffic import play_demo_traffic
from kazi.privacy import purge_expired
from payouts.cli import payouts_cli
from payouts.jobs import schedule_reconcile_tick
from tasks.cli import tasks_cli
from tasks.jobs import schedule_reservation_sweep
from tasks.requesters import create_requester

db_cli = AppGroup("db", help="Database schema.")
requesters_cli = AppGroup("requesters", help="Requester accounts (API keys).")
operators_cli = AppGroup("operators", help="Console logins.")
flows_cli = AppGroup("flows", help="Worker conversation flows.")
privacy_cli = AppGroup("privacy", help="Data protection: retention.")


def _runtime() -> Runtime:
    return current_app.extensions["kazi"]


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: the newest), from empty or any earlier one."""
    runtime = _runtime()
    upgrade(runtime.settings.sqlalchemy_url, revision)
    click.echo(f"database at {revision}: {runtime.engine.url.render_as_string()}")


@db_cli.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def db_backup(path: Path) -> None:
    """Write a consistent copy of the database to PATH while Kazi keeps serving."""
    try:
        backup(_runtime().engine, path)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"backup written: {path}")


@db_cli.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Confirm that the current data is to be replaced.")
def db_restore(path: Path, yes: bool) -> None:
    """Replace the database with the backup at PATH (every change since it is lost)."""
    if not yes:
        raise click.UsageError("restore replaces every row: pass --yes to confirm")
    try:
        restore(_runtime().engine, path)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"restored from {path}")


@privacy_cli.command("purge")
def privacy_purge() -> None:
    """Delete raw callbacks and blank SMS bodies past their retention (run it daily)."""
    runtime = _runtime()
    with runtime.sessions.begin() as session:
        purged = purge_expired(session, runtime.settings, utcnow())
    click.echo(f"purged {purged.webhook_events} raw events, {purged.message_bodies} message bodies")


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Seed the demo data (idempotent) and print fresh demo credentials."""
    runtime = _runtime()
    with runtime.sessions.begin() as session:
        creds = seed_demo(session, runtime.settings)
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # Flask types the proxy as the app
    traffic = play_demo_traffic(app, creds.worker_phones)
    if traffic is not None:
        click.echo(
            f"demo traffic: {traffic.ussd_sessions} USSD sessions, {traffic.sms_in} SMS in, "
            f"a broadcast to {traffic.broadcast} workers, {traffic.reports} delivery reports"
        )
    for project_id, name, count in creds.projects:
        click.echo(f"project {project_id}: {name} ({count} tasks)")
    click.echo(f"demo workers (PIN {DEMO_WORKER_PIN}): {', '.join(creds.worker_phones)}")
    click.echo(f"operator login: {creds.operator_email} / {creds.operator_password}")
    click.echo(f"requester API key: {creds.api_key}")


@click.command("worker")
@with_appcontext
@click.argument("queues", nargs=-1)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker(queues: tuple[str, ...], burst: bool) -> None:
    """Run an rq worker on QUEUES (default: sms payouts default)."""
    runtime = _runtime()
    unknown = sorted(set(queues) - set(QUEUE_NAMES))
    if unknown:
        raise click.UsageError(
            f"unknown queue(s) {', '.join(unknown)}; use {', '.join(QUEUE_NAMES)}"
        )
    if runtime.redis is None:
        raise click.UsageError("REDIS_URL: required for `worker` (without it jobs run in-process)")
    if not burst:
        # Start the periodic chores' chains (a slot's job id keeps one per slot, however
        # many workers start); rq's scheduler in this worker runs them.
        with runtime.sessions.begin() as session:
            if "payouts" in (queues or QUEUE_NAMES):
                schedule_reconcile_tick(session, runtime.settings.payout_reconcile_minutes)
            if "default" in (queues or QUEUE_NAMES):
                schedule_reservation_sweep(session, runtime.settings.reservation_sweep_seconds)
    run_worker(runtime, queues or QUEUE_NAMES, burst=burst)


@requesters_cli.command("create")
@click.option("--name", required=True, help="The requester's name.")
def requesters_create(name: str) -> None:
    """Create a requester; prints its API key on the last line."""
    with _runtime().sessions.begin() as session:
        requester, key = create_requester(session, name)
    click.echo(f"requester {requester.id}: {name}")
    click.echo(key)


@operators_cli.command("create")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice([r.value for r in OperatorRole]), default="operator")
def operators_create(email: str, role: str) -> None:
    """Create a console login; prints its password on the last line."""
    with _runtime().sessions.begin() as session:
        operator, password = create_operator(session, email, OperatorRole(role))
    click.echo(f"operator {operator.id}: {operator.email} ({role})")
    click.echo(password)


@flows_cli.command("check")
def flows_check() -> None:
    """Lint every flow: reachability, dead ends, translations, screens within 182 characters."""
    from flows import check_all  # the pure engine; no app state needed

    problems = check_all()
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise click.exceptions.Exit(1)
    click.echo("flows: all definitions pass")


def register_commands(app: Flask) -> None:
    """Attach every command to the app's CLI."""
    for command in (
        db_cli,
        requesters_cli,
        operators_cli,
        flows_cli,
        privacy_cli,
        sms_cli,
        tasks_cli,
        payouts_cli,
        impact_cli,
        demo,
        simulate,
        worker,
    ):
        app.cli.add_command(command)
