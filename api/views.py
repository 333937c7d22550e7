"""The requester API under ``/api/v1``: thin views over the tasks services.

Each view opens one transaction, authenticates, calls a service and renders JSON
(or CSV for results). Budgets are drawn from the requester's funding (``GET
/balance``); a wage must be in a currency some payout rail pays, which only the
payout rails know, so this edge asks them and hands the answer to the tasks domain.
Every validation error leaves as a 422 in one shape (``api.problems``). The OpenAPI
document at ``/api/v1/openapi.json`` describes exactly these routes (a test checks
both ways).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.orm import Session

from api.auth import authenticate, authenticate_operator
from api.idempotency import claim, remember, request_hash
from api.openapi import document
from api.problems import problems_of
from api.schemas import (
    encode_cursor,
    page_query,
    project_edit,
    project_spec,
    refuse,
    task_status,
    top_up_amount,
)
from core.db import utcnow
from core.egress import AllowList, EgressRefused, check_url
from core.errors import Conflict, KaziError
from core.runtime import Runtime
from impact.report import impact_report, report_csv
from payouts.rails import payable_currencies
from tasks.cancellation import cancel_task
from tasks.funding import balances
from tasks.listing import list_tasks, task_row
from tasks.models import Project, ProjectStatus
from tasks.preview import preview_task
from tasks.project_warnings import project_warnings
from tasks.projects import (
    create_project,
    edit_project,
    get_project,
    list_projects,
    set_project_status,
    top_up_budget,
)
from tasks.reports import project_summary
from tasks.results import Page, gold_results, project_results, project_workers, results_csv
from tasks.upload import parse_body, upload_tasks

bp = Blueprint("api", __name__, url_prefix="/api/v1")
log = logging.getLogger(__name__)

#: Body limit of a task upload (the app's default is 1 MiB).
UPLOAD_MAX_BYTES = 16 * 1024 * 1024


def _runtime() -> Runtime:
    return current_app.extensions["kazi"]


def _summary(session: Session, project: Project) -> dict[str, Any]:
    summary = project_summary(session, project, _runtime().settings)
    summary["warnings"] = [w.to_dict() for w in project_warnings(session, project)]
    return summary


@bp.errorhandler(KaziError)
def _error(error: KaziError) -> tuple[Response, int]:
    """Every validation error is a 422 listing all its problems; other errors keep their shape."""
    log.info("%s: %s", error.code, error.message)  # as the app's own handler logs them
    if error.http_status not in (400, 422):
        return jsonify(error.to_dict()), error.http_status
    return jsonify({"errors": problems_of(error)}), 422


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 document of this API."""
    return jsonify(document())


def _json_body() -> Any:
    body = request.get_json(silent=True)
    if body is None:
        raise refuse("body", "expected a JSON body (Content-Type: application/json)")
    return body


@bp.get("/impact")
def impact() -> Response:
    """The impact report for admins (operator API token); ``?format=csv`` per worker."""
    settings = _runtime().settings
    authenticate_operator(request, settings.operator_api_token)
    wanted = request.args.get("format", "json")
    if wanted not in ("json", "csv"):
        raise refuse("format", "must be one of the allowed values", allowed=["json", "csv"])
    with _runtime().sessions() as session:
        if wanted == "csv":
            body = report_csv(session)
            headers = {"Content-Disposition": "attachment; filename=impact.csv"}
            return Response(body, mimetype="text/csv", headers=headers)
        return jsonify(impact_report(session, settings, utcnow()).to_dict())


@bp.get("/balance")
def balance() -> Response:
    """The requester's funding per currency: funded, committed, spent, credit, available."""
    with _runtime().sessions.begin() as session:
        requester = authenticate(session, request)
        return jsonify({"balances": [b.to_dict() for b in balances(session, requester.id)]})


