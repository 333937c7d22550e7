"""Console pages over money: payouts with retry and reconciliation, and the disbursement float."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from console import scope
from console.args import page_arg
from console.auth import role_required
from console.blueprint import bp, float_reading, sessions
from console.forms import ConfirmForm, ResolvePayoutForm
from console.models import OperatorRole
from console.pagination import paginate
from console.services import record_audit
from core.db import utcnow
from core.errors import KaziError
from core.jobs import enqueue
from core.runtime import Runtime
from payouts import manual
from payouts.float_balance import float_drift
from payouts.lifecycle import OPEN
from payouts.models import Payout, PayoutStatus
from payouts.operator import Resolution, resolve_contradiction, resume_rail
from payouts.pauses import active_pauses
from payouts.reconcile import (
    contradicted_payouts,
    ledger_mismatches,
    open_contradictions,
    overdue_payouts,
    queue_stuck,
)
from payouts.statements import last_import
from payouts.withdrawals import WithdrawalLimits, retry_failed_payout

log = logging.getLogger("kazi.console.payouts")

#: The float readings the drift is worked out over.
DRIFT_WINDOW = timedelta(days=1)


def _runtime() -> Runtime:
    return current_app.extensions["kazi"]


@bp.get("/payouts")
def payouts() -> Any:
    """Payouts newest first, by status; the float, and ledger mismatches to look at."""
    asked = request.args.get("status", "")
    status = asked if asked in {s.value for s in PayoutStatus} else None
    stmt = select(Payout).order_by(Payout.created_at.desc(), Payout.id.desc())
    if status:
        stmt = stmt.where(Payout.status == status)
    mine = scope.worker_ids()
    if mine is not None:
        stmt = stmt.where(Payout.worker_id.in_(mine))
    with sessions()() as session:
        page = paginate(session, stmt, page_arg())
        shown = [p.id for p in page.rows]
        retried = set(
            session.scalars(select(Payout.retry_of_id).where(Payout.retry_of_id.in_(shown)))
        )
        mismatches = ledger_mismatches(session) + contradicted_payouts(session)
        reading = float_reading(session)
        window = timedelta(minutes=_runtime().settings.payout_resolve_window_minutes)
        overdue = overdue_payouts(session, window=window)
        contradictions = open_contradictions(session)
        pauses = active_pauses(session)
        drift = float_drift(session, utcnow() - DRIFT_WINDOW)
        statement = last_import(session)
    if mine is not None:
        # The money desk's queues list every centre's payouts: not a centre operator's.
        mismatches, overdue, contradictions = [], [], []
    return render_template(
        "console/payouts.html",
        page=page,
        retried=retried,
        status=status,
        statuses=[s.value for s in PayoutStatus],
        mismatches=mismatches,
        reading=reading,
        threshold=_runtime().settings.payout_float_alert_minor,
        can_act=current_user.can(OperatorRole.OPERATOR),
        is_admin=current_user.can(OperatorRole.ADMIN),
        open_statuses={s.value for s in OPEN},
        form=ConfirmForm(),
        resolve_form=ResolvePayoutForm(),
        overdue=overdue,
        window_minutes=window.total_seconds() / 60,
        contradictions=contradictions,
        pauses=pauses,
        drift=drift,
        statement=statement,
    )


def _back() -> Any:
    return redirect(url_for("console.payouts", status=request.args.get("status") or None))


@bp.post("/payouts/<int:payout_id>/retry")
@role_required(OperatorRole.OPERATOR)
def retry_payout(payout_id: int) -> Any:
    """Pay a failed payout's amount again as a new payout (operators and admins; audited)."""
    settings = _runtime().settings
    try:
        with sessions().begin() as session:
            payout = retry_failed_payout(
                session,
                payout_id=payout_id,
                limits=WithdrawalLimits.from_settings(settings),
                provider=settings.payout_provider,
            )
            record_audit(
                session,
                operator_id=current_user.operator_id,
                action="payout.retry",
                target=f"payout:{payout_id}",
                details={"new_payout": payout.id, "amount_minor": payout.amount_minor},
                ip=request.remote_addr,
            )
            new_id = payout.id
    except KaziError as error:
        flash(f"Payout {payout_id} not retried: {error.message}", "error")
        return _back()
    flash(f"Payout {payout_id} retried as payout {new_id}.", "info")
    return _back()


@bp.post("/payouts/reconcile")
@role_required(OperatorRole.OPERATOR)
def reconcile_payouts() -> Any:
    """Queue a submit or status query for stuck payouts; show ledger mismatches (audited)."""
    minutes = _runtime().settings.payout_unknown_after_minutes
    with sessions().begin() as session:
        queued = queue_stuck(session, older_than=timedelta(minutes=minutes))
        mismatches = ledger_mismatches(session) + contradicted_payouts(session)
        record_audit(
            session,
            operator_id=current_user.operator_id,
            action="payout.reconcile",
            details={
                "queued": [[q.payout_id, q.action] for q in queued],
                "mismatches": len(mismatches),
            },
            ip=request.remote_addr,
        )
    flash(f"{len(queued)} payout(s) without an outcome for {minutes:g}+ minutes.", "info")
    for q in queued:
        flash(f"Payout {q.payout_id} ({q.status}): {q.action} queued.", "info")
    for mismatch in mismatches:
        flash(mismatch.line(), "error")
    if not mismatches:
        flash("The ledger agrees with the payouts.", "info")
    return _back()


