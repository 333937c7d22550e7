"""The phone simulator: dial USSD and send SMS as a test number, through the real webhooks.

Each action is replayed as the HTTP request Africa's Talking would send, through the
app's own WSGI stack (its test client), to ``/webhooks/africastalking/...`` with the
configured token. So the simulator sees exactly what a phone would: the same
parsing, idempotency, conversation and outbound queue as real traffic, whatever the
conversation behind the webhook is. Operators and admins only: it creates traffic.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import abort, current_app, jsonify, render_template, request
from flask_login import current_user
from sqlalchemy import select

from console import logs
from console.auth import role_required
from console.blueprint import bp, sessions
from console.models import OperatorRole
from console.services import record_audit
from core.db import utcnow
from core.medium import USSD_MAX_BODY
from gateway.models import Direction, Message, UssdSession

#: Africa's Talking's form for a USSD hop and an incoming SMS (the fields we parse).
USSD_PATH = "/webhooks/africastalking/ussd"
USSD_END_PATH = "/webhooks/africastalking/ussd/events"
#: How the simulated session ended, as AT's end notification words it.
END_STATUSES = {"success": "Success", "incomplete": "Incomplete"}
SMS_PATH = "/webhooks/africastalking/sms"
#: What AT would put in ``to`` for an SMS to our shortcode; the gateway stores it only.
SHORTCODE = "KAZI"
INBOX_SIZE = 20
USSD_TEXT = USSD_MAX_BODY  # a USSD reply cannot be longer than a screen
#: Safaricom's network code: the simulated phone is on the network the demo pays through.
NETWORK_CODE = "63902"
MAX_TEXT = 480  # three SMS segments: more is not something a test phone sends


class BadInput(ValueError):
    """The simulator was given a phone or text it cannot send."""


class WebhookRefused(Exception):
    """The webhook did not answer 200: the page shows what it said, never a made-up screen."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"webhook answered {status}")
        self.body = body


def _phone(raw: Any) -> str:
    settings = current_app.extensions["kazi"].settings
    phone = logs.phone_query(str(raw or "")[:30], settings.default_country)
    if phone is None:
        raise BadInput(f"{raw!r} is not a phone number")
    if settings.simulator_numbers and phone not in settings.simulator_numbers:
        raise BadInput(f"{phone} is not one of SIMULATOR_NUMBERS")
    return phone


@bp.before_request
def _simulator_switched_on() -> None:
    # In production the replies are real SMS to real phones: only listed test numbers.
    settings = current_app.extensions["kazi"].settings
    if (
        (request.endpoint or "").startswith("console.simulator")
        and settings.is_production
        and not settings.simulator_numbers
    ):
        abort(
            403,
            "The phone simulator is off in production until SIMULATOR_NUMBERS lists test numbers.",
        )


def _text(raw: Any, limit: int = MAX_TEXT) -> str:
    text = str(raw or "")
    if len(text) > limit:
        raise BadInput(f"text longer than {limit} characters")
    return text


def _webhook(path: str, form: dict[str, str]) -> tuple[int, str]:
    """POST an AT-shaped form to our own webhook through the full WSGI stack."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # Flask types the proxy as the app
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
        "console/simulator.html",
        service_code=settings.ussd_service_code,
        shortcode=SHORTCODE,
        numbers=settings.simulator_numbers,
    )


def _posted(text_limit: int) -> tuple[dict[str, Any], str, str]:
    """The page's JSON with its phone (E.164) and text checked; BadInput when unusable."""
    data = request.get_json(silent=True) or {}
    return data, _phone(data.get("phone")), _text(data.get("text"), text_limit)


def _ussd_form(phone: str, session_id: str) -> dict[str, str]:
    """The fields AT puts in every USSD request for this session."""
    return {
        "sessionId": session_id,
        "serviceCode": current_app.extensions["kazi"].settings.ussd_service_code,
        "phoneNumber": phone,
        "networkCode": NETWORK_CODE,
    }


def _relay(
    path: str, form: dict[str, str], action: str, phone: str, shown: Callable[[], str]
) -> str:
    """Post the form to the webhook and audit it; the body, or WebhookRefused.

    The audit records ``shown()``, read after the webhook ran: what the gateway stored
    (a PIN masked), never the text as typed.
    """
    status, body = _webhook(path, form)
    _audit(action, phone, shown())
    if status != 200:
        raise WebhookRefused(status, body)
    return body


@bp.errorhandler(BadInput)
def _bad_input(error: BadInput) -> Any:
    return jsonify(error=str(error)), 400


@bp.errorhandler(WebhookRefused)
def _webhook_refused(error: WebhookRefused) -> Any:
    return jsonify(error=str(error), body=error.body[:500]), 502


@bp.post("/simulator/ussd")
@role_required(OperatorRole.OPERATOR)
def simulator_ussd() -> Any:
    """One USSD hop as AT sends it: the session id and every input so far joined by ``*``."""
    data, phone, text = _posted(USSD_TEXT)
    session_id = str(data.get("session_id") or "")[:60] or f"sim-{secrets.token_hex(8)}"
    form = _ussd_form(phone, session_id) | {"text": text}
    body = _relay(USSD_PATH, form, "simulator.ussd", phone, lambda: _stored_ussd(session_id))
    kind, _, screen = body.partition(" ")
    return jsonify(session_id=session_id, screen=screen, more=kind == "CON", raw=body)


@bp.post("/simulator/ussd/end")
@role_required(OperatorRole.OPERATOR)
def simulator_ussd_end() -> Any:
    """AT's end-of-session notification: an END screen (success) or a hang-up (incomplete)."""
    data, phone, last_input = _posted(USSD_TEXT)
    status = END_STATUSES.get(str(data.get("status")))
    session_id = str(data.get("session_id") or "")[:60]
    if status is None or not session_id:
        raise BadInput("give a session_id and a status (success or incomplete)")
    form = _ussd_form(phone, session_id) | {
        "status": status,
        "input": last_input,
        "durationInMillis": str(_whole(data.get("duration_ms"))),
        "hopsCount": str(_whole(data.get("hops"))),
        "date": utcnow().strftime("%Y-%m-%d %H:%M:%S"),
    }
    _relay(USSD_END_PATH, form, "simulator.ussd_end", phone, lambda: status)
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
    _, phone, text = _posted(MAX_TEXT)
    form = {
        "id": f"sim-{secrets.token_hex(8)}",
        "from": phone,
        "to": SHORTCODE,
        "text": text,
        "date": utcnow().strftime("%Y-%m-%d %H:%M:%S"),
        "networkCode": NETWORK_CODE,
    }
    _relay(SMS_PATH, form, "simulator.sms", phone, lambda: _stored_sms(form["id"]))
    return jsonify(sent=True)


def _stored_ussd(session_id: str) -> str:
    """The session's inputs as the gateway stored them (masked), "" when it stored none."""
    stmt = select(UssdSession.seen_text).where(UssdSession.session_id == session_id)
    with sessions()() as session:
        return session.scalars(stmt).first() or ""


def _stored_sms(provider_message_id: str) -> str:
    """The SMS as the gateway stored it (masked), "" when it stored none."""
    stmt = select(Message.body).where(Message.provider_message_id == provider_message_id)
    with sessions()() as session:
        return session.scalars(stmt).first() or ""


@bp.get("/simulator/inbox")
@role_required(OperatorRole.OPERATOR)
def simulator_inbox() -> Any:
    """The SMS sent to this number, newest first (outbound message rows)."""
    phone = _phone(request.args.get("phone"))
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
