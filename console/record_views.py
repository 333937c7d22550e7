"""Console pages over workers: the list, one worker's record, and audited changes to them."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from console import scope
from console import workers as worker_queries
from console.args import choice_arg, page_arg
from console.auth import role_required
from console.blueprint import bp, sessions
from console.forms import ReasonForm
from console.models import OperatorRole
from console.services import reinstate_worker as reinstate
from console.services import set_worker_blocked
from console.services import unlock_worker_pin as unlock_pin_audited
from core.errors import KaziError
from workers.models import Worker, WorkerStatus


@bp.get("/workers")
def workers() -> Any:
    """Workers whose number contains the digits searched for, newest first, a page at a time."""
    query = request.args.get("q", "")
    status = choice_arg("status", {s.value for s in WorkerStatus})
    with sessions()() as session:
        page = worker_queries.search_workers(
            session, query, status, page_arg(), within=scope.worker_ids()
        )
    return render_template(
        "console/workers.html", page=page, query=query, status=status, statuses=WorkerStatus
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