@bp.post("/payouts/float")
@role_required(OperatorRole.OPERATOR)
def check_payout_float() -> Any:
    """Ask the provider for the float's balance; the answer is recorded when it arrives."""
    with sessions().begin() as session:
        enqueue(session, "payouts.jobs.check_float", queue="payouts")
        record_audit(
            session,
            operator_id=current_user.operator_id,
            action="payout.float_check",
            ip=request.remote_addr,
        )
    flash("Balance query sent; reload in a few seconds to see the answer.", "info")
    return _back()


@bp.post("/payouts/<int:payout_id>/ask")
@role_required(OperatorRole.OPERATOR)
def ask_payout_status(payout_id: int) -> Any:
    """Queue a Transaction Status query for an open payout now (operators and admins; audited)."""
    try:
        with sessions().begin() as session:
            payout = manual.ask_provider(session, payout_id)
            _audit(session, "payout.ask_status", payout_id, {"status": payout.status.value})
    except KaziError as error:
        flash(f"Payout {payout_id}: {error.message}", "error")
        return _back()
    flash(f"Payout {payout_id}: status query sent; reload in a minute to see the answer.", "info")
    return _back()


@bp.post("/payouts/<int:payout_id>/mark-paid")
@role_required(OperatorRole.ADMIN)
def mark_payout_paid(payout_id: int) -> Any:
    """Settle an open payout on an admin's M-Pesa portal check and receipt (audited)."""

    def settle(session: Session, form: ResolvePayoutForm) -> tuple[dict[str, Any], str]:
        payout = manual.operator_settle(
            session, payout_id, form.receipt.data, form.reason.data, utcnow()
        )
        return {"receipt": payout.receipt}, f"marked paid (receipt {payout.receipt})"

    return _resolve(payout_id, "payout.mark_paid", "marked paid", settle)


@bp.post("/payouts/<int:payout_id>/mark-failed")
@role_required(OperatorRole.ADMIN)
def mark_payout_failed(payout_id: int) -> Any:
    """Fail an open payout on an admin's M-Pesa portal check: the money returns (audited)."""

    def fail(session: Session, form: ResolvePayoutForm) -> tuple[dict[str, Any], str]:
        payout = manual.operator_fail(session, payout_id, form.reason.data, utcnow())
        done = "marked failed; its money is back in the worker's wallet"
        return {"amount_minor": payout.amount_minor}, done

    return _resolve(payout_id, "payout.mark_failed", "marked failed", fail)


#: Applies an admin's decision in the view's transaction: (audit details, flash text).
Decide = Callable[[Session, ResolvePayoutForm], tuple[dict[str, Any], str]]


def _resolve(payout_id: int, action: str, verb: str, decide: Decide) -> Any:
    form = ResolvePayoutForm()
    if not form.confirmed.data:
        flash(
            f"Payout {payout_id} unchanged: confirm you looked it up in the M-Pesa org portal.",
            "error",
        )
        return _back()
    try:
        with sessions().begin() as session:
            details, done = decide(session, form)
            details["reason"] = manual.clean_reason(form.reason.data)  # already validated
            _audit(session, action, payout_id, details)
    except KaziError as error:
        flash(f"Payout {payout_id} not {verb}: {error.message}", "error")
        return _back()
    flash(f"Payout {payout_id} {done}.", "info")
    return _back()


def _audit(session: Session, action: str, payout_id: int, details: dict[str, Any]) -> None:
    record_audit(
        session,
        operator_id=current_user.operator_id,
        action=action,
        target=f"payout:{payout_id}",
        details=details,
        ip=request.remote_addr,
    )


@bp.post("/payouts/<int:payout_id>/contradiction")
@role_required(OperatorRole.ADMIN)
def resolve_payout_contradiction(payout_id: int) -> Any:
    """Clear a paid-after-release payout: recover it from the wallet or write it off (audited)."""
    asked = request.form.get("how", "")
    if asked not in {r.value for r in Resolution}:
        log.info("console: contradiction of payout %s: unknown resolution %r", payout_id, asked)
        flash(f"Payout {payout_id} unchanged: choose recover or write off.", "error")
        return _back()
    try:
        with sessions().begin() as session:
            payout = resolve_contradiction(session, payout_id, Resolution(asked))
            _audit(
                session,
                "payout.contradiction_resolved",
                payout_id,
                {"how": asked, "amount_minor": payout.amount_minor},
            )
    except KaziError as error:
        flash(f"Payout {payout_id} unchanged: {error.message}", "error")
        return _back()
    done = "recovered from the wallet" if asked == Resolution.RECOVER else "written off"
    flash(f"Payout {payout_id}: {done}; the worker may withdraw again.", "info")
    return _back()


@bp.post("/payouts/rails/<provider>/resume")
@role_required(OperatorRole.ADMIN)
def resume_payout_rail(provider: str) -> Any:
    """Resume a rail paused for its configuration and send what waited (audited)."""
    try:
        with sessions().begin() as session:
            sent = resume_rail(session, provider, current_user.operator_id)
            record_audit(
                session,
                operator_id=current_user.operator_id,
                action="payout.rail_resumed",
                target=f"rail:{provider}",
                details={"queued": sent},
                ip=request.remote_addr,
            )
    except KaziError as error:
        flash(f"{provider}: {error.message}", "error")
        return _back()
    flash(f"{provider} resumed: {len(sent)} waiting payout(s) sent.", "info")
    return _back()