@bp.post("/projects")
def create() -> tuple[Response, int]:
    """Create a project, its budget drawn from the requester's funding (402 beyond it)."""
    payable = payable_currencies(_runtime().settings)
    with _runtime().sessions.begin() as session:
        # The key first: a caller without one learns nothing from validating its body.
        requester = authenticate(session, request)
        spec = project_spec(_json_body())
        if spec.webhook_url:
            # Refuse a URL into our own network now, with a clear 422 (and again at send).
            allow = AllowList.parse(_runtime().settings.webhook_allowed_hosts)
            try:
                check_url(spec.webhook_url, allow)
            except EgressRefused as error:
                raise refuse("webhook_url", error.message) from None
        project = create_project(session, requester, spec, payable_currencies=payable)
        # The webhook signing secret is shown once, like an API key.
        payload = {**_summary(session, project), "webhook_secret": project.webhook_secret}
    return jsonify(payload), 201


@bp.get("/projects")
def index() -> Response:
    """The requester's projects."""
    with _runtime().sessions.begin() as session:
        requester = authenticate(session, request)
        projects = [_summary(session, p) for p in list_projects(session, requester)]
    return jsonify({"projects": projects})


@bp.get("/projects/<int:project_id>")
def show(project_id: int) -> Response:
    """One project with progress, budget and fair-pay figures."""
    with _runtime().sessions.begin() as session:
        project = get_project(session, authenticate(session, request), project_id)
        return jsonify(_summary(session, project))


@bp.patch("/projects/<int:project_id>")
def edit(project_id: int) -> Response:
    """Change priority, pause or resume (status), and top up the budget (top_up), at once."""
    with _runtime().sessions.begin() as session:
        requester = authenticate(session, request)
        change = project_edit(_json_body())
        project = get_project(session, requester, project_id)
        project = edit_project(
            session,
            project,
            priority=change.priority,
            status=change.status,
            top_up=change.top_up,
        )
        return jsonify(_summary(session, project))


def _move(project_id: int, status: ProjectStatus) -> Response:
    with _runtime().sessions.begin() as session:
        project = get_project(session, authenticate(session, request), project_id)
        set_project_status(session, project, status)
        return jsonify(_summary(session, project))


@bp.post("/projects/<int:project_id>/pause")
def pause(project_id: int) -> Response:
    """Stop handing out the project's tasks (reservations already made may be answered)."""
    return _move(project_id, ProjectStatus.PAUSED)


@bp.post("/projects/<int:project_id>/resume")
def resume(project_id: int) -> Response:
    """Hand out a paused project's tasks again."""
    return _move(project_id, ProjectStatus.ACTIVE)


@bp.post("/projects/<int:project_id>/close")
def close(project_id: int) -> Response:
    """Close a project for good."""
    return _move(project_id, ProjectStatus.CLOSED)


@bp.post("/projects/<int:project_id>/budget")
def top_up(project_id: int) -> Response | tuple[Response, int]:
    """Add to a project's budget from the requester's funding; idempotent with Idempotency-Key."""
    key = request.headers.get("Idempotency-Key")
    with _runtime().sessions.begin() as session:
        requester = authenticate(session, request)
        amount = top_up_amount(_json_body())
        project = get_project(session, requester, project_id)
        if key is not None:
            digest = request_hash("budget", str(project_id), request.get_data())
            stored = claim(session, requester.id, key, digest)
            if stored is not None:
                return jsonify(stored.response), stored.status_code
        payload = _summary(session, top_up_budget(session, project, amount))
        if key is not None:
            remember(session, requester.id, key, 200, payload)
    return jsonify(payload)


@bp.get("/projects/<int:project_id>/tasks")
def tasks_index(project_id: int) -> Response:
    """The project's tasks in upload order with their status, a page at a time."""
    with _runtime().sessions.begin() as session:
        requester = authenticate(session, request)
        args = {k: v for k, v in request.args.items() if k != "status"}
        query = page_query(args, allowed=("cursor", "limit"))
        status = task_status(request.args.get("status"))
        project = get_project(session, requester, project_id)
        page = list_tasks(
            session, project, after=query.after, limit=query.limit or 1, status=status
        )
    return jsonify(
        {"project_id": project_id, "tasks": page.rows, "next_cursor": encode_cursor(page.last_key)}
    )


@bp.post("/projects/<int:project_id>/tasks/<int:task_id>/cancel")
def cancel(project_id: int, task_id: int) -> Response:
    """Cancel a task not yet complete; 409 while a worker holds it or its answer awaits review."""
    with _runtime().sessions.begin() as session:
        project = get_project(session, authenticate(session, request), project_id)
        cancelled = cancel_task(session, project, task_id, utcnow())
        released = cancelled.released
        payload = {
            **task_row(cancelled.task),
            "released": {
                "amount": released.amount if released else 0,
                "currency": project.currency,
            },
        }
    return jsonify(payload)


