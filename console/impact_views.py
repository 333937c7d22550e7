"""The impact report page: work, wages against living-wage floors, survey results.

The same report as ``GET /api/v1/impact`` (``impact.report``); its CSV has one row per
worker by id, never a phone number. Any signed-in operator may read it (it holds no
phone number); a centre operator reads their centre's (``console.scope``).
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, render_template

from console.auth import role_required
from console.blueprint import bp, sessions
from console.models import OperatorRole
from console.scope import impact_report_scope
from core.db import utcnow
from impact.report import impact_report, report_csv


@bp.get("/impact")
@role_required(OperatorRole.VIEWER)
def impact() -> Any:
    """The impact report for the workers the operator sees (a centre's, or everyone)."""
    settings = current_app.extensions["kazi"].settings
    with sessions()() as session:
        report = impact_report(session, settings, utcnow(), impact_report_scope())
    return render_template("console/impact.html", report=report)


@bp.get("/impact.csv")
@role_required(OperatorRole.VIEWER)
def impact_csv() -> Response:
    """The report's per-worker rows as CSV (worker ids, no phone numbers), scoped likewise."""
    with sessions()() as session:
        body = report_csv(session, impact_report_scope())
    headers = {"Content-Disposition": "attachment; filename=impact.csv"}
    return Response(body, mimetype="text/csv", headers=headers)
