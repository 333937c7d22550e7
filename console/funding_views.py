"""The funding page (admins): requesters' balances, recorded deposits, credit lines.

An admin records a bank or M-Pesa deposit with the statement's reference; with
``FUNDING_MAKER_CHECKER`` on it waits until another admin approves it. Every action
is audited in the same transaction as the change.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from console.auth import role_required
from console.blueprint import bp, sessions
from console.forms import ConfirmForm, CreditForm, DepositForm, parse_amount
from console.models import Operator, OperatorRole
from console.services import record_audit
from core.db import utcnow
from core.errors import KaziError
from tasks.funding import balances, decide_deposit, deposits, grant_credit, record_deposit
from tasks.models import DepositChannel, DepositStatus, Requester

#: Requesters on the page, by name; a console for running accounts, not an archive.
REQUESTER_LIMIT = 200
RECENT_DEPOSITS = 50


def _maker_checker() -> bool:
    return bool(current_app.extensions["kazi"].settings.funding_maker_checker)


@bp.get("/funding")
@role_required(OperatorRole.ADMIN)
def funding() -> Any:
    """Each requester's funding per currency, deposits waiting for approval, recent ones."""
    with sessions()() as session:
        requesters = list(
            session.scalars(select(Requester).order_by(Requester.name).limit(REQUESTER_LIMIT))
        )
        rows = [(r, balances(session, r.id)) for r in requesters]
        pending = deposits(session, status=DepositStatus.PENDING)
        recent = deposits(session, limit=RECENT_DEPOSITS)
        emails = dict(session.execute(select(Operator.id, Operator.email)).all())
    return render_template(
        "console/funding.html",
        rows=rows,
        names={r.id: r.name for r in requesters},
        pending=pending,
        recent=recent,
        emails=emails,
        maker_checker=_maker_checker(),
        me=current_user.operator_id,
        deposit_form=DepositForm(),
        credit_form=CreditForm(),
        form=ConfirmForm(),
    )


def _back() -> Any:
    return redirect(url_for("console.funding"))


def _audit(session: Session, action: str, target: str, details: dict[str, Any]) -> None:
    record_audit(
        session,
        operator_id=current_user.operator_id,
        action=action,
        target=target,
        details=details,
        ip=request.remote_addr,
    )


@bp.post("/funding/deposits")
@role_required(OperatorRole.ADMIN)
def record_funding_deposit() -> Any:
    """Record a deposit from a bank or M-Pesa statement (admins; audited)."""
    form = DepositForm()
    if not form.validate_on_submit():
        flash(f"Deposit not recorded: {_form_errors(form)}", "error")
        return _back()
    try:
        amount = parse_amount(form.amount.data, form.currency.data)
        with sessions().begin() as session:
            deposit = record_deposit(
                session,
                requester_id=int(form.requester_id.data or 0),  # DataRequired: never 0 here
                amount=amount,
                channel=DepositChannel(form.channel.data),
                reference=form.reference.data or "",
                note=form.note.data,
                recorded_by=current_user.operator_id,
                needs_approval=_maker_checker(),
            )
            _audit(
                session,
                "funding.deposit",
                f"requester:{deposit.requester_id}",
                {
                    "deposit": deposit.id,
                    "amount_minor": deposit.amount_minor,
                    "currency": deposit.currency,
                    "channel": deposit.channel.value,
                    "reference": deposit.reference,
                    "status": deposit.status.value,
                },
            )
            done = f"Deposit {deposit.id} of {amount.format()} ({deposit.reference}) recorded"
            waiting = deposit.status is DepositStatus.PENDING
    except (KaziError, ValueError) as error:
        flash(f"Deposit not recorded: {_message(error)}", "error")
        return _back()
    flash(f"{done}; another admin must approve it." if waiting else f"{done}; it counts.", "info")
    return _back()


def _decide(deposit_id: int, approve: bool) -> Any:
    verb = "approved" if approve else "rejected"
    try:
        with sessions().begin() as session:
            deposit = decide_deposit(
                session,
                deposit_id,
                approve=approve,
                decided_by=current_user.operator_id,
                now=utcnow(),
            )
            _audit(
                session,
                "funding.approve" if approve else "funding.reject",
                f"requester:{deposit.requester_id}",
                {
                    "deposit": deposit.id,
                    "amount_minor": deposit.amount_minor,
                    "currency": deposit.currency,
                    "reference": deposit.reference,
                },
            )
    except KaziError as error:
        flash(f"Deposit {deposit_id} not {verb}: {error.message}", "error")
        return _back()
    flash(f"Deposit {deposit_id} {verb}.", "info")
    return _back()


@bp.post("/funding/deposits/<int:deposit_id>/approve")
@role_required(OperatorRole.ADMIN)
def approve_funding_deposit(deposit_id: int) -> Any:
    """Approve another admin's deposit: the money now counts (admins; audited)."""
    return _decide(deposit_id, approve=True)


@bp.post("/funding/deposits/<int:deposit_id>/reject")
@role_required(OperatorRole.ADMIN)
def reject_funding_deposit(deposit_id: int) -> Any:
    """Reject another admin's deposit; its reference may be recorded again (audited)."""
    return _decide(deposit_id, approve=False)


@bp.post("/funding/credit")
@role_required(OperatorRole.ADMIN)
def grant_funding_credit() -> Any:
    """Grant (or change, or end with 0) a requester's credit line (admins; audited)."""
    form = CreditForm()
    if not form.validate_on_submit():
        flash(f"Credit not granted: {_form_errors(form)}", "error")
        return _back()
    try:
        limit = parse_amount(form.limit.data, form.currency.data, allow_zero=True)
        with sessions().begin() as session:
            line = grant_credit(
                session,
                requester_id=int(form.requester_id.data or 0),  # DataRequired: never 0 here
                limit=limit,
                reason=form.reason.data,
                granted_by=current_user.operator_id,
            )
            _audit(
                session,
                "funding.credit",
                f"requester:{line.requester_id}",
                {
                    "limit_minor": line.limit_minor,
                    "currency": line.currency,
                    "reason": line.reason or "",
                },
            )
    except (KaziError, ValueError) as error:
        flash(f"Credit not granted: {_message(error)}", "error")
        return _back()
    flash(f"Credit limit of requester {line.requester_id} is now {limit.format()}.", "info")
    return _back()


def _message(error: Exception) -> str:
    return error.message if isinstance(error, KaziError) else str(error)


def _form_errors(form: Any) -> str:
    return "; ".join(f"{name}: {', '.join(errors)}" for name, errors in form.errors.items())