@bp.post("/projects/<int:project_id>/preview")
def preview(project_id: int) -> Response:
    """A task row as workers would see it on USSD and SMS, in each project language; stores nothing."""
    with _runtime().sessions.begin() as session:
        requester = authenticate(session, request)
        body = _json_body()
        project = get_project(session, requester, project_id)
        shown = preview_task(project, body)
    return jsonify({"project_id": project_id, **shown.to_dict()})


@bp.post("/projects/<int:project_id>/tasks")
def add(project_id: int) -> tuple[Response, int]:
    """Upload tasks (JSON array or CSV), all or nothing, idempotent with Idempotency-Key."""
    # 10,000 tasks of three USSD screens each are several megabytes: above the app's cap.
    request.max_content_length = UPLOAD_MAX_BYTES
    key = request.headers.get("Idempotency-Key")
    with _runtime().sessions.begin() as session:
        # The key first: an anonymous caller must not make us read a 16 MiB body.
        requester = authenticate(session, request)
        body = request.get_data()
        project = get_project(session, requester, project_id)
        if project.status == ProjectStatus.CLOSED:
            raise Conflict(f"project {project_id} is closed")
        if key is not None:
            digest = request_hash(str(project_id), request.content_type or "", body)
            stored = claim(session, requester.id, key, digest)
            if stored is not None:
                return jsonify(stored.response), stored.status_code
        created = upload_tasks(session, project, parse_body(body, request.content_type or ""))
        # The ids in the order given, so a requester maps each row to its task.
        payload = {
            "created": len(created),
            "tasks": [{"id": t.id, "external_id": t.external_id} for t in created],
        }
        if key is not None:
            remember(session, requester.id, key, 201, payload)
    return jsonify(payload), 201


def _pseudonym_key() -> bytes:
    # The server's secret (required in production): pseudonyms cannot be recomputed
    # by a requester. The development fallback matches the app's own (kazi.app).
    return (_runtime().settings.secret_key or "dev-only-not-secret").encode()


def _page_json(project_id: int, page: Page, name: str) -> Response:
    return jsonify(
        {
            "project_id": project_id,
            "version": page.version,
            "computed_at": page.computed_at,
            name: page.rows,
            "next_cursor": encode_cursor(page.last_key),
        }
    )


@bp.get("/projects/<int:project_id>/results")
def results(project_id: int) -> Response:
    """Per task the aggregated answer and confidence, a page at a time; CSV (every row) with ``Accept: text/csv``."""
    wants_csv = request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"
    query = page_query(request.args, paged=not wants_csv)
    if wants_csv:
        query = replace(query, include_answers=False)  # raw answers are JSON-only
    with _runtime().sessions.begin() as session:
        project = get_project(session, authenticate(session, request), project_id)
        page = project_results(session, project, query, key=_pseudonym_key())
    if wants_csv:
        return Response(results_csv(page.rows), mimetype="text/csv")
    return _page_json(project_id, page, "results")


@bp.get("/projects/<int:project_id>/results/gold")
def gold(project_id: int) -> Response:
    """The gold tasks apart: each known answer and how many workers gave it."""
    query = page_query(request.args)
    with _runtime().sessions.begin() as session:
        project = get_project(session, authenticate(session, request), project_id)
        page = gold_results(session, project, query, key=_pseudonym_key())
    return _page_json(project_id, page, "gold")


@bp.get("/projects/<int:project_id>/workers")
def workers(project_id: int) -> Response:
    """The project's workers by pseudonym: answers, agreement with the results, gold record."""
    query = page_query(request.args)
    if query.since is not None or query.include_answers:
        raise refuse(
            "since" if query.since is not None else "include", "only cursor and limit apply"
        )
    with _runtime().sessions.begin() as session:
        project = get_project(session, authenticate(session, request), project_id)
        page = project_workers(session, project, query, key=_pseudonym_key())
    return _page_json(project_id, page, "workers")
