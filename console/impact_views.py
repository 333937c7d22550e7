"""The impact report page (admins): work, wages against living-wage floors, survey results.

The same report as ``GET /api/v1/impact`` (``impact.report``); its CSV has one row per
worker by id, never a phone number.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, render_template

from console.auth import role_required
from console.blueprint import bp, sessions
from console.models import OperatorRole
from core.db import utcnow
from impact.report import impact_report, report_csv


@bp.get("/impact")
@role_required(OperatorRole.ADMIN)
def impact() -> Any:
    """The impact report for every worker."""
    settings = current_app.extensions["kazi"].settings
    with sessions()() as session:
        report = impact_report(session, settings, utcnow())
    return render_template("console/impact.html", report=report)


@bp.get("/impact.csv")
@role_required(OperatorRole.ADMIN)
def impact_csv() -> Response:
    """The report's per-worker rows as CSV (worker ids, no phone numbers)."""
    with sessions()() as session:
        body = report_csv(session)
    headers = {"Content-Disposition": "attachment; filename=impact.csv"}
    return Response(body, mimetype="text/csv", headers=headers)
