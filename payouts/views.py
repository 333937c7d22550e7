"""Payout webhooks: Daraja's two (B2C results and query answers, queue timeouts) and MoMo's.

Verify the token → decode JSON → one transaction through ``payouts.callbacks`` →
answer Daraja's accept JSON. A malformed body is stored as it came and answered
400 with a log line; it never becomes a 500 and never moves money.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from core.webhooks import record_event, require_token
from payouts.callbacks import callback_context, handle_callback
from payouts.errors import BadCallback
from payouts.providers.base import CallbackKind
from payouts.rails import configured_provider, provider_named

log = logging.getLogger("kazi.payouts.views")

bp = Blueprint("payouts_webhooks", __name__, url_prefix="/webhooks/payouts")

ACCEPTED = {"ResultCode": 0, "ResultDesc": "Accepted"}
#: Which callback arrived: (the path's last part, the ``kind`` query parameter that the
#: status and balance queries' callback URLs carry) → what it answers.
KINDS = {
    ("result", None): CallbackKind.RESULT,
    ("timeout", None): CallbackKind.TIMEOUT,
    ("result", "status"): CallbackKind.STATUS,
    ("timeout", "status"): CallbackKind.STATUS_TIMEOUT,
    ("result", "balance"): CallbackKind.BALANCE,
    ("timeout", "balance"): CallbackKind.BALANCE_TIMEOUT,
}


@bp.post("/b2c/result")
def b2c_result() -> tuple[Response, int]:
    """A B2C result, or a status/balance answer (``?kind=``)."""
    return _handle("result")


@bp.post("/b2c/timeout")
def b2c_timeout() -> tuple[Response, int]:
    """A queue timeout of a payment, or of a status/balance query (``?kind=``)."""
    return _handle("timeout")


def _handle(path: str) -> tuple[Response, int]:
    runtime = current_app.extensions["kazi"]
    require_token(request.args.get("token"), runtime.settings.mpesa_webhook_token, source="daraja")
    kind = KINDS.get((path, request.args.get("kind")))
    body = request.get_json(silent=True)
    if kind is None or not isinstance(body, dict):
        return _refuse(runtime, path, request.get_data(as_text=True), "not a known callback")
    provider = configured_provider(runtime)
    try:
        with runtime.sessions.begin() as session:
            handle_callback(session, provider, kind, body, callback_context(runtime))
    except BadCallback as error:
        return _refuse(runtime, kind, body, f"{error.field}: {error.message}")
    return jsonify(ACCEPTED), 200


@bp.route("/momo", methods=["PUT", "POST"])
def momo_callback() -> tuple[Response, int]:
    """MTN MoMo's transfer callback (PUT or POST, sent once): it prompts a status query."""
    runtime = current_app.extensions["kazi"]
    # Unsigned by MTN: the secret token in the URL is what keeps strangers out.
    require_token(request.args.get("token"), runtime.settings.momo_webhook_token, source="momo")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _refuse(runtime, "result", request.get_data(as_text=True), "not JSON", "mtn_momo")
    return _rail_result(runtime, "mtn_momo", body)


@bp.post("/airtime")
def airtime_callback() -> tuple[Response, int]:
    """Africa's Talking's airtime status callback: the final Success or Failed."""
    runtime = current_app.extensions["kazi"]
    require_token(request.args.get("token"), runtime.settings.at_webhook_token, source="airtime")
    return _rail_result(runtime, "airtime", request.get_json(silent=True) or request.form.to_dict())


def _rail_result(runtime: Any, rail: str, body: dict[str, Any]) -> tuple[Response, int]:
    """One transaction through the callback service; a malformed body is a 400, recorded."""
    provider = provider_named(runtime, rail)
    try:
        with runtime.sessions.begin() as session:
            handle_callback(session, provider, CallbackKind.RESULT, body, callback_context(runtime))
    except BadCallback as error:
        return _refuse(runtime, "result", body, f"{error.field}: {error.message}", rail)
    return jsonify({}), 200


def _refuse(
    runtime: Any, kind: str, payload: Any, why: str, source: str = "daraja"
) -> tuple[Response, int]:
    log.warning("%s %s callback refused: %s", source, kind, why)
    with runtime.sessions.begin() as session:
        record_event(
            session,
            source=source,
            kind=f"b2c_{kind}_malformed",
            payload=payload if isinstance(payload, dict) else {"raw": str(payload)[:10_000]},
            external_id=None,
        )
    body = {"ResultCode": 1, "ResultDesc": f"Rejected: {why}"}
    return jsonify(body), 400
