"""The gateway's commands: ``flask --app wsgi sms broadcast ...``."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from core.medium import count_segments, to_gsm7
from core.runtime import Runtime
from gateway.broadcast import run_broadcast
from gateway.outbound import requeue_stuck, stuck_sending
from gateway.reports import apply_held
from gateway.simulated_phone import SimulatedPhone

sms_cli = AppGroup("sms", help="SMS: broadcasts to workers.")


@sms_cli.command("broadcast")
@click.option("--message", "body", required=True, help="The text to send.")
@click.option("--country", default=None, help="Only workers of this country (e.g. KE).")
@click.option("--language", default=None, help="Only workers speaking en, sw or fr.")
@click.option("--batch-size", default=100, show_default=True, type=click.IntRange(1, 1000))
def broadcast(body: str, country: str | None, language: str | None, batch_size: int) -> None:
    """Send MESSAGE to every active, subscribed worker matching the filters."""
    runtime: Runtime = current_app.extensions["kazi"]
    info = count_segments(to_gsm7(body))
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
    """Requeue outbound SMS whose send job was lost; apply held reports; count stuck sends."""
    runtime: Runtime = current_app.extensions["kazi"]
    with runtime.sessions.begin() as session:
        requeued = requeue_stuck(session)
        applied = apply_held(session)
        stuck = stuck_sending(session)
    click.echo(f"requeued {len(requeued)} message(s)")
    if applied:
        click.echo(f"applied {applied} held delivery report(s)")
    if stuck:
        click.echo(f"{stuck} message(s) in 'sending' for over 10 minutes: they may have been sent")


@click.command("simulate")
@click.option("--phone", required=True, help="The simulated handset's number, e.g. +254711000001.")
@click.option("--channel", type=click.Choice(["ussd", "sms"]), default="ussd", show_default=True)
@click.option(
    "--input",
    "inputs",
    multiple=True,
    help="One keypress (USSD) or message (SMS); repeat for a script. None: interactive.",
)
@with_appcontext
def simulate(phone: str, channel: str, inputs: tuple[str, ...]) -> None:
    """A phone in the terminal, through the real Africa's Talking webhooks.

    Before it exits, an open USSD session is hung up (AT's end notice) and the jobs the
    hops queued run (or wait in rq for ``flask worker``), so their SMS are sent.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # Flask types the proxy as the app
    handset = SimulatedPhone(app, phone)
    try:
        _play(handset, channel, list(inputs) if inputs else None)
    finally:
        _show_sms(handset.finish())
        if handset.jobs_in_rq:
            click.echo("(queued jobs are in rq: `flask --app wsgi worker` sends their SMS)")


def _play(handset: SimulatedPhone, channel: str, script: list[str] | None) -> None:
    if channel == "ussd":
        _show_ussd(handset, handset.dial())
    else:
        click.echo(f"SMS to Kazi from {handset.phone}. Type a message (empty line quits).")
    while True:
        if channel == "ussd" and handset.ended:
            # Scripts redial by themselves; a person is asked first.
            if script is None and not click.confirm("session ended; dial again?", default=True):
                return
            if script is None or script:
                click.echo(f"(dialling {handset.service_code} again)")
                _show_ussd(handset, handset.dial())
        if script is not None:
            if not script:
                return
            value = script.pop(0)
            click.echo(f"> {value}")
        else:
            value = click.prompt(">", default="", show_default=False, prompt_suffix=" ")
            if channel == "sms" and not value:
                return
        if channel == "ussd":
            _show_ussd(handset, handset.press(value))
        else:
            for reply in handset.sms(value) or ["(no reply)"]:
                click.echo(f"SMS from Kazi: {reply}")


def _show_ussd(handset: SimulatedPhone, body: str) -> None:
    """A USSD screen, then any SMS the hop's jobs sent (on the embedded queue: at once)."""
    _show_screen(body)
    _show_sms([] if handset.jobs_in_rq else handset.sent_so_far())


def _show_sms(bodies: list[str]) -> None:
    for body in bodies:
        click.echo(f"SMS from Kazi: {body}")


def _show_screen(body: str) -> None:
    kind, _, text = body.partition(" ")
    click.echo(f"+{'-' * 30} {kind}")
    for line in text.splitlines():
        click.echo(f"| {line}")
    click.echo("+" + "-" * 34)
