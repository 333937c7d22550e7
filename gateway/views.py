"""The provider webhooks: verify → parse → one transaction through a service → answer.

Africa's Talking does not sign callbacks, so its URLs carry ``?token=`` (compared in
constant time); Twilio signs every callback, checked against the public URL (the
app may sit behind a TLS-terminating proxy, so the URL comes from PUBLIC_BASE_URL).
A refused check is 403 plus a log line; a malformed body is a 400 naming the field.
"""

from __future__ import annotations

import dataclasses
import logging

from flask import Blueprint, Response, current_app, request

from core.errors import Forbidden
from core.metrics import USSD_REQUEST_SECONDS
from core.runtime import Runtime
from core.webhooks import record_event, require_token
from gateway import abuse, services
from gateway.conversation import text_for
from gateway.inbound import DeliveryReport, InboundSms
from gateway.providers import africastalking as at
from gateway.providers import console as console_sms
from gateway.providers import twilio
from gateway.ussd import render_ussd
from workers import services as workers

bp = Blueprint("gateway", __name__, url_prefix="/webhooks")
log = logging.getLogger("kazi.gateway.webhooks")

_EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _runtime() -> Runtime:
    return current_app.extensions["kazi"]


def _check_at_token(runtime: Runtime) -> None:
    require_token(
        request.args.get("token"), runtime.settings.at_webhook_token, source="africastalking"
    )


def _check_twilio_signature(runtime: Runtime) -> None:
    """Refuse a Twilio callback whose X-Twilio-Signature does not match its public URL."""
    base = runtime.settings.public_base_url or request.host_url
    url = twilio.public_url_for(request.full_path, base)
    signature = request.headers.get("X-Twilio-Signature")
    token = runtime.settings.twilio_auth_token or ""
    if not twilio.twilio_signature_valid(token, url, request.form, signature):
        why = "no TWILIO_AUTH_TOKEN" if not token else "missing" if not signature else "invalid"
        log.warning("twilio webhook refused: %s signature for %s", why, url)
        raise Forbidden("twilio webhook: missing or invalid signature")


@bp.post("/africastalking/ussd")
def at_ussd() -> Response:
    """One USSD hop: always a valid ``CON``/``END`` screen in text/plain, never a 500."""
    runtime = _runtime()
    _check_at_token(runtime)
    hop = at.parse_ussd_request(request.form)
    default = runtime.settings.default_language
    if not abuse.limits(runtime).ussd_hops.hit(hop.phone):
        # A flood from one number: a polite END, before any database write.
        body = render_ussd(text_for("slow_down", _language_or_default(runtime, hop.phone)), False)
        return Response(body, mimetype="text/plain")
    with USSD_REQUEST_SECONDS.labels(provider="africastalking").time():
        try:
            with runtime.sessions.begin() as session:
                body = services.handle_ussd_hop(
                    session, hop, default_language=default, runtime=runtime
                )
        except Exception:
            # The worker is on a live USSD screen: whatever broke behind us, they get a
            # polite END in their language instead of AT's generic error.
            log.exception("ussd hop failed (session %s)", hop.session_id)
            language = _language_or_default(runtime, hop.phone)
            body = render_ussd(text_for("apology", language), False)
    return Response(body, mimetype="text/plain")


def _language_or_default(runtime: Runtime, phone: str) -> str:
    default = runtime.settings.default_language
    try:
        with runtime.sessions() as session:
            return workers.language_of(session, phone, default)
    except Exception:
        log.warning("could not read the worker's language; answering in %s", default)
        return default


@bp.post("/africastalking/ussd/events")
def at_ussd_events() -> tuple[str, int]:
    """AT's end-of-session notification: stored with status, duration, cost and error."""
    runtime = _runtime()
    _check_at_token(runtime)
    end = at.parse_ussd_end(request.form)
    with runtime.sessions.begin() as session:
        record = services.record_ussd_end(session, end)
        record_event(
            session,
            source=end.provider,
            kind="ussd_end",
            payload=services.ussd_end_payload(record, end, runtime=runtime),
            external_id=end.session_id,
        )
    return "", 200


@bp.post("/africastalking/sms")
def at_sms() -> tuple[str, int]:
    """An incoming SMS through Africa's Talking."""
    runtime = _runtime()
    _check_at_token(runtime)
    _receive(runtime, at.parse_inbound_sms(request.form))
    return "", 200


@bp.post("/africastalking/sms/delivery")
def at_sms_delivery() -> tuple[str, int]:
    """An AT delivery report."""
    runtime = _runtime()
    _check_at_token(runtime)
    _apply_report(runtime, at.parse_delivery_report(request.form))
    return "", 200


@bp.post("/console/sms/delivery")
def console_sms_delivery() -> tuple[str, int]:
    """A delivery report from the console provider's demo network (CONSOLE_SMS_REPORTS).

    It speaks AT's form, so AT's parser reads it; the report is then the console
    provider's, and takes the same path as any provider's report from here on.
    """
    runtime = _runtime()
    _check_at_token(runtime)
    report = at.parse_delivery_report(request.form)
    _apply_report(runtime, dataclasses.replace(report, provider=console_sms.PROVIDER))
    return "", 200


@bp.post("/africastalking/sms/optout")
def at_sms_optout() -> tuple[str, int]:
    """AT's bulk-SMS opt-out notification: the worker is opted out of our SMS."""
    # https://developers.africastalking.com/docs/sms/notifications (subscription and
    # bulk SMS opt-out callbacks); the URL is set on AT's dashboard with ?token=.
    runtime = _runtime()
    _check_at_token(runtime)
    notice = at.parse_optout_notification(request.form)
    with runtime.sessions.begin() as session:
        services.record_opt_out(session, notice)
        record_event(
            session, source=notice.provider, kind="sms_optout", payload=notice.raw, external_id=None
        )
    return "", 200


@bp.post("/twilio/sms")
def twilio_sms() -> Response:
    """An incoming SMS through Twilio; the reply goes out through the queue, not TwiML."""
    runtime = _runtime()
    _check_twilio_signature(runtime)
    _receive(runtime, twilio.parse_inbound_sms(request.form))
    return Response(_EMPTY_TWIML, mimetype="text/xml")


@bp.post("/twilio/sms/status")
def twilio_sms_status() -> tuple[str, int]:
    """A Twilio status callback."""
    runtime = _runtime()
    _check_twilio_signature(runtime)
    _apply_report(runtime, twilio.parse_status_callback(request.form))
    return "", 200


def _receive(runtime: Runtime, sms: InboundSms) -> None:
    # Over the flood limit the SMS is still stored (nothing a worker sends is lost) but
    # not handled: no flow runs and no reply is sent.
    handle = abuse.limits(runtime).inbound_sms.hit(sms.sender)
    with runtime.sessions.begin() as session:
        message = services.receive_sms(
            session,
            sms,
            default_language=runtime.settings.default_language,
            store=runtime.store,
            handle=handle,
        )
        if message is None:
            # A provider retry of a message we hold: 200 so it stops, and nothing changes.
            log.info("%s duplicate inbound sms %s", sms.provider, sms.provider_message_id)
            return
        record_event(
            session,
            source=sms.provider,
            kind="sms",
            payload=services.masked_payload(sms.raw, sms.text, message.body),
            external_id=sms.provider_message_id,
        )


def _apply_report(runtime: Runtime, report: DeliveryReport) -> None:
    with runtime.sessions.begin() as session:
        services.apply_delivery_report(session, report)
        record_event(
            session,
            source=report.provider,
            kind="delivery",
            payload=report.raw,
            external_id=report.provider_message_id,
        )
