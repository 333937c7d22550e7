"""Operator commands: ``flask --app wsgi payouts reconcile`` and ``payouts balance``."""

from __future__ import annotations

import time
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from core.runtime import Runtime
from payouts.callbacks import float_state
from payouts.jobs import check_float, resolve_unknown
from payouts.models import Payout, PayoutStatus
from payouts.outcomes import FINAL
from payouts.reconcile import ledger_mismatches
from payouts.services import queue_submit, stuck_payouts

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
        mismatches = ledger_mismatches(session)
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
        resolve_unknown(payout_id)
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


@payouts_cli.command("balance")
@click.option("--wait", type=float, default=30.0, show_default=True, help="Seconds for the answer.")
def balance(wait: float) -> None:
    """Query the disbursement float; print it, and ALERT below PAYOUT_FLOAT_ALERT_MINOR."""
    runtime = _runtime()
    before = float_state(runtime.store)
    with runtime.activated():
        check_float()
    deadline = time.monotonic() + wait
    state = float_state(runtime.store)
    while (state is None or state == before) and time.monotonic() < deadline:
        time.sleep(0.2)
        state = float_state(runtime.store)
    if state is None or state == before:
        raise click.ClickException("no balance answer yet; it will be stored when it arrives")
    if "available_minor" not in state:
        raise click.ClickException(f"balance query failed: {state['result']}")
    click.echo(
        f"utility account: {state['currency']} {state['available_minor'] / 100:,.2f} available "
        f"(threshold {state['threshold_minor'] / 100:,.2f}) at {state['checked_at']}"
    )
    if state["alert"]:
        click.echo("ALERT: disbursement float below threshold; top up the B2C utility account")
        raise SystemExit(2)
    click.echo("ok")
