"""The partner centres page (admins): create centres, and put operators and workers in them.

A worker usually joins a centre by dialling its code (``workers.centres``); an admin
assigns those who joined otherwise, or moves one. An operator given a centre sees only
that centre from then on (``console.scope``). Every change is audited with it.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.auth import role_required
from console.blueprint import bp, sessions
from console.forms import CentreForm, CentreMemberForm
from console.models import Operator, OperatorRole
from console.services import record_audit, set_operator_centre
from core.errors import KaziError
from workers import centres as centre_service
from workers.models import Worker


def _back() -> Any:
    return redirect(url_for("console.centres"))


@bp.get("/centres")
@role_required(OperatorRole.ADMIN)
def centres() -> Any:
    """Every centre with its code, workers and operators; the forms to change them."""
    with sessions()() as session:
        rows = centre_service.all_centres(session)
        counts = dict(
            session.execute(
                select(Worker.centre_id, func.count())
                .where(Worker.centre_id.is_not(None))
                .group_by(Worker.centre_id)
            ).all()
        )
        operators = list(session.scalars(select(Operator).order_by(Operator.email)))
    return render_template(
        "console/centres.html",
        centres=rows,
        counts=counts,
        operators=operators,
        names={c.id: c.name for c in rows},
        form=CentreForm(),
        member_form=CentreMemberForm(),
    )


@bp.post("/centres")
@role_required(OperatorRole.ADMIN)
def create_centre() -> Any:
    """Create a centre (admins; audited)."""
    form = CentreForm()
    if not form.validate_on_submit():
        flash("Centre not created: give a name, a two-letter country and a code.", "error")
        return _back()
    try:
        with sessions().begin() as session:
            centre = centre_service.create_centre(
                session,
                name=form.name.data or "",
                country=form.country.data or "",
                registration_code=form.registration_code.data or "",
            )
            _audit(
                session, "centre.create", f"centre:{centre.id}", {"code": centre.registration_code}
            )
            done = (
                f"Centre {centre.name} created: its workers dial code {centre.registration_code}."
            )
    except KaziError as error:
        flash(f"Centre not created: {error.message}", "error")
        return _back()
    flash(done, "info")
    return _back()


def _member() -> tuple[int, int | None] | None:
    form = CentreMemberForm()
    if not form.validate_on_submit() or not form.member_id.data:
        flash("Give an id, and a centre (0 for none).", "error")
        return None
    return form.member_id.data, form.centre_id.data or None


@bp.post("/centres/operators")
@role_required(OperatorRole.ADMIN)
def assign_operator_centre() -> Any:
    """Give an operator a centre, or take it away (admins; audited)."""
    member = _member()
    if member is None:
        return _back()
    operator_id, centre_id = member
    try:
        with sessions().begin() as session:
            set_operator_centre(
                session,
                operator_id=operator_id,
                centre_id=centre_id,
                by=current_user.operator_id,
                ip=request.remote_addr,
            )
    except KaziError as error:
        flash(f"Operator not moved: {error.message}", "error")
        return _back()
    flash(f"Operator {operator_id} now sees {_scope_text(centre_id)}.", "info")
    return _back()


@bp.post("/centres/workers")
@role_required(OperatorRole.ADMIN)
def assign_worker_centre() -> Any:
    """Put a worker in a centre, or in none (admins; audited)."""
    member = _member()
    if member is None:
        return _back()
    worker_id, centre_id = member
    try:
        with sessions().begin() as session:
            centre_service.assign_worker(session, worker_id, centre_id)
            _audit(session, "worker.centre", f"worker:{worker_id}", {"centre": centre_id})
    except KaziError as error:
        flash(f"Worker not moved: {error.message}", "error")
        return _back()
    flash(f"Worker {worker_id} is in {_scope_text(centre_id, worker=True)}.", "info")
    return _back()


def _scope_text(centre_id: int | None, *, worker: bool = False) -> str:
    if centre_id is None:
        return "no centre" if worker else "every centre"
    return f"centre {centre_id}" if worker else f"only centre {centre_id}"


def _audit(session: Session, action: str, target: str, details: dict[str, Any]) -> None:
    record_audit(
        session,
        operator_id=current_user.operator_id,
        action=action,
        target=target,
        details=details,
        ip=request.remote_addr,
    )
