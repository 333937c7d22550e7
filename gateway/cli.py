"""The gateway's commands: ``flask --app wsgi sms broadcast ...``."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from core.runtime import Runtime
from gateway.broadcast import run_broadcast
from gateway.encoding import count_segments
from gateway.outbound import requeue_stuck, stuck_sending

sms_cli = AppGroup("sms", help="SMS: broadcasts to workers.")


@sms_cli.command("broadcast")
@click.option("--message", "body", required=True, help="The text to send.")
@click.option("--country", default=None, help="Only workers of this country (e.g. KE).")
@click.option("--language", default=None, help="Only workers speaking en, sw or fr.")
@click.option("--batch-size", default=100, show_default=True, type=click.IntRange(1, 1000))
def broadcast(body: str, country: str | None, language: str | None, batch_size: int) -> None:
    """Send MESSAGE to every active, subscribed worker matching the filters."""
    runtime: Runtime = current_app.extensions["kazi"]
    info = count_segments(body)
    click.echo(f"message: {info.segments} segment(s), {info.encoding}")

    def progress(done: int, total: int) -> None:
        click.echo(f"queued {done}/{total}")

    result = run_broadcast(
        runtime.sessions,
        body=body,
        provider=runtime.settings.sms_provider,
        country=country,
        language=language,
        batch_size=batch_size,
        progress=progress,
    )
    if result.recipients == 0:
        click.echo("no matching workers: nothing queued")
        return
    click.echo(
        f"broadcast queued: {result.recipients} worker(s) in {result.batches} batch(es); "
        f"sent at up to {runtime.settings.sms_rate_per_second:g}/s"
    )


@sms_cli.command("sweep")
def sweep() -> None:
    """Requeue outbound SMS whose send job was lost; count those stuck in sending."""
    runtime: Runtime = current_app.extensions["kazi"]
    with runtime.sessions.begin() as session:
        requeued = requeue_stuck(session)
        stuck = stuck_sending(session)
    click.echo(f"requeued {len(requeued)} message(s)")
    if stuck:
        click.echo(f"{stuck} message(s) in 'sending' for over 10 minutes: they may have been sent")
