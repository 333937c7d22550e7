"""Console pages over records: the message log, a phone's timeline, and workers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from console import logs, scope
from console import workers as worker_queries
from console.auth import role_required
from console.blueprint import bp, sessions
from console.forms import ReasonForm
from console.models import OperatorRole
from console.services import reinstate_worker as reinstate
from console.services import set_worker_blocked
from console.services import unlock_worker_pin as unlock_pin_audited
from core.errors import KaziError
from gateway.delivery import DeliveryStatus
from gateway.models import Direction, Message
from workers.models import Worker, WorkerStatus


def _date(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def _choice(name: str, allowed: set[str]) -> str | None:
    value = request.args.get(name, "")
    return value if value in allowed else None


def _phone_arg() -> tuple[str, str | None]:
    raw = request.args.get("phone", "")
    return raw, logs.phone_query(raw, current_app.extensions["kazi"].settings.default_country)


@bp.get("/messages")
def messages() -> Any:
    """SMS filtered by phone, direction, status, channel and dates, newest first."""
    raw_phone, phone = _phone_arg()
    if raw_phone.strip() and phone is None:
        flash(f"{raw_phone!r} is not a phone number; showing every phone.", "error")
    direction = _choice("direction", {d.value for d in Direction})
    criteria = logs.MessageFilter(
        phone=phone,
        direction=Direction(direction) if direction else None,
        status=_choice("status", {s.value for s in DeliveryStatus}),
        channel=request.args.get("channel", "").strip()[:10] or None,
        date_from=_date("from"),
        date_to=_date("to"),
    )
    asked = request.args.get("page", "1")
    # Six digits is far past the last page; longer numbers would overflow an OFFSET.
    page_number = int(asked) if asked.isdigit() and len(asked) <= 6 else 1
    with sessions()() as session:
        page = logs.search_messages(session, criteria, page_number, within=scope.worker_ids())
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "console/messages.html",
        page=page,
        criteria=criteria,
        args=args,
        statuses=[s.value for s in DeliveryStatus],
        directions=[d.value for d in Direction],
    )


@bp.get("/timeline")
def timeline() -> Any:
    """One phone's SMS and USSD sessions, newest first.

    The phone comes from the search box, or from a message or worker id: links use ids
    so that pages shown to viewers never carry a full number, even in their URLs.
    """
    with sessions()() as session:
        phone = _timeline_phone(session)
        if phone is None:
            flash("Give a phone number to see its timeline.", "error")
            return redirect(url_for("console.messages"))
        owner = session.scalar(select(Worker.id).where(Worker.msisdn == phone))
        if scope.centre_id() is not None and not scope.may_see_worker(session, owner):
            abort(404, "No such phone among your centre's workers.")
        items = logs.timeline(session, phone)
        return render_template("console/timeline.html", phone=phone, items=items)


def _timeline_phone(session: Session) -> str | None:
    for name, model, column in (
        ("message_id", Message, "phone"),
        ("worker_id", Worker, "msisdn"),
    ):
        value = request.args.get(name, "")
        if value.isdigit():
            row = session.get(model, int(value))
            return getattr(row, column) if row is not None else None
    return _phone_arg()[1]


@bp.get("/workers")
def workers() -> Any:
    """Workers whose number contains the digits searched for."""
    query = request.args.get("q", "")
    status = _choice("status", {s.value for s in WorkerStatus})
    with sessions()() as session:
        found = worker_queries.search_workers(session, query, status, within=scope.worker_ids())
    return render_template(
        "console/workers.html", workers=found, query=query, status=status, statuses=WorkerStatus
    )


@bp.get("/workers/<int:worker_id>")
def worker(worker_id: int) -> Any:
    """One worker: answers, accuracy, earnings, payouts; block or unblock with a reason."""
    with sessions()() as session:
        record = worker_queries.worker_record(session, worker_id)
    if record is None:
        abort(404, f"No worker {worker_id}.")
    can_act = current_user.can(OperatorRole.OPERATOR)
    return render_template("console/worker.html", form=ReasonForm(), can_act=can_act, **record)


def _set_blocked(worker_id: int, blocked: bool) -> Any:
    change = functools.partial(set_worker_blocked, blocked=blocked)
    return _with_reason(worker_id, "Worker blocked." if blocked else "Worker unblocked.", change)


def _with_reason(worker_id: int, done: str, change: Callable[..., Worker]) -> Any:
    """Run an audited change to a worker that needs a reason, and go back to their page."""
    form = ReasonForm()
    back = redirect(url_for("console.worker", worker_id=worker_id))
    if not form.validate_on_submit():
        flash("Give a reason (up to 200 characters).", "error")
        return back
    try:
        with sessions().begin() as session:
            change(
                session,
                worker_id=worker_id,
                reason=form.reason.data or "",
                operator_id=current_user.operator_id,
                ip=request.remote_addr,
            )
    except KaziError as error:
        flash(error.message, "error")
        return back
    flash(done, "info")
    return back


@bp.post("/workers/<int:worker_id>/block")
@role_required(OperatorRole.OPERATOR)
def block_worker(worker_id: int) -> Any:
    """Stop a worker from receiving tasks (operators and admins)."""
    return _set_blocked(worker_id, True)


@bp.post("/workers/<int:worker_id>/reinstate")
@role_required(OperatorRole.OPERATOR)
def reinstate_worker(worker_id: int) -> Any:
    """Lift a suspension by the spam checks, with a reason (operators and admins; audited)."""
    return _with_reason(worker_id, "Worker reinstated.", reinstate)


@bp.post("/workers/<int:worker_id>/unblock")
@role_required(OperatorRole.OPERATOR)
def unblock_worker(worker_id: int) -> Any:
    """Let a blocked worker receive tasks again (operators and admins)."""
    return _set_blocked(worker_id, False)


@bp.post("/workers/<int:worker_id>/unlock-pin")
@role_required(OperatorRole.OPERATOR)
def unlock_worker_pin(worker_id: int) -> Any:
    """Lift a worker's PIN lock after wrong PINs (operators and admins), with a reason."""

    change = functools.partial(unlock_pin_audited, store=current_app.extensions["kazi"].store)
    return _with_reason(worker_id, "PIN unlocked: the worker may withdraw again.", change)
