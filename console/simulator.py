"""The phone simulator: dial USSD and send SMS as a test number, through the real webhooks.

Each action is replayed as the HTTP request Africa's Talking would send, through the
app's own WSGI stack (its test client), to ``/webhooks/africastalking/...`` with the
configured token. So the simulator sees exactly what a phone would: the same
parsing, idempotency, conversation and outbound queue as real traffic, whatever the
conversation behind the webhook is. Operators and admins only: it creates traffic.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from flask import current_app, jsonify, render_template, request
from flask_login import current_user
from sqlalchemy import select

from console import logs
from console.auth import role_required
from console.models import OperatorRole
from console.services import record_audit
from console.views import bp, sessions
from core.db import utcnow
from gateway.models import Direction, Message

#: Africa's Talking's form for a USSD hop and an incoming SMS (the fields we parse).
USSD_PATH = "/webhooks/africastalking/ussd"
USSD_END_PATH = "/webhooks/africastalking/ussd/events"
#: How the simulated session ended, as AT's end notification words it.
END_STATUSES = {"success": "Success", "incomplete": "Incomplete"}
SMS_PATH = "/webhooks/africastalking/sms"
#: What AT would put in ``to`` for an SMS to our shortcode; the gateway stores it only.
SHORTCODE = "KAZI"
INBOX_SIZE = 20
MAX_TEXT = 480  # three SMS segments: more is not something a test phone sends


class BadInput(ValueError):
    """The simulator was given a phone or text it cannot send."""


def _phone(raw: Any) -> str:
    settings = current_app.extensions["kazi"].settings
    phone = logs.phone_query(str(raw or "")[:30], settings.default_country)
    if phone is None:
        raise BadInput(f"{raw!r} is not a phone number")
    return phone


def _text(raw: Any, limit: int = MAX_TEXT) -> str:
    text = str(raw or "")
    if len(text) > limit:
        raise BadInput(f"text longer than {limit} characters")
    return text


def _webhook(path: str, form: dict[str, str]) -> tuple[int, str]:
    """POST an AT-shaped form to our own webhook through the full WSGI stack."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    token = app.extensions["kazi"].settings.at_webhook_token
    url = f"{path}?{urlencode({'token': token})}" if token else path
    response = app.test_client().post(url, data=form, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    return response.status_code, response.get_data(as_text=True)


def _audit(action: str, phone: str, text: str) -> None:
    with sessions().begin() as session:
        record_audit(
            session,
            operator_id=current_user.operator_id,
            action=action,
            target=f"phone:{phone}",
            details={"text": text[:200]},
            ip=request.remote_addr,
        )


@bp.get("/simulator")
@role_required(OperatorRole.OPERATOR)
def simulator() -> Any:
    """A feature phone on the screen: dial the USSD code, send SMS, read the inbox."""
    settings = current_app.extensions["kazi"].settings
    return render_template(
        "console/simulator.html", service_code=settings.ussd_service_code, shortcode=SHORTCODE
    )


@bp.post("/simulator/ussd")
@role_required(OperatorRole.OPERATOR)
def simulator_ussd() -> Any:
    """One USSD hop as AT sends it: the session id and every input so far joined by ``*``."""
    data = request.get_json(silent=True) or {}
    try:
        phone = _phone(data.get("phone"))
        text = _text(data.get("text"), 182)
    except BadInput as error:
        return jsonify(error=str(error)), 400
    session_id = str(data.get("session_id") or "")[:60] or f"sim-{secrets.token_hex(8)}"
    settings = current_app.extensions["kazi"].settings
    form = {
        "sessionId": session_id,
        "serviceCode": settings.ussd_service_code,
        "phoneNumber": phone,
        "networkCode": "63902",
        "text": text,
    }
    _audit("simulator.ussd", phone, text)
    status, body = _webhook(USSD_PATH, form)
    if status != 200:
        return jsonify(error=f"webhook answered {status}", body=body[:500]), 502
    kind, _, screen = body.partition(" ")
    return jsonify(session_id=session_id, screen=screen, more=kind == "CON", raw=body)


@bp.post("/simulator/ussd/end")
@role_required(OperatorRole.OPERATOR)
def simulator_ussd_end() -> Any:
    """AT's end-of-session notification: an END screen (success) or a hang-up (incomplete)."""
    data = request.get_json(silent=True) or {}
    try:
        phone = _phone(data.get("phone"))
        last_input = _text(data.get("input"), 182)
    except BadInput as error:
        return jsonify(error=str(error)), 400
    status = END_STATUSES.get(str(data.get("status")))
    session_id = str(data.get("session_id") or "")[:60]
    if status is None or not session_id:
        return jsonify(error="give a session_id and a status (success or incomplete)"), 400
    settings = current_app.extensions["kazi"].settings
    form = {
        "sessionId": session_id,
        "serviceCode": settings.ussd_service_code,
        "phoneNumber": phone,
        "networkCode": "63902",
        "status": status,
        "input": last_input,
        "durationInMillis": str(_whole(data.get("duration_ms"))),
        "hopsCount": str(_whole(data.get("hops"))),
        "date": utcnow().strftime("%Y-%m-%d %H:%M:%S"),
    }
    _audit("simulator.ussd_end", phone, status)
    code, body = _webhook(USSD_END_PATH, form)
    if code != 200:
        return jsonify(error=f"webhook answered {code}", body=body[:500]), 502
    return jsonify(ended=True)


def _whole(value: Any) -> int:
    """A non-negative whole number from the page, 0 when it sent none or nonsense."""
    try:
        return max(0, min(int(value), 10**9))
    except (TypeError, ValueError):
        return 0


@bp.post("/simulator/sms")
@role_required(OperatorRole.OPERATOR)
def simulator_sms() -> Any:
    """An incoming SMS as AT sends it; replies come back through the outbound queue."""
    data = request.get_json(silent=True) or {}
    try:
        phone = _phone(data.get("phone"))
        text = _text(data.get("text"))
    except BadInput as error:
        return jsonify(error=str(error)), 400
    form = {
        "id": f"sim-{secrets.token_hex(8)}",
        "from": phone,
        "to": SHORTCODE,
        "text": text,
        "date": utcnow().strftime("%Y-%m-%d %H:%M:%S"),
        "networkCode": "63902",
    }
    _audit("simulator.sms", phone, text)
    status, body = _webhook(SMS_PATH, form)
    if status != 200:
        return jsonify(error=f"webhook answered {status}", body=body[:500]), 502
    return jsonify(sent=True)


@bp.get("/simulator/inbox")
@role_required(OperatorRole.OPERATOR)
def simulator_inbox() -> Any:
    """The SMS sent to this number, newest first (outbound message rows)."""
    try:
        phone = _phone(request.args.get("phone"))
    except BadInput as error:
        return jsonify(error=str(error)), 400
    stmt = (
        select(Message)
        .where(Message.phone == phone, Message.direction == Direction.OUTBOUND)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(INBOX_SIZE)
    )
    with sessions()() as session:
        rows = [
            {
                "id": m.id,
                "body": m.body,
                "status": str(m.status),
                "at": m.created_at.strftime("%H:%M:%S"),
            }
            for m in session.scalars(stmt)
        ]
    return jsonify(phone=phone, messages=rows)
