"""Operator commands: ``flask --app wsgi payouts reconcile`` and ``payouts balance``."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from core.runtime import Runtime
from payouts.float_balance import FloatReading, latest_reading
from payouts.jobs import check_float, resolve_unknown
from payouts.lifecycle import FINAL
from payouts.models import Payout, PayoutStatus
from payouts.providers.base import PayoutProvider
from payouts.rails import balance_provider
from payouts.receipts import format_amount
from payouts.reconcile import contradicted_payouts, ledger_mismatches
from payouts.statements import StatementError, import_statement
from payouts.withdrawals import queue_submit, stuck_payouts

payouts_cli = AppGroup("payouts", help="Payouts: reconciliation and the disbursement float.")


def _runtime() -> Runtime:
    return current_app.extensions["kazi"]


@payouts_cli.command("reconcile")
@click.option("--older-than", type=float, help="Minutes (default PAYOUT_UNKNOWN_AFTER_MINUTES).")
@click.option("--wait", type=float, default=30.0, show_default=True, help="Seconds for answers.")
def reconcile(older_than: float | None, wait: float) -> None:
    """Resolve payouts stuck without an outcome by status query; print the mismatches."""
    runtime = _runtime()
    minutes = runtime.settings.payout_unknown_after_minutes if older_than is None else older_than
    with runtime.sessions() as session:
        found = stuck_payouts(session, older_than=timedelta(minutes=minutes))
        stuck = [(p.id, p.status, p.submit_attempts) for p in found]
    click.echo(f"{len(stuck)} payout(s) without an outcome for {minutes:g}+ minutes")
    with runtime.activated():
        for payout_id, status, attempts in stuck:
            _resolve(
                runtime, payout_id, never_sent=status is PayoutStatus.REQUESTED and not attempts
            )
    after = _await_outcomes(runtime, [s[0] for s in stuck], wait)
    for payout_id, before, _ in stuck:
        click.echo(f"payout {payout_id}: {before} -> {after[payout_id]}")
    with runtime.sessions() as session:
        mismatches = ledger_mismatches(session) + contradicted_payouts(session)
    for mismatch in mismatches:
        click.echo(mismatch.line())
    unresolved = sum(1 for s in after.values() if s not in FINAL)
    summary = f"resolved {len(stuck) - unresolved}, unresolved {unresolved}"
    click.echo(f"{summary}, ledger mismatches {len(mismatches)}")


def _resolve(runtime: Runtime, payout_id: int, *, never_sent: bool) -> None:
    if never_sent:
        # Its job was lost before any call: sending is safe, nothing reached the provider.
        with runtime.sessions.begin() as session:
            queue_submit(session, payout_id)
        return
    try:
        resolve_unknown(payout_id, force=True)  # an operator asked: query now
    except Exception as error:  # one unreachable query must not stop the others
        click.echo(f"payout {payout_id}: status query failed: {error}")


def _await_outcomes(runtime: Runtime, ids: list[int], wait: float) -> dict[int, PayoutStatus]:
    """Poll until every payout is final or ``wait`` seconds passed (answers come by callback)."""
    deadline = time.monotonic() + wait
    while True:
        with runtime.sessions() as session:
            states = {i: session.get_one(Payout, i).status for i in ids}
        if all(s in FINAL for s in states.values()) or time.monotonic() >= deadline:
            return states
        time.sleep(0.2)


statement_cli = AppGroup("statement", help="M-Pesa organisation statements.")
payouts_cli.add_command(statement_cli)


@statement_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def statement_import(file: str) -> None:
    """Match an M-Pesa org statement (CSV) to payouts; print what is unmatched on both sides."""
    try:
        text = Path(file).read_text(encoding="utf-8-sig")  # the portal's export has a BOM
    except UnicodeDecodeError:
        raise click.ClickException(f"{file}: not a UTF-8 CSV statement") from None
    try:
        with _runtime().sessions.begin() as session:
            result = import_statement(session, Path(file).name, text)
    except StatementError as error:
        raise click.ClickException(f"{file}: {error.message}") from None
    click.echo(
        f"{result.lines} line(s), {len(result.matched)} matched, {result.charges} charge line(s)"
    )
    for line in result.unmatched_lines:
        click.echo(f"UNMATCHED LINE row {line['row']} {line['receipt']}: {line['why']}")
    for payout in result.unmatched_payouts:
        click.echo(
            f"UNMATCHED PAYOUT {payout['payout']} ({payout['receipt']}, "
            f"{payout['amount_minor']}): not on the statement"
        )
    unmatched = len(result.unmatched_lines) + len(result.unmatched_payouts)
    click.echo(f"unmatched {unmatched}")


@payouts_cli.command("balance")
@click.option("--wait", type=float, default=30.0, show_default=True, help="Seconds for the answer.")
def balance(wait: float) -> None:
    """Query the disbursement float; print it, and ALERT below PAYOUT_FLOAT_ALERT_MINOR."""
    runtime = _runtime()
    provider = balance_provider(runtime)
    threshold = runtime.settings.payout_float_alert_minor
    before = _latest(runtime, provider, threshold)
    with runtime.activated():
        check_float()
    deadline = time.monotonic() + wait
    now = _latest(runtime, provider, threshold)
    while _same(now, before) and time.monotonic() < deadline:
        time.sleep(0.2)
        now = _latest(runtime, provider, threshold)
    if now is None or _same(now, before):
        raise click.ClickException("no balance answer yet; it is recorded when it arrives")
    if now.available_minor is None:
        click.echo(f"ALERT: balance query failed: {now.result}")
        raise SystemExit(2)
    click.echo(
        f"utility account: {format_amount(now.available_minor, now.currency or 'KES')} available "
        f"(threshold {format_amount(threshold, now.currency or 'KES')}) at {now.received_at}"
    )
    if now.alert:
        click.echo("ALERT: disbursement float below threshold; top up the B2C utility account")
        raise SystemExit(2)
    click.echo("ok")


def _latest(runtime: Runtime, provider: PayoutProvider, threshold: int) -> FloatReading | None:
    with runtime.sessions() as session:
        return latest_reading(session, provider, threshold)


def _same(now: FloatReading | None, before: FloatReading | None) -> bool:
    return now is None or (before is not None and now.event_id == before.event_id)
