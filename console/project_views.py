"""Console pages over projects: progress and fair pay, and the review queue of held answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from console import scope
from console.args import page_arg
from console.auth import role_required
from console.blueprint import bp, sessions
from console.forms import ConfirmForm
from console.models import OperatorRole
from console.pagination import Page, paginate
from console.services import record_audit
from core.db import utcnow
from core.errors import KaziError
from tasks import reports
from tasks.models import Assignment, Project, Task
from tasks.project_warnings import ProjectWarning, project_warnings
from tasks.review import flagged_answers, review_answer
from workers.models import Worker

#: Projects on a page, newest first: each row costs a few queries for its figures.
PROJECT_PAGE = 25
REVIEW_PAGE = 50


@dataclass(frozen=True)
class ProjectRow:
    """One project with its progress counts, budget and fair-pay figures, and its warnings."""

    project: Project
    progress: dict[str, int]
    budget: dict[str, Any]
    fair_pay: dict[str, Any]
    warnings: list[ProjectWarning]

    @property
    def percent(self) -> int:
        """Share of the project's (non-gold) tasks complete, 0-100."""
        tasks = self.progress["tasks"]
        return round(100 * self.progress["complete"] / tasks) if tasks else 0


@dataclass(frozen=True)
class HeldAnswer:
    """An answer waiting for review, with what the reviewer needs to judge it."""

    assignment: Assignment
    task: Task
    project_name: str
    phone: str


def project_rows(session: Session, page: int = 1) -> Page:
    """A page of projects, newest first, each with its progress, budget and fair-pay figures."""
    settings = current_app.extensions["kazi"].settings
    found = paginate(session, select(Project).order_by(Project.id.desc()), page, PROJECT_PAGE)
    return found.with_rows(
        [
            ProjectRow(
                p,
                reports.progress(session, p),
                reports.budget(session, p),
                reports.fair_pay(session, p, settings),
                project_warnings(session, p),
            )
            for p in found.rows
        ]
    )


def held_answers(session: Session, after_id: int) -> list[HeldAnswer]:
    """The review queue, oldest first, with each answer's task, project and worker phone."""
    queue = flagged_answers(session, limit=REVIEW_PAGE, after_id=after_id)
    mine = scope.worker_ids()
    if mine is not None:  # a centre operator reviews only their centre's answers
        allowed = set(session.scalars(mine))
        queue = [a for a in queue if a.worker_id in allowed]
    if not queue:
        return []
    rows = session.execute(
        select(Assignment.id, Task, Project.name, Worker.msisdn)
        .join(Task, Task.id == Assignment.task_id)
        .join(Project, Project.id == Task.project_id)
        .join(Worker, Worker.id == Assignment.worker_id)
        .where(Assignment.id.in_([a.id for a in queue]))
    )
    context = {assignment_id: (task, name, phone) for assignment_id, task, name, phone in rows}
    return [HeldAnswer(a, *context[a.id]) for a in queue]


@bp.get("/projects")
def projects() -> Any:
    """Projects with progress bars, budgets, effective hourly wage, worker share, review queue."""
    after = request.args.get("after", "0")
    after_id = int(after) if after.isdigit() and len(after) <= 12 else 0
    with sessions()() as session:
        page = project_rows(session, page_arg())
        held = held_answers(session, after_id)
    return render_template(
        "console/projects.html",
        page=page,
        held=held,
        more=len(held) == REVIEW_PAGE,
        can_act=current_user.can(OperatorRole.OPERATOR),
        form=ConfirmForm(),
    )


def _review(assignment_id: int, accept: bool) -> Any:
    try:
        with sessions().begin() as session:
            answer = review_answer(session, assignment_id, accept=accept, now=utcnow())
            record_audit(
                session,
                operator_id=current_user.operator_id,
                action="answer.accept" if accept else "answer.reject",
                target=f"assignment:{assignment_id}",
                details={"task": answer.task_id, "worker": answer.worker_id},
                ip=request.remote_addr,
            )
    except KaziError as error:
        flash(error.message, "error")
    else:
        flash(f"Answer {assignment_id} {'accepted' if accept else 'rejected'}.", "info")
    return redirect(url_for("console.projects") + "#review")


@bp.post("/review/<int:assignment_id>/accept")
@role_required(OperatorRole.OPERATOR)
def accept_answer(assignment_id: int) -> Any:
    """Accept a held answer: it is paid and counted (operators and admins; audited)."""
    return _review(assignment_id, True)


@bp.post("/review/<int:assignment_id>/reject")
@role_required(OperatorRole.OPERATOR)
def reject_answer(assignment_id: int) -> Any:
    """Reject a held answer: its reward goes back to the budget (operators and admins; audited)."""
    return _review(assignment_id, False)
