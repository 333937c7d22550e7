"""``GET /verify/<code>``: an employer checks a worker's work record by its code.

Public on purpose (an employer has no account), so it shows the record's facts and
nothing else: no phone number, no name, no link back to the worker. Look-ups are held
to ``VERIFY_LOOKUPS_PER_MINUTE`` per client address (``core.throttle``), and an
unknown code is a 404 like a malformed one, so the answer says nothing about which
codes exist. HTML by default, JSON for ``Accept: application/json``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from core.runtime import Runtime
from core.throttle import WindowLimit
from tasks.work_record import RecordFacts, find_record

bp = Blueprint("records", __name__, template_folder="templates")


@bp.get("/verify/<code>")
def verify(code: str) -> Any:
    """The work record with this code, as HTML or JSON; 404 unknown, 429 too many look-ups."""
    runtime: Runtime = current_app.extensions["kazi"]
    limit = WindowLimit(runtime.store, "verify", runtime.settings.verify_lookups_per_minute)
    if not limit.hit(request.remote_addr or "unknown"):
        return _answer(None, 429, "Too many look-ups from your address. Wait a minute.")
    with runtime.sessions() as session:
        facts = find_record(session, code, secret_key=runtime.settings.secret_key)
    if facts is None:
        return _answer(None, 404, "No work record has this code. Check it and try again.")
    return _answer(facts, 200, None)


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _answer(facts: RecordFacts | None, status: int, problem: str | None) -> Response:
    if _wants_json():
        if facts is None:
            code = "not_found" if status == 404 else "too_many_requests"
            body: dict[str, Any] = {"error": {"code": code, "message": problem, "details": []}}
        else:
            body = record_json(facts)
        response = jsonify(body)
    else:
        html = render_template("records/verify.html", facts=facts, problem=problem)
        response = Response(html, mimetype="text/html")
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    response.vary.add("Accept")
    return response


def record_json(facts: RecordFacts) -> dict[str, Any]:
    """A record's facts as the JSON answer carries them (amounts in minor units)."""
    return {
        "tasks_done": facts.tasks_done,
        "months_active": facts.months_active,
        "accuracy_band": facts.accuracy_band,
        "earned": [{"amount": m.amount, "currency": m.currency} for m in facts.earned],
        "issued_at": facts.issued_at.isoformat(),
    }
